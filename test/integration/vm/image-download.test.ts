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
const sumsOf = (all: Record<string, string | Buffer>) =>
  Object.entries(all)
    .map(([n, b]) => `${sha(b)}  ${n}\n`)
    .join('');
const goodSums = sumsOf(files);
// A newer image: the same files plus its read-only root filesystem, listed in its own SHA256SUMS.
const rootfs = Buffer.alloc(200_000, 0xe2);
const rootFiles: Record<string, string | Buffer> = { ...files, 'rootfs.erofs': rootfs };
const rootSums = sumsOf(rootFiles);

let server: http.Server;
let base: string;
const hits: string[] = [];
const savedHome = process.env.KDEV_HOME;
let home: string;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    hits.push(url);
    // Extra routes for the limits, redirects and credentials below.
    if (url === '/huge/SHA256SUMS') return res.end(Buffer.alloc(2 * 1024 * 1024, 0x61));
    if (url === '/stream/bzImage') {
      // No Content-Length: only counting the bytes can stop it.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < 20; i++) res.write(Buffer.alloc(64 * 1024, 1));
      return res.end();
    }
    const moved = /^\/moved\/(.+)$/.exec(url);
    if (moved) return res.writeHead(302, { location: `/good/${moved[1]}` }).end();
    if (url === '/loop') return res.writeHead(302, { location: '/loop' }).end();
    if (url.startsWith('/private/')) {
      const ok = req.headers.authorization === `Basic ${Buffer.from('user:s3cret').toString('base64')}`;
      return ok ? res.end('private bytes') : res.writeHead(401).end('who are you');
    }
    const m = /^\/(good|bad|root|badroot)\/(.+)$/.exec(url);
    const name = m?.[2];
    if (!m || !name) return res.writeHead(404).end('not found');
    const withRoot = m[1] === 'root' || m[1] === 'badroot';
    if (name === 'SHA256SUMS') return res.end(withRoot ? rootSums : goodSums);
    const body = (withRoot ? rootFiles : files)[name];
    if (body === undefined) return res.writeHead(404).end('not found');
    // /bad/ serves a damaged initrd, /badroot/ a damaged rootfs.erofs, under the good checksum list.
    const damaged = (m[1] === 'bad' && name === 'initrd') || (m[1] === 'badroot' && name === 'rootfs.erofs');
    res.end(damaged ? 'tampered' : body);
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

const cacheEntries = () =>
  fs.existsSync(path.join(home, 'cache', 'images')) ? fs.readdirSync(path.join(home, 'cache', 'images')) : [];
const pin = sha(goodSums);

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
    const isoUrl = `${base}/good/kdev-0.1.0-amd64.iso`;
    const img = await resolveGuestImage({ isoUrl, isoSha256: pin, arch: 'x86_64' });
    const dir = path.join(home, 'cache', 'images', sha(`${isoUrl}\n${pin}`));
    expect(img).toEqual({
      kernel: path.join(dir, 'bzImage'),
      initrd: path.join(dir, 'initrd'),
      cmdline: 'console=ttyS0 panic=-1 quiet',
      arch: 'x86_64',
    });
    expect(fs.readFileSync(img.kernel).equals(kernel)).toBe(true);
    expect(hits.sort()).toEqual(['/good/SHA256SUMS', '/good/bzImage', '/good/cmdline', '/good/initrd']);

    hits.length = 0;
    await resolveGuestImage({ isoUrl, isoSha256: pin, arch: 'x86_64' });
    expect(hits).toEqual([]);
  });

  it('downloads and verifies rootfs.erofs when SHA256SUMS lists it', async () => {
    const isoUrl = `${base}/root/`;
    const rootPin = sha(rootSums);
    const img = await resolveGuestImage({ isoUrl, isoSha256: rootPin, arch: 'x86_64' });
    const dir = path.join(home, 'cache', 'images', sha(`${isoUrl}\n${rootPin}`));
    expect(img.rootfs).toBe(path.join(dir, 'rootfs.erofs'));
    expect(fs.readFileSync(path.join(dir, 'rootfs.erofs')).equals(rootfs)).toBe(true);
    expect(hits.sort()).toEqual([
      '/root/SHA256SUMS',
      '/root/bzImage',
      '/root/cmdline',
      '/root/initrd',
      '/root/rootfs.erofs',
    ]);
  });

  it('caches nothing when rootfs.erofs fails its checksum', async () => {
    await expect(
      resolveGuestImage({ isoUrl: `${base}/badroot/`, isoSha256: sha(rootSums), arch: 'x86_64' }),
    ).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringMatching(/rootfs\.erofs/),
    });
    expect(cacheEntries()).toEqual([]);
  });

  it('caches nothing when one file fails its checksum', async () => {
    await expect(
      resolveGuestImage({ isoUrl: `${base}/bad/`, isoSha256: pin, arch: 'x86_64' }),
    ).rejects.toMatchObject({
      code: 'CHECKSUM_MISMATCH',
      message: expect.stringMatching(/initrd/),
    });
    expect(cacheEntries()).toEqual([]);
  });

  it('fails with DOWNLOAD_FAILED when the image has no SHA256SUMS', async () => {
    await expect(
      resolveGuestImage({ isoUrl: `${base}/nothing/here/`, isoSha256: pin, arch: 'x86_64' }),
    ).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/404/),
    });
  });
});

