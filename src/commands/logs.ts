import { Flags } from '@oclif/core';
import { KdevCommand } from '../cli/base-command.js';
import { followConsole, readConsole, guestJournal } from '../cluster/logs.js';

export default class Logs extends KdevCommand<typeof Logs> {
  static override description = "Show the machine's serial console and guest journal";
  static override flags = {
    follow: Flags.boolean({ char: 'f', description: 'Keep printing new console lines (Ctrl-C to stop)' }),
    source: Flags.string({
      description: 'Which log',
      options: ['all', 'console', 'journal'],
      default: 'all',
    }),
    lines: Flags.integer({ char: 'n', description: 'Journal lines', default: 200, min: 1 }),
  };

  async run(): Promise<void> {
    const { profile, follow, source, lines } = this.flags;
    if (source !== 'journal') {
      if (source === 'all') process.stdout.write('==> console <==\n');
      process.stdout.write(await readConsole(profile));
    }
    if (source !== 'console' && !follow) {
      if (source === 'all') process.stdout.write('\n==> journal <==\n');
      process.stdout.write(await guestJournal(profile, lines, source === 'journal', this.log_));
    }
    if (follow) await followConsole(profile, (chunk) => process.stdout.write(chunk));
  }
}
