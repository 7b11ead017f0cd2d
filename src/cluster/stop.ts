// `kdev stop`: ask the guest to power off, then ACPI, then the hypervisor's hard stop.
import type { Logger } from '../lib/log.js';
import type { Driver, MachineState } from '../vm/driver.js';
import { loadDriver } from '../vm/registry.js';
import { sshTo } from './access.js';
import { lockProfile, requireProfile } from './profiles.js';
import { stopWatchHelper } from './watch-helper.js';

/**
 * A clean shutdown asked of the guest itself over SSH, so the data disk is flushed and unmounted;
 * the driver's ACPI and hard stops remain the fallbacks when the guest does not answer. Waits for
 * the guest only when the command got through: an SSH that failed (or that a slow guest did not
 * finish in time) goes straight to ACPI, which shuts down just as cleanly, instead of idling.
 */
async function powerOffFromInside(
  name: string,
  driver: Driver,
  timeoutMs: number,
  logger?: Logger,
): Promise<void> {
  let delivered = false;
  try {
    const ssh = await sshTo(name, driver, logger);
    // --no-block: systemctl answers at once, before the connection drops with the guest.
    const r = await ssh.exec(['sudo', 'systemctl', 'poweroff', '--no-block'], {
      timeoutMs: Math.min(timeoutMs, 30_000),
    });
    delivered = r.exitCode === 0;
  } catch {
    // SSH itself failed: the ACPI path follows.
  }
  if (!delivered) {
    logger?.debug('the guest did not take the power-off over SSH; trying ACPI');
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await driver.state()) !== 'Running') return;
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface StopResult {
  profile: string;
  wasRunning: boolean;
  state: MachineState;
}

export async function stopMachine(
  name: string,
  opts: { force?: boolean; timeoutMs?: number; logger?: Logger } = {},
): Promise<StopResult> {
  // A missing profile is reported before the lock, so it leaves nothing behind (no locks/).
  await requireProfile(name);
  const release = await lockProfile(name, 30_000);
  try {
    const profile = await requireProfile(name);
    const driver = await loadDriver(profile.driver, name, { logger: opts.logger });
    const before = await driver.state();
    await stopWatchHelper(name);
    if (before === 'Running' && !opts.force)
      await powerOffFromInside(name, driver, opts.timeoutMs ?? 30_000, opts.logger);
    if ((await driver.state()) !== 'Stopped')
      await driver.stop({ force: opts.force, timeoutMs: opts.timeoutMs });
    return { profile: name, wasRunning: before === 'Running', state: await driver.state() };
  } finally {
    await release();
  }
}
