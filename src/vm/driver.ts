// The machine abstraction every hypervisor backend implements. Types only: no driver is imported
// here (registry.ts maps names to drivers), so drivers and shared code can import it freely.
import type { CommandRunner } from '../lib/exec.js';
import type { Logger } from '../lib/log.js';
import type { Forward } from './network/forward.js';
import type { DriverName, MountType, NetworkMode } from './names.js';

export type { DriverName, MountType, NetworkMode, QemuAccel } from './names.js';
export type { Forward } from './network/forward.js';

export type MachineState = 'Running' | 'Stopped' | 'Nonexistent' | 'Error';

export type Arch = 'x86_64' | 'aarch64';

/** How the data disk is stored: qcow2 (QEMU, grows on demand) or a sparse raw file (vfkit). */
export type DiskFormat = 'qcow2' | 'raw';

/** bzImage: compressed x86 kernel; vmlinux: uncompressed x86 (PVH) ELF; Image: uncompressed arm64. */
export type KernelForm = 'bzImage' | 'vmlinux' | 'Image';

export type IpDiscovery = 'hostfwd' | 'dhcp-leases';

export interface DriverInfo {
  name: DriverName;
  /** Mount transports this driver can offer the guest, best first. */
  mountTypes: MountType[];
  /** Network back ends, the default first. */
  networkModes: NetworkMode[];
  /** The data disk format the shared setup creates for this driver. */
  diskFormat: DiskFormat;
  /** Kernel forms it can boot directly, best first. */
  kernelForms: KernelForm[];
  /**
   * With the default network mode. hostfwd: reached only through forwards on 127.0.0.1;
   * dhcp-leases: the guest's own IP comes from the host's DHCP server (RuntimeInfo says which
   * one the current boot used).
   */
  ipDiscovery: IpDiscovery;
  /** Names of the driver-specific options (MachineSpec.options) it accepts, e.g. qemu's 'accel'. */
  options: string[];
}

export interface GuestImage {
  kernel: string;
  initrd: string;
  cmdline: string;
  iso?: string;
  /**
   * A newer image's root filesystem (rootfs.erofs), attached as a virtio-blk disk with serial
   * kdev-root: its small initrd mounts it under a tmpfs overlay instead of carrying (and unpacking
   * at every boot) the whole root. Read-only, as every machine of the image shares the one file.
   * Absent for older images, whose initrd is the whole root.
   */
  rootfs?: string;
  arch: Arch;
}

export interface MountSpec {
  hostPath: string;
  guestPath: string;
  type: MountType;
  /** The 9p mount_tag / virtiofs tag the guest mounts by. */
  tag: string;
  readOnly?: boolean;
}

export interface MachineSpec {
  name: string;
  cpus: number;
  memoryMiB: number;
  diskMiB: number;
  image: GuestImage;
  mounts: MountSpec[];
  /** Host ports on 127.0.0.1 forwarded to the guest; one is named 'ssh' (see network/forward.ts). */
  forwards: Forward[];
  /** Driver-specific settings (qemu: accel), validated by the driver's own schema. */
  options: Record<string, string>;
}

/** A forward as reached now: host and port on the host side, and what it leads to in the guest. */
export interface Endpoint {
  name: string;
  host: string;
  port: number;
  guestPort: number;
}

export interface StopOptions {
  /** Skip the graceful (ACPI) shutdown and end the machine at once. */
  force?: boolean;
  /** How long a graceful shutdown may take before it is forced (default 30 s). */
  timeoutMs?: number;
}

/** What a running (or last-run) machine is doing, for boot watching, `kdev logs` and status. */
export interface RuntimeInfo {
  /** The guest's serial console. */
  consoleLog: string;
  /** The hypervisor's own stdout/stderr, when it has one. */
  hypervisorLog?: string;
  /** The accelerator of the last start, e.g. 'kvm' or 'tcg'. */
  accel?: string;
  /** The hypervisor's pid while it runs. */
  pid?: number;
  /** How the last boot's guest address was found, when its network mode differs from the default's. */
  ipDiscovery?: IpDiscovery;
  /** The guest's own address as the host's DHCP server leased it (dhcp-leases only). */
  guestIp?: string;
  /** Helper processes (e.g. virtiofsd) that should run beside the hypervisor but do not. */
  problems?: string[];
}

export interface Driver {
  info(): DriverInfo;
  /** The mount transports usable on this host now (helpers found), best first; info() when absent. */
  availableMountTypes?(): Promise<MountType[]>;
  /**
   * Optional: what can be refused before there is a spec (the host's OS), so that a start on the
   * wrong host fails before any image download or build. Throws KdevError with hints.
   */
  checkPlatform?(): void;
  /** Host prerequisites and spec sanity; throws KdevError with hints. Touches nothing on disk. */
  validate(spec: MachineSpec): Promise<void>;
  /** Writes everything start() needs (shared setup through machine/, then its own files). */
  create(spec: MachineSpec): Promise<void>;
  /** Boots with this spec (its options win over the created-with ones); returns once the processes run. */
  start(spec: MachineSpec): Promise<void>;
  stop(opts?: StopOptions): Promise<void>;
  /** Stops every process the machine owns and deletes its directory. */
  remove(): Promise<void>;
  state(): Promise<MachineState>;
  /** Every forward of the machine as reachable from the host (SSH among them). */
  endpoints(): Promise<Endpoint[]>;
  /** Optional: a forward opened on 127.0.0.1 while the machine runs (kdev service, tunnel). */
  addForward?(forward: Forward): Promise<Endpoint>;
  /** Optional: closes a forward addForward opened. */
  removeForward?(name: string): Promise<void>;
  runtimeInfo(): Promise<RuntimeInfo>;
}

/** Side effects a driver needs, injectable for tests. */
export interface DriverDeps {
  runner?: CommandRunner;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Receives what --verbose and --log-file show: argv, accelerator choice, processes started. */
  logger?: Logger;
}

export type DriverFactory = (machineName: string, deps: DriverDeps) => Driver;
