import { Args } from '@oclif/core';
import { KdevCommand } from '../../cli/base-command.js';
import { removeGuestImages } from '../../cluster/images.js';

export default class ImageRm extends KdevCommand<typeof ImageRm> {
  static override description = "Remove images from the guest's containerd (namespace k8s.io)";
  static override strict = false;
  static override args = {
    image: Args.string({ description: 'Image reference, e.g. docker.io/library/app:dev', required: true }),
  };

  async run(): Promise<void> {
    const refs = [this.args.image, ...this.rest.filter((r) => r !== this.args.image)];
    const r = await removeGuestImages(this.flags.profile, refs);
    this.emit(r, (x) => x.removed.map((i) => `✔ removed ${i}`).join('\n'));
  }
}
