import type { MachineSpec } from '../../../../src/vm/driver.js';
import { machineFiles } from '../../../../src/vm/machine/files.js';
import { buildQemuArgv, escapeOpt, type QemuArgvOptions } from '../../../../src/vm/qemu/argv.js';
import { machineQemuArgv } from '../../../../src/vm/qemu/machine-argv.js';

const base: QemuArgvOptions = {
  name: 'dev',
  arch: 'x86_64',
  accel: 'tcg',
  cpus: 2,
  memoryMiB: 4096,
  kernel: '/img/bzImage',
  initrd: '/img/initrd',
  cmdline: 'console=ttyS0 panic=-1',
  disks: [
    { id: 'data', path: '/m/data.qcow2', format: 'qcow2', serial: 'kdev-data' },
    { id: 'seed', path: '/m/seed.img', format: 'raw', serial: 'kdev-seed', readOnly: true },
  ],
  shares: [{ id: 'fs0', hostPath: '/home/me/src', tag: 'kdev0' }],
  forwards: [
    { name: 'ssh', guestPort: 22, hostPort: 40022 },
    { name: 'apiserver', guestPort: 8443, hostPort: 40443 },
  ],
  qmpSocket: '/m/control.sock',
  pidFile: '/m/hypervisor.pid',
  consoleLog: '/m/console.log',
};

