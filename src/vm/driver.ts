// The machine abstraction every hypervisor backend implements, and the one place that maps a
// driver name to an implementation.
import { KdevError } from '../lib/errors.js';
import type { CommandRunner } from '../lib/exec.js';
import { QemuDriver } from './qemu/driver.js';
import { VfkitDriver } from './vfkit/driver.js';
import { DRIVER_NAMES, type MountType, type QemuAccel } from './names.js';

export { DRIVER_NAMES, type DriverName, type MountType, type QemuAccel } from './names.js';

export type MachineState = 'Running' | 'Stopped' | 'Nonexistent' | 'Error';

export type Arch = 'x86_64' | 'aarch64';

export interface DriverInfo {
  name: string;
  /** Mount transports this driver can offer the guest, best first. */
  mountTypes: MountType[];
  /** hostfwd: the guest is reached through ports forwarded on 127.0.0.1; dhcp-leases: by its own IP. */
  ipDiscovery: 'hostfwd' | 'dhcp-leases';
  /** Boots a kernel + initrd directly (so the image must ship them beside the ISO). */
  needsKernel: boolean;
}

export interface GuestImage {
  kernel: string;
  initrd: string;
  cmdline: string;
  iso?: string;
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
  /** Host ports on 127.0.0.1 forwarded to the guest's sshd and API server. */
  ports: { ssh: number; apiServer: number };
  accel?: QemuAccel;
}

export interface Endpoint {
  host: string;
  port: number;
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
  pid?: number;
  /** Helper processes (e.g. virtiofsd) that should run beside the hypervisor but do not. */
  problems?: string[];
}

export interface Driver {
  info(): DriverInfo;
  /** The mount transports usable on this host now (helpers found), best first; info() when absent. */
  availableMountTypes?(): Promise<MountType[]>;
  /** Host prerequisites and spec sanity; throws KdevError with hints. Touches nothing on disk. */
  validate(spec: MachineSpec): Promise<void>;
  /** Writes everything start() needs under the machine dir. Keeps an existing data disk. */
  create(spec: MachineSpec): Promise<void>;
  /** Returns once the hypervisor process runs; the caller waits for guest readiness. */
  start(): Promise<void>;
  stop(opts?: StopOptions): Promise<void>;
  /** Stops the machine if needed and deletes its directory. */
  remove(): Promise<void>;
  state(): Promise<MachineState>;
  sshEndpoint(): Promise<Endpoint>;
  apiServerEndpoint(): Promise<Endpoint>;
  runtimeInfo(): Promise<RuntimeInfo>;
}

/** Side effects a driver needs, injectable for tests. */
export interface DriverDeps {
  runner?: CommandRunner;
  platform?: NodeJS.Platform;
  env?: NodeJS.ProcessEnv;
  /** Receives progress lines (qemu-img, ssh-keygen output) for verbose logs. */
  log?: (line: string) => void;
}

export function createDriver(driverName: string, machineName: string, deps: DriverDeps = {}): Driver {
  switch (driverName) {
    case 'qemu':
      return new QemuDriver(machineName, deps);
    case 'vfkit':
      return new VfkitDriver(machineName, deps);
    default:
      throw new KdevError('BAD_INPUT', `unknown driver "${driverName}"`, {
        hints: [`Use one of: ${DRIVER_NAMES.join(', ')}`],
      });
  }
}
