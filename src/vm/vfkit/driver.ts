// macOS Virtualization.framework through vfkit. Only its host check exists so far: elsewhere it
// refuses clearly, and on macOS it points at qemu until the backend lands. Its create() will call
// machine/prepareMachine (raw data disk) like qemu's does.
import { KdevError } from '../../lib/errors.js';
import type {
  Driver,
  DriverDeps,
  DriverInfo,
  Endpoint,
  MachineSpec,
  MachineState,
  RuntimeInfo,
} from '../driver.js';
import { machineFiles } from '../machine/files.js';

export class VfkitDriver implements Driver {
  constructor(
    readonly machineName: string,
    private readonly deps: DriverDeps = {},
  ) {}

  info(): DriverInfo {
    return {
      name: 'vfkit',
      mountTypes: ['virtiofs'],
      networkModes: ['gvproxy'],
      diskFormat: 'raw',
      kernelForms: ['Image', 'vmlinux'],
      ipDiscovery: 'dhcp-leases',
      options: [],
    };
  }

  async validate(_spec: MachineSpec): Promise<void> {
    const platform = this.deps.platform ?? process.platform;
    if (platform !== 'darwin') {
      throw new KdevError('UNSUPPORTED_HOST', `the vfkit driver needs macOS (this host is ${platform})`, {
        hints: ['Use --driver qemu on this host'],
      });
    }
    throw this.unavailable();
  }

  private unavailable(): KdevError {
    return new KdevError('UNSUPPORTED_HOST', 'the vfkit driver is not available in this kdev build yet', {
      hints: ['Use --driver qemu (it uses the hvf accelerator on macOS)'],
    });
  }

  async create(_spec: MachineSpec): Promise<void> {
    throw this.unavailable();
  }
  async start(_spec: MachineSpec): Promise<void> {
    throw this.unavailable();
  }
  async stop(): Promise<void> {
    throw this.unavailable();
  }
  async remove(): Promise<void> {
    throw this.unavailable();
  }
  async state(): Promise<MachineState> {
    return 'Nonexistent';
  }
  async endpoints(): Promise<Endpoint[]> {
    throw this.unavailable();
  }
  async runtimeInfo(): Promise<RuntimeInfo> {
    return { consoleLog: machineFiles(this.machineName).consoleLog };
  }
}

export const createVfkitDriver = (machineName: string, deps: DriverDeps): Driver =>
  new VfkitDriver(machineName, deps);