/** The value following each occurrence of flag. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1] ?? ''] : []));
}

describe('buildQemuArgv', () => {
  it('builds the full x86_64 tcg command line', () => {
    const { binary, args } = buildQemuArgv(base);
    expect(binary).toBe('qemu-system-x86_64');
    expect(args).toEqual([
      '-name', 'kdev-dev',
      '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-machine', 'q35', '-accel', 'tcg', '-cpu', 'max',
      '-smp', '2', '-m', '4096M',
      '-kernel', '/img/bzImage', '-initrd', '/img/initrd', '-append', 'console=ttyS0 panic=-1',
      '-drive', 'file=/m/data.qcow2,if=none,id=data,format=qcow2,discard=unmap',
      '-device', 'virtio-blk-pci,drive=data,serial=kdev-data',
      '-drive', 'file=/m/seed.img,if=none,id=seed,format=raw,readonly=on',
      '-device', 'virtio-blk-pci,drive=seed,serial=kdev-seed',
      '-netdev', 'user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40443-:8443',
      '-device', 'virtio-net-pci,netdev=net0,romfile=',
      '-virtfs', 'local,path=/home/me/src,mount_tag=kdev0,security_model=none,id=fs0',
      '-object', 'rng-random,id=rng0,filename=/dev/urandom',
      '-device', 'virtio-rng-pci,rng=rng0',
      '-serial', 'file:/m/console.log',
      '-qmp', 'unix:/m/control.sock,server=on,wait=off',
      '-pidfile', '/m/hypervisor.pid',
    ]); // prettier-ignore
  });

  it.each([
    ['kvm', 'host'],
    ['hvf', 'host'],
    ['tcg', 'max'],
  ] as const)('x86_64 with %s uses -cpu %s', (accel, cpu) => {
    const { args } = buildQemuArgv({ ...base, accel });
    expect(values(args, '-machine')).toEqual(['q35']);
    expect(values(args, '-accel')).toEqual([accel]);
    expect(values(args, '-cpu')).toEqual([cpu]);
  });

  it.each([
    ['kvm', 'host'],
    ['hvf', 'host'],
    ['tcg', 'cortex-a72'],
  ] as const)('aarch64 with %s uses virt and -cpu %s', (accel, cpu) => {
    const { binary, args } = buildQemuArgv({ ...base, arch: 'aarch64', accel });
    expect(binary).toBe('qemu-system-aarch64');
    expect(values(args, '-machine')).toEqual([accel === 'hvf' ? 'virt,highmem=on' : 'virt']);
    expect(values(args, '-accel')).toEqual([accel]);
    expect(values(args, '-cpu')).toEqual([cpu]);
    expect(args).not.toContain('-bios');
  });

  it('passes aarch64 firmware with -bios, or as two pflash drives when there is a vars file', () => {
    const bios = buildQemuArgv({ ...base, arch: 'aarch64', firmware: { code: '/fw/code.fd' } }).args;
    expect(values(bios, '-bios')).toEqual(['/fw/code.fd']);

    const pflash = buildQemuArgv({
      ...base,
      arch: 'aarch64',
      firmware: { code: '/fw/code.fd', vars: '/m/vars.fd' },
    }).args;
    expect(pflash).not.toContain('-bios');
    expect(values(pflash, '-drive').slice(0, 2)).toEqual([
      'if=pflash,format=raw,unit=0,readonly=on,file=/fw/code.fd',
      'if=pflash,format=raw,unit=1,file=/m/vars.fd',
    ]);
  });

  it('ignores firmware on x86_64', () => {
    const { args } = buildQemuArgv({ ...base, firmware: { code: '/fw/code.fd' } });
    expect(args).not.toContain('-bios');
  });

  it('adds -daemonize only when asked, and honours a binary override', () => {
    expect(buildQemuArgv(base).args).not.toContain('-daemonize');
    const r = buildQemuArgv({ ...base, daemonize: true, binary: '/opt/qemu/bin/qemu-system-x86_64' });
    expect(r.args.at(-1)).toBe('-daemonize');
    expect(r.binary).toBe('/opt/qemu/bin/qemu-system-x86_64');
  });

  it('maps share options and escapes commas in paths', () => {
    const { args } = buildQemuArgv({
      ...base,
      disks: [{ id: 'data', path: '/a,b/data.qcow2', format: 'qcow2', serial: 'kdev-data' }],
      shares: [
        { id: 'fs0', hostPath: '/x,y', tag: 't0', securityModel: 'mapped-xattr', readOnly: true },
        { id: 'fs1', hostPath: '/z', tag: 't1' },
      ],
      qmpSocket: '/q,s/control.sock',
    });
    expect(values(args, '-virtfs')).toEqual([
      'local,path=/x,,y,mount_tag=t0,security_model=mapped-xattr,id=fs0,readonly=on',
      'local,path=/z,mount_tag=t1,security_model=none,id=fs1',
    ]);
    expect(values(args, '-drive')[0]).toBe(
      'file=/a,,b/data.qcow2,if=none,id=data,format=qcow2,discard=unmap',
    );
    expect(values(args, '-qmp')).toEqual(['unix:/q,,s/control.sock,server=on,wait=off']);
  });

  it('attaches virtiofs mounts over vhost-user with guest RAM shared through one memfd node', () => {
    const { args } = buildQemuArgv({
      ...base,
      virtiofs: [
        { id: 'vfs0', tag: 'kdev0', socketPath: '/m/vfs0.sock' },
        { id: 'vfs1', tag: 'kdev2', socketPath: '/m/vfs1.sock' },
      ],
    });
    expect(values(args, '-object').filter((o) => o.startsWith('memory-backend'))).toEqual([
      `memory-backend-memfd,id=mem,size=${base.memoryMiB}M,share=on`,
    ]);
    expect(values(args, '-numa')).toEqual(['node,memdev=mem']);
    expect(values(args, '-chardev')).toEqual([
      'socket,id=vfs0,path=/m/vfs0.sock',
      'socket,id=vfs1,path=/m/vfs1.sock',
    ]);
    expect(values(args, '-device').filter((d) => d.startsWith('vhost-user-fs'))).toEqual([
      'vhost-user-fs-pci,queue-size=1024,chardev=vfs0,tag=kdev0',
      'vhost-user-fs-pci,queue-size=1024,chardev=vfs1,tag=kdev2',
    ]);
  });

  it('works with no disks and no shares', () => {
    const { args } = buildQemuArgv({ ...base, disks: [], shares: [] });
    expect(args).not.toContain('-virtfs');
    expect(values(args, '-device')).toEqual([
      'virtio-net-pci,netdev=net0,romfile=',
      'virtio-rng-pci,rng=rng0',
    ]);
  });

  it('escapeOpt doubles commas only', () => {
    expect(escapeOpt('a,b,,c')).toBe('a,,b,,,,c');
    expect(escapeOpt('/plain/path')).toBe('/plain/path');
  });
});

describe('machineQemuArgv', () => {
  const spec: MachineSpec = {
    name: 'dev',
    cpus: 1,
    memoryMiB: 1024,
    diskMiB: 4096,
    image: { kernel: '/img/vmlinux', initrd: '/img/initrd', cmdline: 'console=ttyS0', arch: 'x86_64' },
    mounts: [],
    forwards: [{ name: 'ssh', guestPort: 22, hostPort: 40022 }],
    options: {},
  };
  const argv = (s: MachineSpec) =>
    machineQemuArgv({ spec: s, files: machineFiles('dev', '/m'), accel: 'tcg', virtiofs: [], uuid: 'u' })
      .args;

  it('attaches an older image (no rootfs.erofs) with the data and seed disks only', () => {
    expect(values(argv(spec), '-drive')).toEqual([
      'file=/m/data.qcow2,if=none,id=data,format=qcow2,discard=unmap',
      'file=/m/seed.img,if=none,id=seed,format=raw,readonly=on',
    ]);
  });

  it("attaches a newer image's rootfs.erofs read-only (a shared lock) with serial kdev-root", () => {
    const args = argv({ ...spec, image: { ...spec.image, rootfs: '/img/a,b/rootfs.erofs' } });
    expect(values(args, '-drive')).toEqual([
      'file=/m/data.qcow2,if=none,id=data,format=qcow2,discard=unmap',
      'file=/m/seed.img,if=none,id=seed,format=raw,readonly=on',
      'file=/img/a,,b/rootfs.erofs,if=none,id=root,format=raw,readonly=on',
    ]);
    expect(values(args, '-device')).toContain('virtio-blk-pci,drive=root,serial=kdev-root');
  });
});