describe('guest images are authenticated', () => {
  it('refuses plain http without --iso-sha256, before fetching anything', async () => {
    await expect(resolveGuestImage({ isoUrl: `${base}/good/`, arch: 'x86_64' })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/refusing an unauthenticated guest image over http/),
      hints: expect.arrayContaining([expect.stringMatching(/--iso-sha256/)]),
    });
    expect(hits).toEqual([]);
  });

  it('refuses an http image whose SHA256SUMS is not the pinned one, caching nothing', async () => {
    await expect(
      resolveGuestImage({ isoUrl: `${base}/good/`, isoSha256: sha('something else'), arch: 'x86_64' }),
    ).rejects.toMatchObject({ code: 'CHECKSUM_MISMATCH', message: expect.stringMatching(/--iso-sha256/) });
    expect(hits).toEqual(['/good/SHA256SUMS']);
    expect(cacheEntries()).toEqual([]);
  });

  it.each([[''], ['   ']])('an empty --iso-url (%j) is an error, not the default image', async (isoUrl) => {
    await expect(resolveGuestImage({ isoUrl, arch: 'x86_64', canBuild: false })).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: '--iso-url is empty',
    });
  });

  it('refuses a SHA256SUMS over 1 MiB', async () => {
    const huge = sha(Buffer.alloc(2 * 1024 * 1024, 0x61));
    await expect(
      resolveGuestImage({ isoUrl: `${base}/huge/`, isoSha256: huge, arch: 'x86_64' }),
    ).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/1048576-byte limit/),
    });
  });

  it('bounds a download with a Content-Length, and one without, keeping nothing', async () => {
    const dest = path.join(home, 'k');
    await expect(downloadFile(`${base}/good/bzImage`, dest, { maxBytes: 1000 })).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/larger than the 1000-byte limit/),
    });
    await expect(downloadFile(`${base}/stream/bzImage`, dest, { maxBytes: 100_000 })).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/larger than the 100000-byte limit/),
    });
    expect(fs.readdirSync(home)).toEqual([]);
  });

  it('follows a same-scheme redirect, and stops a redirect loop', async () => {
    const r = await downloadFile(`${base}/moved/initrd`, path.join(home, 'i'), {
      sha256: sha('initrd bytes'),
    });
    expect(r.bytes).toBe('initrd bytes'.length);
    await expect(downloadFile(`${base}/loop`, path.join(home, 'l'))).rejects.toMatchObject({
      code: 'DOWNLOAD_FAILED',
      message: expect.stringMatching(/too many redirects/),
    });
  });

  it('sends URL credentials as basic auth and never shows them in a message', async () => {
    const withCreds = base.replace('http://', 'http://user:s3cret@');
    const r = await downloadFile(`${withCreds}/private/x`, path.join(home, 'p'));
    expect(fs.readFileSync(path.join(home, 'p'), 'utf8')).toBe('private bytes');
    expect(r.bytes).toBe(13);
    const wrong = base.replace('http://', 'http://user:wrong-pass@');
    const err = (await downloadFile(`${wrong}/private/x`, path.join(home, 'q')).catch(
      (e: unknown) => e,
    )) as Error;
    expect(err.message).toBe(`GET ${base.replace('http://', 'http://***@')}/private/x: 401 Unauthorized`);
    expect(JSON.stringify(err)).not.toContain('wrong-pass');
  });
});
