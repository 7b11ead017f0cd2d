// Bad input through the real built CLI: one clear line, the right exit code, nothing written.
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { runKdev } from '../helpers/cli.js';
import { useTempKdevHome } from '../helpers/temp-home.js';

const home = useTempKdevHome();
const kdev = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  runKdev(args, { KDEV_HOME: home.dir(), ...env });
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('✖'));
const count = (text: string, part: string) => text.split(part).length - 1;

describe('bad input is one clear line (real process)', () => {
  test('a size past 2^53 given to config set', async () => {
    const r = await kdev(['config', 'set', 'memory', '99999999999999999999']);
    expect(r.exitCode).toBe(2);
    expect(errorLines(r.stderr)).toEqual(['✖ memory 99999999999999999999 is above the maximum of 1TiB']);
    expect(r.stderr).not.toMatch(/[[{]/);
  });

  test('a number past 2^53 inside config.json', async () => {
    await fs.writeFile(path.join(home.dir(), 'config.json'), '{"cpus": 99999999999999999999}');
    const r = await kdev(['config', 'view']);
    expect(r.exitCode).toBe(2);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/config\.json: cpus: Too big/)]);
    expect(r.stderr).not.toMatch(/"code"|\[/);
  });

  test('1 EiB of memory is refused; the error is printed once and names --memory', async () => {
    const r = await kdev(['start', '--no-kubernetes', '--memory', '1099511627776g']);
    expect(r.exitCode).toBe(2);
    expect(count(r.stderr, 'is above the maximum of 1TiB')).toBe(1);
    expect(r.stderr).toContain('→ For example: kdev start --memory 4g');
    expect(r.stderr).not.toContain('config set');
    expect(await fs.readdir(home.dir())).toEqual([]);
  });

  test('--network vmnet on the qemu driver: one line naming the driver that has it, nothing written', async () => {
    const r = await kdev(['start', '--no-kubernetes', '--driver', 'qemu', '--network', 'vmnet']);
    expect(r.exitCode).toBe(2);
    expect(errorLines(r.stderr)).toEqual(['✖ unknown --network "vmnet" for the qemu driver']);
    expect(r.stderr).toMatch(/--driver vfkit/);
    expect(await fs.readdir(home.dir())).toEqual([]);
  });

  (process.platform === 'darwin' ? test.skip : test)(
    '--driver vfkit off macOS: one line at the host check, before any image is built, nothing written',
    async () => {
      const r = await kdev(['start', '--no-kubernetes', '--driver', 'vfkit']);
      expect(r.exitCode).not.toBe(0);
      expect(errorLines(r.stderr)).toEqual([
        `✖ the vfkit driver needs macOS (this host is ${process.platform})`,
      ]);
      expect(r.stderr).toMatch(/--driver qemu/);
      expect(r.stderr).not.toMatch(/guest image/i);
      expect(await fs.readdir(home.dir())).toEqual([]);
    },
  );

  test('a start that fails in a step prints its error once', async () => {
    const missing = path.join(home.dir(), 'no-such-image');
    const r = await kdev(['start', '--no-kubernetes', '--iso-url', missing]);
    expect(r.exitCode).toBe(3);
    expect(count(r.stderr, `guest image ${missing} does not exist`)).toBe(1);
    expect(errorLines(r.stderr)).toEqual([`✖ guest image ${missing} does not exist`]);
  });

  test('status, stop and delete of a missing profile write nothing', async () => {
    const status = await kdev(['status', '-p', 'ghost']);
    expect(status.exitCode).toBe(7); // minikube's bitmask: host, cluster and kubeconfig all missing
    const stop = await kdev(['stop', '-p', 'ghost']);
    expect(stop.exitCode).toBe(3);
    expect(errorLines(stop.stderr)).toEqual(['✖ profile "ghost" does not exist']);
    const del = await kdev(['delete', '-p', 'ghost']);
    expect(del.exitCode).toBe(0);
    expect(await fs.readdir(home.dir())).toEqual([]);
  });

  test('a failed download exits 9, not status 7, with one line', async () => {
    const dead = net.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', r));
    const port = (dead.address() as net.AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const r = await kdev([
      ...['start', '--no-kubernetes', '--iso-url', `http://127.0.0.1:${port}/img/`],
      ...['--iso-sha256', '0'.repeat(64)],
    ]);
    expect(r.exitCode).toBe(9);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/SHA256SUMS: ECONNREFUSED$/)]);
  });

  test.each([[['status']], [['config', 'view']], [['start', '--no-kubernetes']]])(
    'KDEV_HOME under /proc fails fast: %j',
    async (args) => {
      const r = await kdev(args, { KDEV_HOME: '/proc/self/kdev' });
      expect(r.exitCode).toBe(2);
      expect(errorLines(r.stderr)).toEqual(['✖ KDEV_HOME /proc/self/kdev is inside /proc']);
    },
  );
});
