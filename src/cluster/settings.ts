// What a start asks for: flags first, then global defaults (kdev config), then built-in defaults.
import { KdevError } from '../lib/errors.js';
import { STABLE_VERSION } from './kubernetes/versions.js';
import type { NetworkMode } from '../vm/driver.js';
import { isQemuAccel, NETWORK_MODES, QEMU_ACCELS, type QemuAccel } from '../vm/names.js';
import { parseConfigValue, readGlobalConfig, type GlobalConfig } from './global-config.js';

export const DEFAULTS = {
  driver: 'qemu',
  cpus: 2,
  memoryMiB: 4096,
  diskMiB: 20480,
  kubernetesVersion: STABLE_VERSION,
  containerRuntime: 'containerd',
} as const;

export interface StartFlags {
  driver?: string;
  cpus?: string;
  memory?: string;
  diskSize?: string;
  kubernetesVersion?: string;
  qemuAccel?: string;
  network?: string;
}

export interface MachineSettings {
  driver: NonNullable<GlobalConfig['driver']>;
  cpus: number;
  memoryMiB: number;
  diskMiB: number;
  kubernetesVersion: string;
  containerRuntime: NonNullable<GlobalConfig['container-runtime']>;
  qemuAccel: QemuAccel;
  /** --network: the machine's network back end; undefined leaves the driver's default. */
  network?: NetworkMode;
}

/** Validates every flag before anything touches the disk; bad values are one-line BAD_INPUT errors. */
export async function resolveSettings(flags: StartFlags, global?: GlobalConfig): Promise<MachineSettings> {
  const g = global ?? (await readGlobalConfig());
  const pick = <K extends keyof GlobalConfig>(key: K, raw: string | undefined) =>
    raw === undefined ? g[key] : asInput(() => parseConfigValue(key, raw, 'flag') as GlobalConfig[K]);
  const accel = flags.qemuAccel ?? 'auto';
  if (!isQemuAccel(accel)) {
    throw new KdevError('BAD_INPUT', `unknown --qemu-accel "${accel}"`, {
      hints: [`Use one of: ${QEMU_ACCELS.join(', ')}`],
    });
  }
  if (flags.network !== undefined && !(NETWORK_MODES as readonly string[]).includes(flags.network)) {
    throw new KdevError('BAD_INPUT', `unknown --network "${flags.network}"`, {
      hints: [`Use one of: ${NETWORK_MODES.join(', ')}`],
    });
  }
  return {
    ...(flags.network === undefined ? {} : { network: flags.network as NetworkMode }),
    driver: pick('driver', flags.driver) ?? DEFAULTS.driver,
    cpus: pick('cpus', flags.cpus) ?? DEFAULTS.cpus,
    memoryMiB: pick('memory', flags.memory) ?? DEFAULTS.memoryMiB,
    diskMiB: pick('disk-size', flags.diskSize) ?? DEFAULTS.diskMiB,
    kubernetesVersion:
      pick(
        'kubernetes-version',
        flags.kubernetesVersion === 'stable' ? STABLE_VERSION : flags.kubernetesVersion,
      ) ?? DEFAULTS.kubernetesVersion,
    containerRuntime: g['container-runtime'] ?? DEFAULTS.containerRuntime,
    qemuAccel: accel,
  };
}

/** Flag values are input, not config: BAD_INPUT (the message already names the flag). */
function asInput<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof KdevError) throw new KdevError('BAD_INPUT', err.message, { hints: err.hints });
    throw err;
  }
}
