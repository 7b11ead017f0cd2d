// The vfkit driver's `--network vmnet` lifecycle on Linux, by contract: the host probes are a
// Mac's, `vfkit` is a stand-in script (it serves vfkit's REST API on the socket it is given, and
// plays macOS's bootpd by writing a lease for the MAC of its `virtio-net,nat` device), and the
// guest's leased address is 127.0.0.2, where a TCP echo server stands in for the guest's sshd.
// Real: the machine files, the process module, the lease file on disk, the port forwarder.
// Not covered (needs a Mac, scripts/verify-macos.sh): vfkit itself, Virtualization.framework's
// NAT, bootpd's real lease file.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { CommandRunner } from '../../../src/lib/exec.js';
import { freePorts } from '../../../src/lib/net.js';
import type { MachineSpec } from '../../../src/vm/driver.js';
import { machineFiles } from '../../../src/vm/machine/files.js';
import { readMachineRecord, writeMachineRecord } from '../../../src/vm/machine/record.js';
import { vmnetMac } from '../../../src/vm/network/vmnet-mac.js';
import { pidAlive, waitForExit } from '../../../src/vm/process/processes.js';
import { VfkitDriver } from '../../../src/vm/vfkit/driver.js';
import type { VfkitHostProbes } from '../../../src/vm/vfkit/host-checks.js';
import { transpiledForwarder } from '../../helpers/forwarder-script.js';
import { listening } from '../../helpers/host.js';

const GUEST = '127.0.0.2';
// 127.0.0.2 (the guest's stand-in) answers only on Linux's loopback; macOS has just 127.0.0.1.
const onLinux = process.platform === 'linux' ? describe : describe.skip;
if (process.platform !== 'linux')
  console.warn('skipping: the guest stand-in needs 127.0.0.2 (Linux loopback)');

// CommonJS, run by this node through its shebang; its settings come from fake.json beside it.
const FAKE_VFKIT = `#!${process.execPath}
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const cfg = JSON.parse(fs.readFileSync(path.join(__dirname, 'fake.json'), 'utf8'));
const args = process.argv.slice(2);
fs.appendFileSync(path.join(__dirname, 'argv.log'), JSON.stringify(args) + '\\n');
const sock = args[args.indexOf('--restful-uri') + 1].replace(/^unix:\\/\\//, '');
const net = args.find((a) => a.startsWith('virtio-net,'));
const mac = /mac=([0-9a-f:]+)/.exec(net)[1];
let state = 'VirtualMachineStateRunning';
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    if (req.method === 'GET') return res.writeHead(200).end(JSON.stringify({ state }));
    state = 'VirtualMachineStateStopped';
    res.writeHead(202).end();
    setTimeout(() => process.exit(0), 50);
  });
});
server.listen(sock);
process.on('SIGTERM', () => process.exit(0));
if (cfg.leaseIp) {
  setTimeout(() => {
    // bootpd: octets without leading zeros, expiry in hex epoch seconds, newest block first.
    const old = fs.existsSync(cfg.leases) ? fs.readFileSync(cfg.leases, 'utf8') : '';
    const bootpdMac = mac.split(':').map((o) => parseInt(o, 16).toString(16)).join(':');
    const expiries = [...old.matchAll(/lease=0x([0-9a-f]+)/g)].map((m) => parseInt(m[1], 16));
    const expires = Math.max(Math.floor(Date.now() / 1000) + 86400, ...expiries.map((e) => e + 1));
    const block = '{\\n\\tname=dev\\n\\tip_address=' + cfg.leaseIp + '\\n\\thw_address=1,' + bootpdMac +
      '\\n\\tidentifier=1,' + bootpdMac + '\\n\\tlease=0x' + expires.toString(16) + '\\n}\\n';
    fs.writeFileSync(cfg.leases, block + old);
  }, 300);
}
setInterval(() => {}, 1000);
`;

function macProbes(vfkit: string): VfkitHostProbes {
  const runner: CommandRunner = {
    async run(file) {
      const stdout = file === 'sw_vers' ? '14.6\n' : 'vfkit version: v0.6.1\n';
      return { stdout, stderr: '', exitCode: 0 };
    },
  };
  return {
    platform: 'darwin',
    hostArch: 'arm64',
    // No KDEV_GVPROXY: vmnet mode must not need it.
    env: { KDEV_VFKIT: vfkit },
    runner,
    freeBytes: async () => 100 * 1024 ** 3,
    which: async () => undefined,
  };
}

