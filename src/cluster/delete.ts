// `kdev delete`: the machine (stopping it first), its folder and its profile; --all, --purge.
import fs from 'node:fs/promises';
import { pathExists } from '../lib/fs-atomic.js';
import { paths } from '../lib/paths.js';
import { driverFor } from './access.js';
import { listProfiles, lockProfile, removeProfile } from './profiles.js';
import { stopWatchHelper } from './watch-helper.js';

export interface DeleteResult {
  deleted: string[];
  purged: boolean;
}

async function deleteOne(name: string): Promise<boolean> {
  const release = await lockProfile(name, 30_000);
  try {
    const machineDir = paths.machineDir(name);
    // A folder without a profile (or the reverse) is the leftover of a killed start: delete it too.
    if (!(await pathExists(machineDir)) && !(await pathExists(paths.profileDir(name)))) return false;
    const { driver } = await driverFor(name);
    // remove() stops (forcefully) before deleting, so no hypervisor process outlives its disks.
    await stopWatchHelper(name);
    await driver.remove();
    await fs.rm(machineDir, { recursive: true, force: true });
    await removeProfile(name);
    return true;
  } finally {
    await release();
  }
}

export async function deleteMachines(opts: {
  names: string[];
  all?: boolean;
  purge?: boolean;
}): Promise<DeleteResult> {
  let names = opts.names;
  if (opts.all) {
    const fromProfiles = (await listProfiles()).map((e) => e.name);
    const fromMachines = await fs.readdir(paths.machinesDir()).catch(() => [] as string[]);
    names = [...new Set([...fromProfiles, ...fromMachines])].sort();
  }
  const deleted: string[] = [];
  for (const name of names) if (await deleteOne(name)) deleted.push(name);
  if (opts.purge) await fs.rm(paths.home(), { recursive: true, force: true });
  return { deleted, purged: opts.purge === true };
}
