// Downloads against a real local HTTP server: a good image, a damaged file, a missing file.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { downloadFile } from '../../../src/lib/download.js';
import { resolveGuestImage } from '../../../src/vm/image.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

const kernel = Buffer.alloc(300_000, 7); // bigger than one chunk, so the download streams
const files: Record<string, string | Buffer> = {
  bzImage: kernel,
  initrd: 'initrd bytes',
  cmdline: 'console=ttyS0 panic=-1 quiet\n',
};
const goodSums = Object.entries(files)
  .map(([n, b]) => `${sha(b)}  ${n}\n`)
  .join('');

let server: http.Server;
let base: string;
const hits: string[] = [];
const savedHome = process.env.KDEV_HOME;
let home: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.push(url);
    const m = /^\/(good|bad)\/(.+)$/.exec(url);
    const name = m?.[2];
    if (!m || !name) return res.writeHead(404).end('not found');
    if (name === 'SHA256SUMS') return res.end(goodSums);
    const body = files[name];
    if (body === undefined) return res.writeHead(404).end('not found');
    // /bad/ serves a damaged initrd under the good checksum list.
    res.end(m[1] === 'bad' && name === 'initrd' ? 'tampered' : body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-dl-'));
  process.env.KDEV_HOME = home;
  hits.length = 0;
});

afterEach(() => {
  fs.rmSync(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.KDEV_HOME;
  else process.env.KDEV_HOME = savedHome;
});

const cacheEntries = () => fs.readdirSync(path.join(home, 'cache', 'images'));

describe('downloadFile', () => {
  it('streams to the destination and reports the checksum', async () => {
    const dest = path.join(home, 'k');
    const seen: number[] = [];
    const r = await downloadFile(`${base}/good/bzImage`, dest, {
      sha256: sha(kernel),
      onProgress: (n) => seen.push(n),
    });
    expect(r).toEqual({ sha256: sha(kernel), bytes: kernel.length });
    expect(fs.readFileSync(dest).equals(kernel)).toBe(true);
    expect(seen.at(-1)).toBe(kernel.length);
    expect(fs.readdirSync(home)).toEqual(['k']);
  });

  it('keeps nothing on a checksum mismatch and names the file', async () => {
    const dest = path.join(home, 'initrd');
    await expect(
      downloadFile(`${base}/bad/initrd`, dest, { sha256: sha('initrd bytes') }),
    ).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringMatching(/initrd/),
    });
    expect(fs.readdirSync(home)).toEqual([]);
  });

  it('fails on 404 with DOWNLOAD_FAILED and keeps nothing', async () => {
    await expect(downloadFile(`${base}/good/nope`, path.join(home, 'x'))).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/404/),
    });
    expect(fs.readdirSync(home)).toEqual([]);
  });

  it('fails cleanly when nothing listens', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    await expect(downloadFile(`http://127.0.0.1:${port}/x`, path.join(home, 'x'))).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/ECONNREFUSED/),
    });
  });
});

describe('resolveGuestImage over http', () => {
  it('downloads kernel, initrd and cmdline into the cache, verified, then reuses the cache', async () => {
    const img = await resolveGuestImage({ isoUrl: `${base}/good/kdev-0.1.0-amd64.iso`, arch: 'x86_64' });
    const dir = path.join(home, 'cache', 'images', sha(`${base}/good/kdev-0.1.0-amd64.iso`));
    expect(img).toEqual({
      kernel: path.join(dir, 'bzImage'),
      initrd: path.join(dir, 'initrd'),
      cmdline: 'console=ttyS0 panic=-1 quiet',
      arch: 'x86_64',
    });
    expect(fs.readFileSync(img.kernel).equals(kernel)).toBe(true);
    expect(hits.sort()).toEqual(['/good/SHA256SUMS', '/good/bzImage', '/good/cmdline', '/good/initrd']);

    hits.length = 0;
    await resolveGuestImage({ isoUrl: `${base}/good/kdev-0.1.0-amd64.iso`, arch: 'x86_64' });
    expect(hits).toEqual([]);
  });

  it('caches nothing when one file fails its checksum', async () => {
    await expect(resolveGuestImage({ isoUrl: `${base}/bad/`, arch: 'x86_64' })).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringMatching(/initrd/),
    });
    expect(cacheEntries()).toEqual([]);
  });

  it('fails with DOWNLOAD_FAILED when the image has no SHA256SUMS', async () => {
    await expect(
      resolveGuestImage({ isoUrl: `${base}/nothing/here/`, arch: 'x86_64' }),
    ).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/404/),
    });
  });
});
