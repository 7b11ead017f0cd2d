// Who watches the mounts once `kdev start` has returned: a detached `kdev watch` process per
// running machine, with a pidfile in the machine dir. It ends by itself when the guest goes away
// (its SSH session closes), and stop/delete end it explicitly.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { paths } from '../lib/paths.js';
import { pidAlive } from '../lib/process.js';
import { processArgv, readPidFile, waitForExit } from '../vm/process.js';
import type { Profile } from './profiles.js';

const files = (name: string) => ({
  pidFile: path.join(paths.machineDir(name), 'watch.pid'),
  log: path.join(paths.machineDir(name), 'watch.log'),
});

/** Whether a profile has anything to replay: a read-only mount cannot be touched in the guest. */
export function wantsWatcher(profile: Profile): boolean {
  return profile.watchMounts !== false && profile.mounts.some((m) => !m.readOnly);
}

/** The helper's pid when the pidfile names a live `kdev watch` of this profile. */
export async function liveWatchHelper(name: string): Promise<number | undefined> {
  const pid = await readPidFile(files(name).pidFile);
  if (pid === undefined || !pidAlive(pid)) return undefined;
  const argv = await processArgv(pid);
  if (argv && !(argv.includes('watch') && argv.includes(name))) return undefined;
  return pid;
}

/** Starts the helper (once); `cli` is the kdev entry script, run with this Node. */
export async function startWatchHelper(
  name: string,
  cli: string = process.argv[1] ?? 'kdev',
): Promise<number> {
  const running = await liveWatchHelper(name);
  if (running !== undefined) return running;
  const f = files(name);
  const out = await fs.open(f.log, 'a', 0o600);
  try {
    const child = spawn(process.execPath, [cli, 'watch', '-p', name], {
      detached: true,
      stdio: ['ignore', out.fd, out.fd],
      env: { ...process.env, KDEV_PROFILE: name },
    });
    child.unref();
    if (!child.pid) throw new Error('spawn gave no pid');
    await fs.writeFile(f.pidFile, `${child.pid}\n`, { mode: 0o600 });
    return child.pid;
  } finally {
    await out.close();
  }
}

export async function stopWatchHelper(name: string): Promise<void> {
  const pid = await liveWatchHelper(name);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Gone already.
    }
    await waitForExit(pid, 5000);
  }
  await fs.rm(files(name).pidFile, { force: true });
}
