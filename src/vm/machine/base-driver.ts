// What every driver does the same way, whatever its hypervisor: the start/stop/remove lifecycle,
// state from the recorded processes plus the hypervisor's own API, clean-up, and the forwards
// bookkeeping. A driver adds its host checks, its boot (helpers + hypervisor argv), and a
// HypervisorControl for its API (QMP, vfkit's REST).
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
  NetworkMode,
  RuntimeInfo,
  StopOptions,
} from '../driver.js';
import { validateForwards } from '../network/forward.js';
import { GvproxyForwarder, removeStaleSockets } from '../network/gvproxy.js';
import { machineGvproxyPaths } from '../network/gvproxy-process.js';
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
  type ProcessSpec,
} from '../process/processes.js';
import { machineFiles, rotateLog, type MachineFiles } from './files.js';
import { prepareMachine, requireMachineRecord } from './prepare.js';
import { readMachineRecord, recordEndpoints, updateMachineRecord, type MachineRecord } from './record.js';

/** What the shared lifecycle asks of a hypervisor's control API. */
export interface HypervisorControl {
  /** The API's name in log lines: 'QMP', 'REST'. */
  readonly name: string;
  /** The VM's state as the hypervisor reports it; throws when the API does not answer. */
  state(): Promise<MachineState>;
  /** Asks the guest to power off (ACPI button, vfkit's Stop); false when the API did not take it. */
  powerOff(): Promise<boolean>;
  /** Ends the VM at once (QMP quit, vfkit's HardStop); false when the API did not take it. */
  forceOff(): Promise<boolean>;
  /** How long the hypervisor may take to exit after forceOff (ms). */
  readonly forceOffMs: number;
}

export interface BaseDriverDeps extends DriverDeps {
  /** How long start() waits for the hypervisor's API before calling the start failed (ms). */
  startTimeoutMs?: number;
}

/** Why a hypervisor did not come up: it exited, or its API never answered; its log so far. */
export interface StartFailure {
  outcome: 'exited' | 'timeout';
  output: string;
  error?: Error;
}

export interface LaunchOptions {
  spec: MachineSpec;
  /** The hypervisor's program and argv; role, pidfile, log and folder are the machine's. */
  hypervisor: Pick<ProcessSpec, 'executable' | 'args' | 'identityArg' | 'writesOwnPidFile'>;
  /** Helper processes already running (and recorded) for this boot. */
  helpers: ProcessRecord[];
  /** Facts of this boot for the record. */
  runtime: { network: NetworkMode; accel?: string; accelReason?: string };
  /** Whether the hypervisor is up, polled until it holds. */
  ready: () => Promise<boolean>;
  /** The error to throw when it did not come up (the machine is already ended). */
  failure: (f: StartFailure) => KdevError;
}

const DEFAULT_STOP_TIMEOUT_MS = 30_000;

// Host: what checkHost() finds for boot() (qemu: the accelerator; vfkit: its tools).
export abstract class BaseDriver<Host, Deps extends BaseDriverDeps = BaseDriverDeps> implements Driver {
  protected readonly files: MachineFiles;
  protected readonly runner: CommandRunner;
  protected readonly platform: NodeJS.Platform;
  protected readonly env: NodeJS.ProcessEnv;
  /** Finds a hypervisor an older kdev started and recorded only in its pidfile (see processes()). */
  protected readonly adopt?: { exeName: RegExp; pidFlag: string };

  constructor(
    readonly machineName: string,
    // Every field of a driver's deps is optional, so none at all is a valid Deps.
    protected readonly deps: Deps = {} as Deps,
  ) {
    this.files = machineFiles(machineName);
    this.runner = deps.runner ?? hostRunner;
    this.platform = deps.platform ?? process.platform;
    this.env = deps.env ?? process.env;
  }

  abstract info(): DriverInfo;
  /** Spec, tools and files; returns what boot() needs of the host. Throws one KdevError; writes nothing. */
  protected abstract checkHost(spec: MachineSpec): Promise<Host>;
  /** Starts the helpers and the hypervisor (through launch()) on a cleaned-up machine. */
  protected abstract boot(spec: MachineSpec, record: MachineRecord, host: Host): Promise<void>;
  protected abstract control(): HypervisorControl;

