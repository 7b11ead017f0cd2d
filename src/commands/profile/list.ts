import { KdevCommand } from '../../cli/base-command.js';
import { listProfileStatuses } from '../../cluster/profile-status.js';
import { renderTable } from '../../lib/table.js';
import { formatMiB } from '../../lib/units.js';

export default class ProfileList extends KdevCommand<typeof ProfileList> {
  static override description = 'List profiles (clusters) and their state';

  async run(): Promise<void> {
    const profiles = await listProfileStatuses();
    this.emit({ profiles }, ({ profiles: list }) => {
      if (list.length === 0) return 'No profiles yet. Create one with: kdev start';
      return renderTable(
        ['PROFILE', 'DRIVER', 'CPUS', 'MEMORY', 'DISK', 'KUBERNETES', 'STATUS'],
        list.map((p) => [
          p.name,
          p.driver ?? '-',
          p.cpus?.toString() ?? '-',
          p.memoryMiB ? formatMiB(p.memoryMiB) : '-',
          p.diskMiB ? formatMiB(p.diskMiB) : '-',
          p.kubernetes === false ? 'none' : (p.kubernetesVersion ?? '-'),
          p.status,
        ]),
      );
    });
  }
}
