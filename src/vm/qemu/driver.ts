// The qemu driver: direct kernel boot, user-mode networking with hostfwd on 127.0.0.1 (or
// gvproxy), a QMP socket for state and shutdown. The lifecycle every driver shares is
// machine/base-driver's; this file adds qemu's host checks, helpers and argv.
import type { Driver, DriverDeps, DriverInfo, Forward, MachineSpec, RuntimeInfo } from '../driver.js';
import { BaseDriver, type BaseDriverDeps, type HypervisorControl } from '../machine/base-driver.js';
import type { MachineRecord } from '../machine/record.js';
import { checkSpecFiles, validateSpec } from '../machine/validate.js';
import { requireGvproxy } from '../network/gvproxy-process.js';
import type { ProcessRecord } from '../process/processes.js';
import { hostAccelProbes, resolveAccel, type AccelChoice, type AccelProbes } from './accel.js';
import { qemuBinaryName } from './argv.js';
import { addHostfwd, qmpAnswers, qmpControl, removeHostfwd } from './control.js';
import { missingVirtiofsd, startQemuHelpers, virtiofsdProblems } from './helpers.js';
import { checkQemuTools } from './host-tools.js';
import { machineQemuArgv } from './machine-argv.js';
import { machineUuid } from './machine-uuid.js';
import { parseQemuOptions, QEMU_NETWORK_MODES, QEMU_OPTION_NAMES, qemuStartError } from './options.js';
import { findVirtiofsd, type Virtiofsd } from './virtiofsd.js';
import { virtiofsMounts } from './virtiofsd-process.js';

export interface QemuDriverDeps extends BaseDriverDeps {
  accelProbes?: AccelProbes;
  /** Overrides the qemu-system-<arch> binary (name or path). */
  qemuBinary?: string;
}

export class QemuDriver extends BaseDriver<AccelChoice, QemuDriverDeps> {
  // A qemu started by a kdev from before machine records is still found by its -pidfile.
  protected override readonly adopt = { exeName: /^qemu-system-/, pidFlag: '-pidfile' };

  info(): DriverInfo {
    return {
      name: 'qemu',
      mountTypes: ['virtiofs', '9p'],
      networkModes: [...QEMU_NETWORK_MODES],
      diskFormat: 'qcow2',
      kernelForms: ['bzImage', 'vmlinux', 'Image'],
      ipDiscovery: 'hostfwd',
      options: QEMU_OPTION_NAMES,
    };
  }

  /** virtiofs needs a virtiofsd on this host (and memfd, which macOS lacks); 9p is built into qemu. */
  async availableMountTypes(): Promise<Array<'virtiofs' | '9p'>> {
    if (this.platform !== 'linux') return ['9p'];
    return (await this.virtiofsd()) ? ['virtiofs', '9p'] : ['9p'];
  }

  private virtiofsd(): Promise<Virtiofsd | undefined> {
    return findVirtiofsd({ env: this.env, runner: this.runner });
  }

  /** Spec, options, tools and files; returns the accelerator this spec gets on this host. */
  protected async checkHost(spec: MachineSpec): Promise<AccelChoice> {
    const virtiofs = virtiofsMounts(this.files.dir, spec.mounts);
    validateSpec(spec, this.machineName, this.info(), [
      this.files.controlSocket,
      ...virtiofs.map((v) => v.socketPath),
    ]);
    const options = parseQemuOptions(spec.options);
    await checkQemuTools(this.qemuBinary(spec), spec.image.arch, this.platform, this.env);
    if (options.network === 'gvproxy') await requireGvproxy(this.env);
    if (virtiofs.length > 0 && !(await this.virtiofsd())) throw missingVirtiofsd();
    await checkSpecFiles(spec);
    const probes = this.deps.accelProbes ?? {
      ...hostAccelProbes,
      platform: this.platform,
      env: this.env,
    };
    return resolveAccel(options.accel, spec.image.arch, probes);
  }

  private qemuBinary(spec: MachineSpec): string {
    return this.deps.qemuBinary ?? qemuBinaryName(spec.image.arch);
  }

  protected async boot(spec: MachineSpec, record: MachineRecord, accel: AccelChoice): Promise<void> {
    this.debug(`qemu accelerator: ${accel.accel} (${accel.reason})`);
    const options = parseQemuOptions(spec.options);
    const f = this.files;
    const virtiofs = virtiofsMounts(f.dir, spec.mounts);
    const helpers = await startQemuHelpers({
      files: f,
      spec,
      options,
      virtiofs,
      virtiofsd: virtiofs.length > 0 ? await this.virtiofsd() : undefined,
      env: this.env,
      logger: this.deps.logger,
      cleanUp: () => this.cleanUp(),
    });
    const { binary, args } = machineQemuArgv({
      spec,
      files: f,
      accel: accel.accel,
      virtiofs,
      gvproxySocket: helpers.gvproxy?.paths.vmSocket,
      uuid: machineUuid(spec.name, record.createdAt),
      binary: this.deps.qemuBinary,
    });
    // Not -daemonize: that would send later stderr (KVM errors, say) to /dev/null.
    await this.launch({
      spec,
      hypervisor: { executable: binary, args, identityArg: f.pidFile, writesOwnPidFile: true },
      helpers: helpers.records,
      runtime: { accel: accel.accel, accelReason: accel.reason, network: options.network },
      ready: () => qmpAnswers(f.controlSocket),
      failure: (failed) => qemuStartError(failed, f.hypervisorLog),
    });
  }

  protected control(): HypervisorControl {
    return qmpControl(this.files.controlSocket);
  }

  /** gvproxy's API on a gvproxy machine, else a slirp hostfwd rule over QMP. */
  protected override async openForward(forward: Forward, record: MachineRecord): Promise<void> {
    if (record.runtime?.network === 'gvproxy') return super.openForward(forward, record);
    await addHostfwd(this.files.controlSocket, forward);
  }

  protected override async closeForward(forward: Forward, record: MachineRecord): Promise<void> {
    if (record.runtime?.network === 'gvproxy') return super.closeForward(forward, record);
    await removeHostfwd(this.files.controlSocket, forward);
  }

  protected override async moreRuntimeInfo(
    record: MachineRecord | undefined,
    processes: ProcessRecord[],
    hv: ProcessRecord | undefined,
  ): Promise<Partial<RuntimeInfo>> {
    return {
      accel: record?.runtime?.accel,
      ...(hv ? { problems: await virtiofsdProblems(processes, record?.spec, this.platform) } : {}),
    };
  }
}

export const createQemuDriver = (machineName: string, deps: DriverDeps): Driver =>
  new QemuDriver(machineName, deps);
