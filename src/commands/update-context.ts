import { Flags } from '@oclif/core';
import { KdevCommand } from '../cli/base-command.js';
import { updateContext } from '../cluster/kubernetes/profile-access.js';

export default class UpdateContext extends KdevCommand<typeof UpdateContext> {
  static override description = "Point the profile's kubeconfig entry at its current API server port";
  static override flags = {
    'embed-certs': Flags.boolean({
      description: 'Embed the certificates instead of referring to their files',
    }),
    'keep-context': Flags.boolean({ description: 'Leave current-context as it is' }),
  };

  async run(): Promise<void> {
    const r = await updateContext(this.flags.profile, {
      embedCerts: this.flags['embed-certs'],
      keepContext: this.flags['keep-context'],
    });
    this.emit(
      r,
      (x) => `✔ ${x.kubeconfig}: context "${x.profile}" → ${x.server}${x.currentContext ? ' (current)' : ''}`,
    );
  }
}
