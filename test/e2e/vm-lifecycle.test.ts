// The machine's whole life under real QEMU (TCG here): start --no-kubernetes, ssh, persistence
// across stop/start, recovery from kill -9, delete leaving nothing behind, and bad input.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pidAlive as alive } from '../../src/lib/process.js';
import { collect, runKdev, spawnKdev, type CliResult } from '../helpers/cli.js';
import { ensureGuestImage, vmSkipReason } from './helpers/image.js';

const VM_TEST_MS = 15 * 60_000;
const skip = vmSkipReason();
if (skip) console.log(`skipping VM lifecycle e2e: ${skip}`);
const describeVm = skip ? describe.skip : describe;

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-e2e-'));
const env = { KDEV_HOME: home, KDEV_QEMU_ACCEL: process.env.KDEV_QEMU_ACCEL ?? 'tcg' };
const P = 'e2e';
let image = '';
const kdev = (args: string[], timeoutMs = 600_000) => runKdev(args, env, timeoutMs);
const startArgs = () => [
  'start',
  '-p',
  P,
  '--no-kubernetes',
  '--memory',
  '1g',
  '--cpus',
  '2',
  '--disk-size',
  '4g',
  '--iso-url',
  image,
];

function pidOf(): number | undefined {
  try {
    return (
      Number(fs.readFileSync(path.join(home, 'machines', P, 'hypervisor.pid'), 'utf8').trim()) || undefined
    );
  } catch {
    return undefined;
  }
}
/** Starts the profile again and checks the file written under /var/lib/kdev is still there. */
async function startAndFindMarker(): Promise<void> {
  expectOk(await kdev(startArgs()));
  expect((await kdev(['ssh', '-p', P, '--', 'cat', '/var/lib/kdev/marker'])).stdout.trim()).toBe('kept');
}
function expectOk(r: CliResult): void {
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

describeVm('VM lifecycle (real QEMU)', () => {
  beforeAll(() => {
    image = ensureGuestImage();
  }, 30 * 60_000);

  afterAll(async () => {
    await kdev(['delete', '--all']);
    const pid = pidOf();
    if (pid && alive(pid)) process.kill(pid, 'SIGKILL');
    fs.rmSync(home, { recursive: true, force: true });
  }, VM_TEST_MS);

  test.each([
    [['--memory', '0'], /memory/],
    [['--cpus', '-1'], /cpus/],
    [['--driver', 'virtualbox'], /driver/],
    [['-p', 'a/b'], /profile name/],
    [['--qemu-accel', 'warp'], /qemu-accel/],
  ])(
    'start %j is refused before anything is written',
    async (extra, pattern) => {
      const r = await kdev(['start', '--no-kubernetes', ...extra]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(pattern);
      expect(fs.existsSync(path.join(home, 'profiles'))).toBe(false);
      expect(fs.existsSync(path.join(home, 'machines'))).toBe(false);
    },
    VM_TEST_MS,
  );

  test(
    'start boots the machine; a concurrent start of the same profile is refused',
    async () => {
      const first = collect(spawnKdev([...startArgs(), '-o', 'json'], env));
      // Wait until the first start holds the profile lock, then try a second one.
      const lock = path.join(home, 'locks', `${P}.lock`);
      for (let i = 0; i < 200 && !fs.existsSync(lock); i++) await new Promise((r) => setTimeout(r, 50));
      const second = await kdev(startArgs());
      expect(second.exitCode).toBe(4);
      expect(second.stderr).toMatch(/busy/);

      const r = await first;
      expectOk(r);
      const events = r.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      const steps = events.filter((e) => e.type === 'step');
      expect(steps[0]).toMatchObject({ step: 1, total: steps.length, name: expect.any(String) });
      const result = events.at(-1)!;
      expect(result).toMatchObject({ type: 'result', profile: P, state: 'Running', kubernetes: false });
      expect(result.ssh).toMatchObject({ host: '127.0.0.1' });

      const again = await kdev(startArgs());
      expectOk(again);
      expect(again.stdout).toMatch(/already running/);
    },
    VM_TEST_MS,
  );

  test(
    'ssh runs commands, passes stdin and returns the remote exit code',
    async () => {
      expect((await kdev(['ssh', '-p', P, '--', 'false'])).exitCode).toBe(1);
      const uname = await kdev(['ssh', '-p', P, '--', 'uname', '-a']);
      expectOk(uname);
      expect(uname.stdout).toMatch(/Linux/);
      // Without `--`, plain words are the remote command; the seed named the guest after the profile.
      expect((await kdev(['ssh', '-p', P, 'hostname'])).stdout.trim()).toBe(P);
      const quoted = await kdev(['ssh', '-p', P, '--', 'echo', 'a  b', '$HOME', "it's"]);
      expect(quoted.stdout.trim()).toBe("a  b $HOME it's");
      const tr = spawnKdev(['ssh', '-p', P, '--', 'tr', 'a-z', 'A-Z'], env);
      tr.stdin.end('hello stdin\n');
      expect((await collect(tr)).stdout).toBe('HELLO STDIN\n');
      expect((await kdev(['ip', '-p', P])).stdout.trim()).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      const status = await kdev(['status', '-p', P, '-o', 'json']);
      expect(status.exitCode).toBe(0);
      expect(JSON.parse(status.stdout)).toMatchObject({ Name: P, Host: 'Running' });
      expect((await kdev(['logs', '-p', P, '--source', 'console'])).stdout).toMatch(/KDEV_READY/);
    },
    VM_TEST_MS,
  );

  test(
    'a file under /var/lib/kdev survives stop and start',
    async () => {
      expectOk(await kdev(['ssh', '-p', P, '--', 'sudo', 'sh', '-c', 'echo kept > /var/lib/kdev/marker']));
      expectOk(await kdev(['stop', '-p', P]));
      const stopped = await kdev(['status', '-p', P, '-o', 'json']);
      expect(JSON.parse(stopped.stdout)).toMatchObject({ Host: 'Stopped' });
      expect(stopped.exitCode & 1).toBe(1);
      await startAndFindMarker();
    },
    VM_TEST_MS,
  );

  test(
    'after kill -9 of qemu, status says Stopped within 2 s and start recovers',
    async () => {
      const pid = pidOf();
      expect(pid).toBeDefined();
      process.kill(pid!, 'SIGKILL');
      const t0 = Date.now();
      let host = '';
      while (Date.now() - t0 < 2000) {
        host = (JSON.parse((await kdev(['status', '-p', P, '-o', 'json'])).stdout) as { Host: string }).Host;
        if (host === 'Stopped') break;
      }
      expect(host).toBe('Stopped');
      await startAndFindMarker();
    },
    VM_TEST_MS,
  );

  test(
    'a start killed mid-boot leaves nothing wedged: the next start takes over and finishes',
    async () => {
      expectOk(await kdev(['stop', '-p', P, '--force']));
      const child = spawnKdev([...startArgs(), '-o', 'json'], env);
      await new Promise<void>((resolve, reject) => {
        let buf = '';
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          if (buf.includes('"name":"Wait for the guest"')) {
            child.kill('SIGKILL');
            resolve();
          }
        });
        child.on('exit', () => reject(new Error(`start ended before it could be killed: ${buf}`)));
      });
      // Its lock names a dead pid now; the next start must break it, not wait or refuse.
      expect(fs.existsSync(path.join(home, 'locks', `${P}.lock`))).toBe(true);
      await startAndFindMarker();
    },
    VM_TEST_MS,
  );

  test(
    'delete leaves no process, no machine folder and no profile',
    async () => {
      const pid = pidOf();
      expectOk(await kdev(['delete', '-p', P]));
      expect(pid !== undefined && alive(pid)).toBe(false);
      expect(fs.existsSync(path.join(home, 'machines', P))).toBe(false);
      expect(fs.existsSync(path.join(home, 'profiles', P))).toBe(false);
      const status = await kdev(['status', '-p', P, '-o', 'json']);
      expect(JSON.parse(status.stdout)).toMatchObject({ Host: 'Nonexistent' });
      expect(status.exitCode).toBe(7);
    },
    VM_TEST_MS,
  );
});
