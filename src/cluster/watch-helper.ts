// Who watches the mounts once `kdev start` has returned: a detached `kdev watch` per running
// machine, started through the process module and remembered in the machine dir (watch.json) so
// stop and delete find exactly that process. It also ends by itself when the guest goes away
// (its SSH session closes).
import fs from 'node:fs/promises';
import path from 'node:path';
import { paths } from '../lib/paths.js';
import { isRunning, spawnProcess, stopProcesses, type ProcessRecord } from '../vm/process/processes.js';
import type { Profile } from './profiles.js';

const files = (name: string) => ({
  record: path.join(paths.machineDir(name), 'watch.json'),
  pidFile: path.join(paths.machineDir(name), 'watch.pid'),
  log: path.join(paths.machineDir(name), 'watch.log'),
});

/** Whether a profile has anything to replay: a read-only mount cannot be touched in the guest. */
export function wantsWatcher(profile: Profile): boolean {
  return profile.watchMounts !== false && profile.mounts.some((m) => !m.readOnly);
}

/** The helper's record; a missing or damaged file means there is none. */
async function readRecord(file: string): Promise<ProcessRecord | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as ProcessRecord;
  } catch {
    return undefined;
  }
}

async function liveRecord(name: string): Promise<ProcessRecord | undefined> {
  const r = await readRecord(files(name).record);
  return r && (await isRunning(r)) ? r : undefined;
}

/** Starts the helper (once); `cli` is the kdev entry script, run with this Node. */
export async function startWatchHelper(
  name: string,
  cli: string = process.argv[1] ?? 'kdev',
): Promise<number> {
  const running = await liveRecord(name);
  if (running) return running.pid;
  const f = files(name);
  const proc = await spawnProcess({
    role: 'watch',
    executable: process.execPath,
    args: [cli, 'watch', '-p', name],
    identityArg: name,
    pidFile: f.pidFile,
    logFile: f.log,
    env: { ...process.env, KDEV_PROFILE: name },
  });
  await fs.writeFile(f.record, `${JSON.stringify(proc.record)}\n`, { mode: 0o600 });
  return proc.record.pid;
}

export async function stopWatchHelper(name: string): Promise<void> {
  const f = files(name);
  const r = await readRecord(f.record);
  if (r) await stopProcesses([r]);
  await fs.rm(f.record, { force: true });
}
