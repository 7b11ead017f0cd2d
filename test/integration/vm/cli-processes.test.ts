// `kdev start` through the built CLI with the fake guest: --verbose/--log-file show the work, the
// qemu it starts holds none of the CLI's descriptors, and a start killed midway leaves a qemu
// that `kdev delete` still finds and ends.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive } from '../../../src/lib/process.js';
import { KDEV_BIN, runKdev } from '../../helpers/cli.js';
import { writeFakeGuest } from './fake-guest.js';

function have(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const ready =
  process.platform === 'linux' && process.arch === 'x64' && have('qemu-system-x86_64') && have('qemu-img');
if (!ready)
  console.warn('skipping CLI process tests: needs Linux x86_64 with qemu-system-x86_64 and qemu-img');

const fdLinks = (pid: number) =>
  fs.readdirSync(`/proc/${pid}/fd`).flatMap((fd) => {
    try {
      return [fs.readlinkSync(`/proc/${pid}/fd/${fd}`)];
    } catch {
      return [];
    }
  });

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

(ready ? describe : describe.skip)('kdev start/delete through the CLI (fake guest)', () => {
  let home: string;
  beforeAll(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-cli-proc-'));
  });
  afterAll(async () => {
    await runKdev(['delete', '--all'], { KDEV_HOME: home });
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('logs the accelerator choice and qemu argv; qemu inherits no descriptor; delete ends it', async () => {
    const image = path.join(home, 'image');
    writeFakeGuest(image);
    fs.writeFileSync(path.join(image, 'cmdline'), 'console=ttyS0 panic=-1\n');
    const logFile = path.join(home, 'kdev.log');
    const env = { ...process.env, NODE_OPTIONS: '', KDEV_HOME: home, KDEV_QEMU_ACCEL: '' };
    const args = ['start', '--no-kubernetes', '--iso-url', image, '--memory', '1g', '--cpus', '1'];
    args.push('--disk-size', '2g', '--qemu-accel', 'tcg', '--verbose', '--log-file', logFile);
    // An extra socket at fd 250, as a test runner or a shell may leave open without close-on-exec
    // (node marks low descriptors close-on-exec at start-up, not that one).
    const extra = 250;
    const stdio = ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(extra - 3).fill('ignore'), 'pipe'];
    const cli = spawn(process.execPath, [KDEV_BIN, ...args], { env, stdio: stdio as 'pipe'[] });
    let qemuPid: number;
    try {
      const cliPipes = [1, 2, extra].map((fd) => fs.readlinkSync(`/proc/${cli.pid}/fd/${fd}`));
      expect(cliPipes.every((l) => /^(pipe|socket):/.test(l))).toBe(true);
      qemuPid = await waitFor('qemu to start', () => {
        const log = fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '';
        const m = /started hypervisor \(pid (\d+)/.exec(log);
        return m ? Number(m[1]) : undefined;
      });
      const log = fs.readFileSync(logFile, 'utf8');
      expect(log).toMatch(/DEBUG qemu accelerator: tcg \(tcg requested by --qemu-accel\)/);
      expect(log).toMatch(
        /DEBUG started hypervisor \(pid \d+, log .*hypervisor\.log\): qemu-system-x86_64 .*-accel tcg .*-pidfile \S+hypervisor\.pid/,
      );
      const qemuFds = fdLinks(qemuPid);
      for (const pipe of cliPipes) expect(qemuFds).not.toContain(pipe);
    } finally {
      // A start killed midway: its qemu is already in the machine record.
      cli.kill('SIGKILL');
    }
    expect(pidAlive(qemuPid)).toBe(true);
    const del = await runKdev(['delete', '--verbose'], { KDEV_HOME: home });
    expect(del.exitCode).toBe(0);
    expect(pidAlive(qemuPid)).toBe(false);
    expect(fs.existsSync(path.join(home, 'machines', 'kdev'))).toBe(false);
  });
});
