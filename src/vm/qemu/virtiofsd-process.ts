// The virtiofsd helpers of one machine: started before qemu (which connects to their sockets at
// start-up), each with a pidfile, and told apart from unrelated processes by their socket path.
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { KdevError } from '../../lib/errors.js';
import { pathExists, readFileIfExists } from '../../lib/fs-atomic.js';
import type { MountSpec } from '../driver.js';
import { pidAlive, processArgv, readPidFile, waitForExit } from '../process.js';
import { virtiofsdArgs, type Virtiofsd, type VirtiofsdMount } from './virtiofsd.js';

export interface VirtiofsdFiles {
  socket: string;
  pidFile: string;
  log: string;
}

export function virtiofsdFiles(machineDir: string, index: number): VirtiofsdFiles {
  return {
    socket: path.join(machineDir, `vfs${index}.sock`),
    pidFile: path.join(machineDir, `vfs${index}.pid`),
    log: path.join(machineDir, `vfs${index}.log`),
  };
}

/** The virtiofs mounts of a spec with their QEMU ids and sockets, in a stable order. */
export function virtiofsMounts(machineDir: string, mounts: readonly MountSpec[]): VirtiofsdMount[] {
  return mounts
    .filter((m) => m.type === 'virtiofs')
    .map((m, i) => ({
      id: `vfs${i}`,
      hostPath: m.hostPath,
      tag: m.tag,
      socketPath: virtiofsdFiles(machineDir, i).socket,
      readOnly: m.readOnly ?? false,
    }));
}

/** The helper's pid when its pidfile names a live virtiofsd serving this socket. */
export async function liveVirtiofsd(files: VirtiofsdFiles): Promise<number | undefined> {
  const pid = await readPidFile(files.pidFile);
  if (pid === undefined || !pidAlive(pid)) return undefined;
  const argv = await processArgv(pid);
  if (argv && !argv.includes(`--socket-path=${files.socket}`)) return undefined;
  return pid;
}

/** Starts one daemon per mount and returns once every socket exists. */
export async function startVirtiofsds(
  machineDir: string,
  daemon: Virtiofsd,
  mounts: readonly VirtiofsdMount[],
  timeoutMs = 15_000,
): Promise<void> {
  await stopVirtiofsds(machineDir, mounts.length);
  const ids = { hostUid: process.getuid?.() ?? 0, hostGid: process.getgid?.() ?? 0 };
  for (const [i, m] of mounts.entries()) {
    const f = virtiofsdFiles(machineDir, i);
    await fs.rm(f.socket, { force: true });
    const out = await fs.open(f.log, 'w', 0o600);
    let exited = false;
    try {
      const child = spawn(daemon.path, virtiofsdArgs(m, { version: daemon.version, ...ids }), {
        cwd: machineDir,
        detached: true,
        stdio: ['ignore', out.fd, out.fd],
      });
      child.once('exit', () => (exited = true));
      child.once('error', () => (exited = true));
      child.unref();
      if (child.pid) await fs.writeFile(f.pidFile, `${child.pid}\n`, { mode: 0o600 });
    } finally {
      await out.close();
    }
    const deadline = Date.now() + timeoutMs;
    while (!(await pathExists(f.socket))) {
      if (exited || Date.now() > deadline) {
        const detail = ((await readFileIfExists(f.log)) ?? '').trim().split('\n').slice(-3).join(' ');
        await stopVirtiofsds(machineDir, mounts.length);
        throw new KdevError(
          'VM_ERROR',
          `virtiofsd for ${m.hostPath} did not start${detail ? `: ${detail}` : ''}`,
          {
            hints: [`See ${f.log}`, 'Or use 9p for this mount: --mount HOST:GUEST:9p'],
          },
        );
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/**
 * Ends the helpers of the first `count` mounts (they also exit by themselves when qemu goes).
 * Only a process still serving our socket is signalled: a recycled pid is left alone.
 */
export async function stopVirtiofsds(machineDir: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const f = virtiofsdFiles(machineDir, i);
    const pid = await liveVirtiofsd(f);
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Gone already.
      }
      if (!(await waitForExit(pid, 3000))) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
        await waitForExit(pid, 3000);
      }
    }
    await fs.rm(f.pidFile, { force: true });
    await fs.rm(f.socket, { force: true });
  }
}
