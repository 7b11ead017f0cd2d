// The qemu driver's own options (MachineSpec.options), validated here rather than in the generic
// spec (the accelerator and the network back end), and the error (with a hint) of a qemu that
// would not start with them.
import { KdevError } from '../../lib/errors.js';
import type { StartFailure } from '../machine/base-driver.js';
import { unsupportedNetwork } from '../machine/validate.js';
import { isQemuAccel, QEMU_ACCELS, type NetworkMode, type QemuAccel } from '../names.js';

export interface QemuOptions {
  accel: QemuAccel;
  network: NetworkMode;
}

export const QEMU_OPTION_NAMES = ['accel', 'network'];
export const QEMU_NETWORK_MODES: readonly NetworkMode[] = ['user', 'gvproxy'];

export function parseQemuOptions(options: Record<string, string>): QemuOptions {
  for (const key of Object.keys(options)) {
    if (!QEMU_OPTION_NAMES.includes(key)) {
      throw new KdevError('BAD_INPUT', `the qemu driver has no option "${key}"`, {
        hints: [`Its options: ${QEMU_OPTION_NAMES.join(', ')}`],
      });
    }
  }
  const accel = options.accel ?? 'auto';
  if (!isQemuAccel(accel)) {
    throw new KdevError('BAD_INPUT', `unknown --qemu-accel "${accel}"`, {
      hints: [`Use one of: ${QEMU_ACCELS.join(', ')}`],
    });
  }
  const network = options.network ?? 'user';
  if (!(QEMU_NETWORK_MODES as readonly string[]).includes(network)) {
    throw unsupportedNetwork('qemu', network, QEMU_NETWORK_MODES);
  }
  return { accel, network: network as NetworkMode };
}

/** The one error of a qemu that did not start: what it printed last, and a hint from that. */
export function qemuStartError(f: StartFailure, logFile: string): KdevError {
  if (f.outcome === 'timeout') {
    return new KdevError('VM_ERROR', 'qemu started but its QMP socket never answered', {
      hints: [`See ${logFile}`],
    });
  }
  const detail = f.error?.message ?? f.output.split('\n').slice(-5).join('\n');
  return new KdevError('VM_ERROR', `qemu exited at once${detail ? `: ${detail}` : ''}`, {
    hints: startFailureHints(f.output),
  });
}

/** What to tell the user when qemu exits at once, from what it printed. */
function startFailureHints(output: string): string[] {
  if (/host forwarding rule|Could not set up host forwarding/i.test(output)) {
    return ['A forwarded port is taken by another program: kdev delete, then kdev start picks new ports'];
  }
  if (/kvm/i.test(output) && /(Permission denied|failed to initialize|No such file)/i.test(output)) {
    return ['KVM is not usable here: retry with --qemu-accel tcg'];
  }
  return ['See the full qemu output: kdev logs'];
}
