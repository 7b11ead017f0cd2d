// machine.json, the one record of a machine: the spec it was created with and the facts of its
// current (or last) run: accelerator, every process it owns. Validated when read back; written
// atomically (temp file + rename) by whoever holds the profile lock (start, stop, delete).
import type { z } from 'zod';
import { writeFileAtomic } from '../../lib/fs-atomic.js';
import { lazySchema, readJsonFile, type Zod } from '../../lib/json-file.js';
import type { Endpoint, Forward, MachineSpec, NetworkMode } from '../driver.js';
import { GUEST_SSH_PORT } from '../network/forward.js';
import { MOUNT_TYPES, NETWORK_MODES } from '../names.js';
import type { ProcessRecord } from '../process/processes.js';

const imageSchema = (z: Zod) =>
  z.object({
    kernel: z.string().min(1),
    initrd: z.string().min(1),
    cmdline: z.string(),
    iso: z.string().optional(),
    rootfs: z.string().min(1).optional(),
    arch: z.enum(['x86_64', 'aarch64']),
  });

const mountSchema = (z: Zod) =>
  z.object({
    hostPath: z.string().min(1),
    guestPath: z.string().min(1),
    type: z.enum(MOUNT_TYPES),
    tag: z.string().min(1),
    readOnly: z.boolean().optional(),
  });

const forwardSchema = (z: Zod) => {
  const port = z.number().int().min(1).max(65535);
  return z.object({ name: z.string().min(1), guestPort: port, hostPort: port });
};

const machineSpecSchema = (z: Zod) =>
  z.object({
    name: z.string().min(1),
    cpus: z.number().int().positive(),
    memoryMiB: z.number().int().positive(),
    diskMiB: z.number().int().positive(),
    image: imageSchema(z),
    mounts: z.array(mountSchema(z)),
    forwards: z.array(forwardSchema(z)),
    options: z.record(z.string(), z.string()),
  });

const processSchema = (z: Zod) =>
  z.object({
    role: z.string().min(1),
    pid: z.number().int().positive(),
    executable: z.string().min(1),
    args: z.array(z.string()),
    identityArg: z.string().min(1),
    pidFile: z.string().min(1),
    logFile: z.string().min(1),
    startedAt: z.string(),
  });

const runtimeSchema = (z: Zod) =>
  z.object({
    startedAt: z.string(),
    /** The accelerator actually used (qemu), and why it was chosen. */
    accel: z.string().optional(),
    accelReason: z.string().optional(),
    /** The network back end of this boot (qemu: user or gvproxy; vfkit: gvproxy or vmnet). */
    network: z.enum(NETWORK_MODES).optional(),
    /** vmnet: the guest's address from macOS's DHCP lease for this boot. */
    guestIp: z.ipv4().optional(),
    /** The forwards of this boot (endpoints() reports these while it runs). */
    forwards: z.array(forwardSchema(z)).optional(),
    processes: z.array(processSchema(z)),
  });

// Version 1 (before forwards and driver options): ports {ssh, apiServer} and accel in the spec.
const v1Schema = (z: Zod) => {
  const port = z.number().int().min(1).max(65535);
  return z.object({
    version: z.literal(1),
    driver: z.string(),
    createdAt: z.string(),
    spec: machineSpecSchema(z)
      .omit({ forwards: true, options: true })
      .extend({ ports: z.object({ ssh: port, apiServer: port }), accel: z.string().optional() }),
  });
};

const recordSchema = lazySchema((z) => {
  const v2 = z.object({
    version: z.literal(2),
    driver: z.string(),
    createdAt: z.string(),
    spec: machineSpecSchema(z),
    runtime: runtimeSchema(z).optional(),
  });
  return z.union([
    v2,
    v1Schema(z).transform(({ driver, createdAt, spec: { ports, accel, ...rest } }) => ({
      version: 2 as const,
      driver,
      createdAt,
      spec: {
        ...rest,
        forwards: [
          { name: 'ssh', guestPort: GUEST_SSH_PORT, hostPort: ports.ssh },
          { name: 'apiserver', guestPort: 8443, hostPort: ports.apiServer },
        ],
        options: (accel ? { accel } : {}) as Record<string, string>,
      },
      runtime: undefined,
    })),
  ]);
});

export interface MachineRuntime {
  startedAt: string;
  accel?: string;
  accelReason?: string;
  network?: NetworkMode;
  guestIp?: string;
  forwards?: Forward[];
  processes: ProcessRecord[];
}

export interface MachineRecord {
  version: 2;
  driver: string;
  createdAt: string;
  spec: MachineSpec;
  runtime?: MachineRuntime;
}

// Compile-time check that the schema and the interface agree.
type Parsed = z.output<Awaited<ReturnType<typeof recordSchema>>>;
const _sameShape: (p: Parsed) => MachineRecord = (p) => p;

const badRecordHints = ['Delete the machine and create it again: kdev delete, then kdev start'];

/** The record, or undefined when the machine was never created. A damaged file is BAD_CONFIG. */
export async function readMachineRecord(file: string): Promise<MachineRecord | undefined> {
  return readJsonFile(file, recordSchema, badRecordHints);
}

export async function writeMachineRecord(file: string, record: MachineRecord): Promise<void> {
  const valid = (await recordSchema()).parse(record);
  await writeFileAtomic(file, `${JSON.stringify(valid, null, 2)}\n`);
}

/** Reads, changes and writes the record back; the caller holds the profile lock. */
export async function updateMachineRecord(
  file: string,
  change: (r: MachineRecord) => MachineRecord,
): Promise<MachineRecord | undefined> {
  const current = await readMachineRecord(file);
  if (!current) return undefined;
  const next = change(current);
  await writeMachineRecord(file, next);
  return next;
}

/** Where the host reaches a machine: this boot's forwards, else the created-with ones; all on 127.0.0.1. */
export function recordEndpoints(record: MachineRecord): Endpoint[] {
  return (record.runtime?.forwards ?? record.spec.forwards).map((f) => ({
    name: f.name,
    host: '127.0.0.1',
    port: f.hostPort,
    guestPort: f.guestPort,
  }));
}
