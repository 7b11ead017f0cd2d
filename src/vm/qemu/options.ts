// The qemu driver's own options (MachineSpec.options), validated here rather than in the generic
// spec: today only the accelerator.
import { KdevError } from '../../lib/errors.js';
import { isQemuAccel, QEMU_ACCELS, type QemuAccel } from '../names.js';

export interface QemuOptions {
  accel: QemuAccel;
}

export const QEMU_OPTION_NAMES = ['accel'];

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
  return { accel };
}
