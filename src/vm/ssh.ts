// SSH into a machine with the system `ssh`: our own key, the host key pinned in the machine's
// known_hosts under an alias (never trust-on-first-use), every remote argument quoted for the
// remote shell, and nothing from the user's own SSH setup (config files, agent, multiplexing).
import { spawn } from 'node:child_process';
import os from 'node:os';
import { KdevError } from '../lib/errors.js';
import { hostRunner, type CommandRunner } from '../lib/exec.js';
import type { Endpoint } from './driver.js';
import { machineFiles } from './machine/files.js';
import { hostKeyAlias } from './machine/keys.js';

export const GUEST_USER = 'kdev';

export interface SshExecOptions {
  input?: string | Uint8Array;
  timeoutMs?: number;
}

export interface SshExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface SshClient {
  /** Runs argv in the guest. A non-zero remote exit is returned, not thrown; ssh itself failing throws SSH_FAILED. */
  exec(argv: readonly string[], opts?: SshExecOptions): Promise<SshExecResult>;
  /** A session on this terminal (a login shell when argv is empty); resolves with the remote exit code. */
  interactive(argv?: readonly string[]): Promise<number>;
  /** Retries a trivial command until sshd answers, or throws TIMEOUT. */
  waitForSsh(timeoutMs: number): Promise<void>;
  /** Everything before the remote command: `ssh` options and the destination. */
  sshArgs(): string[];
}

export interface SshTarget {
  host: string;
  port: number;
  user?: string;
  keyPath: string;
  knownHostsPath: string;
  /** The name the host key is pinned under in known_hosts (machine/keys.ts), whatever address reaches the guest. */
  hostKeyAlias: string;
  connectTimeoutSec?: number;
}

export interface SystemSshDeps {
  runner?: CommandRunner;
  sshBinary?: string;
  /** Whether our stdin is a terminal (decides -t); injectable for tests. */
  stdinIsTTY?: boolean;
  /** Pause between waitForSsh attempts (ms). */
  retryDelayMs?: number;
  /** Receives one line per SSH command and its exit code (verbose logging). */
  log?: (line: string) => void;
}

/**
 * Our environment without the user's agent: with no socket to forward or offer, a forwarded or
 * borrowed agent is impossible even if an option slipped through. `undefined` (not a deleted key)
 * because the runner merges this over process.env.
 */
function sshEnv(): NodeJS.ProcessEnv {
  return { ...process.env, SSH_AUTH_SOCK: undefined };
}

