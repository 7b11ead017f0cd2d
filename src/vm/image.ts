// Finding the guest image to boot: a local folder or .iso beside its kernel and initrd (and, in
// newer images, rootfs.erofs), a URL downloaded into the cache with checksums, or the image built
// on this host.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { downloadFile, fetchBytes, parseSha256Sums } from '../lib/download.js';
import { KdevError } from '../lib/errors.js';
import { pathExists, readFileIfExists, writeFileAtomic } from '../lib/fs-atomic.js';
import { paths } from '../lib/paths.js';
import { redactUrl } from '../lib/redact.js';
import type { Arch, GuestImage } from './driver.js';
import { buildGuestImage } from './image-build.js';

export interface ResolveImageOptions {
  /** A folder, file:// URL or .iso path with bzImage/Image, initrd and cmdline beside it; or an http(s) URL. */
  isoUrl?: string;
  /** Expected SHA-256 of the image's SHA256SUMS: required for http://, a pin for https://. */
  isoSha256?: string;
  arch: Arch;
  log?: (line: string) => void;
  /** Injectable for tests: whether this host may build the image, and how. */
  canBuild?: boolean;
  build?: (out: string, log: (line: string) => void, arch: Arch) => Promise<unknown>;
}

/** A newer image's read-only root filesystem, beside the (then small) initrd. */
export const ROOTFS_FILE = 'rootfs.erofs';

export function kernelFileName(arch: Arch): string {
  // arm64 kernels boot directly only uncompressed (vfkit insists on it), so the image ships `Image`.
  return arch === 'aarch64' ? 'Image' : 'bzImage';
}

/**
 * The kernel file to boot, fastest first: on x86_64 the uncompressed `vmlinux`, which QEMU enters
 * through its PVH note with no decompression (seconds under TCG), else the `bzImage`.
 */
export function kernelCandidates(arch: Arch): string[] {
  return arch === 'aarch64' ? ['Image'] : ['vmlinux', 'bzImage'];
}

/** Where `kdev iso build` puts the image of an arch by default (x86_64 keeps the older name). */
export function localImageDir(arch: Arch): string {
  return path.join(paths.imagesDir(), arch === 'x86_64' ? 'local' : `local-${arch}`);
}

export function defaultCmdline(arch: Arch): string {
  return `console=${arch === 'aarch64' ? 'ttyAMA0' : 'ttyS0'} panic=-1`;
}

/**
 * Refuses an image source that cannot be trusted or makes no sense, before anything is written:
 * an empty --iso-url, a malformed --iso-sha256, or plain http without a pinned checksum (anyone on
 * the path could swap the kernel the VM boots).
 */
export function checkImageSource(isoUrl: string | undefined, isoSha256: string | undefined): void {
  if (isoUrl !== undefined && isoUrl.trim() === '') {
    throw new KdevError('BAD_INPUT', '--iso-url is empty', { hints: isoUrlHints });
  }
  if (isoSha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(isoSha256)) {
    throw new KdevError('BAD_INPUT', '--iso-sha256 must be 64 hexadecimal digits', {
      hints: ["Give the SHA-256 of the image's SHA256SUMS file, e.g. from: sha256sum SHA256SUMS"],
    });
  }
  if (isoUrl !== undefined && /^http:\/\//i.test(isoUrl.trim()) && isoSha256 === undefined) {
    throw new KdevError(
      'BAD_INPUT',
      `refusing an unauthenticated guest image over http: ${redactUrl(isoUrl.trim())}`,
      {
        hints: [
          'Use an https:// URL',
          "Or pin the image: --iso-sha256 <SHA-256 of the image's SHA256SUMS file>",
        ],
      },
    );
  }
}

