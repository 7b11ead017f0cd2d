import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KdevError } from '../../../src/lib/errors.js';
import { silenceFromEnv, waitForReady } from '../../../src/vm/boot-watch.js';

let dir: string;
let consoleLog: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-boot-'));
  consoleLog = path.join(dir, 'console.log');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const alive = async () => true;
const later = (ms: number, fn: () => void) => setTimeout(fn, ms);

async function failure(p: Promise<unknown>): Promise<KdevError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof KdevError)) throw new Error(`expected a KdevError, got ${String(err)}`);
  return err;
}

describe('waitForReady', () => {
  it('resolves when KDEV_READY appears, even split across writes', async () => {
    fs.writeFileSync(consoleLog, '[    0.000000] Linux version 6.1\n');
    later(50, () => fs.appendFileSync(consoleLog, 'Starting sshd\nKDEV_RE'));
    later(150, () => fs.appendFileSync(consoleLog, 'ADY\n'));
    const t0 = Date.now();
    await waitForReady(consoleLog, { timeoutMs: 5000, isAlive: alive, pollMs: 20 });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('waits for a console file that does not exist yet', async () => {
    later(50, () => fs.writeFileSync(consoleLog, 'KDEV_READY\n'));
    await waitForReady(consoleLog, { timeoutMs: 5000, isAlive: alive, pollMs: 20 });
  });

  it('fails fast on "KVM internal error" with a hint to use tcg', async () => {
    fs.writeFileSync(consoleLog, 'booting\n');
    const hv = path.join(dir, 'hypervisor.log');
    later(50, () => fs.writeFileSync(hv, 'KVM internal error. Suberror: 1\nemulation failure\n'));
    const err = await failure(
      waitForReady(consoleLog, { timeoutMs: 10_000, isAlive: alive, pollMs: 20, hypervisorLog: hv }),
    );
    expect(err.code).toBe('BOOT_FAILED');
    expect(err.hints.join('\n')).toMatch(/--qemu-accel tcg/);
    expect(err.hints.join('\n')).toMatch(/emulation failure/);
  });

  it('fails when the process dies, showing the last console lines', async () => {
    fs.writeFileSync(consoleLog, Array.from({ length: 40 }, (_, i) => `line ${i}`).join('\n') + '\n');
    let up = true;
    later(50, () => {
      fs.appendFileSync(consoleLog, 'Kernel oops: the end\n');
      up = false;
    });
    const err = await failure(
      waitForReady(consoleLog, { timeoutMs: 10_000, isAlive: async () => up, pollMs: 20 }),
    );
    expect(err.code).toBe('BOOT_FAILED');
    expect(err.message).toMatch(/exited/);
    const hint = err.hints.find((h) => h.startsWith('Last console lines'))!;
    expect(hint).toMatch(/Kernel oops: the end/);
    expect(hint).toMatch(/line 39/);
    expect(hint).not.toMatch(/line 5\n/);
    expect(err.hints.join('\n')).toMatch(/kdev logs/);
  });

  it('reports a kernel panic', async () => {
    fs.writeFileSync(consoleLog, 'Kernel panic - not syncing: VFS: Unable to mount root fs\n');
    const err = await failure(waitForReady(consoleLog, { timeoutMs: 10_000, isAlive: alive, pollMs: 20 }));
    expect(err.message).toMatch(/panicked/);
  });

  it('fails when the console stays empty, naming the accelerator', async () => {
    fs.writeFileSync(consoleLog, '');
    const t0 = Date.now();
    const err = await failure(
      waitForReady(consoleLog, {
        timeoutMs: 10_000,
        isAlive: alive,
        pollMs: 20,
        silenceMs: 200,
        accel: 'kvm',
      }),
    );
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err.code).toBe('BOOT_FAILED');
    expect(err.message).toMatch(/printed nothing.*kvm/);
    expect(err.hints.join('\n')).toMatch(/--qemu-accel tcg/);
    expect(err.hints.join('\n')).toMatch(/kdev logs/);
  });

  it('does not call a quiet-but-started console silent; times out instead', async () => {
    fs.writeFileSync(consoleLog, 'Loading initramfs\n');
    const err = await failure(
      waitForReady(consoleLog, { timeoutMs: 300, isAlive: alive, pollMs: 20, silenceMs: 100, accel: 'tcg' }),
    );
    expect(err.code).toBe('TIMEOUT');
    expect(err.hints.join('\n')).toMatch(/Loading initramfs/);
  });

  it('takes the silence limit from KDEV_BOOT_SILENCE_SECONDS', () => {
    expect(silenceFromEnv({})).toBe(60_000);
    expect(silenceFromEnv({ KDEV_BOOT_SILENCE_SECONDS: '5' })).toBe(5000);
    expect(silenceFromEnv({ KDEV_BOOT_SILENCE_SECONDS: 'soon' })).toBe(60_000);
  });
});
