import fs from 'node:fs/promises';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ensurePrivateDir, writeFileAtomic } from '../../../src/lib/fs-atomic.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';

const home = useTempKdevHome();

describe('atomic files', () => {
  test('writes with the given mode and leaves no temp files', async () => {
    const file = path.join(home.dir(), 'sub', 'x.json');
    await writeFileAtomic(file, 'one');
    await writeFileAtomic(file, 'two');
    expect(await fs.readFile(file, 'utf8')).toBe('two');
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    expect(await fs.readdir(path.dirname(file))).toEqual(['x.json']);
  });

  test('private dirs are 0700 whatever the umask', async () => {
    const dir = path.join(home.dir(), 'p');
    const old = process.umask(0o022);
    try {
      await ensurePrivateDir(dir);
    } finally {
      process.umask(old);
    }
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
  });

  test('a folder that already existed keeps its mode', async () => {
    const dir = path.join(home.dir(), 'users-own');
    await fs.mkdir(dir, { mode: 0o755 });
    await fs.chmod(dir, 0o755);
    await ensurePrivateDir(dir);
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o755);
  });

  test('a write that fails leaves no temp file behind', async () => {
    // The target is a non-empty folder, so the final rename fails after the temp file was written.
    const file = path.join(home.dir(), 'target');
    await fs.mkdir(path.join(file, 'inside'), { recursive: true });
    await expect(writeFileAtomic(file, 'data')).rejects.toThrow();
    expect((await fs.readdir(home.dir())).sort()).toEqual(['target']);
  });

  test("a dead writer's temp file is cleaned by the next write; a live writer's is kept", async () => {
    const file = path.join(home.dir(), 'config.json');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    }).stdout;
    const stale = `.config.json.${dead}.abcd1234.tmp`;
    const live = `.config.json.${process.ppid}.abcd1234.tmp`;
    await fs.writeFile(path.join(home.dir(), stale), 'half');
    await fs.writeFile(path.join(home.dir(), live), 'in progress');
    await writeFileAtomic(file, '{}');
    expect((await fs.readdir(home.dir())).sort()).toEqual([live, 'config.json'].sort());
  });
});
