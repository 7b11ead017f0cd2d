// Global defaults (KDEV_HOME/config.json): what `kdev config` edits and `kdev start` falls back on.
import path from 'node:path';
import type { z } from 'zod';
import { KdevError } from '../lib/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../lib/fs-atomic.js';
import { lazySchema, readJsonFile } from '../lib/json-file.js';
import { withLock } from '../lib/lock.js';
import { paths } from '../lib/paths.js';
import { parseSizeMiB } from '../lib/units.js';
import { DRIVER_NAMES } from '../vm/names.js';

export const CONTAINER_RUNTIMES = ['containerd'] as const;
export const MIN_MEMORY_MIB = 512;
export const MIN_DISK_MIB = 2048;

const K8S_VERSION = /^v\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

export const CONFIG_KEYS = [
  'driver',
  'cpus',
  'memory',
  'disk-size',
  'kubernetes-version',
  'container-runtime',
] as const;

const globalConfigSchema = lazySchema((z) =>
  z
    .object({
      driver: z.enum(DRIVER_NAMES).optional(),
      cpus: z.number().int().min(1).max(256).optional(),
      memory: z.number().int().min(MIN_MEMORY_MIB).optional(),
      'disk-size': z.number().int().min(MIN_DISK_MIB).optional(),
      'kubernetes-version': z.string().regex(K8S_VERSION).optional(),
      'container-runtime': z.enum(CONTAINER_RUNTIMES).optional(),
    })
    .strict(),
);

export type GlobalConfig = z.output<Awaited<ReturnType<typeof globalConfigSchema>>>;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

function bad(message: string, hint: string): KdevError {
  return new KdevError('BAD_CONFIG', message, { hints: [hint] });
}

export function assertConfigKey(key: string): ConfigKey {
  if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
    throw bad(`unknown config key "${key}"`, `Known keys: ${CONFIG_KEYS.join(', ')}`);
  }
  return key as ConfigKey;
}

/** Parses a value typed by the user for one key; throws a one-line error for anything invalid. */
export function parseConfigValue(key: ConfigKey, raw: string): GlobalConfig[ConfigKey] {
  const value = raw.trim();
  switch (key) {
    case 'cpus': {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n >= 1 && n <= 256))
        throw bad(
          `invalid cpus "${raw}": must be a whole number from 1 to 256`,
          'For example: kdev config set cpus 2',
        );
      return n;
    }
    case 'memory':
    case 'disk-size': {
      const min = key === 'memory' ? MIN_MEMORY_MIB : MIN_DISK_MIB;
      let mib: number;
      try {
        mib = parseSizeMiB(value, key);
      } catch (err) {
        throw bad(
          (err as Error).message,
          `For example: kdev config set ${key} ${key === 'memory' ? '4g' : '20g'}`,
        );
      }
      if (mib < min) throw bad(`${key} ${raw} is below the minimum of ${min} MiB`, `Use at least ${min}mb`);
      return mib;
    }
    case 'driver':
      if (!(DRIVER_NAMES as readonly string[]).includes(value))
        throw bad(`unknown driver "${raw}"`, `Known drivers: ${DRIVER_NAMES.join(', ')}`);
      return value as GlobalConfig['driver'];
    case 'container-runtime':
      if (!(CONTAINER_RUNTIMES as readonly string[]).includes(value)) {
        throw bad(`unsupported container runtime "${raw}"`, `Supported: ${CONTAINER_RUNTIMES.join(', ')}`);
      }
      return value as GlobalConfig['container-runtime'];
    case 'kubernetes-version': {
      const v = value.startsWith('v') ? value : `v${value}`;
      if (!K8S_VERSION.test(v))
        throw bad(`invalid kubernetes-version "${raw}"`, 'Use a release such as v1.31.4');
      return v;
    }
  }
}

export async function readGlobalConfig(): Promise<GlobalConfig> {
  const file = paths.globalConfig();
  return (
    (await readJsonFile(file, globalConfigSchema, [
      `Fix it with kdev config set/unset, or remove ${file}`,
    ])) ?? {}
  );
}

/** Read-modify-write of config.json under a lock, so concurrent `config set` calls never lose a key. */
export async function updateGlobalConfig(change: (cfg: GlobalConfig) => GlobalConfig): Promise<GlobalConfig> {
  await ensurePrivateDir(paths.home());
  return withLock(
    path.join(paths.locksDir(), 'config.lock'),
    { what: 'the global config', timeoutMs: 10_000 },
    async () => {
      const next = (await globalConfigSchema()).parse(change(await readGlobalConfig()));
      await writeFileAtomic(paths.globalConfig(), `${JSON.stringify(next, null, 2)}\n`);
      return next;
    },
  );
}
