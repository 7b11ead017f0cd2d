import { Args } from '@oclif/core';
import { KdevCommand } from '../../cli/base-command.js';
import { assertConfigKey, updateGlobalConfig } from '../../cluster/global-config.js';

export default class ConfigUnset extends KdevCommand<typeof ConfigUnset> {
  static override description = 'Remove a global default';
  static override args = { key: Args.string({ required: true, description: 'Config key' }) };

  async run(): Promise<void> {
    const key = assertConfigKey(this.args.key);
    await updateGlobalConfig((cfg) => {
      const next = { ...cfg };
      delete next[key];
      return next;
    });
    this.emit({ key }, (r) => `✔ ${r.key} unset`);
  }
}
