// `kdev stop`: ask the guest to power off, then ACPI, then the hypervisor's hard stop.
import { createDriver, type Driver, type MachineState } from '../vm/driver.js';
import { sshClientForMachine } from '../vm/ssh.js';
import { lockProfile, requireProfile } from './profiles.js';
import { stopWatchHelper } from './watch-helper.js';

/**
 * A clean shutdown asked of the guest itself over SSH, so the data disk is flushed and unmounted;
 * the driver's ACPI and hard stops remain the fallbacks when the guest does not answer.
 */
async function powerOffFromInside(name: string, driver: Driver, timeoutMs: number): Promise<void> {
  try {
    const ssh = sshClientForMachine(name, await driver.sshEndpoint());
    // The connection drops as the guest goes down; that is success, not an error.
    await ssh
      .exec(['sudo', 'systemctl', 'poweroff', '--no-block'], { timeoutMs: 10_000 })
      .catch(() => undefined);
  } catch {
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
  opts: { force?: boolean; timeoutMs?: number } = {},
): Promise<StopResult> {
  const release = await lockProfile(name, 30_000);
  try {
    const profile = await requireProfile(name);
    const driver = createDriver(profile.driver, name);
    const before = await driver.state();
    await stopWatchHelper(name);
    if (before === 'Running' && !opts.force) await powerOffFromInside(name, driver, opts.timeoutMs ?? 30_000);
    if ((await driver.state()) !== 'Stopped')
      await driver.stop({ force: opts.force, timeoutMs: opts.timeoutMs });
    return { profile: name, wasRunning: before === 'Running', state: await driver.state() };
  } finally {
    await release();
  }
}
