// vfkit's REST API as the HypervisorControl the shared lifecycle uses: Virtualization.framework's
// state mapped to kdev's, `Stop` (the guest is asked to power off; vfkit exits with the VM) and
// `HardStop`.
import type { MachineState } from '../driver.js';
import type { HypervisorControl } from '../machine/base-driver.js';
import { VfkitRestClient, type VfkitStateChange, type VfkitVmState } from './rest.js';

const REST_TIMEOUT_MS = 2000;
// Framework states that still mean "the machine is up" for kdev.
const UP: readonly VfkitVmState[] = [
  'Running',
  'Starting',
  'Pausing',
  'Paused',
  'Resuming',
  'Saving',
  'Restoring',
];

export function vfkitControl(socket: string): HypervisorControl {
  const rest = new VfkitRestClient(socket, REST_TIMEOUT_MS);
  const change = (to: VfkitStateChange) =>
    rest.changeState(to).then(
      () => true,
      () => false,
    );
  return {
    name: 'REST',
    async state(): Promise<MachineState> {
      const s = await rest.state();
      if (UP.includes(s)) return 'Running';
      return s === 'Stopped' || s === 'Stopping' ? 'Stopped' : 'Error';
    },
    powerOff: () => change('Stop'),
    forceOff: () => change('HardStop'),
    forceOffMs: 5000,
  };
}

/** Whether vfkit's API reports the VM up (start waits for this). */
export function vfkitUp(socket: string): Promise<boolean> {
  return new VfkitRestClient(socket, REST_TIMEOUT_MS).state().then(
    (s) => UP.includes(s),
    () => false,
  );
}
