import { Flags } from '@oclif/core';
import { KdevCommand } from '../cli/base-command.js';
import { stopMachine } from '../cluster/stop.js';

export default class Stop extends KdevCommand<typeof Stop> {
  static override description = 'Stop the machine: ACPI power-down, forced after a timeout';
  static override flags = {
    force: Flags.boolean({ description: 'Power off at once, without a clean shutdown' }),
    timeout: Flags.integer({
      description: 'Seconds to wait for a clean shutdown before forcing',
      default: 30,
      min: 1,
    }),
  };

  async run(): Promise<void> {
    const result = await stopMachine(this.flags.profile, {
      force: this.flags.force,
      timeoutMs: this.flags.timeout * 1000,
      logger: this.log_,
    });
    this.emit(result, (r) =>
      r.wasRunning ? `✔ ${r.profile} stopped` : `${r.profile} is not running (${r.state})`,
    );
  }
}
