import { Args, Flags } from '@oclif/core';
import { KdevCommand } from '../cli/base-command.js';
import { profileServiceUrls } from '../cluster/service.js';

export default class Service extends KdevCommand<typeof Service> {
  static override description =
    'Print a 127.0.0.1 URL for a NodePort or LoadBalancer Service (a forward into the machine, no sudo)';
  static override examples = [
    '<%= config.bin %> service web',
    '<%= config.bin %> service grafana -n monitoring',
  ];
  static override args = { name: Args.string({ description: 'Service name', required: true }) };
  static override flags = {
    namespace: Flags.string({ char: 'n', description: 'Namespace', default: 'default' }),
  };

  async run(): Promise<void> {
    const urls = await profileServiceUrls(this.flags.profile, this.args.name, this.flags.namespace);
    this.emit(urls, (list) => list.map((u) => u.url).join('\n'));
  }
}
