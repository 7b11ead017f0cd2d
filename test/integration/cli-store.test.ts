// What kdev may touch in KDEV_HOME: only its own files and folders, through the real built CLI.
import fs from 'node:fs/promises';
import path from 'node:path';
import { runKdev } from '../helpers/cli.js';
import { snapshotTree, useTempKdevHome } from '../helpers/temp-home.js';

const home = useTempKdevHome();
const kdev = (args: string[]) => runKdev(args, { KDEV_HOME: home.dir() });
const exists = (p: string) =>
  fs.access(path.join(home.dir(), p)).then(
    () => true,
    () => false,
  );

/** A profile folder and a machine folder as a killed start could leave them. */
async function leftover(name: string): Promise<void> {
  await fs.mkdir(path.join(home.dir(), 'profiles', name), { recursive: true });
  await fs.writeFile(path.join(home.dir(), 'profiles', name, 'config.json'), '{"broken": ');
  await fs.mkdir(path.join(home.dir(), 'machines', name), { recursive: true });
  await fs.writeFile(path.join(home.dir(), 'machines', name, 'serial.log'), 'boot\n');
}

describe('kdev touches only what is its own (real process)', () => {
  test('delete --all --purge keeps the other files of a shared KDEV_HOME', async () => {
    await fs.writeFile(path.join(home.dir(), 'notes.txt'), 'mine\n');
    await fs.mkdir(path.join(home.dir(), 'projects'));
    await fs.writeFile(path.join(home.dir(), 'projects', 'a.txt'), 'also mine\n');
    expect((await kdev(['config', 'set', 'cpus', '2'])).exitCode).toBe(0);
    await leftover('demo');
    await fs.mkdir(path.join(home.dir(), 'cache', 'images'), { recursive: true });
    await fs.mkdir(path.join(home.dir(), 'certs'));

    const r = await kdev(['delete', '--all', '--purge']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await snapshotTree(home.dir())).toEqual({
      'notes.txt': 'mine\n',
      'projects/a.txt': 'also mine\n',
    });
    expect((await fs.readdir(home.dir())).sort()).toEqual(['notes.txt', 'projects']);
  });

  test('a KDEV_HOME that already existed keeps its mode; folders kdev makes are 0700', async () => {
    await fs.chmod(home.dir(), 0o755);
    expect((await kdev(['config', 'set', 'cpus', '2'])).exitCode).toBe(0);
    expect((await fs.stat(home.dir())).mode & 0o777).toBe(0o755);
    expect((await fs.stat(path.join(home.dir(), 'locks'))).mode & 0o777).toBe(0o700);
  });

  test('delete --all removes a folder with an invalid profile name instead of aborting', async () => {
    await leftover('Not_Valid');
    await leftover('good');
    const r = await kdev(['delete', '--all']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/deleted Not_Valid, good/);
    expect(await fs.readdir(path.join(home.dir(), 'profiles'))).toEqual([]);
    expect(await fs.readdir(path.join(home.dir(), 'machines'))).toEqual([]);
  });

  test('an "Invalid" profile from profile list can be deleted by name', async () => {
    await leftover('Not_Valid');
    const list = await kdev(['profile', 'list']);
    expect(list.stdout).toMatch(/Not_Valid.*Invalid/);
    const r = await kdev(['delete', '-p', 'Not_Valid']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(await exists('profiles/Not_Valid')).toBe(false);
    expect(await exists('machines/Not_Valid')).toBe(false);
  });

  test.each([['..'], ['../outside'], ['.'], ['a/../../outside'], ['Missing_Name'], ['']])(
    'delete -p %j is refused and touches nothing',
    async (name) => {
      await leftover('good');
      await fs.mkdir(path.join(home.dir(), 'outside'));
      await fs.writeFile(path.join(home.dir(), 'outside', 'keep'), 'x');
      const before = await snapshotTree(home.dir());
      const r = await kdev(['delete', '-p', name]);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/^✖ invalid profile name/);
      expect(await snapshotTree(home.dir())).toEqual(before);
    },
  );
});
