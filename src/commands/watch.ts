import { KdevCommand } from '../cli/base-command.js';
import { runMountWatcher } from '../cluster/watch-mounts.js';

export default class Watch extends KdevCommand<typeof Watch> {
  static override description =
    "Replay host edits of the profile's mounts in the guest so its file watchers fire (kdev start runs this in the background)";

  async run(): Promise<void> {
    const why = await runMountWatcher(this.flags.profile, (line) => process.stderr.write(`${line}\n`));
    process.stderr.write(`kdev watch: ${why}\n`);
  }
}
