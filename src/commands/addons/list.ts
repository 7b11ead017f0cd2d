import { KdevCommand } from '../../cli/base-command.js';
import { listAddons } from '../../cluster/addons/addons.js';
import { renderTable } from '../../lib/table.js';

export default class AddonsList extends KdevCommand<typeof AddonsList> {
  static override description =
    'List addons (built-in and yours) and whether each is enabled for the profile';
  static override examples = [
    '<%= config.bin %> addons list',
    '<%= config.bin %> addons list -p dev -o json',
  ];

  async run(): Promise<void> {
    const result = await listAddons(this.flags.profile);
    for (const p of result.problems) process.stderr.write(`! skipped ${p.dir}: ${p.message}\n`);
    this.emit(result, ({ addons }) =>
      renderTable(
        ['NAME', 'ENABLED', 'VERSION', 'DESCRIPTION'],
        addons.map((a) => [
          a.source === 'builtin' ? a.name : `${a.name} (${a.source})`,
          a.enabled ? 'yes' : 'no',
          a.version,
          a.description,
        ]),
      ),
    );
  }
}
