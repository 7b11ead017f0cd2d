// The qemu driver: direct kernel boot, user-mode networking with hostfwd on 127.0.0.1, a QMP
// socket for state and shutdown. Everything lives in the machine dir; machine.json is the source
// of truth for start().
import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KdevError } from '../../lib/errors.js';
import { hostRunner, which, type CommandRunner } from '../../lib/exec.js';
import { ensurePrivateDir, pathExists, readFileIfExists, writeFileAtomic } from '../../lib/fs-atomic.js';
import type {
  Driver,
  DriverDeps,
  DriverInfo,
  Endpoint,
  MachineSpec,
  MachineState,
  RuntimeInfo,
  StopOptions,
} from '../driver.js';
import { machineFiles, type MachineFiles } from '../machine-files.js';
import { readMachineRecord, writeMachineRecord, type MachineRecord } from '../machine-record.js';
import { findProcessesMentioning, pidAlive, processArgv, readPidFile, waitForExit } from '../process.js';
import { buildSeedImage } from '../seed.js';
import { hostAccelProbes, resolveAccel, type AccelProbes } from './accel.js';
import { buildQemuArgv, qemuBinaryName } from './argv.js';
import { QmpClient, qmpExecute } from './qmp.js';
import { findVirtiofsd } from './virtiofsd.js';
import {
  liveVirtiofsd,
  startVirtiofsds,
  stopVirtiofsds,
  virtiofsdFiles,
  virtiofsMounts,
} from './virtiofsd-process.js';

export interface QemuDriverDeps extends DriverDeps {
  accelProbes?: AccelProbes;
  /** Overrides the qemu-system-<arch> binary (name or path). */
  qemuBinary?: string;
  /** How long start() waits for QMP to answer before calling the start failed (ms). */
  startTimeoutMs?: number;
}

const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const QMP_TIMEOUT_MS = 2000;
const MIN_MEMORY_MIB = 512;
const MIN_DISK_MIB = 1024;
// sun_path is 108 bytes on Linux and 104 on macOS, including the terminating NUL.
const MAX_SOCKET_PATH = 103;
const MOUNT_TAG = /^[A-Za-z0-9_.-]{1,31}$/;

