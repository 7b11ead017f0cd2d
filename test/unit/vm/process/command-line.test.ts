import {
  hasArgumentPair,
  matchesIdentity,
  readCommandLine,
} from '../../../../src/vm/process/command-line.js';

const qemu = {
  executable: 'qemu-system-x86_64',
  args: [
    '-name',
    'kdev-dev',
    '-qmp',
    'unix:/m/control.sock,server=on,wait=off',
    '-pidfile',
    '/m/hypervisor.pid',
  ],
  identityArg: '/m/hypervisor.pid',
};

describe('matchesIdentity', () => {
  it('accepts exactly the executable and arguments kdev started', () => {
    expect(matchesIdentity([qemu.executable, ...qemu.args], qemu)).toBe(true);
    expect(matchesIdentity(['/usr/bin/qemu-system-x86_64', ...qemu.args], qemu)).toBe(true);
  });

  it('refuses a process that merely mentions the pidfile', () => {
    expect(matchesIdentity(['node', '-e', 'x', '--', '-pidfile', '/m/hypervisor.pid'], qemu)).toBe(false);
    expect(matchesIdentity(['sh', '-c', `echo ${qemu.args.join(' ')}`], qemu)).toBe(false);
    // Same arguments, another program.
    expect(matchesIdentity(['qemu-system-aarch64', ...qemu.args], qemu)).toBe(false);
    // The pidfile path as part of a longer element is not the element.
    const longer = qemu.args.map((a) => (a === '/m/hypervisor.pid' ? '/m/hypervisor.pid.old' : a));
    expect(matchesIdentity([qemu.executable, ...longer], qemu)).toBe(false);
    expect(matchesIdentity(qemu.args, qemu)).toBe(false); // no executable before them
  });

  it('accepts a helper exec-ed through a loader by a wrapper of the same name', () => {
    const helper = {
      executable: '/opt/tools/bin/virtiofsd',
      args: ['--socket-path', '/m/virtiofsd-src.sock', '--shared-dir', '/src'],
      identityArg: '/m/virtiofsd-src.sock',
    };
    const loaded = [
      '/opt/root/lib/ld-linux-x86-64.so.2',
      '--library-path',
      '/opt/root/lib',
      '/opt/root/usr/libexec/virtiofsd',
    ];
    expect(matchesIdentity([...loaded, ...helper.args], helper)).toBe(true);
    expect(matchesIdentity(['/bin/sh', '/opt/tools/bin/virtiofsd', ...helper.args], helper)).toBe(true);
    expect(
      matchesIdentity([...loaded.slice(0, 3), '/opt/root/usr/libexec/gvproxy', ...helper.args], helper),
    ).toBe(false);
  });

  it('applies the same rule to the joined command line ps prints on macOS', () => {
    expect(matchesIdentity(`/opt/homebrew/bin/qemu-system-x86_64 ${qemu.args.join(' ')}`, qemu)).toBe(true);
    expect(matchesIdentity(`qemu-system-x86_64 ${qemu.args.join(' ')}`, qemu)).toBe(true);
    expect(matchesIdentity('node -e x -- -pidfile /m/hypervisor.pid', qemu)).toBe(false);
    expect(matchesIdentity(`/bin/not-qemu ${qemu.args.join(' ')}`, qemu)).toBe(false);
  });

  it('refuses an identity argument that is not among the arguments', () => {
    expect(matchesIdentity([qemu.executable, ...qemu.args], { ...qemu, identityArg: '/other.pid' })).toBe(
      false,
    );
  });
});

describe('readCommandLine', () => {
  it('reads argv from /proc on Linux and through ps elsewhere', async () => {
    if (process.platform === 'linux') {
      const argv = (await readCommandLine(process.pid, 'linux')) as string[];
      expect(Array.isArray(argv)).toBe(true);
      expect(argv).toContain(process.argv[1]);
    }
    const joined = (await readCommandLine(process.pid, 'darwin')) as string;
    expect(typeof joined).toBe('string');
    expect(joined).toContain(process.argv[1]!);
    expect(await readCommandLine(2 ** 22 + 12345, process.platform)).toBeUndefined();
  });
});

describe('hasArgumentPair (a qemu no record describes)', () => {
  const qemuName = /^qemu-system-/;
  it('wants the flag and the path as two adjacent whole arguments of a qemu', () => {
    expect(
      hasArgumentPair(
        ['/usr/bin/qemu-system-x86_64', '-pidfile', '/m/h.pid', '-m', '1G'],
        qemuName,
        '-pidfile',
        '/m/h.pid',
      ),
    ).toBe(true);
    expect(
      hasArgumentPair(['node', '-e', 'x', '-pidfile', '/m/h.pid'], qemuName, '-pidfile', '/m/h.pid'),
    ).toBe(false);
    expect(
      hasArgumentPair(['qemu-system-x86_64', '-pidfile', '/m/h.pid.1'], qemuName, '-pidfile', '/m/h.pid'),
    ).toBe(false);
    expect(
      hasArgumentPair(['qemu-system-x86_64', '-name', '/m/h.pid'], qemuName, '-pidfile', '/m/h.pid'),
    ).toBe(false);
    expect(
      hasArgumentPair('qemu-system-x86_64 -m 1G -pidfile /m/h.pid', qemuName, '-pidfile', '/m/h.pid'),
    ).toBe(true);
    expect(hasArgumentPair('sleep 100 -pidfile /m/h.pid', qemuName, '-pidfile', '/m/h.pid')).toBe(false);
  });
});
