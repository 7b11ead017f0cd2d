// The qemu driver: direct kernel boot, user-mode networking with hostfwd on 127.0.0.1, a QMP
// socket for state and shutdown. Shared setup (keys, seed, data disk, record) is machine/'s;
// starting and ending processes is process/'s.
import fs from 'node:fs/promises';
import { KdevError } from '../../lib/errors.js';
import { hostRunner, type CommandRunner } from '../../lib/exec.js';
import { readFileIfExists } from '../../lib/fs-atomic.js';
import type {
  Driver,
  DriverDeps,
  DriverInfo,
  Endpoint,
  Forward,
  MachineSpec,
  MachineState,
  RuntimeInfo,
  StopOptions,
} from '../driver.js';
import { machineFiles, rotateLog, type MachineFiles } from '../machine/files.js';
import { prepareMachine, requireMachineRecord } from '../machine/prepare.js';
import {
  readMachineRecord,
  recordEndpoints,
  updateMachineRecord,
  type MachineRecord,
} from '../machine/record.js';
import { checkSpecFiles, validateSpec } from '../machine/validate.js';
import { removeStaleSockets } from '../network/gvproxy.js';
import { machineGvproxyPaths, requireGvproxy } from '../network/gvproxy-process.js';
import {
  adoptFromPidFile,
  HYPERVISOR_ROLE,
  isRunning,
  liveHypervisor,
  spawnProcess,
  stopProcesses,
  waitForExit,
  waitUntil,
  type ProcessRecord,
} from '../process/processes.js';
import { hostAccelProbes, resolveAccel, type AccelChoice, type AccelProbes } from './accel.js';
import { qemuBinaryName } from './argv.js';
import { checkQemuTools } from './host-tools.js';
import { machineUuid } from './machine-uuid.js';
import { parseQemuOptions, QEMU_NETWORK_MODES, QEMU_OPTION_NAMES, startFailureHints } from './options.js';
import { missingVirtiofsd, startQemuHelpers, virtiofsdProblems } from './helpers.js';
import { machineQemuArgv } from './machine-argv.js';
import { qmpExecute } from './qmp.js';
import { addRuntimeForward, removeRuntimeForward, type RunningMachine } from './runtime-forwards.js';
import { findVirtiofsd, type Virtiofsd } from './virtiofsd.js';
import { virtiofsMounts } from './virtiofsd-process.js';

export interface QemuDriverDeps extends DriverDeps {
  accelProbes?: AccelProbes;
  /** Overrides the qemu-system-<arch> binary (name or path). */
  qemuBinary?: string;
  /** How long start() waits for QMP to answer before calling the start failed (ms). */
  startTimeoutMs?: number;
}

const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const QMP_TIMEOUT_MS = 2000;
// Transient states while qemu sets up or winds down still count as a running machine.
const RUNNING_STATES = ['prelaunch', 'inmigrate', 'postmigrate', 'finish-migrate', 'save-vm', 'restore-vm'];

