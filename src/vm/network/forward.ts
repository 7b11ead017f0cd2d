// Port forwards: a named guest port reached on a 127.0.0.1 host port. The cluster layer decides
// the list (ssh, the API server, whatever Kubernetes adds); the machine layer only needs 'ssh'.
import { KdevError } from '../../lib/errors.js';

export interface Forward {
  /** Lower-case identifier, unique per machine: 'ssh', 'apiserver', … */
  name: string;
  guestPort: number;
  hostPort: number;
}

/** The forward every machine has: the guest's sshd. */
export const SSH_FORWARD = 'ssh';
export const GUEST_SSH_PORT = 22;

const NAME = /^[a-z][a-z0-9-]{0,30}$/;

const isPort = (p: number) => Number.isInteger(p) && p >= 1 && p <= 65535;

/** Checks names, ports and clashes; throws one BAD_INPUT line naming the problem. */
export function validateForwards(forwards: readonly Forward[]): void {
  const bad = (message: string) => new KdevError('BAD_INPUT', message);
  const names = new Set<string>();
  const hostPorts = new Map<number, string>();
  for (const f of forwards) {
    if (!NAME.test(f.name)) throw bad(`forward name "${f.name}" must be a short lower-case word`);
    if (names.has(f.name)) throw bad(`forward "${f.name}" is listed twice`);
    names.add(f.name);
    if (!isPort(f.hostPort)) throw bad(`forward "${f.name}": host port ${f.hostPort} is not a TCP port`);
    if (!isPort(f.guestPort)) throw bad(`forward "${f.name}": guest port ${f.guestPort} is not a TCP port`);
    const clash = hostPorts.get(f.hostPort);
    if (clash) throw bad(`forwards "${clash}" and "${f.name}" both use host port ${f.hostPort}`);
    hostPorts.set(f.hostPort, f.name);
  }
  if (!names.has(SSH_FORWARD)) throw bad(`no "${SSH_FORWARD}" forward: kdev reaches every machine over SSH`);
}

/** The forward with this name, or a clear error when the machine has none. */
export function forwardNamed<T extends { name: string }>(list: readonly T[], name: string): T {
  const found = list.find((f) => f.name === name);
  if (!found) {
    throw new KdevError('NOT_FOUND', `the machine has no "${name}" port forward`, {
      hints: ['Delete the machine and start it again to get the current forwards'],
    });
  }
  return found;
}