interface RuntimeRecord {
  accel: string;
  reason: string;
  startedAt: string;
  binary: string;
  args: string[];
}

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
    return { name: 'qemu', mountTypes: ['virtiofs', '9p'], ipDiscovery: 'hostfwd', needsKernel: true };
  }

  /** virtiofs needs a virtiofsd on this host (and memfd, which macOS lacks); 9p is built in. */
  async availableMountTypes(): Promise<Array<'virtiofs' | '9p'>> {
    if (this.platform !== 'linux') return ['9p'];
    return (await findVirtiofsd({ env: this.env, runner: this.runner })) ? ['virtiofs', '9p'] : ['9p'];
  }

  private log(line: string): void {
    this.deps.log?.(line);
  }

  private get runtimeFile(): string {
    return path.join(this.files.dir, 'runtime.json');
  }

  async validate(spec: MachineSpec): Promise<void> {
    this.checkSpec(spec);
    await this.checkTools(spec);
    await this.checkFiles(spec);
    await resolveAccel(spec.accel, spec.image.arch, this.accelProbes());
  }

  private accelProbes(): AccelProbes {
    return this.deps.accelProbes ?? { ...hostAccelProbes, platform: this.platform, env: this.env };
  }

  private checkSpec(spec: MachineSpec): void {
    const bad = (message: string, hints: string[] = []) => new KdevError('BAD_INPUT', message, { hints });
    if (spec.name !== this.machineName)
      throw bad(`spec is for "${spec.name}", driver for "${this.machineName}"`);
    const hostCpus = os.availableParallelism();
    if (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > hostCpus) {
      throw bad(`--cpus ${spec.cpus} is not possible on this host`, [`Use between 1 and ${hostCpus} CPUs`]);
    }
    const hostMiB = Math.floor(os.totalmem() / (1024 * 1024));
    if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < MIN_MEMORY_MIB || spec.memoryMiB >= hostMiB) {
      throw bad(`--memory ${spec.memoryMiB} MiB is not possible on this host (it has ${hostMiB} MiB)`, [
        `Use at least ${MIN_MEMORY_MIB} MiB and less than the host's memory, for example --memory 4g`,
      ]);
    }
    if (!Number.isInteger(spec.diskMiB) || spec.diskMiB < MIN_DISK_MIB) {
      throw bad(`--disk-size ${spec.diskMiB} MiB is too small`, [
        `Use at least ${MIN_DISK_MIB} MiB, for example 20g`,
      ]);
    }
    const { ssh, apiServer } = spec.ports;
    for (const p of [ssh, apiServer]) {
      if (!Number.isInteger(p) || p < 1 || p > 65535) throw bad(`port ${p} is not a TCP port`);
    }
    if (ssh === apiServer) throw bad(`the SSH and API server ports are both ${ssh}`);
    const tags = new Set<string>();
    for (const m of spec.mounts) {
      if (!this.info().mountTypes.includes(m.type)) {
        throw new KdevError('UNSUPPORTED_HOST', `the qemu driver cannot do ${m.type} mounts here`, {
          hints: [`Use a ${this.info().mountTypes.join(' or ')} mount instead`],
        });
      }
      if (!MOUNT_TAG.test(m.tag))
        throw bad(`mount tag "${m.tag}" must be 1-31 letters, digits, '.', '_' or '-'`);
      if (tags.has(m.tag)) throw bad(`mount tag "${m.tag}" is used twice`);
      tags.add(m.tag);
      if (!path.posix.isAbsolute(m.guestPath)) {
        throw bad(`mount target "${m.guestPath}" must be an absolute guest path`);
      }
    }
    if (Buffer.byteLength(this.files.controlSocket) > MAX_SOCKET_PATH) {
      throw new KdevError('UNSUPPORTED_HOST', `the machine directory path is too long for a unix socket`, {
        hints: ['Set KDEV_HOME to a shorter path, or use a shorter profile name'],
      });
    }
  }

  private async checkTools(spec: MachineSpec): Promise<void> {
    const mac = this.platform === 'darwin';
    const qemuPkg = spec.image.arch === 'x86_64' ? 'qemu-system-x86' : 'qemu-system-arm';
    const need: Array<[string, string]> = [
      [this.qemuBinary(spec), mac ? 'brew install qemu' : `sudo apt-get install ${qemuPkg} qemu-utils`],
      ['qemu-img', mac ? 'brew install qemu' : 'sudo apt-get install qemu-utils'],
      ['ssh-keygen', mac ? 'ssh-keygen ships with macOS' : 'sudo apt-get install openssh-client'],
    ];
    for (const [tool, install] of need) {
      if (!(await this.findTool(tool))) {
        throw new KdevError('MISSING_TOOL', `${tool} is not installed (needed by the qemu driver)`, {
          hints: [`Install it: ${install}`],
        });
      }
    }
    if (spec.mounts.some((m) => m.type === 'virtiofs') && !(await this.virtiofsd())) {
      throw new KdevError('MISSING_TOOL', 'virtiofsd is not installed (needed by virtiofs mounts)', {
        hints: [
          'Install it (Debian 13+/Ubuntu 24.04+: sudo apt-get install virtiofsd), or set KDEV_VIRTIOFSD',
          'Or use 9p mounts: --mount-type 9p',
        ],
      });
    }
  }

  private virtiofsd() {
    return findVirtiofsd({ env: this.env, runner: this.runner });
  }

  private async findTool(tool: string): Promise<string | undefined> {
    if (tool.includes('/'))
      return (await fs.access(tool, constants.X_OK).then(
        () => true,
        () => false,
      ))
        ? tool
        : undefined;
    return which(tool, this.env.PATH ?? '');
  }

  private qemuBinary(spec: MachineSpec): string {
    return this.deps.qemuBinary ?? qemuBinaryName(spec.image.arch);
  }

  private async checkFiles(spec: MachineSpec): Promise<void> {
    for (const [what, file] of [
      ['kernel', spec.image.kernel],
      ['initrd', spec.image.initrd],
    ] as const) {
      if (!(await pathExists(file))) {
        throw new KdevError('NOT_FOUND', `guest ${what} ${file} does not exist`, {
          hints: ['Pass --iso-url with a kdev guest image, or rebuild the local one'],
        });
      }
    }
    for (const m of spec.mounts) {
      const st = await fs.stat(m.hostPath).catch(() => undefined);
      if (!st?.isDirectory()) {
        throw new KdevError('BAD_INPUT', `mount source ${m.hostPath} is not a directory`, {
          hints: ['Create it first, or fix the --mount argument'],
        });
      }
    }
  }

  async create(spec: MachineSpec): Promise<void> {
    await this.validate(spec);
    const f = this.files;
    await ensurePrivateDir(f.dir);
    await this.ensureKeyPair(f.sshKey, f.sshPublicKey, `kdev@${spec.name}`);
    await this.ensureKeyPair(f.hostKey, f.hostPublicKey, `kdev-host@${spec.name}`);

    const hostPub = (await fs.readFile(f.hostPublicKey, 'utf8')).trim().split(/\s+/);
    // Pinned to the forwarded port, so a reused port can never vouch for another machine's key.
    await writeFileAtomic(f.knownHosts, `[127.0.0.1]:${spec.ports.ssh} ${hostPub[0]} ${hostPub[1]}\n`);

    const seed = await buildSeedImage({
      authorizedKeys: await fs.readFile(f.sshPublicKey, 'utf8'),
      hostKey: await fs.readFile(f.hostKey, 'utf8'),
      hostPublicKey: await fs.readFile(f.hostPublicKey, 'utf8'),
      hostname: spec.name,
      mounts: spec.mounts.map((m) => ({
        tag: m.tag,
        guestPath: m.guestPath,
        type: m.type,
        readOnly: m.readOnly ?? false,
      })),
    });
    await writeFileAtomic(f.seedDisk, seed);

    // Never recreate the data disk: it holds everything the guest keeps across restarts.
    if (!(await pathExists(f.dataDisk))) {
      const tmp = `${f.dataDisk}.${process.pid}.tmp`;
      await fs.rm(tmp, { force: true });
      await this.runner.run('qemu-img', ['create', '-q', '-f', 'qcow2', tmp, `${spec.diskMiB}M`]);
      await fs.chmod(tmp, 0o600);
      await fs.rename(tmp, f.dataDisk);
      this.log(`created ${spec.diskMiB} MiB data disk ${f.dataDisk}`);
    }
    await writeMachineRecord(f.spec, 'qemu', spec);
  }

  private async ensureKeyPair(priv: string, pub: string, comment: string): Promise<void> {
    if ((await pathExists(priv)) && (await pathExists(pub))) return;
    // A half-written pair (crash mid-create) is useless, and ssh-keygen will not overwrite it.
    await fs.rm(priv, { force: true });
    await fs.rm(pub, { force: true });
    await this.runner.run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', priv]);
    await fs.chmod(priv, 0o600);
  }

  private async record(): Promise<MachineRecord> {
    const r = await readMachineRecord(this.files.spec);
    if (!r) {
      throw new KdevError('NOT_FOUND', `machine "${this.machineName}" does not exist`, {
        hints: [`Create it with: kdev start -p ${this.machineName}`],
      });
    }
    return r;
  }

  async start(): Promise<void> {
    const { spec, createdAt } = await this.record();
    const current = await this.state();
    if (current === 'Running') return;
    if (current === 'Error') {
      throw new KdevError('VM_ERROR', `machine "${this.machineName}" is in an error state`, {
        hints: [`Stop it first: kdev stop -p ${this.machineName}`, 'Then look at: kdev logs'],
      });
    }
    await this.checkTools(spec);
    await this.checkFiles(spec);
    const accel = await resolveAccel(spec.accel, spec.image.arch, this.accelProbes());
    this.log(`qemu accelerator: ${accel.accel} (${accel.reason})`);

    const f = this.files;
    await this.removeStaleRuntimeFiles();
    await rotate(f.consoleLog);
    // qemu connects to every virtiofsd socket as it starts, so the helpers go first.
    const virtiofs = virtiofsMounts(f.dir, spec.mounts);
    if (virtiofs.length > 0) {
      const daemon = await this.virtiofsd();
      if (!daemon)
        throw new KdevError('MISSING_TOOL', 'virtiofsd is not installed (needed by virtiofs mounts)');
      await startVirtiofsds(f.dir, daemon, virtiofs);
    }
    await rotate(f.hypervisorLog);

    const { binary, args } = buildQemuArgv({
      name: spec.name,
      arch: spec.image.arch,
      accel: accel.accel,
      cpus: spec.cpus,
      memoryMiB: spec.memoryMiB,
      kernel: spec.image.kernel,
      initrd: spec.image.initrd,
      cmdline: spec.image.cmdline,
      disks: [
        { id: 'data', path: f.dataDisk, format: 'qcow2', serial: 'kdev-data' },
        { id: 'seed', path: f.seedDisk, format: 'raw', serial: 'kdev-seed', readOnly: true },
      ],
      shares: spec.mounts
        .filter((m) => m.type === '9p')
        .map((m, i) => ({ id: `fs${i}`, hostPath: m.hostPath, tag: m.tag, readOnly: m.readOnly ?? false })),
      virtiofs,
      ports: spec.ports,
      qmpSocket: f.controlSocket,
      pidFile: f.pidFile,
      consoleLog: f.consoleLog,
      binary: this.deps.qemuBinary,
      uuid: machineUuid(spec.name, createdAt),
    });
    const runtime: RuntimeRecord = {
      accel: accel.accel,
      reason: accel.reason,
      startedAt: new Date().toISOString(),
      binary,
      args,
    };
    await writeFileAtomic(this.runtimeFile, `${JSON.stringify(runtime, null, 2)}\n`);
    this.log(`${binary} ${args.join(' ')}`);
    try {
      await this.spawnQemu(binary, args);
    } catch (err) {
      await stopVirtiofsds(f.dir, virtiofs.length);
      throw err;
    }
  }

  /**
   * Runs qemu detached in its own session with output to hypervisor.log (not -daemonize, which
   * would send later stderr, such as KVM errors, to /dev/null), then waits until QMP answers or
   * the process dies.
   */
  private async spawnQemu(binary: string, args: string[]): Promise<void> {
    const f = this.files;
    const out = await fs.open(f.hypervisorLog, 'a', 0o600);
    let exited: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
    try {
      const child = spawn(binary, args, { cwd: f.dir, detached: true, stdio: ['ignore', out.fd, out.fd] });
      child.once('error', (error) => (exited = { code: null, signal: null, error }));
      child.once('exit', (code, signal) => (exited = { code, signal }));
      child.unref();
    } finally {
      await out.close();
    }

    const deadline = Date.now() + (this.deps.startTimeoutMs ?? 30_000);
    for (;;) {
      await new Promise((r) => setTimeout(r, 50));
      if (exited) {
        const output = ((await readFileIfExists(f.hypervisorLog)) ?? '').trim();
        const detail = exited.error?.message ?? output.split('\n').slice(-5).join('\n');
        throw new KdevError('VM_ERROR', `qemu exited at once${detail ? `: ${detail}` : ''}`, {
          hints: startFailureHints(output),
        });
      }
      if (await pathExists(f.controlSocket)) {
        try {
          await qmpExecute(f.controlSocket, 'query-status', undefined, QMP_TIMEOUT_MS);
          return;
        } catch {
          // Not listening yet.
        }
      }
      if (Date.now() > deadline) {
        await this.stop({ force: true }).catch(() => undefined);
        throw new KdevError('VM_ERROR', 'qemu started but its QMP socket never answered', {
          hints: [`See ${f.hypervisorLog}`],
        });
      }
    }
  }

  /** The pid of this machine's live qemu, or undefined. */
  private async livePid(): Promise<number | undefined> {
    const pid = await readPidFile(this.files.pidFile);
    if (pid === undefined || !pidAlive(pid)) return undefined;
    // A pid from a stale pidfile may belong to someone else by now.
    const argv = await processArgv(pid);
    if (argv && !argv.includes(this.files.pidFile)) return undefined;
    return pid;
  }

  async state(): Promise<MachineState> {
    if (!(await pathExists(this.files.spec))) return 'Nonexistent';
    const pid = await this.livePid();
    if (pid === undefined) return 'Stopped';
    try {
      const s = await qmpExecute<{ status: string; running: boolean }>(
        this.files.controlSocket,
        'query-status',
        undefined,
        QMP_TIMEOUT_MS,
      );
      if (s.running) return 'Running';
      // Transient states while qemu sets up or winds down still count as a running process.
      return ['prelaunch', 'inmigrate', 'postmigrate', 'finish-migrate', 'save-vm', 'restore-vm'].includes(
        s.status,
      )
        ? 'Running'
        : 'Error';
    } catch {
      return pidAlive(pid) ? 'Error' : 'Stopped';
    }
  }

  async stop(opts: StopOptions = {}): Promise<void> {
    const pid = await this.livePid();
    if (pid === undefined) {
      await this.removeStaleRuntimeFiles();
      return;
    }
    const sock = this.files.controlSocket;
    if (!opts.force) {
      // ACPI power button: the guest shuts down cleanly and qemu exits by itself.
      const sent = await qmpExecute(sock, 'system_powerdown', undefined, QMP_TIMEOUT_MS).then(
        () => true,
        () => false,
      );
      if (sent && (await waitForExit(pid, opts.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS))) {
        return this.removeStaleRuntimeFiles();
      }
      this.log(
        sent ? 'the guest did not power off in time; quitting qemu' : 'QMP did not answer; quitting qemu',
      );
    }
    await this.quit(pid);
    await this.removeStaleRuntimeFiles();
  }

  /** QMP quit, then SIGKILL; resolves only once the process is gone. */
  private async quit(pid: number): Promise<void> {
    try {
      const c = await QmpClient.connect(this.files.controlSocket, { timeoutMs: QMP_TIMEOUT_MS });
      try {
        await c.execute('quit', undefined, { timeoutMs: QMP_TIMEOUT_MS }).catch(() => undefined);
      } finally {
        c.close();
      }
    } catch {
      // QMP unreachable: fall through to the signal.
    }
    if (await waitForExit(pid, 3000)) return;
    this.log(`qemu (pid ${pid}) ignored quit; killing it`);
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
    if (!(await waitForExit(pid, 5000))) {
      throw new KdevError('VM_ERROR', `qemu (pid ${pid}) survived SIGKILL`, {
        hints: [`Check it with: ps -p ${pid}`],
      });
    }
  }

  private async removeStaleRuntimeFiles(): Promise<void> {
    await fs.rm(this.files.pidFile, { force: true });
    await fs.rm(this.files.controlSocket, { force: true });
    await stopVirtiofsds(this.files.dir, await this.virtiofsCount());
  }

  private async virtiofsCount(): Promise<number> {
    const r = await readMachineRecord(this.files.spec).catch(() => undefined);
    return r ? virtiofsMounts(this.files.dir, r.spec.mounts).length : 0;
  }

  /** A virtiofs mount whose helper died cannot be reattached; the machine must be restarted. */
  private async helperProblems(): Promise<string[]> {
    const r = await readMachineRecord(this.files.spec).catch(() => undefined);
    if (!r) return [];
    const out: string[] = [];
    for (const [i, m] of virtiofsMounts(this.files.dir, r.spec.mounts).entries()) {
      if ((await liveVirtiofsd(virtiofsdFiles(this.files.dir, i))) === undefined)
        out.push(`virtiofsd for ${m.hostPath} is not running (restart the machine to bring the mount back)`);
    }
    return out;
  }

  async remove(): Promise<void> {
    // A qemu whose pidfile was lost still names the pidfile path in its argv.
    const pids = new Set(await findProcessesMentioning(this.files.pidFile));
    const live = await this.livePid();
    if (live !== undefined) pids.add(live);
    for (const pid of pids) await this.quit(pid);
    await fs.rm(this.files.dir, { recursive: true, force: true });
  }

  async sshEndpoint(): Promise<Endpoint> {
    return { host: '127.0.0.1', port: (await this.record()).spec.ports.ssh };
  }

  async apiServerEndpoint(): Promise<Endpoint> {
    return { host: '127.0.0.1', port: (await this.record()).spec.ports.apiServer };
  }

  async runtimeInfo(): Promise<RuntimeInfo> {
    const text = await readFileIfExists(this.runtimeFile);
    let runtime: Partial<RuntimeRecord> = {};
    try {
      runtime = text ? (JSON.parse(text) as Partial<RuntimeRecord>) : {};
    } catch {
      // Informational only: a damaged file just means we do not know the accelerator.
    }
    const pid = await this.livePid();
    return {
      consoleLog: this.files.consoleLog,
      hypervisorLog: this.files.hypervisorLog,
      accel: runtime.accel,
      pid,
      ...(pid !== undefined ? { problems: await this.helperProblems() } : {}),
    };
  }
}

/** Keeps the previous boot's log as <file>.1 so a failed restart does not erase the evidence. */
async function rotate(file: string): Promise<void> {
  await fs.rename(file, `${file}.1`).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

function startFailureHints(output: string): string[] {
  if (/host forwarding rule|Could not set up host forwarding/i.test(output)) {
    return ['A forwarded port is taken by another program: kdev delete, then kdev start picks new ports'];
  }
  if (/kvm/i.test(output) && /(Permission denied|failed to initialize|No such file)/i.test(output)) {
    return ['KVM is not usable here: retry with --qemu-accel tcg'];
  }
  return ['See the full qemu output: kdev logs'];
}

/** A UUID that is the same for every boot of one machine and differs between machines. */
export function machineUuid(name: string, createdAt: string): string {
  const h = createHash('sha256').update(`${name}\0${createdAt}`).digest('hex');
  // Shaped as a version-4 UUID (variant bits 10) so firmware and systemd accept it.
  const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
