// Whole-argv snapshots for QEMU on Hypervisor.framework (both Mac arches) and for QEMU wired to
// gvproxy instead of slirp.
import { buildQemuArgv, type QemuArgvOptions } from '../../../../src/vm/qemu/argv.js';
import { GVPROXY_GUEST_MAC } from '../../../../src/vm/network/gvproxy.js';

const common: Omit<QemuArgvOptions, 'arch' | 'accel' | 'kernel' | 'cmdline'> = {
  name: 'dev',
  cpus: 4,
  memoryMiB: 8192,
  initrd: '/img/initrd',
  disks: [
    { id: 'data', path: '/m/data.qcow2', format: 'qcow2', serial: 'kdev-data' },
    { id: 'seed', path: '/m/seed.img', format: 'raw', serial: 'kdev-seed', readOnly: true },
  ],
  shares: [{ id: 'fs0', hostPath: '/Users/me/src', tag: 'kdev0' }],
  forwards: [
    { name: 'ssh', guestPort: 22, hostPort: 40022 },
    { name: 'apiserver', guestPort: 8443, hostPort: 40443 },
  ],
  qmpSocket: '/m/control.sock',
  pidFile: '/m/hypervisor.pid',
  consoleLog: '/m/console.log',
};

const tail = [
  '-virtfs', 'local,path=/Users/me/src,mount_tag=kdev0,security_model=none,id=fs0',
  '-object', 'rng-random,id=rng0,filename=/dev/urandom',
  '-device', 'virtio-rng-pci,rng=rng0',
  '-serial', 'file:/m/console.log',
  '-qmp', 'unix:/m/control.sock,server=on,wait=off',
  '-pidfile', '/m/hypervisor.pid',
]; // prettier-ignore
const disks = [
  '-drive', 'file=/m/data.qcow2,if=none,id=data,format=qcow2,discard=unmap',
  '-device', 'virtio-blk-pci,drive=data,serial=kdev-data',
  '-drive', 'file=/m/seed.img,if=none,id=seed,format=raw,readonly=on',
  '-device', 'virtio-blk-pci,drive=seed,serial=kdev-seed',
]; // prettier-ignore
const slirp = [
  '-netdev', 'user,id=net0,hostfwd=tcp:127.0.0.1:40022-:22,hostfwd=tcp:127.0.0.1:40443-:8443',
  '-device', 'virtio-net-pci,netdev=net0,romfile=',
]; // prettier-ignore

describe('QEMU on Hypervisor.framework', () => {
  it('arm64: virt with highmem, -cpu host, direct boot of the uncompressed Image', () => {
    const { binary, args } = buildQemuArgv({
      ...common,
      arch: 'aarch64',
      accel: 'hvf',
      kernel: '/img/Image',
      cmdline: 'console=ttyAMA0 panic=-1',
    });
    expect(binary).toBe('qemu-system-aarch64');
    expect(args).toEqual([
      '-name', 'kdev-dev', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-machine', 'virt,highmem=on', '-accel', 'hvf', '-cpu', 'host',
      '-smp', '4', '-m', '8192M',
      '-kernel', '/img/Image', '-initrd', '/img/initrd', '-append', 'console=ttyAMA0 panic=-1',
      ...disks, ...slirp, ...tail,
    ]); // prettier-ignore
  });

  it('arm64 with Homebrew edk2 firmware', () => {
    const { args } = buildQemuArgv({
      ...common,
      arch: 'aarch64',
      accel: 'hvf',
      kernel: '/img/Image',
      cmdline: 'console=ttyAMA0',
      firmware: { code: '/opt/homebrew/share/qemu/edk2-aarch64-code.fd' },
    });
    expect(args.slice(7, 15)).toEqual([
      '-machine', 'virt,highmem=on', '-accel', 'hvf', '-cpu', 'host',
      '-bios', '/opt/homebrew/share/qemu/edk2-aarch64-code.fd',
    ]); // prettier-ignore
  });

  it('x86_64: q35, -cpu host', () => {
    const { binary, args } = buildQemuArgv({
      ...common,
      arch: 'x86_64',
      accel: 'hvf',
      kernel: '/img/bzImage',
      cmdline: 'console=ttyS0 panic=-1',
    });
    expect(binary).toBe('qemu-system-x86_64');
    expect(args).toEqual([
      '-name', 'kdev-dev', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-machine', 'q35', '-accel', 'hvf', '-cpu', 'host',
      '-smp', '4', '-m', '8192M',
      '-kernel', '/img/bzImage', '-initrd', '/img/initrd', '-append', 'console=ttyS0 panic=-1',
      ...disks, ...slirp, ...tail,
    ]); // prettier-ignore
  });
});

describe('QEMU with gvproxy', () => {
  it('connects a stream netdev to gvproxy, with the static-lease MAC and no hostfwd', () => {
    const { args } = buildQemuArgv({
      ...common,
      arch: 'x86_64',
      accel: 'tcg',
      kernel: '/img/bzImage',
      cmdline: 'console=ttyS0',
      gvproxy: { socket: '/m/gvp-qemu.sock', mac: GVPROXY_GUEST_MAC },
    });
    expect(args).toEqual([
      '-name', 'kdev-dev', '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-machine', 'q35', '-accel', 'tcg', '-cpu', 'max',
      '-smp', '4', '-m', '8192M',
      '-kernel', '/img/bzImage', '-initrd', '/img/initrd', '-append', 'console=ttyS0',
      ...disks,
      '-netdev', 'stream,id=net0,server=off,addr.type=unix,addr.path=/m/gvp-qemu.sock',
      '-device', 'virtio-net-pci,netdev=net0,mac=5a:94:ef:e4:0c:ee,romfile=',
      ...tail,
    ]); // prettier-ignore
    expect(args.join(' ')).not.toContain('hostfwd');
  });
});
