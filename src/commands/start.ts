import { Flags } from '@oclif/core';
import { KdevCommand } from '../cli/base-command.js';
import { progressMode, runSteps } from '../cli/progress.js';
import { parseAddonsFlag } from '../cluster/addons/flags.js';
import { phaseSummary } from '../cluster/kubernetes/bootstrap.js';
import { startMachine } from '../cluster/start.js';

export default class Start extends KdevCommand<typeof Start> {
  static override description = 'Create or start the machine (and, unless --no-kubernetes, the cluster)';
  static override examples = [
    '<%= config.bin %> start --no-kubernetes',
    '<%= config.bin %> start -p dev --cpus 4 --memory 8g --disk-size 40g',
    '<%= config.bin %> start --addons metrics-server,ingress',
  ];
  static override flags = {
    driver: Flags.string({ description: 'Hypervisor driver (qemu, vfkit)' }),
    cpus: Flags.string({ description: 'Number of CPUs' }),
    memory: Flags.string({ description: 'Memory, e.g. 4096, 4g, 4096mb' }),
    'disk-size': Flags.string({ description: 'Data disk size, e.g. 20g' }),
    'kubernetes-version': Flags.string({
      description: 'Kubernetes version: stable (default) or vX.Y.Z within the newest four minors',
    }),
    'image-repository': Flags.string({
      description: 'Registry to pull the control-plane images from (default registry.k8s.io)',
    }),
    'binary-mirror': Flags.string({
      description:
        'Where kubeadm, kubelet, kubectl and crictl come from: an http(s) URL or a folder (dl.k8s.io layout)',
    }),
    'embed-certs': Flags.boolean({
      description: 'Embed the certificates in the kubeconfig instead of referring to files',
    }),
    'keep-context': Flags.boolean({
      description: 'Add the cluster to kubeconfig without making it the current context',
    }),
    addons: Flags.string({
      description: 'Addons to enable, comma-separated (kept in the profile): kdev addons list',
      multiple: true,
    }),
    'no-kubernetes': Flags.boolean({ description: 'Start the machine only, without Kubernetes' }),
    'qemu-accel': Flags.string({ description: 'QEMU accelerator: auto, hvf, kvm or tcg' }),
    network: Flags.string({
      description: 'Network back end: user (QEMU slirp), gvproxy, or vmnet (vfkit only: macOS NAT)',
    }),
    'iso-url': Flags.string({ description: 'Guest image: a folder, file or http(s) URL' }),
    mount: Flags.string({
      description:
        "Host folder to mount, repeatable: HOST[:GUEST][:ro|9p|virtiofs,...] (the guest path is after the last ':'; none = same path)",
      multiple: true,
    }),
    'mount-type': Flags.string({ description: 'Mount transport when a --mount names none: virtiofs or 9p' }),
    watch: Flags.boolean({
      description: 'Replay host edits of the mounts in the guest so its watchers fire (default: on)',
      allowNo: true,
    }),
    'iso-sha256': Flags.string({
      description: "Expected SHA-256 of the image's SHA256SUMS (required for an http:// --iso-url)",
    }),
  };

  async run(): Promise<void> {
    const f = this.flags;
    const request = {
      profile: f.profile,
      kubernetes: !f['no-kubernetes'],
      driver: f.driver,
      cpus: f.cpus,
      memory: f.memory,
      diskSize: f['disk-size'],
      kubernetesVersion: f['kubernetes-version'],
      qemuAccel: f['qemu-accel'],
      network: f.network,
      isoUrl: f['iso-url'],
      mounts: f.mount,
      mountType: f['mount-type'],
      watch: f.watch,
      logger: this.log_,
      kubernetesOptions: {
        imageRepository: f['image-repository'],
        binaryMirror: f['binary-mirror'],
        embedCerts: f['embed-certs'],
        keepContext: f['keep-context'],
      },
      isoSha256: f['iso-sha256'],
      addons: parseAddonsFlag(f.addons),
    };
    const mode = progressMode(this.jsonOutput);
    const result = await startMachine(request, (steps, ctx) => runSteps(steps, ctx, mode));
    if (this.jsonOutput) {
      process.stdout.write(`${JSON.stringify({ type: 'result', ...result })}\n`);
      return;
    }
    for (const w of result.warnings) process.stderr.write(`! ${w}\n`);
    const verb = result.alreadyRunning ? 'is already running' : 'is running';
    const p = result.profile === 'kdev' ? '' : ` -p ${result.profile}`;
    const total = `${(result.durationMs / 1000).toFixed(1)}s`;
    if (result.kubernetesVersion) {
      process.stdout.write(
        `✔ ${result.profile} ${verb}: Kubernetes ${result.kubernetesVersion} in ${total} (${phaseSummary(result.phases ?? [])}). Try: kubectl get nodes\n`,
      );
      return;
    }
    process.stdout.write(`✔ ${result.profile} ${verb} (${total}). Try: kdev ssh${p}\n`);
  }
}
