import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { acquireLock, withLock } from '../../../src/lib/lock.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';

const home = useTempKdevHome();

describe('lock', () => {
  test('a second holder waits, then gets the lock when the first releases', async () => {
    const file = path.join(home.dir(), 'a.lock');
    const release = await acquireLock(file);
    const order: string[] = [];
    const second = withLock(file, { timeoutMs: 5000, pollMs: 10 }, async () => {
      order.push('second');
    });
    await new Promise((r) => setTimeout(r, 50));
    order.push('first-done');
    await release();
    await second;
    expect(order).toEqual(['first-done', 'second']);
  });

  test('refuses with LOCKED when the holder is alive and the timeout passes', async () => {
    const file = path.join(home.dir(), 'b.lock');
    const release = await acquireLock(file);
    await expect(acquireLock(file, { timeoutMs: 0, what: 'profile "x"' })).rejects.toMatchObject({
      code: 'LOCKED',
      message: expect.stringContaining('profile "x" is busy'),
    });
    await release();
  });

  test('a crashed holder (dead pid) cannot wedge the lock', async () => {
    const file = path.join(home.dir(), 'c.lock');
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = await new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid ?? 0)));
    await fs.writeFile(
      file,
      JSON.stringify({ pid: deadPid, host: os.hostname(), since: new Date().toISOString() }),
    );
    const release = await acquireLock(file, { timeoutMs: 0 });
    const holder = JSON.parse(await fs.readFile(file, 'utf8')) as { pid: number };
    expect(holder.pid).toBe(process.pid);
    await release();
    await expect(fs.access(file)).rejects.toThrow();
  });
});
