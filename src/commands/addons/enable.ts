import { Args, Flags } from '@oclif/core';
import { KdevCommand } from '../../cli/base-command.js';
import { enableAddonsWithForwards } from '../../cluster/addons/forwards.js';
import { profileKubeConfig } from '../../cluster/addons/kube-access.js';

export default class AddonsEnable extends KdevCommand<typeof AddonsEnable> {
  static override description = 'Enable addons (and what they depend on) on a running cluster';
  static override examples = [
    '<%= config.bin %> addons enable metrics-server',
    '<%= config.bin %> addons enable ingress registry --wait',
    '<%= config.bin %> addons enable ./my-addon',
  ];
  static override strict = false;
  static override args = {
    name: Args.string({ required: true, description: 'Addon name, or the folder of your own addon' }),
  };
  static override flags = {
    wait: Flags.boolean({ description: "Wait until the addons' Deployments and DaemonSets are available" }),
    timeout: Flags.integer({ description: 'Seconds to wait', default: 300 }),
  };

  async run(): Promise<void> {
    const names = [this.args.name, ...this.rest.filter((w) => w !== this.args.name)];
    const result = await enableAddonsWithForwards(
      this.flags.profile,
      names,
      () => profileKubeConfig(this.flags.profile),
      {
        wait: this.flags.wait,
        timeoutMs: this.flags.timeout * 1000,
        onProgress: (m) => this.log_.debug(m),
      },
    );
    this.emit(result, (r) =>
      [
        ...r.enabled.map((n) => `✔ ${n} enabled`),
        ...r.forwards.map((f) => `  ${f.name}: 127.0.0.1:${f.port}`),
      ].join('\n'),
    );
  }
}
