import { KdevCommand } from '../cli/base-command.js';
import { HYPERVISOR_TOOLS, probeTool } from '../lib/tool-versions.js';
import { KDEV_VERSION } from '../lib/version.js';

export default class Version extends KdevCommand<typeof Version> {
  static override description = 'Print the versions of kdev, Node.js and the hypervisors found on this host';

  async run(): Promise<void> {
    const tools = await Promise.all(HYPERVISOR_TOOLS.map((t) => probeTool(t)));
    const result = {
      kdev: KDEV_VERSION,
      node: process.versions.node,
      platform: `${process.platform}/${process.arch}`,
      hypervisors: tools,
    };
    this.emit(result, (r) =>
      [
        `kdev ${r.kdev}`,
        `node ${r.node} (${r.platform})`,
        ...r.hypervisors.map(
          (t) =>
            `${t.name.padEnd(20)} ${t.path ? `${t.version ?? 'unknown version'}  ${t.path}` : 'not found'}`,
        ),
      ].join('\n'),
    );
  }
}
