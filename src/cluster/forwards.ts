// The ports a profile forwards from 127.0.0.1 into its machine. The machine layer knows only the
// names; which guest ports exist (the API server today, more with Kubernetes) is decided here.
import type { Driver, Endpoint, Forward } from '../vm/driver.js';
import { forwardNamed, GUEST_SSH_PORT, SSH_FORWARD } from '../vm/network/forward.js';

export const API_SERVER_FORWARD = 'apiserver';
/** kube-apiserver's secure port in the guest. */
export const GUEST_API_SERVER_PORT = 8443;

export function profileForwards(ports: { ssh: number; apiServer: number }): Forward[] {
  return [
    { name: SSH_FORWARD, guestPort: GUEST_SSH_PORT, hostPort: ports.ssh },
    { name: API_SERVER_FORWARD, guestPort: GUEST_API_SERVER_PORT, hostPort: ports.apiServer },
  ];
}

/** Where the host reaches one forward of a machine. */
export async function endpointOf(driver: Driver, name: string): Promise<Endpoint> {
  return forwardNamed(await driver.endpoints(), name);
}

export const sshEndpointOf = (driver: Driver) => endpointOf(driver, SSH_FORWARD);
