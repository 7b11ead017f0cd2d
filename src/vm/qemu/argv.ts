// The qemu command line as data: a pure function, so every flag is visible in one unit test.
import type { Arch } from '../driver.js';
import type { Forward } from '../network/forward.js';
import { sharedMemoryArgs, vhostUserFsArgs, type VirtiofsdMount } from './virtiofsd.js';

export type ResolvedAccel = 'hvf' | 'kvm' | 'tcg';

export interface QemuDisk {
  /** Also the drive id, so keep it short and unique. */
  id: string;
  path: string;
  format: 'qcow2' | 'raw';
  /** What the guest finds the disk by (/dev/disk/by-id/virtio-<serial>). */
  serial: string;
  readOnly?: boolean;
}

export interface QemuShare {
  id: string;
  hostPath: string;
  tag: string;
  /** 'none' keeps host ownership and modes as they are; 'mapped-xattr' stores guest ones in xattrs. */
  securityModel?: 'none' | 'mapped-xattr';
  readOnly?: boolean;
}

export interface QemuFirmware {
  /** edk2 code image: passed with -bios, or as the first (read-only) pflash when vars is set. */
  code: string;
  vars?: string;
}

export interface QemuArgvOptions {
  name: string;
  arch: Arch;
  accel: ResolvedAccel;
  cpus: number;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  cmdline: string;
  disks: QemuDisk[];
  shares: QemuShare[];
  /** virtiofs mounts whose virtiofsd sockets exist; adds the shared-memory backend they need. */
  virtiofs?: Array<Pick<VirtiofsdMount, 'id' | 'tag' | 'socketPath'>>;
  /** Each becomes a slirp hostfwd on 127.0.0.1. */
  forwards: Forward[];
  qmpSocket: string;
  pidFile: string;
  consoleLog: string;
  /** aarch64 only; x86_64 boots the kernel directly through SeaBIOS. */
  firmware?: QemuFirmware;
  daemonize?: boolean;
  /** Overrides the qemu-system-<arch> binary name or path. */
  binary?: string;
  /** SMBIOS system UUID: systemd derives the guest's machine-id from it, so the journal of
   * earlier boots stays readable. Stable per machine. */
  uuid?: string;
  /**
   * `--network gvproxy`: a stream socket to gvproxy's -listen-qemu instead of slirp. Forwards
   * then live in gvproxy (network/gvproxy.ts), and the MAC must be gvproxy's static-lease one.
   */
  gvproxy?: { socket: string; mac: string };
}

export function qemuBinaryName(arch: Arch): string {
  return `qemu-system-${arch}`;
}

export function buildQemuArgv(o: QemuArgvOptions): { binary: string; args: string[] } {
  const args: string[] = [
    '-name',
    `kdev-${o.name}`,
    ...(o.uuid ? ['-uuid', o.uuid] : []),
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    // A guest panic or reboot ends the process instead of looping, so a watcher sees it die.
    '-no-reboot',
    ...machineArgs(o),
    '-smp',
    String(o.cpus),
    '-m',
    `${o.memoryMiB}M`,
    '-kernel',
    o.kernel,
    '-initrd',
    o.initrd,
    '-append',
    o.cmdline,
  ];

  for (const d of o.disks) {
    const drive = [`file=${escapeOpt(d.path)}`, 'if=none', `id=${d.id}`, `format=${d.format}`];
    if (d.readOnly) drive.push('readonly=on');
    else drive.push('discard=unmap');
    args.push('-drive', drive.join(','), '-device', `virtio-blk-pci,drive=${d.id},serial=${d.serial}`);
  }

  if (o.gvproxy) {
    // server=off: QEMU connects to gvproxy, which must already listen (it does not retry).
    // Forwards are then gvproxy's (added through its API), not hostfwd.
    args.push(
      '-netdev',
      `stream,id=net0,server=off,addr.type=unix,addr.path=${escapeOpt(o.gvproxy.socket)}`,
      '-device',
      `virtio-net-pci,netdev=net0,mac=${o.gvproxy.mac},romfile=`,
    );
  } else {
    const fwd = o.forwards.map((f) => `hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`);
    args.push(
      '-netdev',
      ['user', 'id=net0', ...fwd].join(','),
      '-device',
      'virtio-net-pci,netdev=net0,romfile=',
    );
  }

  for (const s of o.shares) {
    const fs = [
      'local',
      `path=${escapeOpt(s.hostPath)}`,
      `mount_tag=${s.tag}`,
      `security_model=${s.securityModel ?? 'none'}`,
      `id=${s.id}`,
    ];
    if (s.readOnly) fs.push('readonly=on');
    args.push('-virtfs', fs.join(','));
  }
  if (o.virtiofs && o.virtiofs.length > 0) {
    args.push(...sharedMemoryArgs(o.memoryMiB));
    for (const v of o.virtiofs) args.push(...vhostUserFsArgs(v));
  }

  args.push(
    '-object',
    'rng-random,id=rng0,filename=/dev/urandom',
    '-device',
    'virtio-rng-pci,rng=rng0',
    '-serial',
    `file:${o.consoleLog}`,
    '-qmp',
    `unix:${escapeOpt(o.qmpSocket)},server=on,wait=off`,
    '-pidfile',
    o.pidFile,
  );
  if (o.daemonize) args.push('-daemonize');

  return { binary: o.binary ?? qemuBinaryName(o.arch), args };
}

function machineArgs(o: QemuArgvOptions): string[] {
  const cpu = o.accel === 'tcg' ? 'max' : 'host';
  const accel = ['-accel', o.accel];
  if (o.arch === 'x86_64') return ['-machine', 'q35', ...accel, '-cpu', cpu];
  // On Apple silicon (hvf) highmem=on lets guest RAM and PCI MMIO go above 4 GiB; QEMU caps it
  // to the host's IPA size itself. Other accelerators keep QEMU's default. Emulated arm64 gets
  // cortex-a72: -cpu max also emulates pointer authentication, which made boots 5x slower.
  const machine = o.accel === 'hvf' ? 'virt,highmem=on' : 'virt';
  const out = ['-machine', machine, ...accel, '-cpu', o.accel === 'tcg' ? 'cortex-a72' : cpu];
  if (o.firmware?.vars) {
    out.push(
      '-drive',
      `if=pflash,format=raw,unit=0,readonly=on,file=${escapeOpt(o.firmware.code)}`,
      '-drive',
      `if=pflash,format=raw,unit=1,file=${escapeOpt(o.firmware.vars)}`,
    );
  } else if (o.firmware) {
    out.push('-bios', o.firmware.code);
  }
  return out;
}

/** QEMU option values end at a comma; a literal comma is written twice. */
export function escapeOpt(value: string): string {
  return value.replaceAll(',', ',,');
}
