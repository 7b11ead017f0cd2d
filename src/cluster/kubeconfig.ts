// The user's kubeconfig: upsert or remove one profile's cluster, user and context, keeping every
// other entry and field as it was. Written under kubectl's own lock (`<file>.lock`, created
// exclusively) through a temp file and a rename that keeps the file's mode.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { KdevError } from '../lib/errors.js';

export interface KubeconfigEntry {
  name: string;
  server: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** Embed the certificates' contents instead of referring to their paths. */
  embed?: { ca: string; clientCert: string; clientKey: string };
}

type Named = { name?: unknown; [k: string]: unknown };
export type KubeconfigDoc = Record<string, unknown>;

/** kubectl's rule: the first non-empty path of $KUBECONFIG, else ~/.kube/config. */
export function kubeconfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const first = (env.KUBECONFIG ?? '').split(path.delimiter).find((p) => p.trim() !== '');
  return first ? path.resolve(first) : path.join(os.homedir(), '.kube', 'config');
}

function list(doc: KubeconfigDoc, key: string): Named[] {
  const v = doc[key];
  return Array.isArray(v) ? (v as Named[]) : [];
}

function upsert(items: Named[], name: string, key: string, fields: Record<string, unknown>, drop: string[]) {
  const existing = items.find((i) => i.name === name);
  const inner = { ...((existing?.[key] as Record<string, unknown> | undefined) ?? {}) };
  for (const d of drop) delete inner[d];
  Object.assign(inner, fields);
  if (existing) {
    existing[key] = inner;
    return items;
  }
  return [...items, { name, [key]: inner }];
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Pure: doc with the profile's three entries upserted (and current-context set unless keep). */
export function withEntry(
  doc: KubeconfigDoc,
  e: KubeconfigEntry,
  opts: { setCurrent: boolean },
): KubeconfigDoc {
  const out: KubeconfigDoc = {
    apiVersion: 'v1',
    kind: 'Config',
    preferences: {},
    ...doc,
  };
  const cluster = e.embed
    ? { server: e.server, 'certificate-authority-data': b64(e.embed.ca) }
    : { server: e.server, 'certificate-authority': e.caFile };
  out.clusters = upsert(list(doc, 'clusters'), e.name, 'cluster', cluster, [
    'certificate-authority',
    'certificate-authority-data',
    'insecure-skip-tls-verify',
  ]);
  const user = e.embed
    ? { 'client-certificate-data': b64(e.embed.clientCert), 'client-key-data': b64(e.embed.clientKey) }
    : { 'client-certificate': e.clientCertFile, 'client-key': e.clientKeyFile };
  out.users = upsert(list(doc, 'users'), e.name, 'user', user, [
    'client-certificate',
    'client-certificate-data',
    'client-key',
    'client-key-data',
  ]);
  out.contexts = upsert(list(doc, 'contexts'), e.name, 'context', { cluster: e.name, user: e.name }, []);
  if (opts.setCurrent) out['current-context'] = e.name;
  return out;
}

/** Pure: doc without the profile's entries; current-context unset when it was the profile's. */
export function withoutEntry(doc: KubeconfigDoc, name: string): KubeconfigDoc {
  const out: KubeconfigDoc = { ...doc };
  for (const key of ['clusters', 'users', 'contexts']) {
    if (Array.isArray(doc[key])) out[key] = list(doc, key).filter((i) => i.name !== name);
  }
  if (out['current-context'] === name) out['current-context'] = '';
  return out;
}

export type KubeconfigState = 'Configured' | 'Misconfigured';

/** Whether doc sends the profile's context to `server` with a cluster and user of its own. */
export function entryState(doc: KubeconfigDoc, name: string, server: string): KubeconfigState {
  const find = (key: string) => list(doc, key).find((i) => i.name === name);
  const ctx = find('contexts')?.context as Record<string, unknown> | undefined;
  const cluster = find('clusters')?.cluster as Record<string, unknown> | undefined;
  const ok = ctx?.cluster === name && ctx.user === name && cluster?.server === server && find('users');
  return ok ? 'Configured' : 'Misconfigured';
}

export function parseKubeconfig(text: string, file: string): KubeconfigDoc {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw new KdevError('BAD_CONFIG', `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`, {
      hints: ['Fix or move the file, then run: kdev update-context'],
    });
  }
  if (doc === undefined || doc === null) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new KdevError('BAD_CONFIG', `${file} is not a kubeconfig (expected a mapping)`, {
      hints: ['Fix or move the file, then run: kdev update-context'],
    });
  }
  return doc as KubeconfigDoc;
}

export async function readKubeconfig(file: string): Promise<KubeconfigDoc> {
  try {
    return parseKubeconfig(await fs.readFile(file, 'utf8'), file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
}

export interface LockOptions {
  timeoutMs?: number;
  pollMs?: number;
}

/** kubectl's convention: `<file>.lock` created with O_EXCL; whoever made it owns the file. */
async function lockKubeconfig(file: string, opts: LockOptions): Promise<() => Promise<void>> {
  const lock = `${file}.lock`;
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  for (;;) {
    try {
      const fh = await fs.open(lock, 'wx', 0o600);
      await fh.close();
      return () => fs.rm(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (Date.now() >= deadline) {
      throw new KdevError('LOCKED', `${file} is locked by another writer (${lock} exists)`, {
        hints: [`If no kubectl or kdev is writing it, remove the stale lock: rm ${lock}`],
      });
    }
    // Jitter spreads waiters out so they do not all retry at once.
    await new Promise((r) => setTimeout(r, (opts.pollMs ?? 20) + Math.random() * 20));
  }
}

/** Reads, changes and writes the kubeconfig under its lock; the file's mode is kept (new: 0600). */
export async function updateKubeconfig(
  file: string,
  change: (doc: KubeconfigDoc) => KubeconfigDoc,
  opts: LockOptions = {},
): Promise<KubeconfigDoc> {
  // The lock and temp file belong beside the real file, not beside a symlink to it.
  const real = await fs.realpath(file).catch(() => file);
  await fs.mkdir(path.dirname(real), { recursive: true, mode: 0o700 });
  const release = await lockKubeconfig(real, opts);
  try {
    const mode = await fs.stat(real).then(
      (st) => st.mode & 0o777,
      () => 0o600,
    );
    const next = change(await readKubeconfig(real));
    const tmp = path.join(
      path.dirname(real),
      `.${path.basename(real)}.${randomBytes(4).toString('hex')}.tmp`,
    );
    try {
      await fs.writeFile(tmp, yaml.dump(next, { lineWidth: -1, noRefs: true }), { mode, flag: 'wx' });
      await fs.chmod(tmp, mode);
      await fs.rename(tmp, real);
    } catch (err) {
      await fs.rm(tmp, { force: true });
      throw err;
    }
    return next;
  } finally {
    await release();
  }
}
