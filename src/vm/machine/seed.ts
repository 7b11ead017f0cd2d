// The seed disk: a raw virtio disk whose bytes are a plain ustar archive the guest unpacks before
// sshd starts (keys, hostname, mounts). A tar needs no filesystem driver on either side. The
// archive is built in memory: the guest's private host key never sits in a staging folder that a
// killed kdev would leave behind.
import { Header } from 'tar';
import { KdevError } from '../../lib/errors.js';
import type { MountType } from '../driver.js';

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

const BLOCK = 512;
// Partition scanners read the first blocks of every disk (Amiga RDB: 16); a smaller seed makes the
// guest kernel log "unable to read RDB block" at each boot. Zeros after the end marker are ignored.
const MIN_BYTES = 64 * 1024;

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

function tarEntry(name: string, body: string, mode: number): Buffer {
  const data = Buffer.from(body, 'utf8');
  const header = Buffer.alloc(BLOCK);
  new Header({
    path: name,
    mode,
    size: data.length,
    mtime: new Date(0),
    type: 'File',
    uid: 0,
    gid: 0,
  }).encode(header, 0);
  const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
  return Buffer.concat([header, data, Buffer.alloc(pad)]);
}

/** The seed disk's bytes: a ustar archive of whole 512-byte blocks, at least 64 KiB. */
export function buildSeedImage(c: SeedContents): Buffer {
  const files: Array<[string, string, number]> = [
    ['authorized_keys', withNewline(c.authorizedKeys), 0o644],
    ['ssh_host_ed25519_key', withNewline(c.hostKey), 0o600],
    ['ssh_host_ed25519_key.pub', withNewline(c.hostPublicKey), 0o644],
    ['hostname', withNewline(c.hostname), 0o644],
    ['mounts', renderMounts(c.mounts), 0o644],
  ];
  const archive = Buffer.concat(files.map(([n, b, m]) => tarEntry(n, b, m)));
  // Two zero blocks end the archive; more zeros pad it to a size every scanner can read.
  return Buffer.concat([archive, Buffer.alloc(Math.max(2 * BLOCK, MIN_BYTES - archive.length))]);
}
