import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { classifyKernel, requireArm64Image } from '../../../src/vm/kernel-image.js';

/** A buffer of the given size with bytes written at offsets. */
function head(size: number, writes: [number, string | number[]][]): Buffer {
  const b = Buffer.alloc(size);
  for (const [at, v] of writes)
    (typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from(v)).copy(b, at);
  return b;
}

const arm64Image = head(0x210, [
  [0, 'MZ'],
  [0x38, 'ARM\x64'],
]);
const zboot = head(0x210, [
  [0, 'MZ'],
  [4, 'zimg'],
  [0x18, 'zstd\0\0\0\0'],
]);
const bzImage = head(0x210, [
  [0x1fe, [0x55, 0xaa]],
  [0x202, 'HdrS'],
]);
const elf = head(0x40, [[0, '\x7fELF']]);

describe('classifyKernel', () => {
  it.each([
    ['an arm64 Image', arm64Image, { kind: 'arm64-image' }],
    ['an arm64 Image without the EFI stub', head(0x40, [[0x38, 'ARM\x64']]), { kind: 'arm64-image' }],
    ['a gzip file', gzipSync(arm64Image), { kind: 'gzip' }],
    ['an EFI zboot image', zboot, { kind: 'efi-zboot', compression: 'zstd' }],
    ['an x86 bzImage', bzImage, { kind: 'x86-bzimage' }],
    ['an ELF vmlinux', elf, { kind: 'elf' }],
    ['garbage', Buffer.from('hello'), { kind: 'unknown' }],
    ['an empty file', Buffer.alloc(0), { kind: 'unknown' }],
  ])('recognises %s', (_what, bytes, expected) => {
    expect(classifyKernel(bytes)).toEqual(expected);
  });
});

describe('requireArm64Image', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-kimg-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, bytes: Buffer) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, bytes);
    return f;
  };

  it('accepts an uncompressed Image', async () => {
    await expect(requireArm64Image(write('Image', arm64Image))).resolves.toBeUndefined();
  });

  it.each([
    ['Image.gz', gzipSync(arm64Image), /is gzip-compressed, not an arm64 Image$/],
    ['vmlinuz.efi', zboot, /is an EFI zboot image \(zstd-compressed\), not an arm64 Image$/],
    ['bzImage', bzImage, /is an x86 kernel \(x86-bzimage\)/],
    ['junk', Buffer.from('junk'), /no "ARM\\x64" magic at 0x38/],
  ])('refuses %s with a reason and a hint', async (name, bytes, message) => {
    const err = requireArm64Image(write(name, bytes));
    await expect(err).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(message) });
    await expect(err).rejects.toMatchObject({ hints: expect.arrayContaining([expect.any(String)]) });
  });

  it('says so when the file is missing', async () => {
    await expect(requireArm64Image(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
