// 20 processes each add 1 to a counter file under withLock: any two holders at once lose an update.
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../../helpers/cli.js';

const LOCK_MODULE = path.join(REPO_ROOT, 'dist', 'lib', 'lock.js');
const PROCESSES = 20;
const ROUNDS = 10;

// Read, yield to the event loop (so a second holder would interleave), write back.
const worker = `
import fs from 'node:fs/promises';
const { withLock } = await import(process.argv[1]);
const [counter, lock] = [process.argv[2], process.argv[3]];
await withLock(lock, { timeoutMs: 120000, pollMs: 5 }, async () => {
  const n = Number(await fs.readFile(counter, 'utf8'));
  await new Promise((r) => setTimeout(r, 2));
  await fs.writeFile(counter, String(n + 1));
});
`;

function runWorker(counter: string, lock: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', worker, LOCK_MODULE, counter, lock],
      { env: { ...process.env, NODE_OPTIONS: '' } },
      (err, _stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve()),
    );
  });
}

describe('withLock across processes (needs npm run build)', () => {
  let dir = '';
  beforeAll(async () => {
    await fs.access(LOCK_MODULE);
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kdev-lock-counter-'));
  });
  afterAll(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  test(`${PROCESSES} processes each add 1, ${ROUNDS} rounds: always ${PROCESSES}`, async () => {
    const results: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const counter = path.join(dir, `counter-${round}`);
      await fs.writeFile(counter, '0');
      const lock = path.join(dir, 'locks', 'counter.lock');
      await Promise.all(Array.from({ length: PROCESSES }, () => runWorker(counter, lock)));
      results.push(Number(await fs.readFile(counter, 'utf8')));
    }
    expect(results).toEqual(Array.from({ length: ROUNDS }, () => PROCESSES));
  }, 600_000);
});
