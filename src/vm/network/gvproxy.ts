// gvproxy (containers/gvisor-tap-vsock): a user-mode network stack, one process per machine.
// The guest gets a static DHCP lease and every port the host reaches is opened on 127.0.0.1
// through gvproxy's forwarder API, so nothing needs sudo and nothing parses DHCP leases.
// Facts this code relies on (gvproxy 0.8.1, measured):
//  - it exits when its VM disconnects: one gvproxy per machine, started before the VM;
//  - QEMU's -netdev stream does not retry a missing socket: wait for gvproxy's sockets first;
//  - it exits (0 in some versions) when it cannot bind, and refuses an existing socket file: watch
//    the socket files rather than the exit code, and remove stale ones before starting;
//  - the lease 192.168.127.2 goes to MAC 5a:94:ef:e4:0c:ee only;
//  - `expose` with no host in `local` binds every interface: always write 127.0.0.1;
//  - `127.0.0.1:0` binds a port that /services/forwarder/all does not report: pick ports here.
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { KdevError } from '../../lib/errors.js';
import { unixRequest, type HttpReply } from '../../lib/unix-http.js';

/** The guest's address on gvproxy's network (its static lease) and gvproxy's own. */
export const GVPROXY_GUEST_IP = '192.168.127.2';
export const GVPROXY_GATEWAY_IP = '192.168.127.1';
/** The MAC gvproxy's DHCP server gives the static lease GVPROXY_GUEST_IP. */
export const GVPROXY_GUEST_MAC = '5a:94:ef:e4:0c:ee';

/** macOS limits sun_path to 104 bytes (Linux 108); stay under both with the terminating NUL. */
export const MAX_SOCKET_PATH = 103;

export type GvproxyPeer = 'qemu' | 'vfkit';

export interface GvproxyPaths {
  /** Where the VM connects: a stream socket for QEMU, a datagram socket for vfkit. */
  vmSocket: string;
  /** gvproxy's HTTP API (forwarder). */
  apiSocket: string;
  pidFile: string;
  logFile: string;
}

export interface GvproxyArgvOptions extends GvproxyPaths {
  peer: GvproxyPeer;
  binary?: string;
  mtu?: number;
}

/**
 * Socket and state file names in runtimeDir. Unix socket paths have a hard length limit, so
 * this refuses a path too long rather than let gvproxy fail on it later.
 */
export function gvproxyPaths(runtimeDir: string, peer: GvproxyPeer): GvproxyPaths {
  const p: GvproxyPaths = {
    vmSocket: path.join(runtimeDir, peer === 'vfkit' ? 'gvp-vfk.sock' : 'gvp-qemu.sock'),
    apiSocket: path.join(runtimeDir, 'gvp-api.sock'),
    pidFile: path.join(runtimeDir, 'gvproxy.pid'),
    logFile: path.join(runtimeDir, 'gvproxy.log'),
  };
  for (const sock of [p.vmSocket, p.apiSocket]) checkSocketPath(sock);
  return p;
}

export function checkSocketPath(sock: string): void {
  if (Buffer.byteLength(sock) > MAX_SOCKET_PATH) {
    throw new KdevError(
      'BAD_CONFIG',
      `socket path is too long for a unix socket (${Buffer.byteLength(sock)} > ${MAX_SOCKET_PATH} bytes): ${sock}`,
      {
        hints: ['Set KDEV_HOME to a shorter folder (e.g. ~/.kdev)'],
      },
    );
  }
}

export function buildGvproxyArgv(o: GvproxyArgvOptions): { binary: string; args: string[] } {
  const vm =
    o.peer === 'vfkit'
      ? ['-listen-vfkit', `unixgram://${o.vmSocket}`]
      : ['-listen-qemu', `unix://${o.vmSocket}`];
  return {
    binary: o.binary ?? 'gvproxy',
    args: [
      ...vm,
      '-listen',
      `unix://${o.apiSocket}`,
      // gvproxy's own SSH forward defaults to 127.0.0.1:2222 for every instance, which would
      // clash between machines; kdev adds its SSH forward through the API like any other.
      '-ssh-port',
      '-1',
      '-mtu',
      String(o.mtu ?? 1500),
      '-pid-file',
      o.pidFile,
    ],
  };
}

/** Removes socket files a dead gvproxy left behind; gvproxy refuses to start over them. */
export async function removeStaleSockets(paths: Pick<GvproxyPaths, 'vmSocket' | 'apiSocket'>): Promise<void> {
  for (const sock of [paths.vmSocket, paths.apiSocket]) {
    await fs.rm(sock, { force: true });
  }
}

async function isSocket(file: string): Promise<boolean> {
  try {
    return (await fs.lstat(file)).isSocket();
  } catch {
    return false;
  }
}

/** True once gvproxy has created both of its sockets (it binds them before it serves). */
export async function gvproxySocketsReady(
  paths: Pick<GvproxyPaths, 'vmSocket' | 'apiSocket'>,
): Promise<boolean> {
  return (await isSocket(paths.vmSocket)) && (await isSocket(paths.apiSocket));
}

