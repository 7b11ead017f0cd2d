// kubeadm, kubelet, kubectl (dl.k8s.io) and crictl (cri-tools release for the minor), verified
// against their published SHA-256 and cached per version and architecture on the host.
//
// --binary-mirror takes an http(s) URL or a local folder laid out like the upstream servers:
//   <mirror>/<version>/bin/linux/<arch>/<bin>            and <bin>.sha256
//   <mirror>/cri-tools/<crictl version>/crictl-<crictl version>-linux-<arch>.tar.gz   and .sha256
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { downloadFile, fetchBytes } from '../../lib/download.js';
import { KdevError } from '../../lib/errors.js';
import { writeFileAtomic } from '../../lib/fs-atomic.js';
import { withLock } from '../../lib/lock.js';
import { paths } from '../../lib/paths.js';
import { throttledProgress } from '../../lib/transfer-progress.js';
import { KUBERNETES_BINARIES } from './guest-layout.js';
import type { KubernetesRelease } from './versions.js';

export const K8S_RELEASE_BASE = 'https://dl.k8s.io/release';
export const CRI_TOOLS_BASE = 'https://github.com/kubernetes-sigs/cri-tools/releases/download';

export type GuestArch = 'amd64' | 'arm64';

export function guestArch(nodeArch: string = os.arch()): GuestArch {
  return nodeArch === 'arm64' ? 'arm64' : 'amd64';
}

/** Every file a guest gets, in the order they are fetched; crictl is unpacked from its tarball. */
export const CACHED_FILES = [...KUBERNETES_BINARIES, 'crictl'] as const;
export const SUMS_FILE = 'SHA256SUMS';

export function binaryCacheDir(version: string, arch: GuestArch): string {
  return path.join(paths.cacheDir(), 'kubernetes', version, `linux-${arch}`);
}

export interface BinarySource {
  name: string;
  url: string;
  shaUrl: string;
}

/** A mirror given as a folder becomes a file:// base; http(s) stays as it is. Anything else is refused. */
export function mirrorBase(mirror: string): { k8s: string; criTools: string } {
  let base: string;
  if (/^https?:\/\//.test(mirror)) base = mirror.replace(/\/+$/, '');
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(mirror)) {
    throw new KdevError(
      'BAD_INPUT',
      `--binary-mirror "${mirror}": only http(s) URLs and local folders work`,
      {
        hints: ['Example: --binary-mirror https://mirror.example/k8s or --binary-mirror ~/k8s-mirror'],
      },
    );
  } else base = pathToFileURL(path.resolve(mirror)).href.replace(/\/+$/, '');
  return { k8s: base, criTools: `${base}/cri-tools` };
}

export function binarySources(release: KubernetesRelease, arch: GuestArch, mirror?: string): BinarySource[] {
  const bases = mirror ? mirrorBase(mirror) : { k8s: K8S_RELEASE_BASE, criTools: CRI_TOOLS_BASE };
  const out: BinarySource[] = KUBERNETES_BINARIES.map((bin) => {
    const url = `${bases.k8s}/${release.version}/bin/linux/${arch}/${bin}`;
    return { name: bin, url, shaUrl: `${url}.sha256` };
  });
  const tarball = `crictl-${release.criTools}-linux-${arch}.tar.gz`;
  const url = `${bases.criTools}/${release.criTools}/${tarball}`;
  out.push({ name: tarball, url, shaUrl: `${url}.sha256` });
  return out;
}

/**
 * A published .sha256: dl.k8s.io's hold exactly the 64 hex digits; cri-tools' may add the file
 * name after them (sha256sum format). Anything else is refused, so an HTML error page never
 * passes for a checksum.
 */
export function parseChecksum(text: string, source: string, allowName: boolean): string {
  const t = text.trim();
  const m = allowName ? /^([0-9a-fA-F]{64})(?:\s+\*?\S+)?$/.exec(t) : /^([0-9a-fA-F]{64})$/.exec(t);
  if (!m) {
    throw new KdevError('DOWNLOAD_FAILED', `${source} is not a SHA-256 checksum`, {
      hints: ['Check --binary-mirror: each file needs a <file>.sha256 beside it holding its 64-hex digest'],
    });
  }
  return m[1]!.toLowerCase();
}

/** A published .sha256 file: a few dozen bytes (a 4 KiB cap keeps an HTML page out). */
async function fetchChecksumText(url: string): Promise<string> {
  return (await fetchBytes(url, 60_000, 4096)).toString('utf8');
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function readSums(dir: string): Promise<Map<string, string> | undefined> {
  try {
    const text = await fs.readFile(path.join(dir, SUMS_FILE), 'utf8');
    const map = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
      if (m) map.set(m[2]!, m[1]!);
    }
    return CACHED_FILES.every((f) => map.has(f)) ? map : undefined;
  } catch {
    return undefined;
  }
}

