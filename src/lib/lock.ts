// A file lock that a crashed holder cannot wedge: the lock file names its holder's pid, and a
// waiter that finds that pid dead breaks the lock.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KdevError } from './errors.js';
import { pidAlive } from './process.js';

export interface LockOptions {
  /** How long to wait for a live holder before giving up (ms). 0 = refuse at once. */
  timeoutMs?: number;
  pollMs?: number;
  /** What the lock guards, for the error message. */
  what?: string;
}

interface Holder {
  pid: number;
  host: string;
  since: string;
}

async function readHolder(file: string): Promise<Holder | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Holder;
  } catch {
    return undefined;
  }
}

async function tryAcquire(file: string): Promise<boolean> {
  const holder: Holder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString() };
  try {
    const fh = await fs.open(file, 'wx', 0o600);
    await fh.writeFile(JSON.stringify(holder));
    await fh.close();
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const current = await readHolder(file);
  // A holder on this host whose process is gone (or an unreadable, half-written file older than
  // a second) is stale: move it aside atomically so only one waiter wins the takeover.
  let stale = current !== undefined && current.host === os.hostname() && !pidAlive(current.pid);
  if (current === undefined) {
    const st = await fs.stat(file).catch(() => undefined);
    stale = st !== undefined && Date.now() - st.mtimeMs > 1000;
  }
  if (!stale) return false;
  const aside = `${file}.stale.${process.pid}`;
  try {
    await fs.rename(file, aside);
  } catch {
    return false;
  }
  const moved = await readHolder(aside);
  await fs.rm(aside, { force: true });
  if (moved && current && moved.pid !== current.pid) {
    // Someone else took the lock between our read and our rename; it was not stale. Give it back.
    await fs.writeFile(file, JSON.stringify(moved), { flag: 'wx', mode: 0o600 }).catch(() => undefined);
    return false;
  }
  return tryAcquire(file);
}

export type Release = () => Promise<void>;

export async function acquireLock(file: string, opts: LockOptions = {}): Promise<Release> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const pollMs = opts.pollMs ?? 100;
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await tryAcquire(file)) break;
    if (Date.now() >= deadline) {
      const holder = await readHolder(file);
      throw new KdevError(
        'LOCKED',
        `${opts.what ?? 'this resource'} is busy (held by pid ${holder?.pid ?? '?'})`,
        {
          hints: ['Wait for the other kdev command to finish, then try again'],
        },
      );
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    const holder = await readHolder(file);
    if (holder?.pid === process.pid) await fs.rm(file, { force: true });
  };
}

export async function withLock<T>(file: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(file, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}
