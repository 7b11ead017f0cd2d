import { spawnSync } from 'node:child_process';
import { findSftpServer, guestSshfsArgv, sftpServerArgs } from '../../../src/cluster/live-mount.js';

describe('guestSshfsArgv', () => {
  it('passes paths as positional parameters of a constant script', () => {
    const argv = guestSshfsArgv("/home/me/it's here", '/w s/ü', true);
    expect(argv.slice(0, 4)).toEqual(['sudo', '-n', 'sh', '-c']);
    expect(argv.slice(5)).toEqual([
      'kdev-mount',
      "/home/me/it's here",
      '/w s/ü',
      'slave,allow_other,uid=1000,gid=1000,dcache_timeout=1,ro',
    ]);
    expect(argv[4]).not.toContain('/home/me');
    expect(argv[4]).toContain('sshfs -f -o "$3" ":$1" "$2"');
    // The lazy unmount after sshfs ends is what clears a dead mount.
    expect(argv[4]).toMatch(/sshfs[^;]*; s=\$\?; fusermount3 -quz "\$2"/);
    expect(spawnSync('sh', ['-n', '-c', argv[4]!]).status).toBe(0);
  });

  it('is read-write unless asked', () => {
    expect(guestSshfsArgv('/a', '/b', false).at(-1)).not.toMatch(/,ro$/);
  });
});

describe('sftpServerArgs', () => {
  it('logs to stderr and refuses writes for read-only mounts', () => {
    expect(sftpServerArgs(false)).toEqual(['-e', '-l', 'ERROR']);
    expect(sftpServerArgs(true)).toEqual(['-e', '-l', 'ERROR', '-R']);
  });
});

describe('findSftpServer', () => {
  it('takes KDEV_SFTP_SERVER, then the first executable candidate', async () => {
    expect(await findSftpServer(['/nonexistent/sftp-server', '/bin/sh'], {})).toBe('/bin/sh');
    expect(await findSftpServer([], { KDEV_SFTP_SERVER: '/bin/true' })).toBe('/bin/true');
  });

  it('says how to install it when there is none', async () => {
    await expect(findSftpServer(['/nonexistent/sftp-server'], {})).rejects.toMatchObject({
      code: 'MISSING_TOOL',
      hints: [expect.stringMatching(/openssh-sftp-server/), expect.any(String)],
    });
  });
});
