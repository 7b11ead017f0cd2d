import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseSha256Sums } from '../../../src/lib/download.js';
import { imageBaseUrl, imageFromDirectory, resolveGuestImage } from '../../../src/vm/image.js';
import { findIsoRecipe } from '../../../src/vm/image-build.js';

const savedHome = process.env.KDEV_HOME;
let home: string;
beforeEach(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-img-'));
  process.env.KDEV_HOME = home;
});
afterEach(() => {
  fs.rmSync(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.KDEV_HOME;
  else process.env.KDEV_HOME = savedHome;
});

function imageDir(dir: string, files: Record<string, string> = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  const all = { bzImage: 'k', initrd: 'i', ...files };
  for (const [name, body] of Object.entries(all)) fs.writeFileSync(path.join(dir, name), body);
  return dir;
}

describe('resolveGuestImage', () => {
  it('uses a folder given as a path or file:// URL, with its cmdline', async () => {
    const dir = imageDir(path.join(home, 'img'), { cmdline: 'console=ttyS0 panic=-1 quiet\n' });
    const expected = {
      kernel: path.join(dir, 'bzImage'),
      initrd: path.join(dir, 'initrd'),
      cmdline: 'console=ttyS0 panic=-1 quiet',
      arch: 'x86_64',
    };
    expect(await resolveGuestImage({ isoUrl: dir, arch: 'x86_64' })).toEqual(expected);
    expect(await resolveGuestImage({ isoUrl: pathToFileURL(dir).href, arch: 'x86_64' })).toEqual(expected);
  });

  it('takes the folder of an .iso file and records the iso', async () => {
    const dir = imageDir(path.join(home, 'img'), { 'kdev-0.1.0-amd64.iso': 'iso' });
    const img = await resolveGuestImage({ isoUrl: path.join(dir, 'kdev-0.1.0-amd64.iso'), arch: 'x86_64' });
    expect(img.iso).toBe(path.join(dir, 'kdev-0.1.0-amd64.iso'));
    expect(img.kernel).toBe(path.join(dir, 'bzImage'));
  });

  it('picks up rootfs.erofs beside the initrd, and leaves it out of an image without one', async () => {
    const dir = imageDir(path.join(home, 'img'), { 'rootfs.erofs': 'erofs' });
    expect(await imageFromDirectory(dir, 'x86_64')).toEqual({
      kernel: path.join(dir, 'bzImage'),
      initrd: path.join(dir, 'initrd'),
      cmdline: 'console=ttyS0 panic=-1',
      rootfs: path.join(dir, 'rootfs.erofs'),
      arch: 'x86_64',
    });
    const old = imageDir(path.join(home, 'old'));
    expect(await imageFromDirectory(old, 'x86_64')).not.toHaveProperty('rootfs');
    const arm = imageDir(path.join(home, 'arm'), { Image: 'k', 'rootfs.erofs': 'erofs' });
    expect((await resolveGuestImage({ isoUrl: arm, arch: 'aarch64' })).rootfs).toBe(
      path.join(arm, 'rootfs.erofs'),
    );
  });

  it('falls back to a default cmdline per architecture', async () => {
    const x86 = imageDir(path.join(home, 'x86'));
    expect((await resolveGuestImage({ isoUrl: x86, arch: 'x86_64' })).cmdline).toBe('console=ttyS0 panic=-1');
    const arm = path.join(home, 'arm');
    fs.mkdirSync(arm);
    fs.writeFileSync(path.join(arm, 'Image'), 'k');
    fs.writeFileSync(path.join(arm, 'initrd'), 'i');
    const img = await resolveGuestImage({ isoUrl: arm, arch: 'aarch64' });
    expect(img.cmdline).toBe('console=ttyAMA0 panic=-1');
    expect(img.kernel).toBe(path.join(arm, 'Image'));
  });

  it('names what is missing from a folder, and a path that does not exist', async () => {
    const dir = path.join(home, 'half');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'bzImage'), 'k');
    await expect(resolveGuestImage({ isoUrl: dir, arch: 'x86_64' })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringMatching(/no initrd/),
    });
    await expect(
      resolveGuestImage({ isoUrl: path.join(home, 'nope'), arch: 'x86_64' }),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('uses the locally built image by default', async () => {
    const dir = imageDir(path.join(home, 'cache', 'images', 'local'));
    const build = jestFn();
    expect((await resolveGuestImage({ arch: 'x86_64', build: build.fn, canBuild: true })).kernel).toBe(
      path.join(dir, 'bzImage'),
    );
    expect(build.calls).toHaveLength(0);
  });

  it('boots the uncompressed PVH vmlinux on x86_64 when the image has one', async () => {
    const dir = imageDir(path.join(home, 'img'), { vmlinux: 'elf' });
    expect((await resolveGuestImage({ isoUrl: dir, arch: 'x86_64' })).kernel).toBe(path.join(dir, 'vmlinux'));
  });

  it('builds the arm64 image into its own folder, never over the x86_64 one', async () => {
    imageDir(path.join(home, 'cache', 'images', 'local'));
    const archs: string[] = [];
    const build = jestFn(async (out: string) => {
      fs.mkdirSync(out, { recursive: true });
      for (const f of ['Image', 'initrd']) fs.writeFileSync(path.join(out, f), f);
    });
    const img = await resolveGuestImage({
      arch: 'aarch64',
      canBuild: true,
      build: async (out, log, arch) => {
        archs.push(arch);
        await build.fn(out, log);
      },
    });
    expect(build.calls).toEqual([path.join(home, 'cache', 'images', 'local-aarch64')]);
    expect(archs).toEqual(['aarch64']);
    expect(img.kernel).toBe(path.join(home, 'cache', 'images', 'local-aarch64', 'Image'));
  });

  it('builds the local image when there is none and the host can', async () => {
    const logs: string[] = [];
    const build = jestFn(async (out: string, log: (l: string) => void) => {
      log('==> mmdebstrap');
      imageDir(out, { cmdline: 'console=ttyS0 panic=-1 quiet\n' });
    });
    const img = await resolveGuestImage({
      arch: 'x86_64',
      canBuild: true,
      build: build.fn,
      log: (l) => logs.push(l),
    });
    expect(build.calls).toEqual([path.join(home, 'cache', 'images', 'local')]);
    expect(img.cmdline).toBe('console=ttyS0 panic=-1 quiet');
    expect(logs).toContain('==> mmdebstrap');
  });

  it('asks for --iso-url when there is no image and no way to build one', async () => {
    await expect(resolveGuestImage({ arch: 'x86_64', canBuild: false })).rejects.toMatchObject({
      code: 'NOT_FOUND',
      hints: expect.arrayContaining([expect.stringMatching(/--iso-url/)]),
    });
  });
});

function jestFn(impl: (out: string, log: (l: string) => void) => Promise<void> = async () => undefined) {
  const calls: string[] = [];
  return {
    calls,
    fn: async (out: string, log: (l: string) => void) => {
      calls.push(out);
      await impl(out, log);
    },
  };
}

describe('imageBaseUrl', () => {
  it.each([
    ['https://x.test/img/kdev-0.1.0-amd64.iso', 'https://x.test/img/'],
    ['https://x.test/img/', 'https://x.test/img/'],
    ['https://x.test/img', 'https://x.test/img/'],
    ['https://x.test/v0.1.0/', 'https://x.test/v0.1.0/'],
  ])('%s -> %s', (url, base) => {
    expect(imageBaseUrl(url).href).toBe(base);
  });
});

describe('parseSha256Sums', () => {
  it('reads text and binary mode lines and ignores junk', () => {
    const a = 'a'.repeat(64);
    const b = 'B'.repeat(64);
    const m = parseSha256Sums(`${a}  bzImage\n${b} *initrd\nnot a line\n${a}  ./cmdline\n`);
    expect([...m]).toEqual([
      ['bzImage', a],
      ['initrd', 'b'.repeat(64)],
      ['cmdline', a],
    ]);
  });
});

describe('findIsoRecipe', () => {
  it('finds iso/debian/build.sh upward from a folder inside the repo, and nothing from /', () => {
    expect(findIsoRecipe(path.resolve('src/vm'))).toBe(path.resolve('iso/debian/build.sh'));
    expect(findIsoRecipe('/')).toBeUndefined();
  });
});
