// The data disk: everything the guest keeps across restarts. Created once, never recreated.
// qcow2 through qemu-img for QEMU; a sparse raw file (no tool needed) for vfkit.
import fs from 'node:fs/promises';
import type { CommandRunner } from '../../lib/exec.js';
import { pathExists } from '../../lib/fs-atomic.js';
import type { DiskFormat } from '../driver.js';

/** Creates the disk at file unless it exists; returns whether it was created. */
export async function ensureDataDisk(
  runner: CommandRunner,
  file: string,
  format: DiskFormat,
  sizeMiB: number,
): Promise<boolean> {
  if (await pathExists(file)) return false;
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.rm(tmp, { force: true });
  try {
    if (format === 'qcow2') {
      await runner.run('qemu-img', ['create', '-q', '-f', 'qcow2', tmp, `${sizeMiB}M`]);
    } else {
      const fh = await fs.open(tmp, 'wx', 0o600);
      try {
        await fh.truncate(sizeMiB * 1024 * 1024); // a hole: no block is allocated
      } finally {
        await fh.close();
      }
    }
    await fs.chmod(tmp, 0o600);
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  return true;
}
