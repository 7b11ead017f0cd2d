// The vmnet port forwarder as a real process, started and stopped through the process module as
// the vfkit driver does: a TCP echo server on 127.0.0.2 stands in for the guest's address, a
// sleeping node process for vfkit. Nothing here needs a Mac.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../../../src/lib/net.js';
import { machineFiles, type MachineFiles } from '../../../src/vm/machine/files.js';
import {
  buildForwarderArgv,
  ForwarderClient,
  forwarderPaths,
  startForwarder,
} from '../../../src/vm/network/tcp-forwarder-process.js';
import {
  isRunning,
  pidAlive,
  stopProcesses,
  waitForExit,
  type ProcessRecord,
} from '../../../src/vm/process/processes.js';
import { transpiledForwarder } from '../../helpers/forwarder-script.js';
import { listening } from '../../helpers/host.js';

const GUEST = '127.0.0.2';
// 127.0.0.2 (the guest's stand-in) answers only on Linux's loopback; macOS has just 127.0.0.1.
const onLinux = process.platform === 'linux' ? describe : describe.skip;
if (process.platform !== 'linux')
  console.warn('skipping: the guest stand-in needs 127.0.0.2 (Linux loopback)');

/** Echoes every byte back, upper-cased for ASCII letters, so the reply proves the guest answered. */
function echoServer(): Promise<{ server: net.Server; port: number }> {
  const server = net.createServer((s) => {
    s.on('data', (d: Buffer) => s.write(Buffer.from(d.toString('latin1').toUpperCase(), 'latin1')));
    s.on('end', () => s.end());
    s.on('error', () => s.destroy());
  });
  return new Promise((resolve) =>
    server.listen(0, GUEST, () => resolve({ server, port: (server.address() as net.AddressInfo).port })),
  );
}

/** Sends data to 127.0.0.1:port, half-closes, and collects the whole reply. */
function exchange(port: number, data: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect({ host, port, allowHalfOpen: true }, () => s.end(data));
    s.on('data', (d: Buffer) => chunks.push(d));
    s.on('end', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('error', reject);
  });
}

/** The local addresses a port listens on, from /proc/net/tcp (hex "0100007F" is 127.0.0.1). */
function listenAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[3] === '0A' && f[1]?.endsWith(`:${hexPort}`))
    .map((f) => f[1]!.split(':')[0]!);
}

