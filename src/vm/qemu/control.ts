// What kdev asks a running qemu over its QMP socket: the VM's state, power off or quit (the
// HypervisorControl the shared lifecycle uses), and slirp hostfwd rules for forwards opened while
// it runs on user-mode networking.
import { KdevError } from '../../lib/errors.js';
import type { Forward, MachineState } from '../driver.js';
import type { HypervisorControl } from '../machine/base-driver.js';
import { qmpExecute } from './qmp.js';

const QMP_TIMEOUT_MS = 2000;
// Transient states while qemu sets up or winds down still count as a running machine.
const RUNNING_STATES = ['prelaunch', 'inmigrate', 'postmigrate', 'finish-migrate', 'save-vm', 'restore-vm'];

export function qmpControl(socket: string): HypervisorControl {
  const sent = (command: string) => qmpAnswers(socket, command);
  return {
    name: 'QMP',
    async state(): Promise<MachineState> {
      const s = await qmpExecute<{ status: string; running: boolean }>(
        socket,
        'query-status',
        undefined,
        QMP_TIMEOUT_MS,
      );
      return s.running || RUNNING_STATES.includes(s.status) ? 'Running' : 'Error';
    },
    // ACPI power button: the guest shuts down cleanly and qemu exits by itself.
    powerOff: () => sent('system_powerdown'),
    forceOff: () => sent('quit'),
    forceOffMs: 3000,
  };
}

/** Whether qemu took the command: any answer but an error. */
export function qmpAnswers(socket: string, command = 'query-status'): Promise<boolean> {
  return qmpExecute(socket, command, undefined, QMP_TIMEOUT_MS).then(
    () => true,
    () => false,
  );
}

export async function addHostfwd(socket: string, forward: Forward): Promise<void> {
  // Silent on success; an error is text (e.g. "Could not set up host forwarding rule").
  await hmp(socket, `hostfwd_add net0 tcp:127.0.0.1:${forward.hostPort}-:${forward.guestPort}`, /^$/);
}

export async function removeHostfwd(socket: string, forward: Forward): Promise<void> {
  await hmp(socket, `hostfwd_remove net0 tcp:127.0.0.1:${forward.hostPort}`, /removed$/);
}

/** A monitor command through QMP. HMP answers in text, success included: `ok` tells them apart. */
async function hmp(socket: string, command: string, ok: RegExp): Promise<void> {
  const out = await qmpExecute<string>(
    socket,
    'human-monitor-command',
    { 'command-line': command },
    QMP_TIMEOUT_MS,
  );
  if (typeof out !== 'string' || !ok.test(out.trim())) {
    throw new KdevError('VM_ERROR', `qemu refused "${command}": ${String(out).trim()}`);
  }
}
