// The host side of addons that serve the host (ingress, registry, dashboard): each guest port an
// enabled addon declares gets a forward on 127.0.0.1, opened while the machine runs. Forwards
// opened at run time end with the machine, so every start opens them again.
import { freePort, portFree } from '../../lib/net.js';
import type { Driver, Endpoint } from '../../vm/driver.js';
import { loadDriver } from '../../vm/registry.js';
import { requireRunning } from '../access.js';
import { requireProfile, type Profile } from '../profiles.js';
import {
  disableAddon,
  enableAddons,
  enabledAddonForwards,
  type AddonForwardRequest,
  type EnableResult,
} from './addons.js';

export interface AddonEndpoint extends Endpoint {
  addon: string;
}

export interface AddonForwardDeps {
  /** The forwards the enabled addons need (addons.enabledAddonForwards). */
  requests: (profile: Profile) => Promise<AddonForwardRequest[]>;
  freePort?: () => Promise<number>;
  portFree?: (port: number) => Promise<boolean>;
}

/**
 * Opens (or finds already open) the forward of every guest port the profile's enabled addons
 * declare. An addon's preferred host port is used when it is free, else any free port. A driver
 * that cannot add forwards while it runs gets none, and the addon is reached only in the cluster.
 */
export async function openAddonForwards(
  profile: Profile,
  driver: Driver,
  deps: AddonForwardDeps,
): Promise<AddonEndpoint[]> {
  const requests = await deps.requests(profile);
  if (requests.length === 0 || !driver.addForward) return [];
  const existing = await driver.endpoints();
  const out: AddonEndpoint[] = [];
  for (const r of requests) {
    const open = existing.find((e) => e.name === r.name);
    if (open) {
      out.push({ ...open, addon: r.addon });
      continue;
    }
    const preferred = r.hostPort !== undefined && (await (deps.portFree ?? portFree)(r.hostPort));
    const hostPort = preferred ? r.hostPort! : await (deps.freePort ?? freePort)();
    const ep = await driver.addForward({ name: r.name, guestPort: r.guestPort, hostPort });
    out.push({ ...ep, addon: r.addon });
  }
  return out;
}

/** `kdev addons enable`: applies the addons, then opens the host forwards they declare. */
export async function enableAddonsWithForwards(
  ...args: Parameters<typeof enableAddons>
): Promise<EnableResult & { forwards: AddonEndpoint[] }> {
  const result = await enableAddons(...args);
  const profile = await requireProfile(result.profile);
  // Most addons serve only the cluster: the machine is looked up only when one declares a forward.
  const requests = await enabledAddonForwards(profile);
  if (requests.length === 0) return { ...result, forwards: [] };
  const driver = await requireRunning(result.profile);
  const forwards = await openAddonForwards(profile, driver, { requests: async () => requests });
  return { ...result, forwards };
}

/**
 * Closes the named forwards where they are open. A machine that does not run has none open (they
 * end with it), and a driver that cannot remove forwards at run time keeps them until it stops.
 */
export async function closeAddonForwards(driver: Driver, names: readonly string[]): Promise<string[]> {
  if (names.length === 0 || !driver.removeForward || (await driver.state()) !== 'Running') return [];
  const open = new Set((await driver.endpoints()).map((e) => e.name));
  const closed: string[] = [];
  for (const name of names) {
    if (!open.has(name)) continue;
    await driver.removeForward(name);
    closed.push(name);
  }
  return closed;
}

/** `kdev addons disable`: deletes the addon's objects, then closes the host forwards it declared. */
export async function disableAddonWithForwards(
  ...args: Parameters<typeof disableAddon>
): Promise<Omit<Awaited<ReturnType<typeof disableAddon>>, 'forwardNames'> & { closedForwards: string[] }> {
  const { forwardNames, ...result } = await disableAddon(...args);
  if (forwardNames.length === 0) return { ...result, closedForwards: [] };
  const profile = await requireProfile(result.profile);
  const driver = await loadDriver(profile.driver, profile.name);
  return { ...result, closedForwards: await closeAddonForwards(driver, forwardNames) };
}
