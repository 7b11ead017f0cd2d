import { Args } from '@oclif/core';
import { KdevCommand } from '../../cli/base-command.js';
import {
  assertConfigKey,
  CONFIG_KEYS,
  parseConfigValue,
  updateGlobalConfig,
} from '../../cluster/global-config.js';

export default class ConfigSet extends KdevCommand<typeof ConfigSet> {
  static override description = `Set a global default (${CONFIG_KEYS.join(', ')})`;
  static override examples = [
    '<%= config.bin %> config set memory 4g',
    '<%= config.bin %> config set cpus 4',
  ];
  static override args = {
    key: Args.string({ required: true, description: 'Config key' }),
    value: Args.string({ required: true, description: 'Value' }),
  };

  async run(): Promise<void> {
    const key = assertConfigKey(this.args.key);
    const value = parseConfigValue(key, this.args.value);
    await updateGlobalConfig((cfg) => ({ ...cfg, [key]: value }));
    this.emit({ key, value }, (r) => `✔ ${r.key} = ${r.value}`);
  }
}
