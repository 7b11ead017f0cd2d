// Global defaults (KDEV_HOME/config.json): what `kdev config` edits and `kdev start` falls back on.
import path from 'node:path';
import type { z } from 'zod';
import { KdevError } from '../lib/errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../lib/fs-atomic.js';
import { lazySchema, parseWith, readJsonFile } from '../lib/json-file.js';
import { withLock } from '../lib/lock.js';
import { paths } from '../lib/paths.js';
import { formatMiB, parseSizeMiB } from '../lib/units.js';
import { DRIVER_NAMES } from '../vm/names.js';

export const CONTAINER_RUNTIMES = ['containerd'] as const;
// Bounds a laptop VM can sensibly have; anything past them is a typo (1e20 MiB), not a wish.
export const MAX_CPUS = 256;
export const MIN_MEMORY_MIB = 512;
export const MAX_MEMORY_MIB = 1024 * 1024; // 1 TiB
export const MIN_DISK_MIB = 2048;
export const MAX_DISK_MIB = 16 * 1024 * 1024; // 16 TiB

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
      cpus: z.number().int().min(1).max(MAX_CPUS).optional(),
      memory: z.number().int().min(MIN_MEMORY_MIB).max(MAX_MEMORY_MIB).optional(),
      'disk-size': z.number().int().min(MIN_DISK_MIB).max(MAX_DISK_MIB).optional(),
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

/** Where a value came from: `kdev config set <key>` or the start flag `--<key>` (same names). */
export type ValueSource = 'config' | 'flag';

/**
 * Parses a value typed by the user for one key; throws a one-line error for anything invalid.
 * Messages and hints name what the user typed: `--memory` for a flag, `memory` for config.
 */
export function parseConfigValue(
  key: ConfigKey,
  raw: string,
  source: ValueSource = 'config',
): GlobalConfig[ConfigKey] {
  const value = raw.trim();
  const name = source === 'flag' ? `--${key}` : key;
  const example = (v: string) =>
    source === 'flag' ? `For example: kdev start ${name} ${v}` : `For example: kdev config set ${key} ${v}`;
  switch (key) {
    case 'cpus': {
      const n = /^\d+$/.test(value) ? Number(value) : NaN;
      if (!(n >= 1 && n <= MAX_CPUS))
        throw bad(`invalid ${name} "${raw}": must be a whole number from 1 to ${MAX_CPUS}`, example('2'));
      return n;
    }
    case 'memory':
    case 'disk-size': {
      const [min, max] = key === 'memory' ? [MIN_MEMORY_MIB, MAX_MEMORY_MIB] : [MIN_DISK_MIB, MAX_DISK_MIB];
      const sample = key === 'memory' ? '4g' : '20g';
      let mib: number;
      try {
        mib = parseSizeMiB(value, name);
      } catch (err) {
        throw bad((err as Error).message, example(sample));
      }
      if (mib < min) throw bad(`${name} ${raw} is below the minimum of ${formatMiB(min)}`, example(sample));
      if (mib > max) throw bad(`${name} ${raw} is above the maximum of ${formatMiB(max)}`, example(sample));
      return mib;
    }
    case 'driver':
      if (!(DRIVER_NAMES as readonly string[]).includes(value))
        throw bad(`unknown ${name} "${raw}"`, `Known drivers: ${DRIVER_NAMES.join(', ')}`);
      return value as GlobalConfig['driver'];
    case 'container-runtime':
      if (!(CONTAINER_RUNTIMES as readonly string[]).includes(value)) {
        throw bad(`unsupported ${name} "${raw}"`, `Supported: ${CONTAINER_RUNTIMES.join(', ')}`);
      }
      return value as GlobalConfig['container-runtime'];
    case 'kubernetes-version': {
      const v = value.startsWith('v') ? value : `v${value}`;
      if (!K8S_VERSION.test(v)) throw bad(`invalid ${name} "${raw}"`, 'Use a release such as v1.31.4');
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
      const next = parseWith(
        await globalConfigSchema(),
        change(await readGlobalConfig()),
        paths.globalConfig(),
      );
      await writeFileAtomic(paths.globalConfig(), `${JSON.stringify(next, null, 2)}\n`);
      return next;
    },
  );
}
