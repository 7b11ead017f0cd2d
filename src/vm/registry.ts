// Driver name -> implementation: the only place that maps names to code. Drivers are imported on
// first use, so commands that never touch a machine never load a hypervisor backend.
import { KdevError } from '../lib/errors.js';
import type { Driver, DriverDeps, DriverFactory } from './driver.js';
import { DRIVER_NAMES, type DriverName } from './names.js';

const loaders: Record<DriverName, () => Promise<DriverFactory>> = {
  qemu: async () => (await import('./qemu/driver.js')).createQemuDriver,
  vfkit: async () => (await import('./vfkit/driver.js')).createVfkitDriver,
};

function isDriverName(name: string): name is DriverName {
  return (DRIVER_NAMES as readonly string[]).includes(name);
}

/** The driver for one machine; an unknown name is a BAD_INPUT error listing the known ones. */
export async function loadDriver(
  driverName: string,
  machineName: string,
  deps: DriverDeps = {},
): Promise<Driver> {
  if (!isDriverName(driverName)) {
    throw new KdevError('BAD_INPUT', `unknown driver "${driverName}"`, {
      hints: [`Use one of: ${DRIVER_NAMES.join(', ')}`],
    });
  }
  return (await loaders[driverName]())(machineName, deps);
}
