// `kdev delete`: the machine (stopping it first), its folder and its profile; --all, --purge.
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathExists } from '../lib/fs-atomic.js';
import type { Logger } from '../lib/log.js';
import { isDefaultKdevHome, KDEV_HOME_ENTRIES, paths } from '../lib/paths.js';
import { isSafeFolderName, isValidProfileName, validateProfileName } from '../lib/profile-name.js';
import { driverFor } from './access.js';
import { kubeconfigPath, updateKubeconfig, withoutEntry } from './kubeconfig.js';
import { lockProfile, removeProfile } from './profiles.js';
import { stopWatchHelper } from './watch-helper.js';

export interface DeleteResult {
  deleted: string[];
  purged: boolean;
}

async function folderNames(dir: string): Promise<string[]> {
  return fs.readdir(dir).catch(() => [] as string[]);
}

async function deleteOne(name: string, logger?: Logger): Promise<boolean> {
  const exists = async () =>
    (await pathExists(paths.machineDir(name))) || (await pathExists(paths.profileDir(name)));
  // Nothing to delete is nothing to lock: a missing profile leaves the store untouched.
  if (!(await exists())) return false;
  const release = await lockProfile(name, 30_000);
  try {
    // A folder without a profile (or the reverse) is the leftover of a killed start: delete it too.
    if (!(await exists())) return false;
    const { driver, profile } = await driverFor(name, logger);
    // remove() stops (forcefully) before deleting, so no hypervisor process outlives its disks.
    await stopWatchHelper(name);
    await driver.remove();
    // The cluster's kubeconfig entries go with it (current-context too, when it was this one).
    if (profile?.kubernetes) await forgetContext(name, logger);
    await fs.rm(paths.machineDir(name), { recursive: true, force: true });
    await removeProfile(name);
    return true;
  } finally {
    await release();
  }
}

/** Removes the profile's kubeconfig entries; a broken kubeconfig must not block a delete. */
async function forgetContext(name: string, logger?: Logger): Promise<void> {
  const file = kubeconfigPath();
  if (!(await pathExists(file))) return;
  try {
    await updateKubeconfig(file, (doc) => withoutEntry(doc, name));
  } catch (err) {
    logger?.info(`! could not remove "${name}" from ${file}: ${(err as Error).message}`);
  }
}

/**
 * A folder under profiles/ or machines/ whose name kdev would never have made (made by hand, or
 * by an older kdev): no machine can run under it, so it is simply removed. Only names that
 * readdir listed, and only single path components, ever reach fs.rm.
 */
async function deleteStray(name: string): Promise<boolean> {
  if (!isSafeFolderName(name)) return false;
  let deleted = false;
  for (const dir of [paths.profilesDir(), paths.machinesDir()]) {
    if ((await folderNames(dir)).includes(name)) {
      await fs.rm(path.join(dir, name), { recursive: true, force: true });
      deleted = true;
    }
  }
  return deleted;
}

/** Removes kdev's own entries from KDEV_HOME, and the folder itself only when it is kdev's default. */
async function purgeHome(): Promise<void> {
  const home = paths.home();
  const names = await folderNames(home);
  for (const name of names) {
    const ours =
      (KDEV_HOME_ENTRIES as readonly string[]).includes(name) || /^\.config\.json\..*\.tmp$/.test(name);
    if (ours) await fs.rm(path.join(home, name), { recursive: true, force: true });
  }
  if (isDefaultKdevHome()) await fs.rmdir(home).catch(() => undefined);
}

export async function deleteMachines(opts: {
  names: string[];
  all?: boolean;
  purge?: boolean;
  logger?: Logger;
}): Promise<DeleteResult> {
  let names = opts.names;
  if (opts.all) {
    const found = [...(await folderNames(paths.profilesDir())), ...(await folderNames(paths.machinesDir()))];
    names = [...new Set(found)].sort();
  } else {
    // An invalid name is accepted only for a folder that is there to delete (see deleteStray).
    for (const name of names) {
      if (isValidProfileName(name)) continue;
      const listed = [
        ...(await folderNames(paths.profilesDir())),
        ...(await folderNames(paths.machinesDir())),
      ];
      if (!isSafeFolderName(name) || !listed.includes(name)) validateProfileName(name);
    }
  }
  const deleted: string[] = [];
  for (const name of names) {
    const gone = isValidProfileName(name) ? await deleteOne(name, opts.logger) : await deleteStray(name);
    if (gone) deleted.push(name);
  }
  if (opts.purge) await purgeHome();
  return { deleted, purged: opts.purge === true };
}
