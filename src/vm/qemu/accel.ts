// Picking the qemu accelerator. An explicit choice (--qemu-accel, then KDEV_QEMU_ACCEL) always
// wins over detection, because a /dev/kvm that opens fine can still hang guests (nested KVM).
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { KdevError } from '../../lib/errors.js';
import type { Arch } from '../driver.js';
import { isQemuAccel, QEMU_ACCELS, type QemuAccel } from '../names.js';
import type { ResolvedAccel } from './argv.js';

export const ACCEL_ENV = 'KDEV_QEMU_ACCEL';

export interface AccelProbes {
  platform: NodeJS.Platform;
  /** process.arch of the host: 'x64' | 'arm64' | … */
  hostArch: string;
  env: NodeJS.ProcessEnv;
  /** True when /dev/kvm can be opened read-write by this user. */
  kvmUsable(): Promise<boolean>;
  /**
   * macOS only (sysctl): kern.hv_support is 1 where Hypervisor.framework works (Apple silicon,
   * and Intel Macs with VT-x); sysctl.proc_translated is 1 when this node runs under Rosetta,
   * so process.arch says x64 on an arm64 Mac. Absent: assume hvf works and the arch is true.
   */
  macHost?(): Promise<{ hvSupport: boolean; translated: boolean }>;
}

export interface AccelChoice {
  accel: ResolvedAccel;
  /** Why, for verbose logs and error hints. */
  reason: string;
}

export const hostAccelProbes: AccelProbes = {
  platform: process.platform,
  hostArch: process.arch,
  env: process.env,
  async kvmUsable() {
    try {
      const fh = await fs.open('/dev/kvm', constants.O_RDWR);
      await fh.close();
      return true;
    } catch {
      return false;
    }
  },
  async macHost() {
    // A test may claim platform 'darwin' on another OS: there is no sysctl to ask then.
    if (process.platform !== 'darwin') return { hvSupport: true, translated: false };
    return {
      hvSupport: (await sysctl('kern.hv_support')) === '1',
      translated: (await sysctl('sysctl.proc_translated')) === '1',
    };
  },
};

/** One sysctl value, or '' where the name does not exist (proc_translated on Intel Macs). */
function sysctl(name: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('/usr/sbin/sysctl', ['-n', name], { timeout: 5000 }, (err, stdout) =>
      resolve(err ? '' : stdout.trim()),
    );
  });
}

function hostMatches(arch: Arch, hostArch: string): boolean {
  return (arch === 'x86_64' && hostArch === 'x64') || (arch === 'aarch64' && hostArch === 'arm64');
}

export async function resolveAccel(
  requested: QemuAccel | undefined,
  guestArch: Arch,
  probes: AccelProbes = hostAccelProbes,
): Promise<AccelChoice> {
  const fromEnv = probes.env[ACCEL_ENV]?.trim().toLowerCase();
  if (fromEnv && !isQemuAccel(fromEnv)) {
    throw new KdevError('BAD_INPUT', `${ACCEL_ENV}="${fromEnv}" is not an accelerator`, {
      hints: [`Set ${ACCEL_ENV} to one of: ${QEMU_ACCELS.join(', ')}`],
    });
  }
  let wanted: QemuAccel = 'auto';
  let source = '';
  if (requested && requested !== 'auto') [wanted, source] = [requested, '--qemu-accel'];
  else if (fromEnv && fromEnv !== 'auto') [wanted, source] = [fromEnv as QemuAccel, ACCEL_ENV];

  const mac = probes.platform === 'darwin' && probes.macHost ? await probes.macHost() : undefined;
  // Under Rosetta the real host is arm64 whatever process.arch says.
  const hostArch = mac?.translated ? 'arm64' : probes.hostArch;
  const native = hostMatches(guestArch, hostArch);
  if (wanted === 'tcg') return { accel: 'tcg', reason: `tcg requested by ${source}` };
  if (wanted === 'hvf') {
    if (probes.platform !== 'darwin' || !native) {
      throw new KdevError('UNSUPPORTED_HOST', `the hvf accelerator needs macOS and a ${guestArch} host`, {
        hints: ['Use --qemu-accel tcg (or auto)'],
      });
    }
    if (mac && !mac.hvSupport) throw hvUnsupported();
    return { accel: 'hvf', reason: `hvf requested by ${source}` };
  }
  if (wanted === 'kvm') {
    if (probes.platform !== 'linux' || !native || !(await probes.kvmUsable())) {
      throw new KdevError('UNSUPPORTED_HOST', `the kvm accelerator is not usable here (${source})`, {
        hints: [
          'Check that /dev/kvm exists and that you may open it (group kvm)',
          'Or use --qemu-accel tcg: slower, but works everywhere',
        ],
      });
    }
    return { accel: 'kvm', reason: `kvm requested by ${source}` };
  }

  if (!native) return { accel: 'tcg', reason: `a ${guestArch} guest on a ${hostArch} host is emulated` };
  if (probes.platform === 'darwin') {
    if (mac && !mac.hvSupport)
      return { accel: 'tcg', reason: 'kern.hv_support is 0 (no Hypervisor.framework)' };
    return { accel: 'hvf', reason: 'macOS host' };
  }
  if (probes.platform === 'linux' && (await probes.kvmUsable())) {
    return { accel: 'kvm', reason: '/dev/kvm is usable' };
  }
  return { accel: 'tcg', reason: 'no hardware accelerator found' };
}

function hvUnsupported(): KdevError {
  return new KdevError(
    'UNSUPPORTED_HOST',
    'Hypervisor.framework is not available on this Mac (kern.hv_support is 0)',
    {
      hints: ['Inside a VM, enable nested virtualization; else use --qemu-accel tcg'],
    },
  );
}
