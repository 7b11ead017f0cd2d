// The seed disk: a raw virtio disk whose bytes are a plain ustar archive the guest unpacks before
// sshd starts (keys, hostname, mounts). A tar needs no filesystem driver on either side.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { create } from 'tar';
import { KdevError } from '../lib/errors.js';
import type { MountType } from './driver.js';

export interface SeedMount {
  tag: string;
  guestPath: string;
  type: MountType;
  readOnly?: boolean;
}

export interface SeedContents {
  authorizedKeys: string;
  hostKey: string;
  hostPublicKey: string;
  hostname: string;
  mounts: SeedMount[];
}

const SECTOR = 512;

/**
 * One `<tag> <guest-path> <type> [ro]` line per mount. ASCII whitespace and backslashes in the
 * guest path become octal escapes (`\0040` for a space), which the guest undoes with printf %b,
 * so any path fits on one line; other bytes, UTF-8 included, pass as they are.
 */
export function renderMounts(mounts: readonly SeedMount[]): string {
  return mounts
    .map((m) => {
      if (!/^[A-Za-z0-9_.-]+$/.test(m.tag)) {
        throw new KdevError('BAD_INPUT', `mount tag "${m.tag}" must be letters, digits, '.', '_' or '-'`);
      }
      return `${m.tag} ${escapeMountPath(m.guestPath)} ${m.type}${m.readOnly ? ' ro' : ''}\n`;
    })
    .join('');
}

export function escapeMountPath(p: string): string {
  return p.replace(/[ \t\n\r\v\f\\]/g, (c) => `\\0${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

const withNewline = (s: string) => (s.endsWith('\n') ? s : `${s}\n`);

/** The seed disk's bytes: a ustar archive padded to a whole number of sectors. */
export async function buildSeedImage(c: SeedContents): Promise<Buffer> {
  const files: Array<[string, string, number]> = [
    ['authorized_keys', withNewline(c.authorizedKeys), 0o644],
    ['ssh_host_ed25519_key', withNewline(c.hostKey), 0o600],
    ['ssh_host_ed25519_key.pub', withNewline(c.hostPublicKey), 0o644],
    ['hostname', withNewline(c.hostname), 0o644],
    ['mounts', renderMounts(c.mounts), 0o644],
  ];
  // node-tar archives files from disk, so stage them in a private temp dir.
  const staging = await fs.mkdtemp(path.join(os.tmpdir(), 'kdev-seed-'));
  try {
    for (const [name, body, mode] of files) {
      await fs.writeFile(path.join(staging, name), body, { mode });
      await fs.chmod(path.join(staging, name), mode);
    }
    const chunks: Buffer[] = [];
    const pack = create(
      { cwd: staging, portable: true, noPax: true, mtime: new Date(0) },
      files.map(([name]) => name),
    );
    for await (const chunk of pack) chunks.push(Buffer.from(chunk as Uint8Array));
    const tarBytes = Buffer.concat(chunks);
    const padded = Math.ceil(tarBytes.length / SECTOR) * SECTOR;
    return padded === tarBytes.length
      ? tarBytes
      : Buffer.concat([tarBytes, Buffer.alloc(padded - tarBytes.length)]);
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}
