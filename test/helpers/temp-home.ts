import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A fresh KDEV_HOME for one test file; restores the previous value afterwards. */
export function useTempKdevHome(): { dir: () => string } {
  let dir = '';
  const previous = process.env.KDEV_HOME;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kdev-test-'));
    process.env.KDEV_HOME = dir;
  });
  afterEach(async () => {
    if (previous === undefined) delete process.env.KDEV_HOME;
    else process.env.KDEV_HOME = previous;
    await fs.rm(dir, { recursive: true, force: true });
  });
  return { dir: () => dir };
}

/** Every file under dir with its content, to assert that a failed command changed nothing. */
export async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    let entries;
    try {
      entries = await fs.readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[path.relative(dir, p)] = await fs.readFile(p, 'utf8');
    }
  };
  await walk(dir);
  return out;
}
