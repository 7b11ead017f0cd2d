// `kdev status`: per component state, and minikube's exit-code bitmask.
import type { MachineState } from '../vm/driver.js';
import { loadDriver } from '../vm/registry.js';
import { clusterStatus } from './kubernetes/cluster-status.js';
import { loadProfile } from './profiles.js';

export type ComponentState =
  'Running' | 'Stopped' | 'Nonexistent' | 'Error' | 'Configured' | 'Misconfigured' | 'Disabled';

export interface StatusResult {
  Name: string;
  Host: MachineState;
  Kubelet: ComponentState;
  APIServer: ComponentState;
  Kubeconfig: ComponentState;
  Driver?: string;
  /** Helpers that should run beside the machine but do not (e.g. a killed virtiofsd). */
  Problems?: string[];
  /** What the host reaches on 127.0.0.1 while the machine runs: SSH, the API server, addons. */
  Forwards?: Array<{ name: string; hostPort: number; guestPort: number }>;
}

/** minikube's bitmask: 1 host not running, 2 cluster not running, 4 kubeconfig not configured. */
export function statusExitCode(s: StatusResult): number {
  const bad = (v: ComponentState) => v !== 'Running' && v !== 'Configured' && v !== 'Disabled';
  let code = 0;
  if (s.Host !== 'Running' || (s.Problems?.length ?? 0) > 0) code |= 1;
  if (bad(s.Kubelet) || bad(s.APIServer)) code |= 2;
  if (bad(s.Kubeconfig)) code |= 4;
  return code;
}

export async function machineStatus(name: string): Promise<StatusResult> {
  const profile = await loadProfile(name);
  if (!profile) {
    return {
      Name: name,
      Host: 'Nonexistent',
      Kubelet: 'Nonexistent',
      APIServer: 'Nonexistent',
      Kubeconfig: 'Nonexistent',
    };
  }
  const driver = await loadDriver(profile.driver, name);
  const host = profile.phase === 'creating' ? 'Error' : await driver.state();
  const problems = host === 'Running' ? ((await driver.runtimeInfo()).problems ?? []) : [];
  const forwards =
    host === 'Running'
      ? (await driver.endpoints()).map((e) => ({ name: e.name, hostPort: e.port, guestPort: e.guestPort }))
      : [];
  const base = {
    Name: name,
    Host: host,
    Driver: profile.driver,
    ...(problems.length > 0 ? { Problems: problems } : {}),
    ...(forwards.length > 0 ? { Forwards: forwards } : {}),
  };
  if (!profile.kubernetes)
    return { ...base, Kubelet: 'Disabled', APIServer: 'Disabled', Kubeconfig: 'Disabled' };
  // A stopped machine: everything is down (minikube's exit code 7).
  if (host !== 'Running') return { ...base, Kubelet: 'Stopped', APIServer: 'Stopped', Kubeconfig: 'Stopped' };
  return { ...base, ...(await clusterStatus(name, driver)) };
}
