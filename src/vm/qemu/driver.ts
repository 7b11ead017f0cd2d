// The qemu driver: direct kernel boot, user-mode networking with hostfwd on 127.0.0.1, QMP.
import { KdevError } from '../../lib/errors.js';
import type { Driver, DriverDeps, DriverInfo, Endpoint, MachineSpec, MachineState } from '../driver.js';

export class QemuDriver implements Driver {
  constructor(
    readonly machineName: string,
    private readonly deps: DriverDeps = {},
  ) {}

  info(): DriverInfo {
    return { name: 'qemu', mountTypes: ['9p'], ipDiscovery: 'hostfwd', needsKernel: true };
  }

  private todo(): KdevError {
    return new KdevError('INTERNAL', `qemu driver for ${this.machineName}: not implemented yet`);
  }

  async validate(_spec: MachineSpec): Promise<void> {
    void this.deps;
    throw this.todo();
  }
  async create(_spec: MachineSpec): Promise<void> {
    throw this.todo();
  }
  async start(): Promise<void> {
    throw this.todo();
  }
  async stop(): Promise<void> {
    throw this.todo();
  }
  async remove(): Promise<void> {
    throw this.todo();
  }
  async state(): Promise<MachineState> {
    return 'Nonexistent';
  }
  async sshEndpoint(): Promise<Endpoint> {
    throw this.todo();
  }
  async apiServerEndpoint(): Promise<Endpoint> {
    throw this.todo();
  }
}
