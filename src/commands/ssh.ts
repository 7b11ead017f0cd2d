import { KdevCommand } from '../cli/base-command.js';
import { sshInto } from '../cluster/access.js';

export default class Ssh extends KdevCommand<typeof Ssh> {
  static override description = 'Log into the machine, or run a command there: kdev ssh -- cmd args';
  static override strict = false;
  static override examples = ['<%= config.bin %> ssh', '<%= config.bin %> ssh -- sudo ctr version'];

  async run(): Promise<void> {
    // The remote command: everything after `--` (kept verbatim, flags included), else the plain
    // words given; each argument is quoted for the guest's shell.
    const dash = this.argv.indexOf('--');
    process.exitCode = await sshInto(
      this.flags.profile,
      dash >= 0 ? this.argv.slice(dash + 1) : this.rest,
      this.log_,
    );
  }
}
