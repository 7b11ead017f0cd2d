import { Flags } from '@oclif/core';
import { KdevCommand } from '../../cli/base-command.js';
import { buildGuestImage } from '../../vm/image-build.js';
import { paths } from '../../lib/paths.js';

export default class IsoBuild extends KdevCommand<typeof IsoBuild> {
  static override description = 'Build the kdev guest image from Debian packages (Linux, as root)';
  static override flags = {
    out: Flags.string({ description: 'Output folder (default: the image cache kdev start uses)' }),
  };

  async run(): Promise<void> {
    const out = this.flags.out ?? `${paths.imagesDir()}/local`;
    const result = await buildGuestImage(out, (line) => process.stderr.write(`${line}\n`));
    this.emit(result, (r) => `✔ guest image in ${r.out}`);
  }
}