/** Sends data through 127.0.0.1:port, half-closes, and collects the reply. */
function exchange(port: number, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let reply = '';
    const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true }, () => s.end(data));
    s.on('data', (d: Buffer) => (reply += d.toString()));
    s.on('end', () => resolve(reply));
    s.on('error', reject);
  });
}

onLinux('vfkit --network vmnet (stand-in vfkit and bootpd, real forwarder)', () => {
  let dir: string;
  let leases: string;
  let fakeDir: string;
  let forwarder: { script: string; dispose: () => void };
  let guest: net.Server;
  let guestPort: number;
  let spec: MachineSpec;
  const previousHome = process.env.KDEV_HOME;

  const setFake = (cfg: { leaseIp?: string }) =>
    fs.writeFileSync(path.join(fakeDir, 'fake.json'), JSON.stringify({ leases, ...cfg }));
  const argvLog = () =>
    fs
      .readFileSync(path.join(fakeDir, 'argv.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as string[]);
  const driver = (leaseTimeoutMs = 20_000) =>
    new VfkitDriver('dev', {
      platform: 'darwin',
      hostProbes: macProbes(path.join(fakeDir, 'vfkit')),
      leasesFile: leases,
      leaseTimeoutMs,
      forwarderScript: forwarder.script,
    });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-vmnet-'));
    process.env.KDEV_HOME = path.join(dir, 'home');
    leases = path.join(dir, 'dhcpd_leases');
    fakeDir = path.join(dir, 'fake');
    fs.mkdirSync(fakeDir);
    fs.writeFileSync(path.join(fakeDir, 'vfkit'), FAKE_VFKIT, { mode: 0o755 });
    forwarder = transpiledForwarder();
    guest = net.createServer((s) => {
      s.on('data', (d: Buffer) => s.write(`guest:${d.toString()}`));
      s.on('end', () => s.end());
    });
    await new Promise<void>((r) => guest.listen(0, GUEST, r));
    guestPort = (guest.address() as net.AddressInfo).port;
    const image = path.join(dir, 'Image');
    const arm64 = Buffer.alloc(0x40);
    arm64.write('ARM\x64', 0x38, 'latin1');
    fs.writeFileSync(image, arm64);
    fs.writeFileSync(path.join(dir, 'initrd'), 'initrd');
    const [ssh, api] = await freePorts(2);
    spec = {
      name: 'dev',
      cpus: 1,
      memoryMiB: 1024,
      diskMiB: 2048,
      image: { kernel: image, initrd: path.join(dir, 'initrd'), cmdline: 'console=ttyAMA0', arch: 'aarch64' },
      mounts: [],
      forwards: [
        { name: 'ssh', guestPort, hostPort: ssh! },
        { name: 'apiserver', guestPort, hostPort: api! },
      ],
      options: { network: 'vmnet' },
    };
  });
  afterAll(async () => {
    await driver()
      .remove()
      .catch(() => undefined);
    forwarder.dispose();
    await new Promise((r) => guest.close(r));
    if (previousHome === undefined) delete process.env.KDEV_HOME;
    else process.env.KDEV_HOME = previousHome;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('boots on NAT, finds this boot lease, forwards on 127.0.0.1, and stops everything', async () => {
    const d = driver();
    await d.create(spec);
    const files = machineFiles('dev');
    const mac = vmnetMac('dev', (await readMachineRecord(files.record))!.createdAt);
    // An earlier boot's lease, still unexpired, for another address: it must not be taken.
    const bootpdMac = mac
      .split(':')
      .map((o) => parseInt(o, 16).toString(16))
      .join(':');
    const stale = Math.floor(Date.now() / 1000) + 3600;
    fs.writeFileSync(
      leases,
      `{\n\tname=dev\n\tip_address=127.0.0.3\n\thw_address=1,${bootpdMac}\n\tlease=0x${stale.toString(16)}\n}\n`,
    );
    setFake({ leaseIp: GUEST });

    await d.start(spec);
    const [argv] = argvLog();
    expect(argv).toContain(`virtio-net,nat,mac=${mac}`);
    expect(argv!.join(' ')).not.toMatch(/unixSocketPath|gvproxy/);
    const record = await readMachineRecord(files.record);
    expect(record?.runtime).toMatchObject({ network: 'vmnet', guestIp: GUEST });
    expect(record?.runtime?.processes.map((p) => p.role)).toEqual(['hypervisor', 'forwarder']);
    expect(await d.state()).toBe('Running');
    expect(await d.runtimeInfo()).toMatchObject({ ipDiscovery: 'dhcp-leases', guestIp: GUEST, problems: [] });
    expect(await d.endpoints()).toEqual([
      { name: 'ssh', host: '127.0.0.1', port: spec.forwards[0]!.hostPort, guestPort },
      { name: 'apiserver', host: '127.0.0.1', port: spec.forwards[1]!.hostPort, guestPort },
    ]);
    expect(await exchange(spec.forwards[0]!.hostPort, 'ssh?')).toBe('guest:ssh?');

    // A forward added while it runs (kdev service, addons), then removed.
    const [extra] = await freePorts(1);
    await expect(d.addForward({ name: 'svc-30080', guestPort, hostPort: extra! })).resolves.toMatchObject({
      host: '127.0.0.1',
      port: extra,
    });
    expect(await exchange(extra!, 'svc')).toBe('guest:svc');
    await d.removeForward('svc-30080');
    expect(await listening(extra!)).toBe(false);

    const pids = record!.runtime!.processes.map((p) => p.pid);
    await d.stop();
    expect(pids.map(pidAlive)).toEqual([false, false]);
    expect(await listening(spec.forwards[0]!.hostPort)).toBe(false);
    expect(await d.state()).toBe('Stopped');
    expect(await d.runtimeInfo()).not.toHaveProperty('problems');

    // Started again: the same MAC, and the lease this boot renewed.
    await d.start(spec);
    expect(argvLog()[1]).toContain(`virtio-net,nat,mac=${mac}`);
    expect(await exchange(spec.forwards[0]!.hostPort, 'again')).toBe('guest:again');
    // A forwarder that dies while the VM runs is reported, as status shows problems.
    const fwd = (await readMachineRecord(files.record))!.runtime!.processes.find(
      (p) => p.role === 'forwarder',
    )!;
    process.kill(fwd.pid, 'SIGKILL');
    await waitForExit(fwd.pid, 5000);
    expect((await d.runtimeInfo()).problems).toEqual([
      expect.stringMatching(/^the port forwarder is not running: restart the machine/),
    ]);
    // kdev start on the running machine brings it back, with the same VM.
    const vfkitPid = (await d.runtimeInfo()).pid;
    await d.start(spec);
    expect(await d.runtimeInfo()).toMatchObject({ pid: vfkitPid, problems: [] });
    expect(await exchange(spec.forwards[0]!.hostPort, 'back')).toBe('guest:back');
    // As if kdev was killed while it waited for the lease: no address, no forwarder recorded.
    const before = (await readMachineRecord(files.record))!;
    const fwd2 = before.runtime!.processes.find((p) => p.role === 'forwarder')!;
    process.kill(fwd2.pid, 'SIGKILL');
    await waitForExit(fwd2.pid, 5000);
    const { guestIp: _dropped, ...runtime } = before.runtime!;
    await writeMachineRecord(files.record, {
      ...before,
      runtime: { ...runtime, processes: runtime.processes.filter((p) => p.role !== 'forwarder') },
    });
    await d.start(spec);
    expect(await d.runtimeInfo()).toMatchObject({ pid: vfkitPid, guestIp: GUEST, problems: [] });
    expect(await exchange(spec.forwards[0]!.hostPort, 'found')).toBe('guest:found');
    await d.stop({ force: true });
    expect(await d.state()).toBe('Stopped');
  });

  it('fails in one line when no lease comes, leaving nothing running', async () => {
    const d = driver(1500);
    await d.stop({ force: true });
    await d.create(spec);
    setFake({});
    const err = await d.start(spec).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringMatching(/^the guest got no DHCP lease from macOS within 1.5 s/),
      hints: expect.arrayContaining([expect.stringMatching(/--network gvproxy/)]),
    });
    const record = await readMachineRecord(machineFiles('dev').record);
    expect(record?.runtime?.processes).toEqual([]);
    expect(await d.state()).toBe('Stopped');
    expect(await listening(spec.forwards[0]!.hostPort)).toBe(false);
  });
});
