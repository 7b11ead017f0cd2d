// One guest image for all e2e suites: built by iso/debian/build.sh (whose own cache makes a
// rebuild take seconds) into a fixed folder, then handed to kdev with --iso-url.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { KDEV_BIN } from '../../helpers/cli.js';

export const E2E_IMAGE_DIR = process.env.KDEV_E2E_IMAGE_DIR ?? path.join(os.tmpdir(), 'kdev-e2e-image');

/** Why VM tests cannot run here, or undefined when they can. */
export function vmSkipReason(extraTools: string[] = []): string | undefined {
  if (process.platform !== 'linux') return 'VM e2e tests need Linux';
  if (process.getuid?.() !== 0) return 'VM e2e tests build the guest image, which needs root';
  for (const tool of ['qemu-system-x86_64', 'qemu-img', 'mmdebstrap', 'ssh', ...extraTools]) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    } catch {
      return `${tool} is not installed (bash .ci/run installs it)`;
    }
  }
  return undefined;
}

/**
 * Builds the image through the CLI (`kdev iso build --out`), or finds it in the recipe's cache
 * (seconds when nothing changed).
 */
export function ensureGuestImage(): string {
  execFileSync(process.execPath, [KDEV_BIN, 'iso', 'build', '--out', E2E_IMAGE_DIR], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '' },
    timeout: 30 * 60_000,
  });
  return E2E_IMAGE_DIR;
}
