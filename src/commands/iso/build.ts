import { Flags } from '@oclif/core';
import { KdevCommand } from '../../cli/base-command.js';
import type { Arch } from '../../vm/driver.js';
import { buildGuestImage } from '../../vm/image-build.js';
import { localImageDir } from '../../vm/image.js';

export default class IsoBuild extends KdevCommand<typeof IsoBuild> {
  static override description = 'Build the kdev guest image from Debian packages (Linux, as root)';
  static override flags = {
    out: Flags.string({ description: 'Output folder (default: the image cache kdev start uses)' }),
    arch: Flags.string({
      description: 'Guest architecture (arm64 builds on x86_64 through qemu-user-static)',
      options: ['amd64', 'arm64', 'x86_64', 'aarch64'],
      default: process.arch === 'arm64' ? 'arm64' : 'amd64',
    }),
  };

  async run(): Promise<void> {
    const arch: Arch = ['arm64', 'aarch64'].includes(this.flags.arch) ? 'aarch64' : 'x86_64';
    const out = this.flags.out ?? localImageDir(arch);
    const result = await buildGuestImage(out, (line) => process.stderr.write(`${line}\n`), arch);
    this.emit(result, (r) => `✔ guest image in ${r.out}`);
  }
}
