import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { acquireLock, withLock } from '../../../src/lib/lock.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';

const home = useTempKdevHome();

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  return new Promise<number>((resolve) => child.on('exit', () => resolve(child.pid ?? 0)));
}

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
      message: `profile "x" is busy (held by pid ${process.pid})`,
    });
    await release();
  });

  test('a crashed holder (no heartbeat, dead pid) cannot wedge the lock', async () => {
    const file = path.join(home.dir(), 'c.lock');
    await fs.mkdir(file);
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(file, old, old);
    await fs.writeFile(
      `${file}.holder`,
      JSON.stringify({ pid: await deadPid(), host: os.hostname(), since: old.toISOString() }),
    );
    const release = await acquireLock(file, { timeoutMs: 0 });
    const holder = JSON.parse(await fs.readFile(`${file}.holder`, 'utf8')) as { pid: number };
    expect(holder.pid).toBe(process.pid);
    await release();
    await expect(fs.access(file)).rejects.toThrow();
    await expect(fs.access(`${file}.holder`)).rejects.toThrow();
  });

  test('a holder killed with -9 is waited out even with timeout 0, then broken', async () => {
    const file = path.join(home.dir(), 'd.lock');
    // A real holder in another process, heartbeating, then killed without any chance to clean up.
    const lockModule = path.resolve('node_modules/proper-lockfile/index.js');
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const l = require(${JSON.stringify(lockModule)});
         const fs = require('node:fs'); const os = require('node:os');
         l.lock(${JSON.stringify(file)}, { lockfilePath: ${JSON.stringify(file)}, realpath: false, stale: 2000, update: 1000 })
           .then(() => { fs.writeFileSync(${JSON.stringify(`${file}.holder`)}, JSON.stringify({ pid: process.pid, host: os.hostname() }));
                        console.log('held'); setInterval(() => {}, 1000); });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
    await expect(acquireLock(file, { timeoutMs: 0, staleMs: 2000 })).rejects.toMatchObject({
      code: 'LOCKED',
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const release = await acquireLock(file, { timeoutMs: 0, staleMs: 2000 });
    await release();
  });

  test('a lock released normally is never broken by a waiter that saw the old holder', async () => {
    // The old bug: a waiter read holder A, A released, B took the lock, the waiter saw A dead and
    // moved B's fresh lock aside. Here many waiters race over a short critical section in-process.
    const file = path.join(home.dir(), 'e.lock');
    let inside = 0;
    let maxInside = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withLock(file, { timeoutMs: 30_000, pollMs: 5 }, async () => {
          inside += 1;
          maxInside = Math.max(maxInside, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside -= 1;
        }),
      ),
    );
    expect(maxInside).toBe(1);
  });

  test('a stale lock file in the old format (a plain file) is replaced', async () => {
    const file = path.join(home.dir(), 'f.lock');
    await fs.writeFile(file, JSON.stringify({ pid: await deadPid(), host: os.hostname() }));
    const old = new Date(Date.now() - 60_000);
    await fs.utimes(file, old, old);
    const release = await acquireLock(file, { timeoutMs: 0 });
    expect((await fs.stat(file)).isDirectory()).toBe(true);
    await release();
  });
});
