import { KdevCommand } from '../../cli/base-command.js';
import { readGlobalConfig } from '../../cluster/global-config.js';

export default class ConfigView extends KdevCommand<typeof ConfigView> {
  static override description = 'Print all global defaults';

  async run(): Promise<void> {
    const config = await readGlobalConfig();
    this.emit(
      config,
      (c) =>
        Object.entries(c)
          .map(([k, v]) => `${k}: ${v}`)
          .join('\n') || 'No defaults set.',
    );
  }
}
