// Building the guest image on this host by running the repo's iso/debian/build.sh.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { KdevError } from '../lib/errors.js';
import type { Arch } from './driver.js';

export interface BuildResult {
  out: string;
  kernel: string;
  initrd: string;
  /** The read-only root disk (iso/debian/build.sh makes one; see GuestImage.rootfs). */
  rootfs: string;
  durationMs: number;
}

/** The iso/ folder shipped with kdev, found upward from this module (src/vm or dist/vm). */
export function findIsoRecipe(from = path.dirname(fileURLToPath(import.meta.url))): string | undefined {
  let dir = from;
  for (let i = 0; i < 6; i++) {
    const script = path.join(dir, 'iso', 'debian', 'build.sh');
    if (fs.existsSync(script)) return script;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

/** build.sh names architectures the Debian way. */
export function debianArch(arch: Arch): 'amd64' | 'arm64' {
  return arch === 'aarch64' ? 'arm64' : 'amd64';
}

export async function buildGuestImage(
  out: string,
  log: (line: string) => void = () => undefined,
  arch: Arch = 'x86_64',
): Promise<BuildResult> {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    throw new KdevError('UNSUPPORTED_HOST', 'building the guest image needs Linux and root', {
      hints: [
        'Run it as root on Linux: sudo kdev iso build',
        'Or pass --iso-url with a published kdev image',
      ],
    });
  }
  const script = findIsoRecipe();
  if (!script) {
    throw new KdevError('NOT_FOUND', 'iso/debian/build.sh is not part of this kdev installation', {
      hints: ['Pass --iso-url with a published kdev image'],
    });
  }
  const started = Date.now();
  const tail: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn('bash', [script, '--out', out, '--arch', debianArch(arch)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Ctrl-C or a kill of kdev stops the build too, and build.sh's trap unmounts what it mounted;
    // kdev exits once the script did (its exit status is the build's).
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
    for (const sig of signals) process.on(sig, forward);
    child.once('close', () => {
      for (const sig of signals) process.off(sig, forward);
    });
    const onLines = (stream: NodeJS.ReadableStream) => {
      let partial = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial + chunk).split('\n');
        partial = lines.pop() ?? '';
        for (const l of lines) {
          log(l);
          tail.push(l);
          if (tail.length > 20) tail.shift();
        }
      });
      stream.on('end', () => partial && log(partial));
    };
    onLines(child.stdout);
    onLines(child.stderr);
    child.once('error', reject);
    child.once('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    throw new KdevError('COMMAND_FAILED', `building the guest image failed (exit ${code})`, {
      hints: [`Last output:\n${tail.map((l) => `  ${l}`).join('\n')}`],
    });
  }
  return {
    out,
    kernel: path.join(out, arch === 'aarch64' ? 'Image' : 'vmlinux'),
    initrd: path.join(out, 'initrd'),
    rootfs: path.join(out, 'rootfs.erofs'),
    durationMs: Date.now() - started,
  };
}
