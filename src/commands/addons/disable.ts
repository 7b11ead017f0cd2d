import { Args, Flags } from '@oclif/core';
import { KdevCommand } from '../../cli/base-command.js';
import { disableAddonWithForwards } from '../../cluster/addons/forwards.js';
import { profileKubeConfig } from '../../cluster/addons/kube-access.js';

export default class AddonsDisable extends KdevCommand<typeof AddonsDisable> {
  static override description =
    "Disable an addon: delete its objects in reverse order and wait until they're gone";
  static override examples = ['<%= config.bin %> addons disable dashboard'];
  static override args = {
    name: Args.string({ required: true, description: 'Addon name, or the folder of your own addon' }),
  };
  static override flags = {
    wait: Flags.boolean({ description: 'Accepted for symmetry with enable: disable always waits' }),
    timeout: Flags.integer({ description: 'Seconds to wait', default: 300 }),
  };

  async run(): Promise<void> {
    const result = await disableAddonWithForwards(
      this.flags.profile,
      this.args.name,
      () => profileKubeConfig(this.flags.profile),
      {
        timeoutMs: this.flags.timeout * 1000,
        onProgress: (m) => this.log_.debug(m),
      },
    );
    this.emit(result, (r) =>
      [
        `✔ ${r.disabled} disabled${r.wasEnabled ? '' : ' (it was not enabled; its objects were removed anyway)'}`,
        ...r.closedForwards.map((f) => `  ${f}: closed`),
      ].join('\n'),
    );
  }
}
