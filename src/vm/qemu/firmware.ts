// edk2 (UEFI) firmware for arm64 guests when they do not boot the kernel directly: Homebrew's
// QEMU ships it in its share folder (/opt/homebrew on Apple silicon, /usr/local on Intel), Debian
// in qemu-efi-aarch64.
import fs from 'node:fs/promises';
import path from 'node:path';

export function edk2CodeCandidates(platform: NodeJS.Platform, env: NodeJS.ProcessEnv = {}): string[] {
  const fromEnv = env.KDEV_QEMU_EDK2 ? [env.KDEV_QEMU_EDK2] : [];
  if (platform === 'darwin') {
    const brew = env.HOMEBREW_PREFIX
      ? [path.join(env.HOMEBREW_PREFIX, 'share/qemu/edk2-aarch64-code.fd')]
      : [];
    return [
      ...fromEnv,
      ...brew,
      '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
      '/usr/local/share/qemu/edk2-aarch64-code.fd',
    ].filter((p, i, all) => all.indexOf(p) === i);
  }
  return [...fromEnv, '/usr/share/qemu-efi-aarch64/QEMU_EFI.fd', '/usr/share/AAVMF/AAVMF_CODE.fd'];
}

/** The first candidate that exists, or undefined (then the kernel is booted directly). */
export async function findEdk2Code(
  platform: NodeJS.Platform,
  env: NodeJS.ProcessEnv = process.env,
  exists: (file: string) => Promise<boolean> = fileExists,
): Promise<string | undefined> {
  for (const c of edk2CodeCandidates(platform, env)) if (await exists(c)) return c;
  return undefined;
}

async function fileExists(file: string): Promise<boolean> {
  try {
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}
