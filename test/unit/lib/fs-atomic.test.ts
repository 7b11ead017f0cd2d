import fs from 'node:fs/promises';
import path from 'node:path';
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
});
