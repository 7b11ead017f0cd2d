// Reaching a running machine: the driver behind a profile, SSH sessions, the guest's address.
import { KdevError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Driver } from '../vm/driver.js';
import { loadDriver } from '../vm/registry.js';
import { sshClientForMachine, type SystemSshClient } from '../vm/ssh.js';
import { API_SERVER_FORWARD, endpointOf, sshEndpointOf } from './forwards.js';
import { loadProfile, requireProfile, type Profile } from './profiles.js';

/** The profile (if readable) and its driver; a corrupt profile still yields the default driver. */
export async function driverFor(
  name: string,
  logger?: Logger,
): Promise<{ profile?: Profile; driver: Driver }> {
  let profile: Profile | undefined;
  try {
    profile = await loadProfile(name);
  } catch {
    // A corrupt profile must still be deletable: fall back to the default driver's view.
  }
  return { profile, driver: await loadDriver(profile?.driver ?? 'qemu', name, { logger }) };
}

export async function requireRunning(name: string, logger?: Logger): Promise<Driver> {
  const profile = await requireProfile(name);
  const driver = await loadDriver(profile.driver, name, { logger });
  const state = await driver.state();
  if (state !== 'Running') {
    throw new KdevError('VM_ERROR', `profile "${name}" is not running (${state})`, {
      hints: [`Start it with: kdev start -p ${name}`],
    });
  }
  return driver;
}

/** An SSH client for the machine's ssh forward; each command and its exit code go to logger. */
export async function sshTo(name: string, driver: Driver, logger?: Logger): Promise<SystemSshClient> {
  const { host, port } = await sshEndpointOf(driver);
  return sshClientForMachine(name, { host, port }, { log: logger && ((line) => logger.debug(line)) });
}

/** Runs argv in the guest with this terminal's stdio (a login shell when empty); the remote exit code. */
export async function sshInto(name: string, argv: readonly string[], logger?: Logger): Promise<number> {
  const driver = await requireRunning(name, logger);
  return (await sshTo(name, driver, logger)).interactive(argv);
}

export interface IpResult {
  ip: string;
  ipDiscovery: string;
  ssh: { host: string; port: number };
  apiServer: { host: string; port: number };
}

/**
 * The guest's own IPv4 address: the one its DHCP lease recorded (vfkit --network vmnet), else as
 * the guest reports it (behind hostfwd drivers it is reachable only through the forwards).
 */
export async function machineIp(name: string, logger?: Logger): Promise<IpResult> {
  const driver = await requireRunning(name, logger);
  const { host, port } = await sshEndpointOf(driver);
  const ssh = { host, port };
  const runtime = await driver.runtimeInfo();
  const ip = runtime.guestIp ?? (await guestReportedIp(name, driver, logger));
  const api = await endpointOf(driver, API_SERVER_FORWARD);
  const ipDiscovery = runtime.ipDiscovery ?? driver.info().ipDiscovery;
  return { ip, ipDiscovery, ssh, apiServer: { host: api.host, port: api.port } };
}

async function guestReportedIp(name: string, driver: Driver, logger?: Logger): Promise<string> {
  const r = await (
    await sshTo(name, driver, logger)
  ).exec(['ip', '-4', '-o', 'route', 'get', '1.1.1.1'], {
    timeoutMs: 15_000,
  });
  const ip = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
  if (!ip)
    throw new KdevError('VM_ERROR', 'the guest reported no IPv4 address', { hints: ['See: kdev logs'] });
  return ip;
}
