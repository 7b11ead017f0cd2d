// What a vfkit machine needs from the host, each refusal one line with what to do about it:
// macOS 13+ (Linux boot loader with the devices used here), a vfkit new enough for them, a
// gvproxy (unless --network vmnet), a guest of the host's own architecture (Virtualization.framework does not emulate),
// and room for the data disk.
import fs from 'node:fs/promises';
import { KdevError } from '../../lib/errors.js';
import { which, type CommandRunner } from '../../lib/exec.js';
import { findGvproxy } from '../network/gvproxy.js';
import type { Arch } from '../driver.js';

/** Oldest vfkit we accept: older releases lack some of the device options buildVfkitArgv uses. */
export const MIN_VFKIT_VERSION: Version = [0, 6, 0];
export const MIN_MACOS_MAJOR = 13;
/** Below this much free space the data disk (sparse, but it fills) and images will not fit. */
export const MIN_FREE_MIB = 2048;

export type Version = [number, number, number];

export interface VfkitHostProbes {
  platform: NodeJS.Platform;
  /** process.arch: 'arm64' | 'x64' | … */
  hostArch: string;
  env: NodeJS.ProcessEnv;
  runner: CommandRunner;
  /** Free bytes on the file system holding dir. */
  freeBytes(dir: string): Promise<number>;
  which(name: string): Promise<string | undefined>;
}

export function hostProbes(runner: CommandRunner, env: NodeJS.ProcessEnv = process.env): VfkitHostProbes {
  return {
    platform: process.platform,
    hostArch: process.arch,
    env,
    runner,
    async freeBytes(dir) {
      const s = await fs.statfs(dir);
      return s.bavail * s.bsize;
    },
    which: (name) => which(name, env.PATH ?? ''),
  };
}

/** `vfkit version: v0.6.1` (or a bare `0.6.1`) -> [0, 6, 1]; undefined when there is none. */
export function parseVfkitVersion(text: string): Version | undefined {
  const m = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

/** `sw_vers -productVersion` output (`14.6.1`, `13.0`) -> its major number. */
export function parseMacosMajor(text: string): number | undefined {
  const m = /^\s*(\d+)(?:\.\d+)*\s*$/.exec(text);
  return m ? Number(m[1]) : undefined;
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return 0;
}

const fmt = (v: Version) => v.join('.');

/** Refuses vfkit on anything but macOS, in one line (cheap: run before any other check). */
export function requireMacos(platform: NodeJS.Platform): void {
  if (platform !== 'darwin') {
    throw new KdevError('UNSUPPORTED_HOST', `the vfkit driver needs macOS (this host is ${platform})`, {
      hints: ['Use --driver qemu on this host'],
    });
  }
}

function hostArchOf(hostArch: string): Arch | undefined {
  return hostArch === 'arm64' ? 'aarch64' : hostArch === 'x64' ? 'x86_64' : undefined;
}

export interface VfkitTools {
  vfkit: string;
  /** Absent when the machine does not use it (--network vmnet). */
  gvproxy?: string;
  vfkitVersion: Version;
}

/** Every check, in the order a user would fix them; returns the tools' paths. */
export async function checkVfkitHost(
  p: VfkitHostProbes,
  want: { guestArch: Arch; storeDir: string; gvproxy: boolean },
): Promise<VfkitTools> {
  requireMacos(p.platform);

  const sw = await p.runner.run('sw_vers', ['-productVersion'], { reject: false });
  const major = parseMacosMajor(sw.stdout);
  if (major === undefined || major < MIN_MACOS_MAJOR) {
    throw new KdevError(
      'UNSUPPORTED_HOST',
      `the vfkit driver needs macOS ${MIN_MACOS_MAJOR} or newer (this is ${sw.stdout.trim() || 'an unknown version'})`,
      { hints: ['Update macOS, or use --driver qemu'] },
    );
  }

  const native = hostArchOf(p.hostArch);
  if (native !== want.guestArch) {
    throw new KdevError(
      'UNSUPPORTED_HOST',
      `vfkit runs only ${native ?? p.hostArch} guests on this Mac, not ${want.guestArch}`,
      { hints: [`Use the ${native ?? 'native'} kdev image, or --driver qemu (emulated, slow)`] },
    );
  }

  const vfkit = p.env.KDEV_VFKIT || (await p.which('vfkit'));
  if (!vfkit) {
    throw new KdevError('MISSING_TOOL', 'vfkit is not installed', {
      hints: ['brew install vfkit', 'Or set KDEV_VFKIT to the vfkit binary'],
    });
  }
  const out = await p.runner.run(vfkit, ['--version'], { reject: false });
  const version = parseVfkitVersion(`${out.stdout}${out.stderr}`);
  if (!version || compareVersions(version, MIN_VFKIT_VERSION) < 0) {
    throw new KdevError(
      'MISSING_TOOL',
      `vfkit ${version ? fmt(version) : '(unknown version)'} is too old: kdev needs ${fmt(MIN_VFKIT_VERSION)} or newer`,
      { hints: ['brew upgrade vfkit'] },
    );
  }

  const gvproxy = want.gvproxy ? await findGvproxy(p) : undefined;
  if (want.gvproxy && !gvproxy) {
    throw new KdevError(
      'MISSING_TOOL',
      'gvproxy is not installed (kdev networks vfkit machines through it)',
      {
        hints: [
          'brew install podman (it ships gvproxy), or get gvproxy-darwin from github.com/containers/gvisor-tap-vsock/releases',
          'Or set KDEV_GVPROXY to the gvproxy binary',
        ],
      },
    );
  }

  const free = await p.freeBytes(want.storeDir);
  if (free < MIN_FREE_MIB * 1024 * 1024) {
    throw new KdevError(
      'UNSUPPORTED_HOST',
      `only ${Math.floor(free / 1024 / 1024)} MiB free under ${want.storeDir}; kdev needs at least ${MIN_FREE_MIB} MiB`,
      { hints: ['Free some disk space, or set KDEV_HOME to a roomier disk'] },
    );
  }
  return { vfkit, gvproxy, vfkitVersion: version };
}
