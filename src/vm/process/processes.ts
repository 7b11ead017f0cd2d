// Hypervisor and helper processes (qemu, virtiofsd, gvproxy): the one place that starts and ends
// them. The API:
//   spawnProcess(spec, logger)   -> SpawnedProcess { record, exitStatus() }: detached, in its own
//                                   session, stdin /dev/null, stdout+stderr appended to spec.logFile,
//                                   no other inherited file descriptor; pidfile written (unless the
//                                   program writes its own, like qemu -pidfile).
//   waitUntil(proc, ready, ms)   -> 'ready' | 'exited' | 'timeout', polling ready() while it lives.
//   isRunning(record)            -> alive AND its command line is the one we started (identity:
//                                   exact executable + exact arguments, pidfile/socket among them).
//   stopProcesses(records, opts) -> SIGTERM, then SIGKILL after graceMs; the hypervisor first, then
//                                   its helpers; only processes that pass the identity check.
// A machine keeps its ProcessRecords in its machine record (machine/record.ts), so every process
// it owns is found again by a later kdev run, even with a pidfile gone.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import { KdevError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { pidAlive } from '../../lib/process.js';
import { hasArgumentPair, matchesIdentity, readCommandLine, type ProcessIdentity } from './command-line.js';
import { inheritedFds } from './inherited-fds.js';

export { pidAlive };

/** The role of the process that is stopped first: the VM itself. */
export const HYPERVISOR_ROLE = 'hypervisor';

