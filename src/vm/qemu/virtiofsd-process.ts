// The virtiofsd helpers of one qemu machine: one per virtiofs mount, started before qemu (which
// connects to their sockets as it starts) through the process module, recorded in the machine
// record with role `virtiofsd-<tag>` and the socket path as their identity argument.
import fs from 'node:fs/promises';
import path from 'node:path';
import { KdevError } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { pathExists, readFileIfExists } from '../../lib/fs-atomic.js';
import type { MountSpec } from '../driver.js';
import { spawnProcess, stopProcesses, waitUntil, type ProcessRecord } from '../process/processes.js';
import { virtiofsdArgs, type Virtiofsd, type VirtiofsdMount } from './virtiofsd.js';

export const VIRTIOFSD_ROLE_PREFIX = 'virtiofsd-';

/** The virtiofs mounts of a spec with their QEMU ids and sockets, in a stable order. */
export function virtiofsMounts(machineDir: string, mounts: readonly MountSpec[]): VirtiofsdMount[] {
  return mounts
    .filter((m) => m.type === 'virtiofs')
    .map((m, i) => ({
      id: `vfs${i}`,
      hostPath: m.hostPath,
      tag: m.tag,
      socketPath: path.join(machineDir, `vfs${i}.sock`),
      readOnly: m.readOnly ?? false,
    }));
}

/** Starts one daemon per mount and returns their records once every socket exists. */
export async function startVirtiofsds(
  machineDir: string,
  daemon: Virtiofsd,
  mounts: readonly VirtiofsdMount[],
  logger?: Logger,
  timeoutMs = 30_000,
): Promise<ProcessRecord[]> {
  const ids = { hostUid: process.getuid?.() ?? 0, hostGid: process.getgid?.() ?? 0 };
  const started: ProcessRecord[] = [];
  for (const m of mounts) {
    await fs.rm(m.socketPath, { force: true });
    const logFile = path.join(machineDir, `${m.id}.log`);
    const args = virtiofsdArgs(m, { version: daemon.version, ...ids });
    const proc = await spawnProcess(
      {
        role: `${VIRTIOFSD_ROLE_PREFIX}${m.tag}`,
        executable: daemon.path,
        args,
        identityArg: args[0]!,
        pidFile: path.join(machineDir, `${m.id}.pid`),
        logFile,
        cwd: machineDir,
      },
      logger,
    );
    started.push(proc.record);
    const outcome = await waitUntil(proc, () => pathExists(m.socketPath), timeoutMs);
    if (outcome !== 'ready') {
      await stopProcesses(started, { logger });
      const detail = ((await readFileIfExists(logFile)) ?? '').trim().split('\n').slice(-3).join(' ');
      throw new KdevError(
        'VM_ERROR',
        `virtiofsd for ${m.hostPath} ${outcome === 'exited' ? 'exited at once' : 'did not open its socket'}${detail ? `: ${detail}` : ''}`,
        { hints: [`See ${logFile}`, 'Or use 9p for this mount: --mount HOST:GUEST:9p'] },
      );
    }
  }
  return started;
}
