// `kdev status`: per component state, and minikube's exit-code bitmask.
import type { MachineState } from '../vm/driver.js';
import { loadDriver } from '../vm/registry.js';
import { clusterStatus } from './kubernetes/cluster-status.js';
import { listProfiles, loadProfile, type Profile } from './profiles.js';

/** Invalid: the profile itself cannot be read (a folder name that is no profile name, a damaged config). */
export type ComponentState =
  'Running' | 'Stopped' | 'Nonexistent' | 'Error' | 'Configured' | 'Misconfigured' | 'Disabled' | 'Invalid';

export interface StatusResult {
  Name: string;
  Host: MachineState | 'Invalid';
  Kubelet: ComponentState;
  APIServer: ComponentState;
  Kubeconfig: ComponentState;
  Driver?: string;
  /** Helpers that should run beside the machine but do not (e.g. a killed virtiofsd). */
  Problems?: string[];
  /** What the host reaches on 127.0.0.1 while the machine runs: SSH, the API server, addons. */
  Forwards?: Array<{ name: string; hostPort: number; guestPort: number }>;
}

/**
 * minikube's bitmask: 1 host not running, 2 cluster not running, 4 kubeconfig not configured. An
 * Invalid profile (shown by `status --all` beside the others) adds nothing: the code is the
 * bitmask of the profiles that can be read, so one stray folder does not mask their state.
 */
export function statusExitCode(s: StatusResult): number {
  if (s.Host === 'Invalid') return 0;
  const bad = (v: ComponentState) => v !== 'Running' && v !== 'Configured' && v !== 'Disabled';
  let code = 0;
  if (s.Host !== 'Running' || (s.Problems?.length ?? 0) > 0) code |= 1;
  if (bad(s.Kubelet) || bad(s.APIServer)) code |= 2;
  if (bad(s.Kubeconfig)) code |= 4;
  return code;
}

/** Every profile in the store; one that cannot be read is listed as Invalid, with why. */
export async function allStatuses(): Promise<StatusResult[]> {
  const entries = await listProfiles();
  return Promise.all(
    entries.map(({ name, profile, problem }) =>
      profile ? machineStatus(name, profile) : Promise.resolve(invalidStatus(name, problem)),
    ),
  );
}

function invalidStatus(name: string, problem = 'unreadable profile'): StatusResult {
  const invalid = 'Invalid' as const;
  return {
    Name: name,
    Host: invalid,
    Kubelet: invalid,
    APIServer: invalid,
    Kubeconfig: invalid,
    Problems: [problem],
  };
}

export async function machineStatus(name: string, loaded?: Profile): Promise<StatusResult> {
  const profile = loaded ?? (await loadProfile(name));
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