onLinux('tcp-forwarder (real process)', () => {
  let dir: string;
  let files: MachineFiles;
  let forwarder: { script: string; dispose: () => void };
  let guest: { server: net.Server; port: number };
  let vm: ChildProcess;
  let started: ProcessRecord[] = [];

  beforeAll(async () => {
    forwarder = transpiledForwarder();
    guest = await echoServer();
  });
  afterAll(async () => {
    forwarder.dispose();
    await new Promise((r) => guest.server.close(r));
  });
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-fwd-'));
    files = machineFiles('dev', dir);
    vm = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    started = [];
  });
  afterEach(async () => {
    await stopProcesses(started);
    vm.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = async (forwards: Array<{ name: string; hostPort: number; guestPort: number }>) => {
    const rec = await startForwarder({
      files,
      target: GUEST,
      vmPid: vm.pid!,
      forwards,
      script: forwarder.script,
    });
    started.push(rec);
    return rec;
  };

  it('builds its argv from the forwards', () => {
    expect(
      buildForwarderArgv({
        script: '/k/dist/vm/network/tcp-forwarder.js',
        socket: '/m/forwarder.sock',
        target: '192.168.64.9',
        vmPid: 4242,
        forwards: [
          { name: 'ssh', hostPort: 40022, guestPort: 22 },
          { name: 'apiserver', hostPort: 40443, guestPort: 8443 },
        ],
      }),
    ).toEqual([
      '/k/dist/vm/network/tcp-forwarder.js',
      '--control', '/m/forwarder.sock',
      '--target', '192.168.64.9',
      '--vm-pid', '4242',
      '--forward', '40022:22',
      '--forward', '40443:8443',
    ]); // prettier-ignore
  });

  it('pipes 127.0.0.1:hostPort to the guest, listening on 127.0.0.1 only', async () => {
    const [hostPort] = await freePorts(1);
    const rec = await start([{ name: 'ssh', hostPort: hostPort!, guestPort: guest.port }]);
    expect(await isRunning(rec)).toBe(true);
    expect(await exchange(hostPort!, 'hello guest')).toBe('HELLO GUEST');
    // A large transfer in both directions survives the pipe whole.
    const big = 'x'.repeat(3 * 1024 * 1024);
    expect(await exchange(hostPort!, big)).toBe(big.toUpperCase());
    expect(listenAddresses(hostPort!)).toEqual(['0100007F']);
    // Not on 127.0.0.2, where the "guest" itself listens: the forwarder bound nothing else.
    await expect(exchange(hostPort!, 'x', GUEST)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect((fs.statSync(forwarderPaths(files).socket).mode & 0o777).toString(8)).toBe('600');
  });

  it('adds and removes forwards through its control socket, refusing a taken port', async () => {
    const [ssh, extra, busy] = await freePorts(3);
    await start([{ name: 'ssh', hostPort: ssh!, guestPort: guest.port }]);
    const client = new ForwarderClient(forwarderPaths(files).socket);
    await client.expose({ name: 'svc-30080', hostPort: extra!, guestPort: guest.port });
    expect(await client.list()).toEqual([
      [ssh, guest.port],
      [extra, guest.port],
    ]);
    expect(await exchange(extra!, 'added')).toBe('ADDED');
    await client.unexpose(extra!);
    expect(await listening(extra!)).toBe(false);
    expect(await client.list()).toEqual([[ssh, guest.port]]);

    const other = net.createServer().listen(busy!, '127.0.0.1');
    await new Promise((r) => other.once('listening', r));
    try {
      await expect(client.expose({ name: 'busy', hostPort: busy!, guestPort: 80 })).rejects.toMatchObject({
        code: 'VM_ERROR',
        message: `the port forwarder refused: cannot listen on 127.0.0.1:${busy}: EADDRINUSE`,
      });
    } finally {
      other.close();
    }
    await expect(client.unexpose(busy!)).rejects.toMatchObject({
      message: `the port forwarder refused: host port ${busy} is not forwarded`,
    });
  });

  it('fails the start in one line when a forward port is taken', async () => {
    const [busy] = await freePorts(1);
    const other = net.createServer().listen(busy!, '127.0.0.1');
    await new Promise((r) => other.once('listening', r));
    try {
      await expect(start([{ name: 'ssh', hostPort: busy!, guestPort: 22 }])).rejects.toMatchObject({
        code: 'VM_ERROR',
        message: `host port 127.0.0.1:${busy} of a forward is taken by another program`,
      });
    } finally {
      other.close();
    }
  });

  it('closes a client the guest refuses, and logs why once', async () => {
    const [hostPort] = await freePorts(1);
    const [closed] = await freePorts(1, GUEST);
    await start([{ name: 'ssh', hostPort: hostPort!, guestPort: closed! }]);
    // The client sees its connection end (a FIN, or a reset for the bytes it sent), no reply.
    const attempt = () =>
      new Promise<string>((resolve) => {
        let reply = '';
        const s = net.connect({ host: '127.0.0.1', port: hostPort! }, () => s.write('anyone?'));
        s.on('data', (d: Buffer) => (reply += d.toString()));
        s.on('error', () => undefined);
        s.on('close', () => resolve(reply));
      });
    expect(await attempt()).toBe('');
    expect(await attempt()).toBe('');
    const log = fs.readFileSync(forwarderPaths(files).logFile, 'utf8');
    expect(log.split(`cannot reach ${GUEST}:${closed}: ECONNREFUSED`)).toHaveLength(2);
  });

  it('ends when stopped with the machine, and removes its socket', async () => {
    const [hostPort] = await freePorts(1);
    const rec = await start([{ name: 'ssh', hostPort: hostPort!, guestPort: guest.port }]);
    await stopProcesses([rec]);
    expect(pidAlive(rec.pid)).toBe(false);
    expect(await listening(hostPort!)).toBe(false);
    expect(fs.existsSync(forwarderPaths(files).socket)).toBe(false);
  });

  it('ends by itself once the VM process is gone', async () => {
    const [hostPort] = await freePorts(1);
    const rec = await start([{ name: 'ssh', hostPort: hostPort!, guestPort: guest.port }]);
    vm.kill('SIGKILL');
    expect(await waitForExit(rec.pid, 15_000)).toBe(true);
    expect(await listening(hostPort!)).toBe(false);
    expect(fs.readFileSync(forwarderPaths(files).logFile, 'utf8')).toMatch(/the VM \(pid \d+\) is gone/);
  });
});
