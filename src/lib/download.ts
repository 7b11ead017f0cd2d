// Downloads that either land complete and verified or not at all: stream to a temp file beside
// the target while hashing, compare, then rename.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { KdevError } from './errors.js';
import { removeStaleTemps } from './fs-atomic.js';
import { redactUrl, redactUrls } from './redact.js';

export interface DownloadOptions {
  /** Expected lowercase hex SHA-256; a mismatch throws CHECKSUM_MISMATCH and keeps nothing. */
  sha256?: string;
  timeoutMs?: number;
  /** Refuse (and keep nothing of) a body larger than this. */
  maxBytes?: number;
  onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
}

/** Far above any guest kernel or initrd; a server streaming forever must not fill the disk. */
export const DEFAULT_MAX_DOWNLOAD_BYTES = 4 * 1024 ** 3;
/** Checksum lists and other small texts. */
export const MAX_TEXT_BYTES = 1024 ** 2;
const MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface DownloadResult {
  sha256: string;
  bytes: number;
}

function tooLarge(url: string, limit: number): KdevError {
  return new KdevError('DOWNLOAD_FAILED', `GET ${redactUrl(url)}: larger than the ${limit}-byte limit`, {
    hints: ['Check the URL: this is not the file kdev expected'],
  });
}

/**
 * GET with redirects followed by hand: a redirect from https to anything else is refused (it would
 * let a network attacker swap the file), and credentials in the URL go only to its own origin.
 */
async function get(url: string, timeoutMs: number): Promise<Response> {
  let current = new URL(url);
  const origin = current.origin;
  const auth =
    current.username || current.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(current.username)}:${decodeURIComponent(current.password)}`).toString('base64')}`
      : undefined;
  current.username = '';
  current.password = '';
  const signal = AbortSignal.timeout(timeoutMs);
  for (let hop = 0; ; hop++) {
    const headers: Record<string, string> = auth && current.origin === origin ? { authorization: auth } : {};
    const res = await fetch(current, { redirect: 'manual', signal, headers });
    if (!REDIRECT_STATUSES.has(res.status)) return res;
    await res.body?.cancel().catch(() => undefined);
    const location = res.headers.get('location');
    if (!location || hop >= MAX_REDIRECTS) {
      throw new KdevError(
        'DOWNLOAD_FAILED',
        `GET ${redactUrl(url)}: ${location ? 'too many redirects' : `${res.status} without a Location`}`,
      );
    }
    const next = new URL(location, current);
    const downgrade = current.protocol === 'https:' && next.protocol !== 'https:';
    if (downgrade || (next.protocol !== 'https:' && next.protocol !== 'http:')) {
      throw new KdevError(
        'DOWNLOAD_FAILED',
        `GET ${redactUrl(url)}: refused a redirect from ${current.protocol}// to ${redactUrl(next.href)}`,
        { hints: ['The server tried to move a secure download to an insecure address; use another mirror'] },
      );
    }
    current = next;
  }
}

async function open(
  url: string,
  timeoutMs: number,
  maxBytes: number,
): Promise<{ body: Readable; total?: number }> {
  const u = new URL(url);
  if (u.protocol === 'file:') {
    const file = fileURLToPath(u);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) throw new KdevError('DOWNLOAD_FAILED', `${url}: no such file`);
    if (st.size > maxBytes) throw tooLarge(url, maxBytes);
    return { body: createReadStream(file), total: st.size };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new KdevError(
      'BAD_INPUT',
      `cannot download ${redactUrl(url)}: only http, https and file URLs are supported`,
    );
  }
  let res: Response;
  try {
    res = await get(url, timeoutMs);
  } catch (err) {
    if (err instanceof KdevError) throw err;
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    throw new KdevError(
      'DOWNLOAD_FAILED',
      `GET ${redactUrl(url)}: ${redactUrls(cause?.code ?? cause?.message ?? (err as Error).message)}`,
      {
        cause: err,
        hints: ['Check the network, or the URL'],
      },
    );
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new KdevError('DOWNLOAD_FAILED', `GET ${redactUrl(url)}: ${res.status} ${res.statusText}`.trim(), {
      hints: res.status === 404 ? ['Check the URL: the server has no such file'] : [],
    });
  }
  const len = Number(res.headers.get('content-length'));
  if (Number.isFinite(len) && len > maxBytes) {
    await res.body.cancel().catch(() => undefined);
    throw tooLarge(url, maxBytes);
  }
  return {
    body: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
    total: Number.isFinite(len) && len > 0 ? len : undefined,
  };
}

/** Passes chunks through, failing once more than maxBytes went by (a length header can lie). */
function byteLimit(
  url: string,
  maxBytes: number,
  onChunk: (chunk: Buffer, total: number) => void,
): Transform {
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > maxBytes) return cb(tooLarge(url, maxBytes));
      onChunk(chunk, bytes);
      cb(null, chunk);
    },
  });
}

/** Streams url (http, https or file) to dest, verifying sha256 when given. */
export async function downloadFile(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_DOWNLOAD_BYTES;
  await fs.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
  // The pid in the name lets a later download clean up after a killed one (removeStaleTemps).
  const tmp = path.join(
    path.dirname(dest),
    `.${path.basename(dest)}.${process.pid}.${randomBytes(4).toString('hex')}.part`,
  );
  await removeStaleTemps(dest, 'part');
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const { body, total } = await open(url, timeoutMs, maxBytes);
    const meter = byteLimit(url, maxBytes, (chunk, seen) => {
      hash.update(chunk);
      bytes = seen;
      opts.onProgress?.(bytes, total);
    });
    await pipeline(body, meter, createWriteStream(tmp, { mode: 0o644 }));
    // Durable before the rename makes it visible under its real name.
    const fh = await fs.open(tmp, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    const sha256 = hash.digest('hex');
    if (opts.sha256 && sha256 !== opts.sha256.toLowerCase()) {
      throw new KdevError(
        'CHECKSUM_MISMATCH',
        `checksum mismatch for ${path.basename(dest)} from ${redactUrl(url)}`,
        {
          hints: [
            `Expected sha256 ${opts.sha256.toLowerCase()}, got ${sha256}`,
            'Retry; if it persists the source is damaged',
          ],
        },
      );
    }
    await fs.rename(tmp, dest);
    return { sha256, bytes };
  } catch (err) {
    await fs.rm(tmp, { force: true });
    if (err instanceof KdevError) throw err;
    throw new KdevError('DOWNLOAD_FAILED', `GET ${redactUrl(url)}: ${redactUrls((err as Error).message)}`, {
      cause: err,
    });
  }
}

/** A small resource (checksum lists, cmdline files), whole in memory and at most maxBytes. */
export async function fetchBytes(
  url: string,
  timeoutMs = 60_000,
  maxBytes = MAX_TEXT_BYTES,
): Promise<Buffer> {
  const { body } = await open(url, timeoutMs, maxBytes);
  const chunks: Buffer[] = [];
  await pipeline(
    body,
    byteLimit(url, maxBytes, (c) => chunks.push(Buffer.from(c))),
    new Writable({ write: (_c, _e, cb) => cb() }),
  );
  return Buffer.concat(chunks);
}

/** `sha256sum` output (`<hex>  <name>`, or `<hex> *<name>` in binary mode) as name → hex. */
export function parseSha256Sums(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{64}) [ *](.+?)\s*$/.exec(line);
    if (m) out.set(path.posix.basename(m[2]!.replace(/^\.\//, '')), m[1]!.toLowerCase());
  }
  return out;
}
