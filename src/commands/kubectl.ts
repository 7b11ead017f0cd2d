import { KdevCommand } from '../cli/base-command.js';
import { runKubectl } from '../cluster/kubernetes/kubectl.js';

export default class Kubectl extends KdevCommand<typeof Kubectl> {
  static override description =
    "Run the kubectl matching the cluster's version, with the profile's context: kdev kubectl -- get pods -A";
  static override strict = false;
  static override examples = [
    '<%= config.bin %> kubectl -- get nodes',
    '<%= config.bin %> kubectl -p dev -- get pods -A',
  ];

  async run(): Promise<void> {
    // Everything after `--` goes to kubectl verbatim, its own flags included.
    const dash = this.argv.indexOf('--');
    const args = dash >= 0 ? this.argv.slice(dash + 1) : this.rest;
    process.exitCode = await runKubectl(this.flags.profile, args, (line) =>
      process.stderr.write(`${line}\n`),
    );
  }
}
