// A per-resource lock between kdev processes, built on proper-lockfile: the lock is a folder made
// with mkdir (atomic everywhere, macOS included) whose mtime the holder refreshes every few
// seconds. A holder that crashed or was killed -9 stops refreshing, so after `staleMs` anyone may
// break it. Staleness is judged only by that heartbeat, never by reading a pid: a pid read is a
// race (the holder can release and a new one take over between the read and the break).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { KdevError } from './errors.js';
import { pidAlive } from './process.js';

export interface LockOptions {
  /** How long to wait for a live holder before giving up (ms). 0 = refuse at once. */
  timeoutMs?: number;
  pollMs?: number;
  /** What the lock guards, for the error message. */
  what?: string;
  /** A lock whose heartbeat is older than this is broken (ms, at least 2000). */
  staleMs?: number;
}

const DEFAULT_STALE_MS = 10_000;

interface Holder {
  pid: number;
  host: string;
  since: string;
}

/** Who holds the lock, for messages only: written beside the lock folder after taking it. */
const holderFile = (file: string) => `${file}.holder`;

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    return JSON.parse(await fs.readFile(holderFile(file), 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

function isLockedError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  // ENOTEMPTY/ENOENT: another process broke or released the lock while we looked at it.
  return code === 'ELOCKED' || code === 'ENOTEMPTY' || code === 'ENOENT';
}

type Unlock = () => Promise<void>;

async function tryLock(
  target: string,
  staleMs: number,
  onCompromised: (err: Error) => void,
): Promise<Unlock | undefined> {
  try {
    return await lockfile.lock(target, {
      lockfilePath: target,
      realpath: false,
      stale: staleMs,
      update: Math.max(1000, Math.floor(staleMs / 5)),
      retries: 0,
      onCompromised,
    });
  } catch (err) {
    if (isLockedError(err)) return undefined;
    throw err;
  }
}

/**
 * One attempt. Attempts on the same lock run one at a time (a short-lived guard lock), so two
 * waiters can never both find the same stale lock, one break it and take it, and the other then
 * break the fresh one.
 */
async function attempt(
  file: string,
  staleMs: number,
  onCompromised: (err: Error) => void,
): Promise<Unlock | undefined> {
  const guard = await tryLock(`${file}.guard`, staleMs, () => undefined);
  if (!guard) return undefined;
  try {
    await removeOldFormatLock(file, staleMs);
    return await tryLock(file, staleMs, onCompromised);
  } finally {
    await guard().catch(() => undefined);
  }
}

/**
 * kdev before proper-lockfile kept a plain file where the lock folder now goes; one left by a
 * killed command would never count as a (folder) lock nor go away. Removed once it is stale.
 */
async function removeOldFormatLock(file: string, staleMs: number): Promise<void> {
  const st = await fs.lstat(file).catch(() => undefined);
  if (st?.isFile() && Date.now() - st.mtimeMs > staleMs) await fs.rm(file, { force: true });
}

export type Release = () => Promise<void>;

export async function acquireLock(file: string, opts: LockOptions = {}): Promise<Release> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pollMs = opts.pollMs ?? 100;
  const staleMs = Math.max(opts.staleMs ?? DEFAULT_STALE_MS, 2000);
  const what = opts.what ?? 'this resource';
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  let compromised: Error | undefined;
  const onCompromised = (err: Error) => {
    compromised = err;
  };
  let deadline = Date.now() + timeoutMs;
  let extendedForDeadHolder = false;
  let unlock: Unlock | undefined;
  for (;;) {
    unlock = await attempt(file, staleMs, onCompromised);
    if (unlock) break;
    if (Date.now() >= deadline) {
      const holder = await readHolder(file);
      // A holder on this host that is gone (killed -9, crashed) stops its heartbeat; rather than
      // refuse, wait the little while until its lock counts as stale and is broken.
      if (!extendedForDeadHolder && holder?.host === os.hostname() && !pidAlive(holder.pid)) {
        extendedForDeadHolder = true;
        deadline = Date.now() + staleMs + 2000;
      } else {
        throw new KdevError('LOCKED', `${what} is busy (held by pid ${holder?.pid ?? '?'})`, {
          hints: ['Wait for the other kdev command to finish, then try again'],
        });
      }
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  const holder: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  await fs.writeFile(holderFile(file), JSON.stringify(holder), { mode: 0o600 }).catch(() => undefined);
  const held = unlock;
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    if (compromised) {
      throw new KdevError('LOCKED', `lost the lock on ${what}: ${compromised.message}`, {
        hints: ['Another kdev command may have run at the same time; check with: kdev status'],
      });
    }
    await fs.rm(holderFile(file), { force: true });
    await held();
  };
}

export async function withLock<T>(file: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(file, opts);
  let result: T;
  try {
    result = await fn();
  } catch (err) {
    await release().catch(() => undefined);
    throw err;
  }
  await release();
  return result;
}