export interface EnsureBinariesOptions {
  release: KubernetesRelease;
  arch?: GuestArch;
  mirror?: string;
  report?: (line: string) => void;
}

export interface CachedBinaries {
  dir: string;
  /** file name → sha256, as written to SHA256SUMS. */
  sums: Map<string, string>;
  downloaded: string[];
}

async function extractCrictl(tarball: string, destDir: string): Promise<void> {
  const tar = await import('tar');
  const out = await fs.mkdtemp(path.join(destDir, '.crictl-'));
  try {
    await tar.x({ file: tarball, cwd: out, filter: (p) => p.replace(/^\.\//, '') === 'crictl' });
    const extracted = path.join(out, 'crictl');
    const st = await fs.stat(extracted).catch(() => undefined);
    if (!st?.isFile()) {
      throw new KdevError('DOWNLOAD_FAILED', `${path.basename(tarball)} holds no crictl`, {
        hints: ['Check --binary-mirror: it must serve the cri-tools release tarball'],
      });
    }
    await fs.chmod(extracted, 0o755);
    await fs.rename(extracted, path.join(destDir, 'crictl'));
  } finally {
    await fs.rm(out, { recursive: true, force: true });
  }
}

/**
 * Downloads what is missing into the cache (under a lock shared by concurrent starts) and returns
 * the checksums. Every file is verified before it gets its real name; a mismatch caches nothing.
 */
export async function ensureBinaries(opts: EnsureBinariesOptions): Promise<CachedBinaries> {
  const arch = opts.arch ?? guestArch();
  const dir = binaryCacheDir(opts.release.version, arch);
  const cached = await readSums(dir);
  if (cached) return { dir, sums: cached, downloaded: [] };
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  return withLock(
    path.join(dir, '.lock'),
    { timeoutMs: 30 * 60_000, what: `the ${opts.release.version} binary cache` },
    async () => {
      const again = await readSums(dir);
      if (again) return { dir, sums: again, downloaded: [] };
      const sums = new Map<string, string>();
      const downloaded: string[] = [];
      for (const src of binarySources(opts.release, arch, opts.mirror)) {
        const isCrictl = src.name.startsWith('crictl-');
        const target = path.join(dir, isCrictl ? 'crictl' : src.name);
        const existing = await fs.stat(target).catch(() => undefined);
        const expected = parseChecksum(await fetchChecksumText(src.shaUrl), src.shaUrl, isCrictl);
        if (existing?.isFile() && !isCrictl && (await sha256OfFile(target)) === expected) {
          sums.set(src.name, expected);
          continue;
        }
        const progress = opts.report ? throttledProgress(src.name, opts.report) : undefined;
        const dest = isCrictl ? path.join(dir, src.name) : target;
        await downloadFile(src.url, dest, { sha256: expected, onProgress: progress });
        downloaded.push(src.name);
        if (isCrictl) {
          await extractCrictl(dest, dir);
          await fs.rm(dest, { force: true });
        } else {
          await fs.chmod(dest, 0o755);
          sums.set(src.name, expected);
        }
      }
      sums.set('crictl', await sha256OfFile(path.join(dir, 'crictl')));
      const lines = CACHED_FILES.map((f) => `${sums.get(f)}  ${f}`).join('\n');
      // Written last: its presence means the folder is complete.
      await writeFileAtomic(path.join(dir, SUMS_FILE), `${lines}\n`, 0o644);
      return { dir, sums, downloaded };
    },
  );
}

/**
 * A kubectl that runs on this host, for `kdev kubectl`: on Linux the guest's own (same arch,
 * same cache); elsewhere the host OS's build from the same release, verified the same way.
 */
export async function ensureHostKubectl(
  opts: EnsureBinariesOptions & { platform?: string },
): Promise<string> {
  const platform = opts.platform ?? os.platform();
  const arch = opts.arch ?? guestArch();
  if (platform === 'linux') return path.join((await ensureBinaries({ ...opts, arch })).dir, 'kubectl');
  const dir = path.join(paths.cacheDir(), 'kubernetes', opts.release.version, `${platform}-${arch}`);
  const file = path.join(dir, 'kubectl');
  if (await fs.stat(file).catch(() => undefined)) return file;
  const base = opts.mirror ? mirrorBase(opts.mirror).k8s : K8S_RELEASE_BASE;
  const url = `${base}/${opts.release.version}/bin/${platform}/${arch}/kubectl`;
  const sha256 = parseChecksum(await fetchChecksumText(`${url}.sha256`), `${url}.sha256`, false);
  await downloadFile(url, file, {
    sha256,
    onProgress: opts.report ? throttledProgress('kubectl', opts.report) : undefined,
  });
  await fs.chmod(file, 0o755);
  return file;
}
