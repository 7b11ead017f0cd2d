// machine.json: the spec a driver was created with, validated when read back, so start() after a
// host reboot needs nothing but the files.
import type { z } from 'zod';
import { writeFileAtomic } from '../lib/fs-atomic.js';
import { lazySchema, readJsonFile, type Zod } from '../lib/json-file.js';
import type { MachineSpec } from './driver.js';
import { MOUNT_TYPES, QEMU_ACCELS } from './names.js';

const machineSpecSchema = (z: Zod) => {
  const port = z.number().int().min(1).max(65535);
  return z.object({
    name: z.string().min(1),
    cpus: z.number().int().positive(),
    memoryMiB: z.number().int().positive(),
    diskMiB: z.number().int().positive(),
    image: z.object({
      kernel: z.string().min(1),
      initrd: z.string().min(1),
      cmdline: z.string(),
      iso: z.string().optional(),
      arch: z.enum(['x86_64', 'aarch64']),
    }),
    mounts: z.array(
      z.object({
        hostPath: z.string().min(1),
        guestPath: z.string().min(1),
        type: z.enum(MOUNT_TYPES),
        tag: z.string().min(1),
        readOnly: z.boolean().optional(),
      }),
    ),
    ports: z.object({ ssh: port, apiServer: port }),
    accel: z.enum(QEMU_ACCELS).optional(),
  });
};

const machineRecordSchema = lazySchema((z) =>
  z.object({
    version: z.literal(1),
    driver: z.string(),
    createdAt: z.string(),
    spec: machineSpecSchema(z),
  }),
);

export type MachineRecord = z.output<Awaited<ReturnType<typeof machineRecordSchema>>>;

export async function writeMachineRecord(file: string, driver: string, spec: MachineSpec): Promise<void> {
  const previous = await readMachineRecord(file).catch(() => undefined);
  const record = (await machineRecordSchema()).parse({
    version: 1,
    driver,
    createdAt: previous?.createdAt ?? new Date().toISOString(),
    spec,
  });
  await writeFileAtomic(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** The record, or undefined when the machine was never created. A damaged file is an error. */
export async function readMachineRecord(file: string): Promise<MachineRecord | undefined> {
  return readJsonFile(file, machineRecordSchema, badRecordHints);
}

const badRecordHints = ['Delete the machine and create it again: kdev delete, then kdev start'];
