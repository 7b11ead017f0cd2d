import { Flags } from '@oclif/core';
import { KdevCommand } from '../cli/base-command.js';
import { allStatuses, machineStatus, statusExitCode, type StatusResult } from '../cluster/status.js';

const render = (s: StatusResult) =>
  [
    `${s.Name}`,
    `host: ${s.Host}`,
    `kubelet: ${s.Kubelet}`,
    `apiserver: ${s.APIServer}`,
    `kubeconfig: ${s.Kubeconfig}`,
    ...(s.Problems ?? []).map((p) => `problem: ${p}`),
  ].join('\n');

export default class Status extends KdevCommand<typeof Status> {
  static override description =
    "Show the machine's and cluster's state (exit code: 1 host, 2 cluster, 4 kubeconfig not OK; --all: ORed over the readable profiles, an Invalid one is listed but adds nothing)";
  static override flags = { all: Flags.boolean({ description: 'Every profile' }) };

  async run(): Promise<void> {
    const statuses = this.flags.all ? await allStatuses() : [await machineStatus(this.flags.profile)];
    if (this.flags.all) this.emit(statuses, (list) => list.map(render).join('\n\n') || 'No profiles');
    else this.emit(statuses[0]!, render);
    process.exitCode = statuses.reduce((code, s) => code | statusExitCode(s), 0);
  }
}