/** The error for a gvproxy that exited or never made its sockets, with the end of its log. */
export async function gvproxyStartError(paths: GvproxyPaths, what: 'exited' | 'timeout'): Promise<KdevError> {
  let tail = '';
  try {
    const lines = (await fs.readFile(paths.logFile, 'utf8')).trim().split('\n');
    const last = lines.reverse().find((l) => /level=(error|fatal)/.test(l)) ?? lines[0] ?? '';
    tail = last.replace(/^.*msg="?/, '').replace(/"$/, '');
  } catch {
    // no log: the message below still says where to look
  }
  const why =
    what === 'exited' ? 'gvproxy exited before it was ready' : 'gvproxy did not create its sockets in time';
  return new KdevError('VM_ERROR', `${why}${tail ? `: ${tail}` : ''}`, {
    hints: [`See ${paths.logFile}`],
  });
}

export interface ExposedPort {
  local: string;
  remote: string;
  protocol: string;
}

const exposedList = z.array(z.object({ local: z.string(), remote: z.string(), protocol: z.string() }));

/**
 * gvproxy's forwarder API: POST /services/forwarder/expose and /unexpose, GET /all.
 * Host ports are always bound on 127.0.0.1, and the caller chooses them (no port 0).
 */
export class GvproxyForwarder {
  constructor(
    private readonly apiSocket: string,
    private readonly guestIp = GVPROXY_GUEST_IP,
    private readonly timeoutMs = 5000,
  ) {}

  async expose(hostPort: number, guestPort: number): Promise<void> {
    checkPort(hostPort, 'host');
    checkPort(guestPort, 'guest');
    await this.call('POST', '/services/forwarder/expose', {
      local: `127.0.0.1:${hostPort}`,
      remote: `${this.guestIp}:${guestPort}`,
      protocol: 'tcp',
    });
  }

  async unexpose(hostPort: number): Promise<void> {
    checkPort(hostPort, 'host');
    await this.call('POST', '/services/forwarder/unexpose', {
      local: `127.0.0.1:${hostPort}`,
      protocol: 'tcp',
    });
  }

  async list(): Promise<ExposedPort[]> {
    const reply = await this.call('GET', '/services/forwarder/all');
    let json: unknown;
    try {
      json = JSON.parse(reply.body);
    } catch {
      json = undefined;
    }
    const parsed = exposedList.safeParse(json);
    if (!parsed.success) {
      throw new KdevError(
        'VM_ERROR',
        `gvproxy answered /services/forwarder/all with something unexpected: ${reply.body.slice(0, 200)}`,
      );
    }
    return parsed.data;
  }

  /** Makes gvproxy's forwards equal the wanted ones: adds missing, removes kdev-unknown ones. */
  async sync(wanted: readonly { hostPort: number; guestPort: number }[]): Promise<void> {
    const current = await this.list();
    const want = new Map(wanted.map((f) => [`127.0.0.1:${f.hostPort}`, `${this.guestIp}:${f.guestPort}`]));
    for (const e of current) {
      if (e.protocol === 'tcp' && want.get(e.local) === e.remote) {
        want.delete(e.local);
        continue;
      }
      await this.call('POST', '/services/forwarder/unexpose', { local: e.local, protocol: e.protocol });
    }
    for (const [local, remote] of want) {
      await this.call('POST', '/services/forwarder/expose', { local, remote, protocol: 'tcp' });
    }
  }

  private async call(method: 'GET' | 'POST', urlPath: string, body?: unknown): Promise<HttpReply> {
    let reply: HttpReply;
    try {
      reply = await unixRequest(this.apiSocket, method, urlPath, body, this.timeoutMs);
    } catch (err) {
      throw new KdevError(
        'VM_ERROR',
        `gvproxy's API on ${this.apiSocket} did not answer: ${(err as Error).message}`,
        {
          cause: err,
          hints: ['Check that the machine runs (kdev status); gvproxy exits when its VM stops'],
        },
      );
    }
    if (reply.status !== 200) {
      const what = body && typeof body === 'object' && 'local' in body ? ` ${String(body.local)}` : '';
      throw new KdevError(
        'VM_ERROR',
        `gvproxy refused ${urlPath}${what} (HTTP ${reply.status}): ${reply.body.trim() || 'no detail'}`,
        {
          hints: urlPath.endsWith('/expose') ? ['The host port may be in use; pick another one'] : [],
        },
      );
    }
    return reply;
  }
}

function checkPort(port: number, which: 'host' | 'guest'): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new KdevError('BAD_INPUT', `${which} port ${port} is not a TCP port (1-65535)`);
  }
}

/** Where gvproxy lives on Macs: $KDEV_GVPROXY, PATH, or beside podman (Homebrew, the pkg installer). */
export const GVPROXY_LOCATIONS = [
  '/opt/homebrew/opt/podman/libexec/podman/gvproxy',
  '/usr/local/opt/podman/libexec/podman/gvproxy',
  '/opt/podman/bin/gvproxy',
  '/opt/homebrew/bin/gvproxy',
  '/usr/local/bin/gvproxy',
];

export async function findGvproxy(p: {
  env: NodeJS.ProcessEnv;
  which(name: string): Promise<string | undefined>;
}): Promise<string | undefined> {
  if (p.env.KDEV_GVPROXY) return p.env.KDEV_GVPROXY;
  const onPath = await p.which('gvproxy');
  if (onPath) return onPath;
  for (const candidate of GVPROXY_LOCATIONS) {
    try {
      await fs.access(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
