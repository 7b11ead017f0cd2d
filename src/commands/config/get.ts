import { Args } from '@oclif/core';
import { KdevCommand } from '../../cli/base-command.js';
import { assertConfigKey, readGlobalConfig } from '../../cluster/global-config.js';
import { KdevError } from '../../lib/errors.js';

export default class ConfigGet extends KdevCommand<typeof ConfigGet> {
  static override description = 'Print one global default';
  static override args = { key: Args.string({ required: true, description: 'Config key' }) };

  async run(): Promise<void> {
    const key = assertConfigKey(this.args.key);
    const value = (await readGlobalConfig())[key];
    if (value === undefined) {
      throw new KdevError('NOT_FOUND', `${key} is not set`, {
        hints: [`Set it with: kdev config set ${key} <value>`],
      });
    }
    this.emit({ key, value }, (r) => String(r.value));
  }
}
