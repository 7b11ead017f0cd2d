// Downloads that either land complete and verified or not at all: stream to a temp file beside
// the target while hashing, compare, then rename.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { KdevError } from './errors.js';

export interface DownloadOptions {
  /** Expected lowercase hex SHA-256; a mismatch throws CHECKSUM_MISMATCH and keeps nothing. */
  sha256?: string;
  timeoutMs?: number;
  onProgress?: (receivedBytes: number, totalBytes: number | undefined) => void;
}

export interface DownloadResult {
  sha256: string;
  bytes: number;
}

async function open(url: string, timeoutMs: number): Promise<{ body: Readable; total?: number }> {
  const u = new URL(url);
  if (u.protocol === 'file:') {
    const file = fileURLToPath(u);
    const st = await fs.stat(file).catch(() => undefined);
    if (!st?.isFile()) throw new KdevError('DOWNLOAD_FAILED', `${url}: no such file`);
    return { body: createReadStream(file), total: st.size };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new KdevError('BAD_INPUT', `cannot download ${url}: only http, https and file URLs are supported`);
  }
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow', signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    throw new KdevError(
      'DOWNLOAD_FAILED',
      `GET ${url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`,
      {
        cause: err,
        hints: ['Check the network, or the URL'],
      },
    );
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel().catch(() => undefined);
    throw new KdevError('DOWNLOAD_FAILED', `GET ${url}: ${res.status} ${res.statusText}`.trim(), {
      hints: res.status === 404 ? ['Check the URL: the server has no such file'] : [],
    });
  }
  const len = Number(res.headers.get('content-length'));
  return {
    body: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>),
    total: Number.isFinite(len) && len > 0 ? len : undefined,
  };
}

/** Streams url (http, https or file) to dest, verifying sha256 when given. */
export async function downloadFile(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const timeoutMs = opts.timeoutMs ?? 30 * 60_000;
  await fs.mkdir(path.dirname(dest), { recursive: true, mode: 0o700 });
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.${randomBytes(4).toString('hex')}.part`);
  const hash = createHash('sha256');
  let bytes = 0;
  try {
    const { body, total } = await open(url, timeoutMs);
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        bytes += chunk.length;
        opts.onProgress?.(bytes, total);
        cb(null, chunk);
      },
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
      throw new KdevError('CHECKSUM_MISMATCH', `checksum mismatch for ${path.basename(dest)} from ${url}`, {
        hints: [
          `Expected sha256 ${opts.sha256.toLowerCase()}, got ${sha256}`,
          'Retry; if it persists the source is damaged',
        ],
      });
    }
    await fs.rename(tmp, dest);
    return { sha256, bytes };
  } catch (err) {
    await fs.rm(tmp, { force: true });
    if (err instanceof KdevError) throw err;
    throw new KdevError('DOWNLOAD_FAILED', `GET ${url}: ${(err as Error).message}`, { cause: err });
  }
}

/** A small text resource (checksum lists, cmdline files), whole in memory. */
export async function fetchText(url: string, timeoutMs = 60_000): Promise<string> {
  const { body } = await open(url, timeoutMs);
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks).toString('utf8');
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
