import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildSeedImage, renderMounts } from '../../../../src/vm/machine/seed.js';

const contents = {
  authorizedKeys: 'ssh-ed25519 AAAAclient kdev@dev',
  hostKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n',
  hostPublicKey: 'ssh-ed25519 AAAAhost kdev-dev',
  hostname: 'dev',
  mounts: [
    { tag: 'kdev0', guestPath: '/src', type: '9p' as const },
    { tag: 'kdev1', guestPath: '/home/me/data', type: 'virtiofs' as const },
  ],
};

describe('renderMounts', () => {
  it('writes one "<tag> <guest-path> <type>" line per mount', () => {
    expect(renderMounts(contents.mounts)).toBe('kdev0 /src 9p\nkdev1 /home/me/data virtiofs\n');
    expect(renderMounts([])).toBe('');
  });

  it('escapes whitespace and backslashes in guest paths so the guest printf %b undoes it', () => {
    const line = renderMounts([{ tag: 'a', guestPath: '/my src/ü\\x\ty', type: '9p', readOnly: true }]);
    expect(line).toBe('a /my\\0040src/ü\\0134x\\0011y 9p ro\n');
    const field = line.split(' ')[1]!;
    expect(execFileSync('sh', ['-c', 'printf %b "$1"', 'sh', field], { encoding: 'utf8' })).toBe(
      '/my src/ü\\x\ty',
    );
  });

  it('refuses tags that would break the line format', () => {
    expect(() => renderMounts([{ tag: 'a b', guestPath: '/src', type: '9p' }])).toThrow(/mount tag/);
  });
});

describe('buildSeedImage', () => {
  it('is a ustar archive of whole sectors that GNU tar reads back', async () => {
    const img = buildSeedImage(contents);
    expect(img.length % 512).toBe(0);
    expect(img.length).toBeGreaterThanOrEqual(64 * 1024); // past what partition scanners read
    // "ustar" magic at offset 257 of the first header; no pax header in front of it.
    expect(img.subarray(257, 262).toString()).toBe('ustar');
    expect(img.subarray(0, 100).toString().replace(/\0.*$/s, '')).toBe('authorized_keys');

    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-seed-test-'));
    try {
      const file = path.join(dir, 'seed.img');
      fs.writeFileSync(file, img);
      const listing = execFileSync('tar', ['-tvf', file], { encoding: 'utf8' });
      expect(listing).toMatch(/^-rw------- .* ssh_host_ed25519_key$/m);
      const out = path.join(dir, 'out');
      fs.mkdirSync(out);
      execFileSync('tar', ['-xf', file, '-C', out]);
      expect(fs.readdirSync(out).sort()).toEqual([
        'authorized_keys',
        'hostname',
        'mounts',
        'ssh_host_ed25519_key',
        'ssh_host_ed25519_key.pub',
      ]);
      expect(fs.readFileSync(path.join(out, 'authorized_keys'), 'utf8')).toBe(
        'ssh-ed25519 AAAAclient kdev@dev\n',
      );
      expect(fs.readFileSync(path.join(out, 'hostname'), 'utf8')).toBe('dev\n');
      expect(fs.readFileSync(path.join(out, 'mounts'), 'utf8')).toBe(
        'kdev0 /src 9p\nkdev1 /home/me/data virtiofs\n',
      );
      expect(fs.readFileSync(path.join(out, 'ssh_host_ed25519_key'), 'utf8')).toBe(contents.hostKey);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is byte-for-byte reproducible', async () => {
    expect(buildSeedImage(contents).equals(await buildSeedImage(contents))).toBe(true);
  });
});
