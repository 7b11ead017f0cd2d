// Real qemu, no guest: `-machine none` gives a QMP server in a few milliseconds.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { QmpClient, QmpError, qmpExecute } from '../../../src/vm/qemu/qmp.js';

const qemu = (() => {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
if (!qemu) console.warn('skipping QMP tests: qemu-system-x86_64 is not installed');
const maybe = qemu ? describe : describe.skip;

async function waitFor(file: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`${file} did not appear`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

maybe('QmpClient against qemu -machine none', () => {
  let dir: string;
  let sock: string;
  let proc: ChildProcess;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-qmp-'));
    sock = path.join(dir, 'qmp.sock');
    proc = spawn(
      'qemu-system-x86_64',
      ['-machine', 'none', '-nodefaults', '-display', 'none', '-qmp', `unix:${sock},server=on,wait=off`],
      { stdio: 'ignore' },
    );
    await waitFor(sock);
  });

  afterEach(async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('negotiates capabilities and runs commands', async () => {
    const c = await QmpClient.connect(sock);
    try {
      const status = await c.execute<{ status: string; running: boolean }>('query-status');
      expect(typeof status.running).toBe('boolean');
      expect(typeof status.status).toBe('string');
      const version = await c.execute<{ qemu: { major: number } }>('query-version');
      expect(version.qemu.major).toBeGreaterThanOrEqual(5);
      const [a, b] = await Promise.all([c.execute('query-name'), c.execute('query-kvm')]);
      expect(a).toBeDefined();
      expect(b).toHaveProperty('enabled');
    } finally {
      c.close();
    }
  });

  it('rejects unknown commands with the QMP error class', async () => {
    const c = await QmpClient.connect(sock);
    try {
      const err = await c.execute('no-such-command').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(QmpError);
      expect((err as QmpError).errorClass).toBe('CommandNotFound');
      // The connection stays usable after an error.
      await expect(c.execute('query-status')).resolves.toBeDefined();
    } finally {
      c.close();
    }
  });

  it('sees the SHUTDOWN event and the connection close on quit', async () => {
    const c = await QmpClient.connect(sock);
    const exited = new Promise((r) => proc.once('exit', r));
    const shutdown = c.waitForEvent('SHUTDOWN', 5000);
    await c.execute('quit').catch(() => undefined);
    const ev = await shutdown;
    expect(ev.event).toBe('SHUTDOWN');
    expect(await c.waitClosed(5000)).toBe(true);
    await exited;
    await expect(c.execute('query-status')).rejects.toThrow(/closed/);
  });

  it('one-shot helper works, and a missing socket fails quickly with VM_ERROR', async () => {
    await expect(qmpExecute(sock, 'query-status')).resolves.toHaveProperty('status');
    const t0 = Date.now();
    await expect(QmpClient.connect(path.join(dir, 'nope.sock'))).rejects.toMatchObject({ code: 'VM_ERROR' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('times out waiting for a greeting that never comes', async () => {
    // A second client waits in the listen backlog while the first holds the monitor.
    const first = await QmpClient.connect(sock);
    try {
      const t0 = Date.now();
      await expect(QmpClient.connect(sock, { timeoutMs: 300 })).rejects.toThrow(/no greeting in 300 ms/);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      first.close();
    }
  });
});