export class QemuDriver implements Driver {
  private readonly files: MachineFiles;
  private readonly runner: CommandRunner;
  private readonly platform: NodeJS.Platform;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly machineName: string,
    private readonly deps: QemuDriverDeps = {},
  ) {
    this.files = machineFiles(machineName);
    this.runner = deps.runner ?? hostRunner;
    this.platform = deps.platform ?? process.platform;
    this.env = deps.env ?? process.env;
  }

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

  private debug(line: string): void {
    this.deps.logger?.debug(line);
  }

  async validate(spec: MachineSpec): Promise<void> {
    await this.checkHost(spec);
  }

  /** Spec, options, tools and files; returns the accelerator this spec gets on this host. */
  private async checkHost(spec: MachineSpec): Promise<AccelChoice> {
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
    const probes = this.deps.accelProbes ?? { ...hostAccelProbes, platform: this.platform, env: this.env };
    return resolveAccel(options.accel, spec.image.arch, probes);
  }

  private qemuBinary(spec: MachineSpec): string {
    return this.deps.qemuBinary ?? qemuBinaryName(spec.image.arch);
  }

  async create(spec: MachineSpec): Promise<void> {
    await this.validate(spec);
    await prepareMachine(spec, this.files, this.info(), { runner: this.runner, logger: this.deps.logger });
  }

  async start(spec: MachineSpec): Promise<void> {
    const { createdAt } = await requireMachineRecord(this.files, this.machineName);
    const current = await this.state();
    if (current === 'Running') return;
    if (current === 'Error') {
      throw new KdevError('VM_ERROR', `machine "${this.machineName}" is in an error state`, {
        hints: [`Stop it first: kdev stop -p ${this.machineName}`, 'Then look at: kdev logs'],
      });
    }
    // This boot's options (an explicit --qemu-accel, say) win over the created-with ones.
    const accel = await this.checkHost(spec);
    this.debug(`qemu accelerator: ${accel.accel} (${accel.reason})`);
    const options = parseQemuOptions(spec.options);

    const f = this.files;
    await this.cleanUp();
    await rotateLog(f.consoleLog);
    await rotateLog(f.hypervisorLog);

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
      uuid: machineUuid(spec.name, createdAt),
      binary: this.deps.qemuBinary,
    });
    // Not -daemonize: that would send later stderr (KVM errors, say) to /dev/null.
    const proc = await spawnProcess(
      {
        role: HYPERVISOR_ROLE,
        executable: binary,
        args,
        identityArg: f.pidFile,
        pidFile: f.pidFile,
        writesOwnPidFile: true,
        logFile: f.hypervisorLog,
        cwd: f.dir,
      },
      this.deps.logger,
    ).catch(async (err: unknown) => {
      await stopProcesses(helpers.records, { logger: this.deps.logger, platform: this.platform });
      throw err;
    });
    // Recorded before waiting, so a kdev killed now still finds (and can stop) this qemu.
    await updateMachineRecord(f.record, (r) => ({
      ...r,
      runtime: {
        startedAt: proc.record.startedAt,
        accel: accel.accel,
        accelReason: accel.reason,
        network: options.network,
        forwards: spec.forwards,
        processes: [proc.record, ...helpers.records],
      },
    }));
    const qmpAnswers = () =>
      qmpExecute(f.controlSocket, 'query-status', undefined, QMP_TIMEOUT_MS).then(
        () => true,
        () => false,
      );
    const outcome = await waitUntil(proc, qmpAnswers, this.deps.startTimeoutMs ?? 30_000);
    if (outcome === 'exited') {
      const output = ((await readFileIfExists(f.hypervisorLog)) ?? '').trim();
      const detail = proc.exitStatus()?.error?.message ?? output.split('\n').slice(-5).join('\n');
      await this.cleanUp().catch(() => undefined);
      throw new KdevError('VM_ERROR', `qemu exited at once${detail ? `: ${detail}` : ''}`, {
        hints: startFailureHints(output),
      });
    }
    if (outcome === 'timeout') {
      await this.stop({ force: true }).catch(() => undefined);
      throw new KdevError('VM_ERROR', 'qemu started but its QMP socket never answered', {
        hints: [`See ${f.hypervisorLog}`],
      });
    }
  }

  /** Every process of the machine: from its record, else a qemu its pidfile names (older kdev). */
  private async processes(record?: MachineRecord): Promise<ProcessRecord[]> {
    const r = record ?? (await readMachineRecord(this.files.record).catch(() => undefined));
    const recorded = r?.runtime?.processes ?? [];
    if (recorded.some((p) => p.role === HYPERVISOR_ROLE)) return recorded;
    const how = {
      role: HYPERVISOR_ROLE,
      exeName: /^qemu-system-/,
      pidFlag: '-pidfile',
      logFile: this.files.hypervisorLog,
    };
    const adopted = await adoptFromPidFile(this.files.pidFile, how, this.platform);
    return adopted ? [adopted, ...recorded] : recorded;
  }

  /** The hypervisor's record while that very process still runs. */
  private async liveHypervisor(record?: MachineRecord): Promise<ProcessRecord | undefined> {
    return liveHypervisor(await this.processes(record), this.platform);
  }

  async state(): Promise<MachineState> {
    const record = await readMachineRecord(this.files.record);
    if (!record) return 'Nonexistent';
    const hv = await this.liveHypervisor(record);
    if (!hv) return 'Stopped';
    try {
      const s = await qmpExecute<{ status: string; running: boolean }>(
        this.files.controlSocket,
        'query-status',
        undefined,
        QMP_TIMEOUT_MS,
      );
      return s.running || RUNNING_STATES.includes(s.status) ? 'Running' : 'Error';
    } catch {
      return (await isRunning(hv, this.platform)) ? 'Error' : 'Stopped';
    }
  }

  async stop(opts: StopOptions = {}): Promise<void> {
    const hv = await this.liveHypervisor();
    if (hv && !opts.force) {
      // ACPI power button: the guest shuts down cleanly and qemu exits by itself.
      const sent = await this.qmp('system_powerdown');
      if (sent && (await waitForExit(hv.pid, opts.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)))
        return this.cleanUp();
      this.debug(
        sent ? 'the guest did not power off in time; quitting qemu' : 'QMP did not answer; quitting qemu',
      );
    }
    if (hv && (await this.qmp('quit'))) await waitForExit(hv.pid, 3000);
    await this.cleanUp();
  }

  private qmp(command: string): Promise<boolean> {
    return qmpExecute(this.files.controlSocket, command, undefined, QMP_TIMEOUT_MS).then(
      () => true,
      () => false,
    );
  }

  /** Ends whatever of the machine still runs (ours only) and forgets its processes. */
  private async cleanUp(): Promise<void> {
    await stopProcesses(await this.processes(), { logger: this.deps.logger, platform: this.platform });
    await updateMachineRecord(this.files.record, (r) =>
      r.runtime ? { ...r, runtime: { ...r.runtime, processes: [] } } : r,
    ).catch(() => undefined);
    await fs.rm(this.files.pidFile, { force: true });
    await fs.rm(this.files.controlSocket, { force: true });
    await removeStaleSockets(machineGvproxyPaths(this.files, 'qemu'));
  }

  async remove(): Promise<void> {
    if (await this.liveHypervisor()) await this.qmp('quit');
    await stopProcesses(await this.processes(), { logger: this.deps.logger, platform: this.platform });
    await fs.rm(this.files.dir, { recursive: true, force: true });
  }

  async endpoints(): Promise<Endpoint[]> {
    return recordEndpoints(await requireMachineRecord(this.files, this.machineName));
  }

  /** Opens one more forward on 127.0.0.1 while the machine runs (see runtime-forwards.ts). */
  async addForward(forward: Forward): Promise<Endpoint> {
    return addRuntimeForward(await this.runningMachine(), forward);
  }

  async removeForward(name: string): Promise<void> {
    await removeRuntimeForward(await this.runningMachine(), name);
  }

  private async runningMachine(): Promise<RunningMachine> {
    const record = await requireMachineRecord(this.files, this.machineName);
    if (!(await this.liveHypervisor(record))) {
      throw new KdevError('VM_ERROR', `machine "${this.machineName}" is not running`, {
        hints: [`Start it: kdev start -p ${this.machineName}`],
      });
    }
    return { name: this.machineName, files: this.files, record };
  }

  async runtimeInfo(): Promise<RuntimeInfo> {
    const record = await readMachineRecord(this.files.record).catch(() => undefined);
    const hv = await this.liveHypervisor(record);
    return {
      consoleLog: this.files.consoleLog,
      hypervisorLog: this.files.hypervisorLog,
      accel: record?.runtime?.accel,
      pid: hv?.pid,
      ...(hv
        ? { problems: await virtiofsdProblems(await this.processes(record), record?.spec, this.platform) }
        : {}),
    };
  }
}

export const createQemuDriver = (machineName: string, deps: DriverDeps): Driver =>
  new QemuDriver(machineName, deps);
