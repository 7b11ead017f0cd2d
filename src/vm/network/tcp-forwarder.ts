// kdev's port forwarder for `--network vmnet`, a program of its own (dist/vm/network/tcp-forwarder.js,
// run with kdev's node by tcp-forwarder-process.ts). macOS's NAT gives the guest an address but
// forwards nothing, and kdev reaches SSH, the API server and added ports only on 127.0.0.1, so this
// listens on 127.0.0.1:<hostPort> for each forward and pipes every connection to
// <guest>:<guestPort>. It never binds another interface.
//
//   node tcp-forwarder.js --control <unix socket> --target <guest IPv4> --vm-pid <pid>
//                         [--forward <hostPort>:<guestPort>]...
//
// Control socket (mode 0600, in the machine's 0700 folder): one JSON request line per connection,
// one JSON reply line: {"op":"list"} | {"op":"expose","hostPort":h,"guestPort":g} |
// {"op":"unexpose","hostPort":h}  ->  {"ok":true,"forwards":[[h,g],...]} | {"ok":false,"error":"..."}.
// The control socket listens only once every --forward is bound, so an answer means "ready".
// It exits on SIGTERM/SIGINT and by itself once the VM's process is gone; a --forward that cannot
// be bound makes it exit 1 at start, the reason on stderr.
// Self-contained on purpose (node: modules only): it runs as its own script, not through the CLI.
import fs from 'node:fs';
import net from 'node:net';

interface Options {
  control: string;
  target: string;
  vmPid: number;
  forwards: Array<[number, number]>;
}

const LOOPBACK = '127.0.0.1';
const VM_POLL_MS = 1000;
const MAX_REQUEST = 4096;
// A control client that sends no request line is dropped after this long.
const CONTROL_IDLE_MS = 10_000;

const listeners = new Map<number, { guestPort: number; server: net.Server }>();
const conns = new Set<net.Socket>();

function isPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 65535;
}

function parseArgs(argv: string[]): Options {
  const o: Partial<Options> & { forwards: Array<[number, number]> } = { forwards: [] };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    if (flag === '--control') o.control = value;
    else if (flag === '--target') o.target = value;
    else if (flag === '--vm-pid') o.vmPid = Number(value);
    else if (flag === '--forward') {
      const [h, g] = value.split(':').map(Number);
      if (!isPort(h) || !isPort(g)) throw new Error(`--forward ${value} is not <hostPort>:<guestPort>`);
      o.forwards.push([h, g]);
    } else throw new Error(`unknown argument ${flag}`);
  }
  if (!o.control) throw new Error('--control is required');
  if (!o.target || !net.isIPv4(o.target)) throw new Error('--target must be an IPv4 address');
  if (!o.vmPid || !Number.isInteger(o.vmPid) || o.vmPid < 1) throw new Error('--vm-pid must be a pid');
  return o as Options;
}

// The last failure to reach the guest, logged once until it changes (clients retry in a loop).
let lastFailure = '';

function noteFailure(target: string, guestPort: number, err: NodeJS.ErrnoException): void {
  const line = `cannot reach ${target}:${guestPort}: ${err.code ?? err.message}`;
  if (line === lastFailure) return;
  lastFailure = line;
  // macOS 15+ answers "no route to host" to a program without Local Network permission.
  const why = err.code === 'EHOSTUNREACH' ? ' (macOS: allow your terminal Local Network access)' : '';
  console.error(`tcp-forwarder: ${line}${why}`);
}

/** One client connection piped to the guest; either side closing or failing ends both. */
function pipeToGuest(client: net.Socket, target: string, guestPort: number): void {
  const guest = net.connect({ host: target, port: guestPort, allowHalfOpen: true });
  conns.add(client);
  const end = () => {
    conns.delete(client);
    client.destroy();
    guest.destroy();
  };
  guest.once('connect', () => (lastFailure = ''));
  client.on('error', end).on('close', end);
  guest
    .on('error', (err) => {
      noteFailure(target, guestPort, err);
      end();
    })
    .on('close', end);
  client.pipe(guest);
  guest.pipe(client);
}