// Words made only of these characters mean the same to a POSIX shell whether quoted or not.
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one argument for a POSIX shell: single quotes, with embedded ones written as '\''. */
export function shellQuote(arg: string): string {
  if (SAFE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

// ssh exits 255 when it fails itself (connection, authentication, host key).
const SSH_OWN_FAILURE = 255;

export class SystemSshClient implements SshClient {
  private readonly runner: CommandRunner;
  private readonly binary: string;

  constructor(
    private readonly target: SshTarget,
    private readonly deps: SystemSshDeps = {},
  ) {
    this.runner = deps.runner ?? hostRunner;
    this.binary = deps.sshBinary ?? 'ssh';
  }

  sshArgs(): string[] {
    const t = this.target;
    return [
      // No ~/.ssh/config and no /etc/ssh/ssh_config: a user's Host * block must not reach the guest.
      '-F',
      '/dev/null',
      '-i',
      t.keyPath,
      '-p',
      String(t.port),
      '-o',
      'IdentitiesOnly=yes',
      '-o',
      'IdentityAgent=none',
      '-o',
      'ForwardAgent=no',
      '-o',
      'ForwardX11=no',
      '-o',
      'ControlMaster=no',
      '-o',
      'ControlPath=none',
      '-o',
      'PermitLocalCommand=no',
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      `HostKeyAlias=${t.hostKeyAlias}`,
      '-o',
      `UserKnownHostsFile=${t.knownHostsPath}`,
      '-o',
      'GlobalKnownHostsFile=/dev/null',
      '-o',
      'BatchMode=yes',
      '-o',
      `ConnectTimeout=${t.connectTimeoutSec ?? 10}`,
      '-o',
      'LogLevel=ERROR',
      '-o',
      'ServerAliveInterval=15',
      `${t.user ?? GUEST_USER}@${t.host}`,
    ];
  }

  async exec(argv: readonly string[], opts: SshExecOptions = {}): Promise<SshExecResult> {
    if (argv.length === 0) throw new KdevError('INTERNAL', 'ssh exec needs a command');
    const args = [...this.sshArgs(), '--', shellJoin(argv)];
    const r = await this.runner.run(this.binary, args, {
      input: opts.input ?? '',
      env: sshEnv(),
      timeoutMs: opts.timeoutMs,
      reject: false,
    });
    this.deps.log?.(`ssh ${this.destination()}: ${shellJoin(argv)} → exit ${r.exitCode}`);
    if (r.exitCode === SSH_OWN_FAILURE) {
      const detail = r.stderr.trim().split('\n').pop() ?? '';
      throw new KdevError('SSH_FAILED', `ssh to ${this.target.host}:${this.target.port} failed: ${detail}`, {
        hints: ['Check that the machine is running: kdev status', 'See the guest console: kdev logs'],
      });
    }
    return r;
  }

  interactive(argv: readonly string[] = []): Promise<number> {
    const tty = this.deps.stdinIsTTY ?? process.stdin.isTTY === true;
    const args = [...(tty ? ['-t'] : []), ...this.sshArgs()];
    if (argv.length > 0) args.push('--', shellJoin(argv));
    const command = argv.length > 0 ? shellJoin(argv) : '(login shell)';
    return new Promise((resolve, reject) => {
      const child = spawn(this.binary, args, { stdio: 'inherit', env: sshEnv() });
      child.once('error', (err) =>
        reject(
          new KdevError('MISSING_TOOL', `cannot run ${this.binary}: ${err.message}`, {
            hints: ['Install the OpenSSH client (apt-get install openssh-client)'],
          }),
        ),
      );
      child.once('exit', (code, signal) => {
        const exitCode = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
        this.deps.log?.(`ssh ${this.destination()}: ${command} → exit ${exitCode}`);
        resolve(exitCode);
      });
    });
  }

  private destination(): string {
    return `${this.target.user ?? GUEST_USER}@${this.target.host}:${this.target.port}`;
  }

  async waitForSsh(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const left = deadline - Date.now();
      try {
        // The whole time left, not a slice of it: a slow guest (TCG, a busy host) can take longer
        // than a slice for the handshake and login, and killing it restarts that work from zero.
        // ConnectTimeout still ends an attempt at a guest that does not answer at all.
        const r = await this.exec(['true'], { timeoutMs: Math.max(1000, left) });
        if (r.exitCode === 0) return;
        last = r.stderr.trim() || `exit code ${r.exitCode}`;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() + (this.deps.retryDelayMs ?? 1000) >= deadline) break;
      await new Promise((r) => setTimeout(r, this.deps.retryDelayMs ?? 1000));
    }
    throw new KdevError(
      'TIMEOUT',
      `SSH to ${this.target.host}:${this.target.port} not ready after ${timeoutMs} ms`,
      {
        hints: [`Last error: ${last}`, 'See the guest console: kdev logs'],
      },
    );
  }
}

/** The client for a machine created by a driver: its key and known_hosts live in the machine dir. */
export function sshClientForMachine(
  machineName: string,
  endpoint: Pick<Endpoint, 'host' | 'port'>,
  deps?: SystemSshDeps,
): SystemSshClient {
  const files = machineFiles(machineName);
  return new SystemSshClient(
    {
      host: endpoint.host,
      port: endpoint.port,
      keyPath: files.sshKey,
      knownHostsPath: files.knownHosts,
      hostKeyAlias: hostKeyAlias(machineName),
    },
    deps,
  );
}
