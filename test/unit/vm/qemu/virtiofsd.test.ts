import {
  findVirtiofsd,
  parseVirtiofsdVersion,
  sharedMemoryArgs,
  vhostUserFsArgs,
  virtiofsdArgs,
} from '../../../../src/vm/qemu/virtiofsd.js';
import type { CommandRunner } from '../../../../src/lib/exec.js';

const mount = {
  id: 'vfs0',
  hostPath: '/home/me/my src',
  tag: 'kdev0',
  socketPath: '/k/m/vfs0.sock',
  readOnly: false,
};

describe('virtiofsdArgs', () => {
  it('runs as root in a namespace sandbox and maps the host user to the guest user', () => {
    expect(
      virtiofsdArgs(mount, { version: { major: 1, minor: 13, patch: 2 }, hostUid: 0, hostGid: 0 }),
    ).toEqual([
      '--socket-path=/k/m/vfs0.sock',
      '--shared-dir=/home/me/my src',
      '--sandbox=namespace',
      '--cache=auto',
      '--thread-pool-size=0',
      '--log-level=warn',
      '--translate-uid=map:1000:0:1',
      '--translate-gid=map:1000:0:1',
    ]);
  });

  it('runs unprivileged without a sandbox, read-only when asked, and no id mapping before 1.11', () => {
    const args = virtiofsdArgs(
      { ...mount, readOnly: true },
      { version: { major: 1, minor: 10, patch: 0 }, hostUid: 501, hostGid: 20 },
    );
    expect(args).toContain('--sandbox=none');
    expect(args).toContain('--readonly');
    expect(args.some((a) => a.startsWith('--translate'))).toBe(false);
    expect(args.some((a) => a.startsWith('--tag'))).toBe(false);
  });
});

describe('QEMU fragments', () => {
  it('shares guest RAM through one memfd NUMA node', () => {
    expect(sharedMemoryArgs(2048)).toEqual([
      '-object',
      'memory-backend-memfd,id=mem,size=2048M,share=on',
      '-numa',
      'node,memdev=mem',
    ]);
  });

  it('puts the tag on the device and escapes commas in the socket path', () => {
    expect(vhostUserFsArgs({ id: 'vfs1', tag: 'kdev1', socketPath: '/a,b/vfs1.sock' })).toEqual([
      '-chardev',
      'socket,id=vfs1,path=/a,,b/vfs1.sock',
      '-device',
      'vhost-user-fs-pci,queue-size=1024,chardev=vfs1,tag=kdev1',
    ]);
  });
});

describe('parseVirtiofsdVersion', () => {
  it.each([
    ['virtiofsd 1.13.2\n', { major: 1, minor: 13, patch: 2 }],
    ['virtiofsd v1.10.1', { major: 1, minor: 10, patch: 1 }],
    ['virtiofsd version 7.2.0 (Debian)\nusing FUSE kernel interface version 7.36', undefined],
    ['garbage', undefined],
  ])('%j', (text, want) => expect(parseVirtiofsdVersion(text)).toEqual(want));
});

describe('findVirtiofsd', () => {
  const runner = (outputs: Record<string, string>): CommandRunner => ({
    run: async (file) => ({ stdout: outputs[file] ?? '', stderr: '', exitCode: outputs[file] ? 0 : 1 }),
  });

  it('prefers KDEV_VIRTIOFSD, then PATH, then the libexec folders', async () => {
    const found = await findVirtiofsd({
      env: { KDEV_VIRTIOFSD: '/opt/v/virtiofsd', PATH: '' },
      runner: runner({ '/opt/v/virtiofsd': 'virtiofsd 1.14.0', '/usr/libexec/virtiofsd': 'virtiofsd 1.9.0' }),
      isExecutable: async () => true,
    });
    expect(found).toEqual({ path: '/opt/v/virtiofsd', version: { major: 1, minor: 14, patch: 0 } });
  });

  it('passes over the old C daemon and missing files', async () => {
    const found = await findVirtiofsd({
      env: { PATH: '' },
      runner: runner({
        '/usr/lib/qemu/virtiofsd': 'virtiofsd version 7.2.0',
        '/usr/lib/virtiofsd': 'virtiofsd 1.12.0',
      }),
      isExecutable: async (p) => p !== '/usr/libexec/virtiofsd',
    });
    expect(found?.path).toBe('/usr/lib/virtiofsd');
  });

  it('finds nothing when there is nothing', async () => {
    expect(
      await findVirtiofsd({ env: { PATH: '' }, runner: runner({}), isExecutable: async () => false }),
    ).toBeUndefined();
  });
});