function expose(target: string, hostPort: number, guestPort: number): Promise<void> {
  const current = listeners.get(hostPort);
  if (current) {
    return current.guestPort === guestPort
      ? Promise.resolve()
      : Promise.reject(
          new Error(`host port ${hostPort} already forwards to guest port ${current.guestPort}`),
        );
  }
  const server = net.createServer({ allowHalfOpen: true }, (c) => pipeToGuest(c, target, guestPort));
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${LOOPBACK}:${hostPort}: ${err.code ?? err.message}`)),
    );
    server.listen({ host: LOOPBACK, port: hostPort, exclusive: true }, () => {
      server.removeAllListeners('error');
      server.on('error', (err) => console.error(`forward ${hostPort}: ${err.message}`));
      listeners.set(hostPort, { guestPort, server });
      resolve();
    });
  });
}

function unexpose(hostPort: number): void {
  const l = listeners.get(hostPort);
  if (!l) throw new Error(`host port ${hostPort} is not forwarded`);
  l.server.close();
  listeners.delete(hostPort);
}

const forwardList = () => [...listeners].map(([h, l]) => [h, l.guestPort]);

async function handle(target: string, line: string): Promise<unknown> {
  const req = JSON.parse(line) as { op?: unknown; hostPort?: unknown; guestPort?: unknown };
  if (req.op === 'list') return { ok: true, forwards: forwardList() };
  if (req.op === 'expose' && isPort(req.hostPort) && isPort(req.guestPort)) {
    await expose(target, req.hostPort, req.guestPort);
    return { ok: true, forwards: forwardList() };
  }
  if (req.op === 'unexpose' && isPort(req.hostPort)) {
    unexpose(req.hostPort);
    return { ok: true, forwards: forwardList() };
  }
  throw new Error('bad request');
}

function controlServer(target: string): net.Server {
  return net.createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.setTimeout(CONTROL_IDLE_MS, () => sock.destroy());
    sock.on('error', () => sock.destroy());
    sock.on('data', (chunk: string) => {
      buf += chunk;
      const nl = buf.indexOf('\n');
      if (nl < 0 && buf.length < MAX_REQUEST) return;
      sock.removeAllListeners('data');
      handle(target, buf.slice(0, nl < 0 ? MAX_REQUEST : nl))
        .catch((err: unknown) => ({ ok: false, error: err instanceof Error ? err.message : String(err) }))
        .then((reply) => sock.end(`${JSON.stringify(reply)}\n`));
    });
  });
}

function vmAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function main(): Promise<void> {
  let o: Options;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`tcp-forwarder: ${(err as Error).message}`);
    process.exit(2);
  }
  const control = controlServer(o.target);
  control.on('error', (err) => {
    console.error(`tcp-forwarder: control socket ${o.control}: ${err.message}`);
    process.exit(1);
  });
  const shutdown = (why: string) => {
    console.log(`tcp-forwarder: ${why}; exiting`);
    for (const l of listeners.values()) l.server.close();
    for (const c of conns) c.destroy();
    control.close();
    fs.rmSync(o.control, { force: true });
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  setInterval(() => {
    if (!vmAlive(o.vmPid)) shutdown(`the VM (pid ${o.vmPid}) is gone`);
  }, VM_POLL_MS);
  try {
    for (const [h, g] of o.forwards) await expose(o.target, h, g);
  } catch (err) {
    console.error(`tcp-forwarder: ${(err as Error).message}`);
    process.exit(1);
  }
  // Our own socket from a run that was killed: nothing else uses this path in the machine folder.
  fs.rmSync(o.control, { force: true });
  const oldMask = process.umask(0o177);
  control.listen(o.control, () => {
    process.umask(oldMask);
    console.log(
      `tcp-forwarder: ${forwardList()
        .map(([h, g]) => `${LOOPBACK}:${h} -> ${o.target}:${g}`)
        .join(', ')}`,
    );
  });
}

void main();
