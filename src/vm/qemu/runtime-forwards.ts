// Forwards opened and closed while a qemu machine runs: through gvproxy's API on a gvproxy
// machine, else slirp hostfwd rules over QMP's human monitor. Each change is recorded, so
// endpoints() lists what is open now.
import { KdevError } from '../../lib/errors.js';
import type { Endpoint, Forward } from '../driver.js';
import type { MachineFiles } from '../machine/files.js';
import { updateMachineRecord, type MachineRecord } from '../machine/record.js';
import { validateForwards } from '../network/forward.js';
import { GvproxyForwarder } from '../network/gvproxy.js';
import { machineGvproxyPaths } from '../network/gvproxy-process.js';
import { qmpExecute } from './qmp.js';

const QMP_TIMEOUT_MS = 2000;

/** A machine known to be running: its record and the network back end it booted with. */
export interface RunningMachine {
  name: string;
  files: MachineFiles;
  record: MachineRecord;
}

export async function addRuntimeForward(m: RunningMachine, forward: Forward): Promise<Endpoint> {
  const current = m.record.runtime?.forwards ?? [];
  validateForwards([...current, forward]);
  if (networkOf(m) === 'gvproxy') {
    await gvproxyApi(m.files).expose(forward.hostPort, forward.guestPort);
  } else {
    // Silent on success; an error is text (e.g. "Could not set up host forwarding rule").
    await hmp(m.files, `hostfwd_add net0 tcp:127.0.0.1:${forward.hostPort}-:${forward.guestPort}`, /^$/);
  }
  await updateMachineRecord(m.files.record, (r) =>
    r.runtime ? { ...r, runtime: { ...r.runtime, forwards: [...current, forward] } } : r,
  );
  return { name: forward.name, host: '127.0.0.1', port: forward.hostPort, guestPort: forward.guestPort };
}

export async function removeRuntimeForward(m: RunningMachine, name: string): Promise<void> {
  const current = m.record.runtime?.forwards ?? [];
  const forward = current.find((f) => f.name === name);
  if (!forward) {
    throw new KdevError('NOT_FOUND', `machine "${m.name}" has no forward named "${name}"`, {
      hints: [`Its forwards: ${current.map((f) => f.name).join(', ') || 'none'}`],
    });
  }
  if (networkOf(m) === 'gvproxy') await gvproxyApi(m.files).unexpose(forward.hostPort);
  else await hmp(m.files, `hostfwd_remove net0 tcp:127.0.0.1:${forward.hostPort}`, /removed$/);
  await updateMachineRecord(m.files.record, (r) =>
    r.runtime ? { ...r, runtime: { ...r.runtime, forwards: current.filter((f) => f.name !== name) } } : r,
  );
}

function networkOf(m: RunningMachine): string {
  return m.record.runtime?.network ?? 'user';
}

function gvproxyApi(files: MachineFiles): GvproxyForwarder {
  return new GvproxyForwarder(machineGvproxyPaths(files, 'qemu').apiSocket);
}

/** A monitor command through QMP. HMP answers in text, success included: `ok` tells them apart. */
async function hmp(files: MachineFiles, command: string, ok: RegExp): Promise<void> {
  const out = await qmpExecute<string>(
    files.controlSocket,
    'human-monitor-command',
    { 'command-line': command },
    QMP_TIMEOUT_MS,
  );
  if (typeof out !== 'string' || !ok.test(out.trim())) {
    throw new KdevError('VM_ERROR', `qemu refused "${command}": ${String(out).trim()}`);
  }
}
