import { Flags } from '@oclif/core';
import { KdevCommand } from '../cli/base-command.js';
import { deleteMachines } from '../cluster/delete.js';
import { KdevError } from '../lib/errors.js';

export default class Delete extends KdevCommand<typeof Delete> {
  static override description = 'Delete a profile: its machine, disks and settings';
  static override checksProfileName = true;
  static override flags = {
    all: Flags.boolean({ description: 'Delete every profile' }),
    purge: Flags.boolean({
      description: "With --all: also remove kdev's own files in KDEV_HOME (config, caches, certificates)",
    }),
  };

  async run(): Promise<void> {
    if (this.flags.purge && !this.flags.all) {
      throw new KdevError('BAD_INPUT', '--purge removes everything kdev keeps, so it needs --all', {
        hints: ['Run: kdev delete --all --purge'],
      });
    }
    const result = await deleteMachines({
      names: [this.flags.profile],
      all: this.flags.all,
      purge: this.flags.purge,
      logger: this.log_,
    });
    this.emit(result, (r) =>
      [
        r.deleted.length ? `✔ deleted ${r.deleted.join(', ')}` : 'Nothing to delete',
        ...(r.purged ? ["✔ purged kdev's files from KDEV_HOME"] : []),
      ].join('\n'),
    );
  }
}
