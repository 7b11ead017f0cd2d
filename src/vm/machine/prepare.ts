// The setup every driver's create() shares: private folder, SSH keys and the pinned host key, the
// seed disk, the data disk in the driver's format, and the machine record. A driver adds only its
// own files after this.
import fs from 'node:fs/promises';
import { KdevError } from '../../lib/errors.js';
import type { CommandRunner } from '../../lib/exec.js';
import { ensurePrivateDir, writeFileAtomic } from '../../lib/fs-atomic.js';
import type { Logger } from '../../lib/log.js';
import type { DriverInfo, MachineSpec } from '../driver.js';
import { ensureDataDisk } from './data-disk.js';
import type { MachineFiles } from './files.js';
import { ensureMachineKeys } from './keys.js';
import { readMachineRecord, writeMachineRecord, type MachineRecord } from './record.js';
import { buildSeedImage } from './seed.js';

export interface PrepareDeps {
  runner: CommandRunner;
  logger?: Logger;
}

/**
 * Makes (or completes, after a killed create) everything a machine needs before its driver's own
 * files. Keys and the data disk are kept when they exist; the seed and the record are rewritten.
 */
export async function prepareMachine(
  spec: MachineSpec,
  files: MachineFiles,
  info: DriverInfo,
  deps: PrepareDeps,
): Promise<MachineRecord> {
  await ensurePrivateDir(files.dir);
  await ensureMachineKeys(deps.runner, files, spec.name);
  const read = (f: string) => fs.readFile(f, 'utf8');
  const seed = buildSeedImage({
    authorizedKeys: await read(files.sshPublicKey),
    hostKey: await read(files.hostKey),
    hostPublicKey: await read(files.hostPublicKey),
    hostname: spec.name,
    mounts: spec.mounts.map((m) => ({
      tag: m.tag,
      guestPath: m.guestPath,
      type: m.type,
      readOnly: m.readOnly ?? false,
    })),
  });
  await writeFileAtomic(files.seedDisk, seed);

  const disk = files.dataDisk(info.diskFormat);
  if (await ensureDataDisk(deps.runner, disk, info.diskFormat, spec.diskMiB)) {
    deps.logger?.debug(`created ${spec.diskMiB} MiB ${info.diskFormat} data disk ${disk}`);
  }
  const previous = await readMachineRecord(files.record).catch(() => undefined);
  const record: MachineRecord = {
    version: 2,
    driver: info.name,
    createdAt: previous?.createdAt ?? new Date().toISOString(),
    spec,
    runtime: previous?.runtime,
  };
  await writeMachineRecord(files.record, record);
  return record;
}

/** The record of an existing machine, or NOT_FOUND with the command that creates it. */
export async function requireMachineRecord(files: MachineFiles, machineName: string): Promise<MachineRecord> {
  const r = await readMachineRecord(files.record);
  if (!r) {
    throw new KdevError('NOT_FOUND', `machine "${machineName}" does not exist`, {
      hints: [`Create it with: kdev start -p ${machineName}`],
    });
  }
  return r;
}
