// macOS Virtualization.framework through vfkit: direct boot of the uncompressed kernel, raw data
// and seed disks on virtio-blk (found by serial), virtio-fs mounts, the console to a file, and
// networking through the machine's own gvproxy (static lease, forwards on 127.0.0.1 through its
// API: no DHCP lease parsing, no sudo). State and stop go through vfkit's REST API.
import fs from 'node:fs/promises';
import path from 'node:path';
import { KdevError } from '../../lib/errors.js';
import { hostRunner, type CommandRunner } from '../../lib/exec.js';
import { pathExists, readFileIfExists } from '../../lib/fs-atomic.js';
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
import { requireArm64Image } from '../kernel-image.js';
import { machineFiles, type MachineFiles } from '../machine/files.js';
import { prepareMachine, requireMachineRecord } from '../machine/prepare.js';
import {
  readMachineRecord,
  recordEndpoints,
  updateMachineRecord,
  type MachineRecord,
} from '../machine/record.js';
import { checkSpecFiles, validateSpec } from '../machine/validate.js';
import { validateForwards } from '../network/forward.js';
import { GVPROXY_GUEST_MAC, GvproxyForwarder, removeStaleSockets } from '../network/gvproxy.js';
import { machineGvproxyPaths, startGvproxy } from '../network/gvproxy-process.js';
import {
  HYPERVISOR_ROLE,
  isRunning,
  liveHypervisor,
  spawnProcess,
  stopProcesses,
  waitForExit,
  waitUntil,
  type ProcessRecord,
} from '../process/processes.js';
import { buildVfkitArgv } from './argv.js';
import { checkVfkitHost, hostProbes, requireMacos, type VfkitHostProbes } from './host-checks.js';
import { VfkitRestClient, type VfkitVmState } from './rest.js';

export interface VfkitDriverDeps extends DriverDeps {
  /** Host facts for the checks (tests give a Mac's). */
  hostProbes?: VfkitHostProbes;
  /** How long start() waits for vfkit's REST API (ms). */
  startTimeoutMs?: number;
}

const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const REST_TIMEOUT_MS = 2000;
// Framework states that still mean "the machine is up" for kdev.
const UP: readonly VfkitVmState[] = [
  'Running',
  'Starting',
  'Pausing',
  'Paused',
  'Resuming',
  'Saving',
  'Restoring',
];

