// A `--network vmnet` machine's port forwarder (tcp-forwarder.ts) as one of its helper processes:
// its argv (pure), started and recorded through the process module like gvproxy, ready once its
// control socket answers, and a client for that socket (addForward/removeForward while it runs).
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { KdevError } from '../../lib/errors.js';
import { readFileIfExists } from '../../lib/fs-atomic.js';
import type { Logger } from '../../lib/log.js';
import type { MachineFiles } from '../machine/files.js';
import { spawnProcess, stopProcesses, waitUntil, type ProcessRecord } from '../process/processes.js';
import type { Forward } from './forward.js';

export const FORWARDER_ROLE = 'forwarder';

/** The forwarder program beside this module (dist/vm/network/tcp-forwarder.js once built). */
export const FORWARDER_SCRIPT = fileURLToPath(new URL('./tcp-forwarder.js', import.meta.url));

export interface ForwarderPaths {
  socket: string;
  pidFile: string;
  logFile: string;
}

export function forwarderPaths(files: MachineFiles): ForwarderPaths {
  return {
    socket: files.helperFile(FORWARDER_ROLE, 'sock'),
    pidFile: files.helperFile(FORWARDER_ROLE, 'pid'),
    logFile: files.helperFile(FORWARDER_ROLE, 'log'),
  };
}

export interface ForwarderArgvOptions {
  script: string;
  socket: string;
  /** The guest's address every forward leads to. */
  target: string;
  /** The hypervisor's pid: the forwarder exits once it is gone. */
  vmPid: number;
  forwards: readonly Forward[];
}

export function buildForwarderArgv(o: ForwarderArgvOptions): string[] {
  return [
    o.script,
    '--control',
    o.socket,
    '--target',
    o.target,
    '--vm-pid',
    String(o.vmPid),
    ...o.forwards.flatMap((f) => ['--forward', `${f.hostPort}:${f.guestPort}`]),
  ];
}

export interface StartForwarderOptions {
  files: MachineFiles;
  target: string;
  vmPid: number;
  forwards: readonly Forward[];
  /** Tests give a transpiled copy; the default is the one shipped in dist. */
  script?: string;
  logger?: Logger;
  timeoutMs?: number;
}

/** Starts the forwarder and waits until every forward listens; one clear error when it cannot. */
export async function startForwarder(o: StartForwarderOptions): Promise<ProcessRecord> {
  const paths = forwarderPaths(o.files);
  const args = buildForwarderArgv({ ...o, script: o.script ?? FORWARDER_SCRIPT, socket: paths.socket });
  const proc = await spawnProcess(
    {
      role: FORWARDER_ROLE,
      executable: process.execPath,
      args,
      identityArg: paths.socket,
      pidFile: paths.pidFile,
      logFile: paths.logFile,
      cwd: o.files.dir,
    },
    o.logger,
  );
  const client = new ForwarderClient(paths.socket);
  const outcome = await waitUntil(proc, () => client.answers(), o.timeoutMs ?? 10_000);
  if (outcome === 'ready') return proc.record;
  if (outcome === 'timeout') await stopProcesses([proc.record], { logger: o.logger });
  const log = ((await readFileIfExists(paths.logFile)) ?? '').trim().split('\n').pop() ?? '';
  const taken = /cannot listen on [\d.]+:(\d+): EADDRINUSE/.exec(log);
  if (taken) {
    throw new KdevError(
      'VM_ERROR',
      `host port 127.0.0.1:${taken[1]} of a forward is taken by another program`,
      {
        hints: ['Stop that program, or kdev delete and kdev start to get new ports'],
      },
    );
  }
  throw new KdevError(
    'VM_ERROR',
    outcome === 'exited'
      ? `the port forwarder exited at once${log ? `: ${log}` : ''}`
      : 'the port forwarder started but its control socket never answered',
    { hints: [`See ${paths.logFile}`] },
  );
}

const replySchema = z.union([
  z.object({ ok: z.literal(true), forwards: z.array(z.tuple([z.number(), z.number()])) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

/** The forwarder's control socket: one JSON line out, one back. */
export class ForwarderClient {
  constructor(
    private readonly socket: string,
    private readonly timeoutMs = 5000,
  ) {}

  /** The forwards it serves now, as [hostPort, guestPort]. */
  list(): Promise<Array<[number, number]>> {
    return this.request({ op: 'list' });
  }

  async expose(f: Forward): Promise<void> {
    await this.request({ op: 'expose', hostPort: f.hostPort, guestPort: f.guestPort });
  }

  async unexpose(hostPort: number): Promise<void> {
    await this.request({ op: 'unexpose', hostPort });
  }

  answers(): Promise<boolean> {
    return this.list().then(
      () => true,
      () => false,
    );
  }

  private async request(req: object): Promise<Array<[number, number]>> {
    const raw = await this.roundTrip(`${JSON.stringify(req)}\n`);
    let parsed: z.infer<typeof replySchema>;
    try {
      parsed = replySchema.parse(JSON.parse(raw));
    } catch (cause) {
      throw new KdevError('VM_ERROR', `the port forwarder gave an unreadable answer: ${raw.slice(0, 200)}`, {
        cause,
      });
    }
    if (!parsed.ok) {
      throw new KdevError('VM_ERROR', `the port forwarder refused: ${parsed.error}`, {
        hints: ['Pick another host port, or see kdev logs'],
      });
    }
    return parsed.forwards;
  }

  private roundTrip(line: string): Promise<string> {
    return new Promise((resolve, reject) => {
      let reply = '';
      const sock = net.connect(this.socket);
      sock.setEncoding('utf8');
      sock.setTimeout(this.timeoutMs, () => sock.destroy(new Error('timed out')));
      sock.on('data', (d: string) => (reply += d));
      sock.on('end', () => resolve(reply.trim()));
      sock.on('error', (err) =>
        reject(new KdevError('VM_ERROR', `the port forwarder does not answer: ${err.message}`)),
      );
      sock.write(line);
    });
  }
}
