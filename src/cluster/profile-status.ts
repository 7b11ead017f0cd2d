// One line of state per profile, for `kdev profile list`.
import { listProfiles } from './profiles.js';

export interface ProfileStatus {
  name: string;
  driver?: string;
  cpus?: number;
  memoryMiB?: number;
  diskMiB?: number;
  kubernetes?: boolean;
  kubernetesVersion?: string;
  status: string;
  problem?: string;
}

export type HostStateProbe = (name: string, driver: string) => Promise<string>;

// Loaded only when there is a profile to probe: the drivers are most of this command's start-up.
const driverState: HostStateProbe = async (name, driver) =>
  (await (await import('../vm/registry.js')).loadDriver(driver, name)).state();

export async function listProfileStatuses(probe: HostStateProbe = driverState): Promise<ProfileStatus[]> {
  const entries = await listProfiles();
  return Promise.all(
    entries.map(async ({ name, profile, problem }): Promise<ProfileStatus> => {
      if (!profile) return { name, status: 'Invalid', problem };
      const status = profile.phase === 'creating' ? 'Incomplete' : await probe(name, profile.driver);
      return {
        name,
        driver: profile.driver,
        cpus: profile.cpus,
        memoryMiB: profile.memoryMiB,
        diskMiB: profile.diskMiB,
        kubernetes: profile.kubernetes,
        kubernetesVersion: profile.kubernetesVersion,
        status,
      };
    }),
  );
}