export class VfkitDriver implements Driver {
  private readonly files: MachineFiles;
  private readonly runner: CommandRunner;
  private readonly platform: NodeJS.Platform;
  private readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly machineName: string,
    private readonly deps: VfkitDriverDeps = {},
  ) {
    this.files = machineFiles(machineName);
    this.runner = deps.runner ?? hostRunner;
    this.platform = deps.platform ?? process.platform;
    this.env = deps.env ?? process.env;
  }

  info(): DriverInfo {
    return {
      name: 'vfkit',
      mountTypes: ['virtiofs'],
      networkModes: ['gvproxy'],
      diskFormat: 'raw',
      kernelForms: ['Image', 'vmlinux'],
      // Reached through gvproxy's forwards on 127.0.0.1, like qemu's hostfwd.
      ipDiscovery: 'hostfwd',
      options: [],
    };
  }

  private sockets(): string[] {
    const gv = machineGvproxyPaths(this.files, 'vfkit');
    return [this.files.controlSocket, gv.vmSocket, gv.apiSocket];
  }

  /** Checks the host, then the spec; throws one line with a hint. Nothing is written. */
  private async checkHost(spec: MachineSpec): Promise<{ vfkit: string; gvproxy: string }> {
    requireMacos(this.platform);
    validateSpec(spec, this.machineName, this.info(), this.sockets());
    const probes = this.deps.hostProbes ?? { ...hostProbes(this.runner, this.env), platform: this.platform };
    const tools = await checkVfkitHost(probes, {
      guestArch: spec.image.arch,
      storeDir: await nearestDir(this.files.dir),
    });
    await checkSpecFiles(spec);
    // Virtualization.framework hangs silently on a compressed arm64 kernel: refuse it with a reason.
    if (spec.image.arch === 'aarch64') await requireArm64Image(spec.image.kernel);
    return tools;
  }

  async validate(spec: MachineSpec): Promise<void> {
    await this.checkHost(spec);
  }

  async create(spec: MachineSpec): Promise<void> {
    await this.checkHost(spec);
    await prepareMachine(spec, this.files, this.info(), { runner: this.runner, logger: this.deps.logger });
  }

  async start(spec: MachineSpec): Promise<void> {
    await requireMachineRecord(this.files, this.machineName);
    const current = await this.state();
    if (current === 'Running') return;
    if (current === 'Error') {
      throw new KdevError('VM_ERROR', `machine "${this.machineName}" is in an error state`, {
        hints: [`Stop it first: kdev stop -p ${this.machineName}`, 'Then look at: kdev logs'],
      });
    }
    const tools = await this.checkHost(spec);
    const f = this.files;
    await this.cleanUp();
    await rotate(f.consoleLog);
    await rotate(f.hypervisorLog);

    // gvproxy first: vfkit attaches to its datagram socket when the VM starts.
    const gv = await startGvproxy({
      binary: tools.gvproxy,
      files: f,
      peer: 'vfkit',
      logger: this.deps.logger,
    });
    await updateMachineRecord(f.record, (r) => ({
      ...r,
      runtime: { startedAt: gv.record.startedAt, network: 'gvproxy', forwards: [], processes: [gv.record] },
    }));
    try {
      await gv.forwarder.sync(spec.forwards);
    } catch (err) {
      await this.cleanUp();
      throw err;
    }

    const { binary, args } = buildVfkitArgv({
      cpus: spec.cpus,
      memoryMiB: spec.memoryMiB,
      kernel: spec.image.kernel,
      initrd: spec.image.initrd,
      cmdline: spec.image.cmdline,
      disks: [
        { path: f.dataDisk('raw'), deviceId: 'kdev-data' },
        { path: f.seedDisk, deviceId: 'kdev-seed', readOnly: true },
      ],
      shares: spec.mounts.map((m) => ({ hostPath: m.hostPath, tag: m.tag })),
      networkSocket: gv.paths.vmSocket,
      mac: GVPROXY_GUEST_MAC,
      consoleLog: f.consoleLog,
      restSocket: f.controlSocket,
      binary: tools.vfkit,
    });
    const restArg = args[args.indexOf('--restful-uri') + 1] as string;
    const proc = await spawnProcess(
      {
        role: HYPERVISOR_ROLE,
        executable: binary,
        args,
        identityArg: restArg,
        pidFile: f.pidFile,
        logFile: f.hypervisorLog,
        cwd: f.dir,
      },
      this.deps.logger,
    );
    // Recorded before waiting, so a kdev killed now still finds (and can stop) this vfkit.
    await updateMachineRecord(f.record, (r) => ({
      ...r,
      runtime: {
        startedAt: proc.record.startedAt,
        network: 'gvproxy',
        forwards: spec.forwards,
        processes: [proc.record, gv.record],
      },
    }));
    const answers = () =>
      this.rest()
        .state()
        .then(
          (s) => UP.includes(s),
          () => false,
        );
    const outcome = await waitUntil(proc, answers, this.deps.startTimeoutMs ?? 30_000);
    if (outcome !== 'ready') {
      const output = ((await readFileIfExists(f.hypervisorLog)) ?? '').trim();
      await this.cleanUp();
      const detail = proc.exitStatus()?.error?.message ?? output.split('\n').slice(-3).join(' | ');
      throw new KdevError(
        'VM_ERROR',
        outcome === 'exited'
          ? `vfkit exited at once${detail ? `: ${detail}` : ''}`
          : 'vfkit started but its REST API never reported a running VM',
        { hints: [`See ${f.hypervisorLog}`] },
      );
    }
  }

  private rest(): VfkitRestClient {
    return new VfkitRestClient(this.files.controlSocket, REST_TIMEOUT_MS);
  }

  private async processes(record?: MachineRecord): Promise<ProcessRecord[]> {
    const r = record ?? (await readMachineRecord(this.files.record).catch(() => undefined));
    return r?.runtime?.processes ?? [];
  }

  private async liveHypervisor(record?: MachineRecord): Promise<ProcessRecord | undefined> {
    return liveHypervisor(await this.processes(record), this.platform);
  }

  async state(): Promise<MachineState> {
    const record = await readMachineRecord(this.files.record);
    if (!record) return 'Nonexistent';
    const hv = await this.liveHypervisor(record);
    if (!hv) return 'Stopped';
    try {
      const s = await this.rest().state();
      if (UP.includes(s)) return 'Running';
      return s === 'Stopped' || s === 'Stopping' ? 'Stopped' : 'Error';
    } catch {
      return (await isRunning(hv, this.platform)) ? 'Error' : 'Stopped';
    }
  }

  /** Graceful: `Stop` asks the guest to power off (vfkit exits with the VM); then `HardStop`. */
  async stop(opts: StopOptions = {}): Promise<void> {
    const hv = await this.liveHypervisor();
    if (hv && !opts.force) {
      const asked = await this.rest()
        .changeState('Stop')
        .then(
          () => true,
          () => false,
        );
      if (asked && (await waitForExit(hv.pid, opts.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS)))
        return this.cleanUp();
      this.deps.logger?.debug(
        asked ? 'the guest did not power off in time; HardStop' : 'REST did not answer; HardStop',
      );
    }
    if (hv) {
      const forced = await this.rest()
        .changeState('HardStop')
        .then(
          () => true,
          () => false,
        );
      if (forced) await waitForExit(hv.pid, 5000);
    }
    await this.cleanUp();
  }

  /** Ends whatever of the machine still runs (ours only: identity-checked) and forgets it. */
  private async cleanUp(): Promise<void> {
    await stopProcesses(await this.processes(), { logger: this.deps.logger, platform: this.platform });
    await updateMachineRecord(this.files.record, (r) =>
      r.runtime ? { ...r, runtime: { ...r.runtime, processes: [] } } : r,
    ).catch(() => undefined);
    await fs.rm(this.files.pidFile, { force: true });
    await fs.rm(this.files.controlSocket, { force: true });
    await removeStaleSockets(machineGvproxyPaths(this.files, 'vfkit'));
  }

  async remove(): Promise<void> {
    if (await this.liveHypervisor()) await this.stop({ force: true });
    await stopProcesses(await this.processes(), { logger: this.deps.logger, platform: this.platform });
    await fs.rm(this.files.dir, { recursive: true, force: true });
  }

  async endpoints(): Promise<Endpoint[]> {
    return recordEndpoints(await requireMachineRecord(this.files, this.machineName));
  }

  async addForward(forward: Forward): Promise<Endpoint> {
    const record = await this.runningRecord();
    const current = record.runtime?.forwards ?? [];
    validateForwards([...current, forward]);
    await this.gvproxyApi().expose(forward.hostPort, forward.guestPort);
    await updateMachineRecord(this.files.record, (r) =>
      r.runtime ? { ...r, runtime: { ...r.runtime, forwards: [...current, forward] } } : r,
    );
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
    await this.gvproxyApi().unexpose(forward.hostPort);
    await updateMachineRecord(this.files.record, (r) =>
      r.runtime ? { ...r, runtime: { ...r.runtime, forwards: current.filter((f) => f.name !== name) } } : r,
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

  private gvproxyApi(): GvproxyForwarder {
    return new GvproxyForwarder(machineGvproxyPaths(this.files, 'vfkit').apiSocket);
  }

  async runtimeInfo(): Promise<RuntimeInfo> {
    const record = await readMachineRecord(this.files.record).catch(() => undefined);
    return {
      consoleLog: this.files.consoleLog,
      hypervisorLog: this.files.hypervisorLog,
      pid: (await this.liveHypervisor(record))?.pid,
    };
  }
}

export const createVfkitDriver = (machineName: string, deps: DriverDeps): Driver =>
  new VfkitDriver(machineName, deps);

/** Keeps the previous boot's log as <file>.1 so a failed restart does not erase the evidence. */
async function rotate(file: string): Promise<void> {
  if (await pathExists(file)) await fs.rename(file, `${file}.1`);
}

/** The closest existing folder at or above dir (the machine folder may not exist yet). */
async function nearestDir(dir: string): Promise<string> {
  let d = dir;
  while (!(await pathExists(d)) && path.dirname(d) !== d) d = path.dirname(d);
  return d;
}
