import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CommandRunner } from '../../../../src/lib/exec.js';
import { ensureDataDisk } from '../../../../src/vm/machine/data-disk.js';

const noRunner: CommandRunner = {
  run: async () => {
    throw new Error('a raw disk needs no tool');
  },
};

describe('ensureDataDisk', () => {
  it('makes a sparse raw disk once and never recreates it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-disk-'));
    try {
      const file = path.join(dir, 'data.img');
      expect(await ensureDataDisk(noRunner, file, 'raw', 2048)).toBe(true);
      const st = fs.statSync(file);
      expect(st.size).toBe(2048 * 1024 * 1024);
      expect(st.blocks * 512).toBeLessThan(1024 * 1024); // a hole, not 2 GiB of zeros
      expect(st.mode & 0o777).toBe(0o600);
      fs.appendFileSync(file, 'x');
      expect(await ensureDataDisk(noRunner, file, 'raw', 4096)).toBe(false);
      expect(fs.statSync(file).size).toBe(2048 * 1024 * 1024 + 1);
      expect(fs.readdirSync(dir)).toEqual(['data.img']);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
