import fs from 'node:fs/promises';
import { runKdev } from '../helpers/cli.js';
import { snapshotTree, useTempKdevHome } from '../helpers/temp-home.js';

const home = useTempKdevHome();
const kdev = (args: string[]) => runKdev(args, { KDEV_HOME: home.dir() });

describe('kdev CLI foundation (real process)', () => {
  test('--help lists the commands', async () => {
    const r = await kdev(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/version/);
    expect(r.stdout).toMatch(/config/);
    expect(r.stdout).not.toMatch(/^\s+base\b/m);
  });

  test('version -o json is valid JSON naming the hypervisors', async () => {
    const r = await kdev(['version', '-o', 'json']);
    expect(r.exitCode).toBe(0);
    const v = JSON.parse(r.stdout) as { kdev: string; node: string; hypervisors: { name: string }[] };
    expect(v.kdev).toMatch(/^\d+\.\d+\.\d+/);
    expect(v.node).toBe(process.versions.node);
    expect(v.hypervisors.map((h) => h.name)).toEqual([
      'qemu-system-x86_64',
      'qemu-system-aarch64',
      'qemu-img',
      'vfkit',
    ]);
    const alias = await kdev(['version', '--json']);
    expect(JSON.parse(alias.stdout)).toEqual(v);
  });

  test('profile list on an empty store is not an error', async () => {
    const text = await kdev(['profile', 'list']);
    expect(text.exitCode).toBe(0);
    expect(text.stdout).toMatch(/No profiles/);
    const json = await kdev(['profile', 'list', '-o', 'json']);
    expect(JSON.parse(json.stdout)).toEqual({ profiles: [] });
  });

  test('config set/get/unset/view round-trip', async () => {
    expect((await kdev(['config', 'set', 'memory', '4096mb'])).exitCode).toBe(0);
    expect((await kdev(['config', 'set', 'cpus', '4'])).exitCode).toBe(0);
    expect((await kdev(['config', 'get', 'memory'])).stdout.trim()).toBe('4096');
    expect(JSON.parse((await kdev(['config', 'view', '-o', 'json'])).stdout)).toEqual({
      memory: 4096,
      cpus: 4,
    });
    expect((await kdev(['config', 'unset', 'cpus'])).exitCode).toBe(0);
    const missing = await kdev(['config', 'get', 'cpus']);
    expect(missing.exitCode).toBe(3);
    const stat = await fs.stat(`${home.dir()}/config.json`);
    expect(stat.mode & 0o777).toBe(0o600);
  });

  test.each([
    [['config', 'set', 'memory', 'abc']],
    [['config', 'set', 'cpus', '0']],
    [['config', 'set', 'colour', 'blue']],
    [['config', 'set', 'driver', 'virtualbox']],
    [['profile', 'list', '-p', '../x']],
    [['profile', 'list', '-p', 'Foo']],
    [['profile', 'list', '-p', '']],
    [['config', 'set', 'cpus', '2', '-p', 'a/b']],
    [['version', '-o', 'yaml']],
  ])('bad input %j: one-line error, non-zero exit, no file changes', async (args) => {
    await kdev(['config', 'set', 'memory', '2g']);
    const before = await snapshotTree(home.dir());
    const r = await kdev(args);
    expect(r.exitCode).not.toBe(0);
    const lines = r.stderr.trim().split('\n');
    expect(lines[0]).toMatch(/^✖ /);
    expect(lines.slice(1).every((l) => l.startsWith('  → '))).toBe(true);
    expect(r.stderr).not.toMatch(/\s at /);
    expect(await snapshotTree(home.dir())).toEqual(before);
  });

  test('errors under -o json are one JSON object on stdout', async () => {
    const r = await kdev(['config', 'set', 'cpus', 'zero', '-o', 'json']);
    expect(r.exitCode).toBe(2);
    expect(JSON.parse(r.stdout)).toEqual({
      error: expect.objectContaining({ code: 'BAD_CONFIG', exitCode: 2, hints: expect.any(Array) }),
    });
  });

  test('--verbose adds the stack trace', async () => {
    const r = await kdev(['config', 'set', 'cpus', '0', '--verbose']);
    expect(r.stderr).toMatch(/\s at /);
  });

  test('two concurrent config set calls with different keys keep both', async () => {
    for (let round = 0; round < 3; round++) {
      await Promise.all([
        kdev(['config', 'set', 'cpus', String(2 + round)]),
        kdev(['config', 'set', 'memory', `${2 + round}g`]),
      ]);
      const view = JSON.parse((await kdev(['config', 'view', '-o', 'json'])).stdout) as Record<
        string,
        number
      >;
      expect(view).toEqual({ cpus: 2 + round, memory: (2 + round) * 1024 });
    }
  }, 60_000);
});
