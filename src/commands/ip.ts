import { KdevCommand } from '../cli/base-command.js';
import { requireRunning } from '../cluster/machine.js';
import { KdevError } from '../lib/errors.js';
import { sshClientForMachine } from '../vm/ssh.js';

export default class Ip extends KdevCommand<typeof Ip> {
  static override description = "Print the machine's IP address";

  async run(): Promise<void> {
    const driver = await requireRunning(this.flags.profile);
    const sshEndpoint = await driver.sshEndpoint();
    const ssh = sshClientForMachine(this.flags.profile, sshEndpoint);
    const r = await ssh.exec(['ip', '-4', '-o', 'route', 'get', '1.1.1.1'], { timeoutMs: 15_000 });
    const ip = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(r.stdout)?.[1];
    if (!ip)
      throw new KdevError('VM_ERROR', 'the guest reported no IPv4 address', { hints: ['See: kdev logs'] });
    const info = driver.info();
    this.emit(
      { ip, ipDiscovery: info.ipDiscovery, ssh: sshEndpoint, apiServer: await driver.apiServerEndpoint() },
      (r) => r.ip,
    );
  }
}
