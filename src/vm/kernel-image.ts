// Which kind of kernel file this is, from its first bytes. vfkit (Virtualization.framework) on
// arm64 boots only the uncompressed `Image` and hangs silently on anything else, so a wrong
// file is refused up front with a reason instead of a VM that never prints a line.
import fs from 'node:fs/promises';
import { KdevError } from '../lib/errors.js';

export type KernelFileKind =
  | { kind: 'arm64-image' }
  | { kind: 'x86-bzimage' }
  | { kind: 'elf' }
  | { kind: 'gzip' }
  /** EFI zboot: a PE/COFF stub wrapping a compressed Image (CONFIG_EFI_ZBOOT). */
  | { kind: 'efi-zboot'; compression: string }
  | { kind: 'unknown' };

/** Enough of the head of the file for every signature below (bzImage's "HdrS" is at 0x202). */
export const KERNEL_HEAD_BYTES = 0x210;

export function classifyKernel(head: Uint8Array): KernelFileKind {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  const ascii = (at: number, len: number) => (b.length >= at + len ? b.toString('latin1', at, at + len) : '');
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return { kind: 'gzip' };
  if (ascii(0, 2) === 'MZ' && ascii(4, 4) === 'zimg') {
    // The compression name is a NUL-padded string at 0x18 ("gzip", "zstd", "lzma", …).
    const compression = ascii(0x18, 32).replace(/\0.*$/s, '') || 'unknown';
    return { kind: 'efi-zboot', compression };
  }
  // arm64 boot protocol: magic "ARM\x64" at 0x38 (an Image may also begin with an "MZ" EFI stub).
  if (ascii(0x38, 4) === 'ARM\x64') return { kind: 'arm64-image' };
  if (ascii(0x202, 4) === 'HdrS') return { kind: 'x86-bzimage' };
  if (ascii(0, 4) === '\x7fELF') return { kind: 'elf' };
  return { kind: 'unknown' };
}

export async function readKernelKind(file: string): Promise<KernelFileKind> {
  let fh;
  try {
    fh = await fs.open(file, 'r');
  } catch (err) {
    throw new KdevError(
      'NOT_FOUND',
      `kernel ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      {
        cause: err,
      },
    );
  }
  try {
    const buf = Buffer.alloc(KERNEL_HEAD_BYTES);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return classifyKernel(buf.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/** Throws one clear line unless file is an uncompressed arm64 `Image`. */
export async function requireArm64Image(file: string): Promise<void> {
  const k = await readKernelKind(file);
  if (k.kind === 'arm64-image') return;
  const uncompress =
    'vfkit needs the uncompressed arm64 Image; see https://github.com/crc-org/vfkit/blob/main/doc/uncompress_kernel.md';
  switch (k.kind) {
    case 'gzip':
      throw new KdevError('BAD_INPUT', `kernel ${file} is gzip-compressed, not an arm64 Image`, {
        hints: [`Uncompress it: gunzip -c ${file} > Image`, uncompress],
      });
    case 'efi-zboot':
      throw new KdevError(
        'BAD_INPUT',
        `kernel ${file} is an EFI zboot image (${k.compression}-compressed), not an arm64 Image`,
        {
          hints: ['Use a kernel built without CONFIG_EFI_ZBOOT, or extract the payload', uncompress],
        },
      );
    case 'x86-bzimage':
    case 'elf':
      throw new KdevError('BAD_INPUT', `kernel ${file} is an x86 kernel (${k.kind}), not an arm64 Image`, {
        hints: ['Use the aarch64 kdev image on an Apple silicon Mac'],
      });
    default:
      throw new KdevError('BAD_INPUT', `kernel ${file} is not an arm64 Image (no "ARM\\x64" magic at 0x38)`, {
        hints: [uncompress],
      });
  }
}
