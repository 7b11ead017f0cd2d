// One machine's qemu command line: its spec and files mapped onto the pure buildQemuArgv.
import type { MachineSpec } from '../driver.js';
import type { MachineFiles } from '../machine/files.js';
import { GVPROXY_GUEST_MAC } from '../network/gvproxy.js';
import { buildQemuArgv, type QemuDisk, type ResolvedAccel } from './argv.js';
import type { VirtiofsdMount } from './virtiofsd.js';

export interface MachineArgvOptions {
  spec: MachineSpec;
  files: MachineFiles;
  accel: ResolvedAccel;
  virtiofs: readonly VirtiofsdMount[];
  /** gvproxy's socket for QEMU, on a gvproxy-networked machine. */
  gvproxySocket?: string;
  uuid: string;
  binary?: string;
}

export function machineQemuArgv(o: MachineArgvOptions): { binary: string; args: string[] } {
  const { spec, files: f } = o;
  return buildQemuArgv({
    name: spec.name,
    arch: spec.image.arch,
    accel: o.accel,
    cpus: spec.cpus,
    memoryMiB: spec.memoryMiB,
    kernel: spec.image.kernel,
    initrd: spec.image.initrd,
    cmdline: spec.image.cmdline,
    disks: [
      { id: 'data', path: f.dataDisk('qcow2'), format: 'qcow2', serial: 'kdev-data' },
      { id: 'seed', path: f.seedDisk, format: 'raw', serial: 'kdev-seed', readOnly: true },
      ...rootDisk(spec),
    ],
    shares: spec.mounts
      .filter((m) => m.type === '9p')
      .map((m, i) => ({ id: `fs${i}`, hostPath: m.hostPath, tag: m.tag, readOnly: m.readOnly ?? false })),
    virtiofs: [...o.virtiofs],
    forwards: spec.forwards,
    qmpSocket: f.controlSocket,
    pidFile: f.pidFile,
    consoleLog: f.consoleLog,
    binary: o.binary,
    uuid: o.uuid,
    ...(o.gvproxySocket ? { gvproxy: { socket: o.gvproxySocket, mac: GVPROXY_GUEST_MAC } } : {}),
  });
}

/**
 * A newer image's root filesystem, which its initrd finds by serial. Read-only, so QEMU takes a
 * shared lock: every machine booted from the image opens the same file.
 */
function rootDisk(spec: MachineSpec): QemuDisk[] {
  const path = spec.image.rootfs;
  return path ? [{ id: 'root', path, format: 'raw', serial: 'kdev-root', readOnly: true }] : [];
}
