import { KdevCommand } from '../cli/base-command.js';
import { requireRunning } from '../cluster/machine.js';
import { sshClientForMachine } from '../vm/ssh.js';

export default class Ssh extends KdevCommand<typeof Ssh> {
  static override description = 'Log into the machine, or run a command there: kdev ssh -- cmd args';
  static override strict = false;
  static override examples = ['<%= config.bin %> ssh', '<%= config.bin %> ssh -- sudo ctr version'];

  async run(): Promise<void> {
    const driver = await requireRunning(this.flags.profile);
    const ssh = sshClientForMachine(this.flags.profile, await driver.sshEndpoint());
    // Everything after `--` is the remote command; each argument is quoted for the guest's shell.
    const dash = this.argv.indexOf('--');
    const remote = dash >= 0 ? this.argv.slice(dash + 1) : [];
    process.exitCode = await ssh.interactive(remote);
  }
}
