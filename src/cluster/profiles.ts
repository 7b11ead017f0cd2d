// Profiles: one validated JSON file per cluster under KDEV_HOME/profiles/<name>/, and its lock.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { z } from 'zod';
import { KdevError } from '../lib/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../lib/fs-atomic.js';
import { lazySchema, parseWith, readJsonFile, type Zod } from '../lib/json-file.js';
import { acquireLock, type Release } from '../lib/lock.js';
import { paths } from '../lib/paths.js';
import { validateProfileName } from '../lib/profile-name.js';
import { DRIVER_NAMES, MOUNT_TYPES, NETWORK_MODES, QEMU_ACCELS } from '../vm/names.js';
import { CONTAINER_RUNTIMES, MAX_CPUS, MAX_DISK_MIB, MAX_MEMORY_MIB } from './global-config.js';

const mountSchema = (z: Zod) =>
  z.object({
    hostPath: z.string(),
    guestPath: z.string(),
    type: z.enum(MOUNT_TYPES),
    tag: z.string(),
    readOnly: z.boolean().default(false),
  });

const profileSchema = lazySchema((z) =>
  z.object({
    name: z.string(),
    driver: z.enum(DRIVER_NAMES),
    cpus: z.number().int().min(1).max(MAX_CPUS),
    memoryMiB: z.number().int().min(1).max(MAX_MEMORY_MIB),
    diskMiB: z.number().int().min(1).max(MAX_DISK_MIB),
    kubernetes: z.boolean(),
    kubernetesVersion: z.string(),
    containerRuntime: z.enum(CONTAINER_RUNTIMES),
    qemuAccel: z.enum(QEMU_ACCELS).default('auto'),
    /** --network at creation (qemu: user or gvproxy); absent means the driver's default. */
    network: z.enum(NETWORK_MODES).optional(),
    isoUrl: z.string().optional(),
    /** Kubernetes: where control-plane images and binaries come from, kept for later starts. */
    imageRepository: z.string().optional(),
    binaryMirror: z.string().optional(),
    isoSha256: z.string().optional(),
    mounts: z.array(mountSchema(z)).default([]),
    /** Whether a helper replays host edits of the mounts inside the guest (start --watch); unset = yes. */
    watchMounts: z.boolean().optional(),
    /** Enabled addons (absent = none): catalog names, or absolute folders for addons enabled by path. */
    addons: z.array(z.string()).optional(),
    ports: z.object({ ssh: z.number().int(), apiServer: z.number().int() }),
    /** 'creating' until the machine's files all exist, so a killed start can be told apart. */
    phase: z.enum(['creating', 'created']),
    createdAt: z.string(),
  }),
);

export type Profile = z.output<Awaited<ReturnType<typeof profileSchema>>>;

export async function loadProfile(name: string): Promise<Profile | undefined> {
  validateProfileName(name);
  return readJsonFile(paths.profileConfig(name), profileSchema, [`Delete it with: kdev delete -p ${name}`]);
}

export async function requireProfile(name: string): Promise<Profile> {
  const profile = await loadProfile(name);
  if (!profile) {
    throw new KdevError('NOT_FOUND', `profile "${name}" does not exist`, {
      hints: [`Create it with: kdev start -p ${name}`, 'List profiles with: kdev profile list'],
    });
  }
  return profile;
}

export async function saveProfile(profile: Profile): Promise<void> {
  validateProfileName(profile.name);
  await ensurePrivateDir(paths.home());
  await ensurePrivateDir(paths.profilesDir());
  await ensurePrivateDir(paths.profileDir(profile.name));
  await writeFileAtomic(
    paths.profileConfig(profile.name),
    `${JSON.stringify(parseWith(await profileSchema(), profile, paths.profileConfig(profile.name)), null, 2)}\n`,
  );
}

export async function removeProfile(name: string): Promise<void> {
  validateProfileName(name);
  await fs.rm(paths.profileDir(name), { recursive: true, force: true });
}

export interface ProfileEntry {
  name: string;
  profile?: Profile;
  /** Why the profile could not be read, when it could not. */
  problem?: string;
}

/** Every profile folder, readable or not; an absent store is simply empty. */
export async function listProfiles(): Promise<ProfileEntry[]> {
  let names: string[];
  try {
    names = (await fs.readdir(paths.profilesDir(), { withFileTypes: true }))
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries = await Promise.all(
    names.sort().map(async (name): Promise<ProfileEntry> => {
      try {
        const profile = await loadProfile(name);
        return profile ? { name, profile } : { name, problem: 'missing config.json' };
      } catch (err) {
        return { name, problem: (err as Error).message };
      }
    }),
  );
  return entries;
}

/** Guards start/stop/delete of one profile. A crashed holder's lock is broken by the next caller. */
export async function lockProfile(name: string, timeoutMs = 0): Promise<Release> {
  validateProfileName(name);
  await ensurePrivateDir(paths.home());
  return acquireLock(path.join(paths.locksDir(), `${name}.lock`), {
    timeoutMs,
    what: `profile "${name}"`,
  });
}