export async function resolveGuestImage(opts: ResolveImageOptions): Promise<GuestImage> {
  const log = opts.log ?? (() => undefined);
  checkImageSource(opts.isoUrl, opts.isoSha256);
  const url = opts.isoUrl?.trim();
  if (url) {
    if (/^https?:\/\//i.test(url)) return downloadImage(url, opts.isoSha256?.toLowerCase(), opts.arch, log);
    const local = url.startsWith('file:') ? fileURLToPath(url) : path.resolve(url);
    const st = await fs.stat(local).catch(() => undefined);
    if (!st) throw new KdevError('NOT_FOUND', `guest image ${url} does not exist`, { hints: isoUrlHints });
    return imageFromDirectory(
      st.isDirectory() ? local : path.dirname(local),
      opts.arch,
      st.isFile() ? local : undefined,
    );
  }

  const localDir = localImageDir(opts.arch);
  if (await pathExists(path.join(localDir, 'initrd'))) return imageFromDirectory(localDir, opts.arch);

  const canBuild = opts.canBuild ?? (process.platform === 'linux' && process.getuid?.() === 0);
  if (!canBuild) {
    throw new KdevError('NOT_FOUND', 'no guest image: none was given and none has been built on this host', {
      hints: [
        `Pass --iso-url with a kdev image (a URL, or a folder holding bzImage, initrd, cmdline and any ${ROOTFS_FILE})`,
        `Or build one as root on Linux: sudo kdev iso build --out ${localDir}`,
      ],
    });
  }
  log(`building the guest image into ${localDir} (first start only)`);
  await (opts.build ?? buildGuestImage)(localDir, log, opts.arch);
  return imageFromDirectory(localDir, opts.arch);
}

const isoUrlHints = ['--iso-url takes an http(s) URL, a file:// URL or a path to a folder or .iso'];

/**
 * The image in dir; iso is the .iso the user pointed at, else any kdev-*.iso found there. The
 * rootfs.erofs is optional: an older image has none, its initrd being the whole root.
 */
export async function imageFromDirectory(dir: string, arch: Arch, iso?: string): Promise<GuestImage> {
  let kernel = path.join(dir, kernelFileName(arch));
  for (const name of kernelCandidates(arch)) {
    if (await pathExists(path.join(dir, name))) {
      kernel = path.join(dir, name);
      break;
    }
  }
  const initrd = path.join(dir, 'initrd');
  for (const f of [kernel, initrd]) {
    if (!(await pathExists(f))) {
      throw new KdevError('NOT_FOUND', `the guest image in ${dir} has no ${path.basename(f)}`, {
        hints: [
          `kdev boots the kernel directly: put ${path.basename(kernel)}, initrd and any ${ROOTFS_FILE} beside the ISO`,
        ],
      });
    }
  }
  const cmdline = (await readFileIfExists(path.join(dir, 'cmdline')))?.trim() || defaultCmdline(arch);
  const rootfs = path.join(dir, ROOTFS_FILE);
  const hasRootfs = await pathExists(rootfs);
  const foundIso =
    iso?.endsWith('.iso') === true
      ? iso
      : (await fs.readdir(dir)).filter((n) => /^kdev-.*\.iso$/.test(n)).map((n) => path.join(dir, n))[0];
  return {
    kernel,
    initrd,
    cmdline,
    arch,
    ...(foundIso ? { iso: foundIso } : {}),
    ...(hasRootfs ? { rootfs } : {}),
  };
}

/** The folder URL the image files are relative to: the URL itself, or the folder of a file URL. */
export function imageBaseUrl(url: string): URL {
  const u = new URL(url);
  const last = u.pathname.split('/').pop() ?? '';
  if (last !== '' && !last.includes('.')) u.pathname += '/';
  return new URL('.', u);
}

async function downloadImage(
  url: string,
  pinnedSums: string | undefined,
  arch: Arch,
  log: (line: string) => void,
): Promise<GuestImage> {
  // The pin is part of the key: an entry cached without it (or with another) is never reused.
  const key = createHash('sha256')
    .update(`${url}\n${pinnedSums ?? ''}`)
    .digest('hex');
  const dir = path.join(paths.imagesDir(), key);
  const marker = path.join(dir, '.complete');
  if (await pathExists(marker)) return imageFromDirectory(dir, arch);

  const base = imageBaseUrl(url);
  const sumsUrl = new URL('SHA256SUMS', base).href;
  const sumsBytes = await fetchBytes(sumsUrl);
  const sumsSha = createHash('sha256').update(sumsBytes).digest('hex');
  if (pinnedSums !== undefined && sumsSha !== pinnedSums) {
    throw new KdevError('CHECKSUM_MISMATCH', `${redactUrl(sumsUrl)} does not match --iso-sha256`, {
      hints: [
        `Expected sha256 ${pinnedSums}, got ${sumsSha}`,
        'Check the URL and the checksum you were given',
      ],
    });
  }
  const sumsText = sumsBytes.toString('utf8');
  const sums = parseSha256Sums(sumsText);
  const kernelName = kernelCandidates(arch).find((n) => sums.has(n)) ?? kernelFileName(arch);
  const optional = ['cmdline', ROOTFS_FILE].filter((n) => sums.has(n));
  const wanted = [kernelName, 'initrd', ...optional];
  for (const name of [kernelName, 'initrd']) {
    if (!sums.has(name)) {
      throw new KdevError('DOWNLOAD_FAILED', `${redactUrl(sumsUrl)} does not list ${name}`, {
        hints: [
          `Is this a kdev guest image? It must publish bzImage (or Image), initrd, SHA256SUMS and any ${ROOTFS_FILE}`,
        ],
      });
    }
  }

  // Everything lands in a staging folder that becomes the cache entry only once all files verify.
  await fs.mkdir(paths.imagesDir(), { recursive: true, mode: 0o700 });
  const staging = await fs.mkdtemp(path.join(paths.imagesDir(), `.${key.slice(0, 12)}-`));
  try {
    for (const name of wanted) {
      const fileUrl = new URL(name, base).href;
      log(`downloading ${redactUrl(fileUrl)}`);
      await downloadFile(fileUrl, path.join(staging, name), { sha256: sums.get(name) });
    }
    await writeFileAtomic(path.join(staging, 'SHA256SUMS'), sumsText, 0o644);
    await writeFileAtomic(path.join(staging, '.complete'), `${redactUrl(url)}\n`, 0o644);
    await fs.chmod(staging, 0o755);
    try {
      await fs.rename(staging, dir);
    } catch (err) {
      // Another start finished the same download first, or a stale unfinished entry is in the way.
      if (!(await pathExists(marker))) {
        await fs.rm(dir, { recursive: true, force: true });
        await fs.rename(staging, dir);
      } else if (
        (err as NodeJS.ErrnoException).code !== 'ENOTEMPTY' &&
        (err as NodeJS.ErrnoException).code !== 'EEXIST'
      ) {
        throw err;
      }
    }
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
  return imageFromDirectory(dir, arch);
}
