import { Args } from '@oclif/core';
import { KdevCommand } from '../../cli/base-command.js';
import { loadImageArchive } from '../../cluster/images.js';

export default class ImageLoad extends KdevCommand<typeof ImageLoad> {
  static override description =
    "Load an OCI or docker image archive into the guest's containerd (namespace k8s.io)";
  static override examples = [
    '<%= config.bin %> image load ./app.tar',
    'docker save app:dev -o app.tar && <%= config.bin %> image load app.tar',
  ];
  static override args = { archive: Args.string({ description: 'Image archive (.tar)', required: true }) };

  async run(): Promise<void> {
    const r = await loadImageArchive(this.flags.profile, this.args.archive, (m) => {
      if (!this.jsonOutput) process.stderr.write(`${m}\n`);
    });
    this.emit(r, (x) =>
      x.images.length > 0 ? x.images.map((i) => `✔ loaded ${i}`).join('\n') : '✔ loaded (no named images)',
    );
  }
}
