import { KdevCommand } from '../../cli/base-command.js';
import { listGuestImages } from '../../cluster/images.js';

export default class ImageLs extends KdevCommand<typeof ImageLs> {
  static override description = "List the images in the guest's containerd (namespace k8s.io)";

  async run(): Promise<void> {
    const r = await listGuestImages(this.flags.profile);
    this.emit(r, (x) => x.images.join('\n') || 'No images');
  }
}