export interface ProcessSpec extends ProcessIdentity {
  /** 'hypervisor', 'virtiofsd-<tag>', 'gvproxy', …: unique within one machine. */
  role: string;
  /** Where the pid is kept. */
  pidFile: string;
  /** The program writes pidFile itself (qemu -pidfile); otherwise it is written here. */
  writesOwnPidFile?: boolean;
  /** stdout and stderr are appended here (created 0600). */
  logFile: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

/** What is remembered about a started process: enough to find and check it from another run. */
export interface ProcessRecord {
  role: string;
  pid: number;
  executable: string;
  args: string[];
  identityArg: string;
  pidFile: string;
  logFile: string;
  startedAt: string;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface SpawnedProcess {
  record: ProcessRecord;
  /** Set once the process has exited (or could not be executed). */
  exitStatus(): ExitStatus | undefined;
}

export async function spawnProcess(spec: ProcessSpec, logger?: Logger): Promise<SpawnedProcess> {
  if (!spec.args.includes(spec.identityArg)) {
    throw new KdevError('INTERNAL', `${spec.role}: identity argument ${spec.identityArg} is not in its argv`);
  }
  const out = await fs.open(spec.logFile, 'a', 0o600);
  const devNull = await fs.open('/dev/null', 'r');
  let exited: ExitStatus | undefined;
  let pid: number | undefined;
  try {
    // Descriptors this process inherited without close-on-exec (a caller's pipe, say) would be
    // inherited again and keep that pipe open for the VM's lifetime: point them at /dev/null.
    const stdio: Array<'ignore' | number> = ['ignore', out.fd, out.fd];
    for (const fd of await inheritedFds()) {
      if (fd === out.fd || fd === devNull.fd) continue; // ours, close-on-exec (macOS lists every fd)
      while (stdio.length < fd) stdio.push('ignore');
      stdio[fd] = devNull.fd;
    }
    const child = spawn(spec.executable, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio,
    });
    child.once('exit', (code, signal) => (exited = { code, signal }));
    pid = await new Promise<number | undefined>((resolve) => {
      child.once('spawn', () => resolve(child.pid));
      child.once('error', (error) => {
        exited = { code: null, signal: null, error };
        resolve(undefined);
      });
    });
    child.unref();
  } finally {
    await out.close();
    await devNull.close();
  }
  if (pid === undefined) {
    throw new KdevError(
      'MISSING_TOOL',
      `cannot run ${spec.executable}: ${exited?.error?.message ?? 'unknown error'}`,
      {
        hints: [`Check that ${spec.executable} is installed and executable`],
      },
    );
  }
  if (!spec.writesOwnPidFile) await fs.writeFile(spec.pidFile, `${pid}\n`, { mode: 0o600 });
  const record: ProcessRecord = {
    role: spec.role,
    pid,
    executable: spec.executable,
    args: [...spec.args],
    identityArg: spec.identityArg,
    pidFile: spec.pidFile,
    logFile: spec.logFile,
    startedAt: new Date().toISOString(),
  };
  logger?.debug(
    `started ${spec.role} (pid ${pid}, log ${spec.logFile}): ${spec.executable} ${spec.args.join(' ')}`,
  );
  return { record, exitStatus: () => exited };
}

/** Polls ready() every pollMs until it holds, the process exits, or timeoutMs passes. */
export async function waitUntil(
  proc: SpawnedProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
  pollMs = 50,
): Promise<'ready' | 'exited' | 'timeout'> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitStatus()) return 'exited';
    if (await ready()) return 'ready';
    if (Date.now() > deadline) return 'timeout';
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Alive and still the process we started (a reused pid is someone else's). */
export async function isRunning(
  record: ProcessRecord,
  platform: NodeJS.Platform = process.platform,
): Promise<boolean> {
  if (!pidAlive(record.pid)) return false;
  const observed = await readCommandLine(record.pid, platform);
  return observed !== undefined && matchesIdentity(observed, record);
}

/**
 * A live process named by pidFile that no record describes (an older kdev started it, or the record
 * is damaged), adopted when its executable matches exeName and it passes `pidFlag pidFile` as two
 * whole arguments. Its record then holds its argv as observed, so later checks are exact.
 */
export async function adoptFromPidFile(
  pidFile: string,
  how: { role: string; exeName: RegExp; pidFlag: string; logFile: string },
  platform: NodeJS.Platform = process.platform,
): Promise<ProcessRecord | undefined> {
  const pid = await readPidFile(pidFile);
  if (pid === undefined || !pidAlive(pid)) return undefined;
  const observed = await readCommandLine(pid, platform);
  if (observed === undefined || !hasArgumentPair(observed, how.exeName, how.pidFlag, pidFile))
    return undefined;
  // ps gives one joined string: split it on spaces, which the exact check later repeats the same way.
  const argv = typeof observed === 'string' ? observed.split(' ') : observed;
  return {
    role: how.role,
    pid,
    executable: argv[0]!,
    args: argv.slice(1),
    identityArg: pidFile,
    pidFile,
    logFile: how.logFile,
    startedAt: new Date(0).toISOString(),
  };
}

export async function readPidFile(file: string): Promise<number | undefined> {
  try {
    const pid = Number.parseInt((await fs.readFile(file, 'utf8')).trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Resolves true once pid has exited, or false after timeoutMs. */
export async function waitForExit(pid: number, timeoutMs: number, pollMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pidAlive(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export interface StopProcessesOptions {
  /** How long SIGTERM may take before SIGKILL (default 3 s). */
  graceMs?: number;
  logger?: Logger;
  platform?: NodeJS.Platform;
}

/**
 * Ends every process in records that is still ours: the hypervisor first (its helpers serve it),
 * then the rest in order. Pidfiles are removed. Throws only if a process survives SIGKILL.
 */
export async function stopProcesses(
  records: readonly ProcessRecord[],
  opts: StopProcessesOptions = {},
): Promise<void> {
  const ordered = [
    ...records.filter((r) => r.role === HYPERVISOR_ROLE),
    ...records.filter((r) => r.role !== HYPERVISOR_ROLE),
  ];
  for (const r of ordered) {
    if (await isRunning(r, opts.platform)) await terminate(r, opts);
    await fs.rm(r.pidFile, { force: true });
  }
}

async function terminate(r: ProcessRecord, opts: StopProcessesOptions): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(r.pid, sig);
    } catch {
      // Already gone.
    }
  };
  opts.logger?.debug(`stopping ${r.role} (pid ${r.pid}) with SIGTERM`);
  signal('SIGTERM');
  if (await waitForExit(r.pid, opts.graceMs ?? 3000)) return;
  opts.logger?.debug(`${r.role} (pid ${r.pid}) ignored SIGTERM; killing it`);
  signal('SIGKILL');
  if (!(await waitForExit(r.pid, 5000))) {
    throw new KdevError('VM_ERROR', `${r.role} (pid ${r.pid}) survived SIGKILL`, {
      hints: [`Check it with: ps -p ${r.pid}`],
    });
  }
}

/** The hypervisor among a machine's processes, while that very process still runs. */
export async function liveHypervisor(
  processes: readonly ProcessRecord[],
  platform: NodeJS.Platform = process.platform,
): Promise<ProcessRecord | undefined> {
  const hv = processes.find((p) => p.role === HYPERVISOR_ROLE);
  return hv && (await isRunning(hv, platform)) ? hv : undefined;
}