  protected debug(line: string): void {
    this.deps.logger?.debug(line);
  }

  async validate(spec: MachineSpec): Promise<void> {
    await this.checkHost(spec);
  }

  async create(spec: MachineSpec): Promise<void> {
    await this.checkHost(spec);
    await prepareMachine(spec, this.files, this.info(), { runner: this.runner, logger: this.deps.logger });
  }

  async start(spec: MachineSpec): Promise<void> {
    const record = await requireMachineRecord(this.files, this.machineName);
    const current = await this.state();
    if (current === 'Running') return;
    if (current === 'Error') {
      throw new KdevError('VM_ERROR', `machine "${this.machineName}" is in an error state`, {
        hints: [`Stop it first: kdev stop -p ${this.machineName}`, 'Then look at: kdev logs'],
      });
    }
    // This boot's spec and options (an explicit --qemu-accel, say) win over the created-with ones.
    const host = await this.checkHost(spec);
    await this.cleanUp();
    await rotateLog(this.files.consoleLog);
    await rotateLog(this.files.hypervisorLog);
    await this.boot(spec, record, host);
  }

  /**
   * Spawns the hypervisor beside its running helpers, records them all before waiting (so a kdev
   * killed now still finds and stops them), then waits until ready() holds. A hypervisor that
   * exits or never answers leaves nothing running, and o.failure's error is thrown.
   */
  protected async launch(o: LaunchOptions): Promise<void> {
    const f = this.files;
    const proc = await spawnProcess(
      {
        ...o.hypervisor,
        role: HYPERVISOR_ROLE,
        pidFile: f.pidFile,
        logFile: f.hypervisorLog,
        cwd: f.dir,
      },
      this.deps.logger,
    ).catch(async (err: unknown) => {
      await stopProcesses(o.helpers, { logger: this.deps.logger, platform: this.platform });
      throw err;
    });
    await updateMachineRecord(f.record, (r) => ({
      ...r,
      runtime: {
        startedAt: proc.record.startedAt,
        ...o.runtime,
        forwards: o.spec.forwards,
        processes: [proc.record, ...o.helpers],
      },
    }));
    const outcome = await waitUntil(proc, o.ready, this.deps.startTimeoutMs ?? 30_000);
    if (outcome === 'ready') return;
    const output = ((await readFileIfExists(f.hypervisorLog)) ?? '').trim();
    if (outcome === 'exited') await this.cleanUp().catch(() => undefined);
    else await this.stop({ force: true }).catch(() => undefined);
    throw o.failure({ outcome, output, error: proc.exitStatus()?.error });
  }

  /** Every process of the machine: from its record, else a hypervisor its pidfile names (older kdev). */
  protected async processes(record?: MachineRecord): Promise<ProcessRecord[]> {
    const r = record ?? (await readMachineRecord(this.files.record).catch(() => undefined));
    const recorded = r?.runtime?.processes ?? [];
    if (!this.adopt || recorded.some((p) => p.role === HYPERVISOR_ROLE)) return recorded;
    const how = { ...this.adopt, role: HYPERVISOR_ROLE, logFile: this.files.hypervisorLog };
    const adopted = await adoptFromPidFile(this.files.pidFile, how, this.platform);
    return adopted ? [adopted, ...recorded] : recorded;
  }

  /** The hypervisor's record while that very process still runs. */
  protected async liveHypervisor(record?: MachineRecord): Promise<ProcessRecord | undefined> {
    return liveHypervisor(await this.processes(record), this.platform);
  }

  async state(): Promise<MachineState> {
    const record = await readMachineRecord(this.files.record);
    if (!record) return 'Nonexistent';
    const hv = await this.liveHypervisor(record);
    if (!hv) return 'Stopped';
    try {
      return await this.control().state();
    } catch {
      return (await isRunning(hv, this.platform)) ? 'Error' : 'Stopped';
    }
  }

  async stop(opts: StopOptions = {}): Promise<void> {
    const hv = await this.liveHypervisor();
    const control = this.control();
    if (hv && !opts.force) {
      // The guest shuts down cleanly and the hypervisor exits by itself.
      const asked = await control.powerOff();
      if (asked && (await waitForExit(hv.pid, opts.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)))
        return this.cleanUp();
      this.debug(
        `${asked ? 'the guest did not power off in time' : `${control.name} did not answer`}; forcing it off`,
      );
    }
    if (hv && (await control.forceOff())) await waitForExit(hv.pid, control.forceOffMs);
    await this.cleanUp();
  }

