import { KdevCommand } from '../cli/base-command.js';
import { machineIp } from '../cluster/access.js';

export default class Ip extends KdevCommand<typeof Ip> {
  static override description = "Print the machine's IP address";

  async run(): Promise<void> {
    this.emit(await machineIp(this.flags.profile, this.log_), (r) => r.ip);
  }
}
