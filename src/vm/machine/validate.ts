// Checks of a MachineSpec every driver shares: sizes, forwards, mounts against the driver's
// capabilities, and the files the host must already have (kernel, initrd, rootfs, mount sources).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { KdevError } from '../../lib/errors.js';
import { pathExists } from '../../lib/fs-atomic.js';
import type { DriverInfo, MachineSpec, NetworkMode } from '../driver.js';
import { validateForwards } from '../network/forward.js';

const MIN_MEMORY_MIB = 512;
const MIN_DISK_MIB = 1024;
// sun_path is 108 bytes on Linux and 104 on macOS, including the terminating NUL.
const MAX_SOCKET_PATH = 103;
const MOUNT_TAG = /^[A-Za-z0-9_.-]{1,31}$/;

const bad = (message: string, hints: string[] = []) => new KdevError('BAD_INPUT', message, { hints });

/** Pure checks of the spec against this host's size and the driver's capabilities. */
export function validateSpec(
  spec: MachineSpec,
  machineName: string,
  info: DriverInfo,
  sockets: string[],
): void {
  if (spec.name !== machineName) throw bad(`spec is for "${spec.name}", driver for "${machineName}"`);
  const hostCpus = os.availableParallelism();
  if (!Number.isInteger(spec.cpus) || spec.cpus < 1 || spec.cpus > hostCpus) {
    throw bad(`--cpus ${spec.cpus} is not possible on this host`, [`Use between 1 and ${hostCpus} CPUs`]);
  }
  const hostMiB = Math.floor(os.totalmem() / (1024 * 1024));
  if (!Number.isInteger(spec.memoryMiB) || spec.memoryMiB < MIN_MEMORY_MIB || spec.memoryMiB >= hostMiB) {
    throw bad(`--memory ${spec.memoryMiB} MiB is not possible on this host (it has ${hostMiB} MiB)`, [
      `Use at least ${MIN_MEMORY_MIB} MiB and less than the host's memory, for example --memory 4g`,
    ]);
  }
  if (!Number.isInteger(spec.diskMiB) || spec.diskMiB < MIN_DISK_MIB) {
    throw bad(`--disk-size ${spec.diskMiB} MiB is too small`, [
      `Use at least ${MIN_DISK_MIB} MiB, for example 20g`,
    ]);
  }
  validateForwards(spec.forwards);
  const unknown = Object.keys(spec.options).filter((k) => !info.options.includes(k));
  if (unknown.length) {
    throw bad(`the ${info.name} driver has no option "${unknown[0]}"`, [
      info.options.length ? `Its options: ${info.options.join(', ')}` : `It takes no options`,
    ]);
  }
  const network = spec.options.network;
  if (network !== undefined && !(info.networkModes as readonly string[]).includes(network)) {
    throw unsupportedNetwork(info.name, network, info.networkModes);
  }
  const tags = new Set<string>();
  for (const m of spec.mounts) {
    if (!info.mountTypes.includes(m.type)) {
      throw new KdevError('UNSUPPORTED_HOST', `the ${info.name} driver cannot do ${m.type} mounts here`, {
        hints: [`Use a ${info.mountTypes.join(' or ')} mount instead`],
      });
    }
    if (!MOUNT_TAG.test(m.tag))
      throw bad(`mount tag "${m.tag}" must be 1-31 letters, digits, '.', '_' or '-'`);
    if (tags.has(m.tag)) throw bad(`mount tag "${m.tag}" is used twice`);
    tags.add(m.tag);
    // Any characters but NUL and newlines: the seed escapes whitespace.
    if (!path.posix.isAbsolute(m.guestPath) || /[\0\n]/.test(m.guestPath)) {
      throw bad(`mount target ${JSON.stringify(m.guestPath)} must be an absolute guest path`);
    }
  }
  if (sockets.some((s) => Buffer.byteLength(s) > MAX_SOCKET_PATH)) {
    throw new KdevError('UNSUPPORTED_HOST', `the machine directory path is too long for a unix socket`, {
      hints: ['Set KDEV_HOME to a shorter path, or use a shorter profile name'],
    });
  }
}

// Which driver offers a mode another driver lacks, for the hint.
const OFFERED_BY: Record<NetworkMode, string> = {
  user: "user is QEMU's slirp: --driver qemu",
  gvproxy: 'gvproxy works with both drivers',
  vmnet: "vmnet is macOS's own NAT through Virtualization.framework: --driver vfkit (macOS only)",
};

/** One line for a --network the driver does not offer, with its modes and who has this one. */
export function unsupportedNetwork(driver: string, mode: string, modes: readonly NetworkMode[]): KdevError {
  const elsewhere = (OFFERED_BY as Record<string, string | undefined>)[mode];
  return bad(`unknown --network "${mode}" for the ${driver} driver`, [
    `Use one of: ${modes.join(', ')}`,
    ...(elsewhere ? [elsewhere] : []),
  ]);
}

/** The guest kernel, initrd and any rootfs exist, and every mount source is a folder. */
export async function checkSpecFiles(spec: MachineSpec): Promise<void> {
  for (const [what, file] of [
    ['kernel', spec.image.kernel],
    ['initrd', spec.image.initrd],
    ['rootfs', spec.image.rootfs],
  ] as const) {
    if (file !== undefined && !(await pathExists(file))) {
      throw new KdevError('NOT_FOUND', `guest ${what} ${file} does not exist`, {
        hints: ['Pass --iso-url with a kdev guest image, or rebuild the local one'],
      });
    }
  }
  for (const m of spec.mounts) {
    const st = await fs.stat(m.hostPath).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw bad(`mount source ${m.hostPath} is not a directory`, [
        'Create it first, or fix the --mount argument',
      ]);
    }
  }
}
