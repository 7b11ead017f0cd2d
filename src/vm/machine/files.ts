// The layout of one machine's directory, shared by the drivers and by callers that read its logs.
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathExists } from '../../lib/fs-atomic.js';
import { paths } from '../../lib/paths.js';
import type { DiskFormat } from '../driver.js';

export interface MachineFiles {
  dir: string;
  /** The machine record (machine/record.ts): created-with spec and runtime facts. */
  record: string;
  /** The hypervisor's pidfile. */
  pidFile: string;
  /** QMP (qemu) or REST (vfkit) control socket. */
  controlSocket: string;
  /** The guest's serial console; the previous boot's is kept as consoleLog + '.1'. */
  consoleLog: string;
  /** The hypervisor's own stdout/stderr. */
  hypervisorLog: string;
  sshKey: string;
  sshPublicKey: string;
  hostKey: string;
  hostPublicKey: string;
  knownHosts: string;
  seedDisk: string;
  /** The data disk; its name says its format so a driver never opens the other kind. */
  dataDisk(format: DiskFormat): string;
  /** A helper process's files (pidfile, log, socket), by role and suffix. */
  helperFile(role: string, suffix: 'pid' | 'log' | 'sock'): string;
}

export function machineFiles(name: string, dir = paths.machineDir(name)): MachineFiles {
  const f = (file: string) => path.join(dir, file);
  return {
    dir,
    record: f('machine.json'),
    pidFile: f('hypervisor.pid'),
    controlSocket: f('control.sock'),
    consoleLog: f('console.log'),
    hypervisorLog: f('hypervisor.log'),
    sshKey: f('id_ed25519'),
    sshPublicKey: f('id_ed25519.pub'),
    hostKey: f('ssh_host_ed25519_key'),
    hostPublicKey: f('ssh_host_ed25519_key.pub'),
    knownHosts: f('known_hosts'),
    seedDisk: f('seed.img'),
    dataDisk: (format) => f(format === 'qcow2' ? 'data.qcow2' : 'data.img'),
    helperFile: (role, suffix) => f(`${role}.${suffix}`),
  };
}

/** Keeps the previous boot's log as <file>.1 so a failed restart does not erase the evidence. */
export async function rotateLog(file: string): Promise<void> {
  if (await pathExists(file)) await fs.rename(file, `${file}.1`);
}
