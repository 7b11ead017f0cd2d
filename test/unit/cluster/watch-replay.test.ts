import { jest } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Debouncer, GUEST_REPLAY_SCRIPT, isIgnored, toGuestPath } from '../../../src/cluster/watch-replay.js';

describe('isIgnored', () => {
  it.each([
    ['node_modules/x/index.js', true],
    ['a/node_modules', true],
    ['.git/objects/ab/cdef', true],
    ['.git/HEAD', false],
    ['src/objects/x', false],
    ['src/main.ts', false],
  ])('%s → %s', (rel, want) => expect(isIgnored(rel)).toBe(want));
});

describe('toGuestPath', () => {
  const roots = [
    { hostPath: '/home/me/src', guestPath: '/src' },
    { hostPath: '/home/me/docs', guestPath: '/w s/ü' },
  ];
  it.each([
    ['/home/me/src', '/src'],
    ['/home/me/src/a/b.txt', '/src/a/b.txt'],
    ['/home/me/docs/x y.md', '/w s/ü/x y.md'],
    ['/home/me/srcx/a', undefined],
    ['/etc/passwd', undefined],
  ])('%s → %s', (host, want) => expect(toGuestPath(host, roots)).toBe(want));
});

describe('Debouncer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('hands out one de-duplicated batch once changes stop', () => {
    const batches: string[][] = [];
    const d = new Debouncer((b) => batches.push(b), 100, 400);
    d.add('/a');
    jest.advanceTimersByTime(50);
    d.add('/b');
    d.add('/a');
    jest.advanceTimersByTime(99);
    expect(batches).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(batches).toEqual([['/a', '/b']]);
  });

  it('never holds a batch longer than maxWait while changes keep coming', () => {
    const batches: string[][] = [];
    const d = new Debouncer((b) => batches.push(b), 100, 400);
    for (let t = 0; t < 500; t += 50) {
      d.add(`/f${t}`);
      jest.advanceTimersByTime(50);
    }
    expect(batches.length).toBeGreaterThanOrEqual(1);
    expect(batches[0]!.length).toBeLessThanOrEqual(9);
  });
});

describe('GUEST_REPLAY_SCRIPT', () => {
  it("touches each NUL-separated path to its own times, odd names included, and wakes a vanished path's folder", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-replay-'));
    const odd = path.join(dir, "a b'$(touch pwned)\n.txt");
    fs.writeFileSync(odd, 'x');
    const old = new Date('2020-01-02T03:04:05Z');
    fs.utimesSync(odd, old, old);
    const r = spawnSync('bash', ['-c', GUEST_REPLAY_SCRIPT], {
      input: `${odd}\0${path.join(dir, 'gone.txt')}\0`,
      cwd: dir,
    });
    expect(r.status).toBe(0);
    expect(fs.statSync(odd).mtime.toISOString()).toBe(old.toISOString());
    expect(fs.existsSync(path.join(dir, 'pwned'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'gone.txt'))).toBe(false);
    fs.rmSync(dir, { recursive: true });
  });
});