  /** Ends whatever of the machine still runs (ours only: identity-checked) and forgets its processes. */
  protected async cleanUp(): Promise<void> {
    await stopProcesses(await this.processes(), { logger: this.deps.logger, platform: this.platform });
    await updateMachineRecord(this.files.record, (r) =>
      r.runtime ? { ...r, runtime: { ...r.runtime, processes: [] } } : r,
    ).catch(() => undefined);
    await fs.rm(this.files.pidFile, { force: true });
    await fs.rm(this.files.controlSocket, { force: true });
    await removeStaleSockets(machineGvproxyPaths(this.files, this.info().name));
  }

  async remove(): Promise<void> {
    const hv = await this.liveHypervisor();
    const control = this.control();
    if (hv && (await control.forceOff())) await waitForExit(hv.pid, control.forceOffMs);
    await stopProcesses(await this.processes(), { logger: this.deps.logger, platform: this.platform });
    await fs.rm(this.files.dir, { recursive: true, force: true });
  }

  async endpoints(): Promise<Endpoint[]> {
    return recordEndpoints(await requireMachineRecord(this.files, this.machineName));
  }

  /** Opens one more forward on 127.0.0.1 while the machine runs, and records it. */
  async addForward(forward: Forward): Promise<Endpoint> {
    const record = await this.runningRecord();
    const current = record.runtime?.forwards ?? [];
    validateForwards([...current, forward]);
    await this.openForward(forward, record);
    await this.recordForwards([...current, forward]);
    return { name: forward.name, host: '127.0.0.1', port: forward.hostPort, guestPort: forward.guestPort };
  }

  async removeForward(name: string): Promise<void> {
    const record = await this.runningRecord();
    const current = record.runtime?.forwards ?? [];
    const forward = current.find((f) => f.name === name);
    if (!forward) {
      throw new KdevError('NOT_FOUND', `machine "${this.machineName}" has no forward named "${name}"`, {
        hints: [`Its forwards: ${current.map((f) => f.name).join(', ') || 'none'}`],
      });
    }
    await this.closeForward(forward, record);
    await this.recordForwards(current.filter((f) => f.name !== name));
  }

  /** Through the machine's gvproxy; a driver with another network back end overrides this. */
  protected async openForward(forward: Forward, _record: MachineRecord): Promise<void> {
    await this.gvproxyApi().expose(forward.hostPort, forward.guestPort);
  }

  protected async closeForward(forward: Forward, _record: MachineRecord): Promise<void> {
    await this.gvproxyApi().unexpose(forward.hostPort);
  }

  private gvproxyApi(): GvproxyForwarder {
    return new GvproxyForwarder(machineGvproxyPaths(this.files, this.info().name).apiSocket);
  }

  private async recordForwards(forwards: Forward[]): Promise<void> {
    await updateMachineRecord(this.files.record, (r) =>
      r.runtime ? { ...r, runtime: { ...r.runtime, forwards } } : r,
    );
  }

  private async runningRecord(): Promise<MachineRecord> {
    const record = await requireMachineRecord(this.files, this.machineName);
    if (!(await this.liveHypervisor(record))) {
      throw new KdevError('VM_ERROR', `machine "${this.machineName}" is not running`, {
        hints: [`Start it: kdev start -p ${this.machineName}`],
      });
    }
    return record;
  }

  async runtimeInfo(): Promise<RuntimeInfo> {
    const record = await readMachineRecord(this.files.record).catch(() => undefined);
    const processes = await this.processes(record);
    const hv = await liveHypervisor(processes, this.platform);
    return {
      consoleLog: this.files.consoleLog,
      hypervisorLog: this.files.hypervisorLog,
      pid: hv?.pid,
      ...(await this.moreRuntimeInfo(record, processes, hv)),
    };
  }

  /** A driver's own runtime facts (accelerator, helpers that died). */
  protected async moreRuntimeInfo(
    _record: MachineRecord | undefined,
    _processes: ProcessRecord[],
    _hv: ProcessRecord | undefined,
  ): Promise<Partial<RuntimeInfo>> {
    return {};
  }
}
