// The kubeadm bootstrapper as a list of steps over one context: binaries, certificates, guest
// configuration, images, kubeadm init (first start) or kubelet start (warm start), readiness,
// kubeconfig, image cache. `kdev start` appends these to the machine's own steps.
import fs from 'node:fs/promises';
import { KdevError } from '../../lib/errors.js';
import type { SshClient } from '../../vm/ssh.js';
import { kubeconfigPath, updateKubeconfig, withEntry } from '../kubeconfig.js';
import { apiServerNames, ensureProfileCerts, type ProfileCerts } from '../pki/profile-certs.js';
import type { Step } from '../steps.js';
import type { ApiConnection } from './api-client.js';
import { kubeconfigEntryFor } from './profile-access.js';
import { ensureBinaries, SUMS_FILE, type CachedBinaries, type GuestArch } from './binaries.js';
import { guestConfigFiles, type GuestFile } from './guest-config.js';
import { CONTROL_PLANE_HOST, DNS_DOMAIN, guestPaths, HOST_ALIAS, SERVICE_IP } from './guest-layout.js';
import {
  configureScript,
  installBinariesScript,
  kubeadmInitArgv,
  parseProbe,
  probeScript,
  type GuestFacts,
} from './guest-scripts.js';
import { sendStream, tarStream } from './guest-transfer.js';
import { exportImageCache, imageCacheFile, importImageCache } from './image-cache.js';
import { waitForApiServer, waitForNodeReady, waitForSystemPods } from './readiness.js';
import { mergeHosts, renderHostsBlock } from './render/hosts.js';
import type { KubernetesRelease } from './versions.js';

export const DEFAULT_IMAGE_REPOSITORY = 'registry.k8s.io';

export interface KubernetesOptions {
  imageRepository?: string;
  binaryMirror?: string;
  embedCerts?: boolean;
  keepContext?: boolean;
}

export interface KubernetesContext {
  profile: string;
  release: KubernetesRelease;
  ssh: SshClient;
  /** The host port forwarded to the guest's API server (127.0.0.1). */
  apiServerPort: number;
  arch: GuestArch;
  options: KubernetesOptions;
  /** Overrides for tests and the bench; defaults suit a laptop. */
  timeouts?: { initMs?: number; readyMs?: number };
  facts?: GuestFacts;
  binaries?: CachedBinaries;
  certs?: ProfileCerts;
  /** True when this start ran kubeadm init. */
  initialized?: boolean;
  /** Seconds per phase, for the one-line summary. */
  phases: { name: string; ms: number }[];
}

const sudoSh = ['sudo', 'sh', '-s'];

async function runScript(ssh: SshClient, script: string, what: string, timeoutMs = 120_000): Promise<string> {
  const r = await ssh.exec(sudoSh, { input: script, timeoutMs });
  if (r.exitCode !== 0) {
    const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-3).join(' | ');
    throw new KdevError('COMMAND_FAILED', `${what} failed in the guest (exit ${r.exitCode}): ${detail}`, {
      hints: ['See the guest: kdev ssh -- sudo journalctl -b --no-pager -n 50', 'kdev logs'],
    });
  }
  return r.stdout;
}

export function apiConnection(ctx: KubernetesContext): ApiConnection {
  const c = ctx.certs!;
  return {
    name: ctx.profile,
    server: `https://127.0.0.1:${ctx.apiServerPort}`,
    caPem: c.ca.certPem,
    clientCertPem: c.client.certPem,
    clientKeyPem: c.client.keyPem,
  };
}

function certFiles(certs: ProfileCerts): GuestFile[] {
  const dir = guestPaths.certificatesDir;
  return [
    { path: `${dir}/ca.crt`, content: certs.ca.certPem, mode: 0o644 },
    { path: `${dir}/ca.key`, content: certs.ca.keyPem, mode: 0o600 },
    { path: `${dir}/apiserver.crt`, content: certs.apiServer.certPem, mode: 0o644 },
    { path: `${dir}/apiserver.key`, content: certs.apiServer.keyPem, mode: 0o600 },
  ];
}

function containerdMajor(version: string): number {
  return Number(/^v?(\d+)\./.exec(version)?.[1] ?? 0);
}

/** A failed `kubeadm init`: its last lines and the kubelet's, with where to look next. */
async function initFailure(ctx: KubernetesContext, output: string): Promise<KdevError> {
  const kubelet = await ctx.ssh
    .exec(['sudo', 'journalctl', '-u', 'kubelet', '-n', '15', '--no-pager', '-o', 'cat'], {
      timeoutMs: 20_000,
    })
    .then((r) => r.stdout.trim())
    .catch(() => '');
  const tail = (s: string, n: number) => s.trim().split('\n').slice(-n);
  const profileFlag = ctx.profile === 'kdev' ? '' : ` -p ${ctx.profile}`;
  return new KdevError('COMMAND_FAILED', 'kubeadm init failed', {
    hints: [
      ...tail(output, 12).map((l) => `kubeadm: ${l}`),
      ...(kubelet ? tail(kubelet, 8).map((l) => `kubelet: ${l}`) : []),
      `More: kdev logs${profileFlag}, kdev ssh${profileFlag} -- sudo journalctl -u kubelet --no-pager`,
    ],
  });
}

/** Wraps a step so its duration lands in ctx.phases (the JSON events time every step anyway). */
function timed(step: Step<KubernetesContext>): Step<KubernetesContext> {
  return {
    ...step,
    run: async (ctx, report) => {
      const t0 = Date.now();
      try {
        return await step.run(ctx, report);
      } finally {
        ctx.phases.push({ name: step.title, ms: Date.now() - t0 });
      }
    },
  };
}

export function kubernetesSteps(): Step<KubernetesContext>[] {
  const steps: Step<KubernetesContext>[] = [
    {
      title: 'Inspect the guest',
      run: async (ctx) => {
        const facts = parseProbe(
          await runScript(ctx.ssh, probeScript(ctx.release.version), 'probing the guest'),
        );
        if (!facts.guestIp)
          throw new KdevError('VM_ERROR', 'the guest reported no IPv4 address', { hints: ['kdev logs'] });
        if (containerdMajor(facts.containerd) < 2) {
          throw new KdevError(
            'UNSUPPORTED_HOST',
            `the guest runs containerd ${facts.containerd || '(none)'}; Kubernetes needs 2.x`,
            {
              hints: ['Use a current kdev guest image (kdev iso build), or start with --no-kubernetes'],
            },
          );
        }
        if (facts.initialized && facts.clusterVersion && facts.clusterVersion !== ctx.release.version) {
          throw new KdevError(
            'BAD_INPUT',
            `the cluster in "${ctx.profile}" runs ${facts.clusterVersion}, not ${ctx.release.version}`,
            {
              hints: [`Upgrades are not supported; delete it first: kdev delete -p ${ctx.profile}`],
            },
          );
        }
        ctx.facts = facts;
        return `${facts.guestIp}, containerd ${facts.containerd}${facts.initialized ? ', cluster exists' : ''}`;
      },
    },
    {
      title: 'Kubernetes binaries',
      run: async (ctx, report) => {
        ctx.binaries = await ensureBinaries({
          release: ctx.release,
          arch: ctx.arch,
          mirror: ctx.options.binaryMirror,
          report,
        });
        const sums = await fs.readFile(`${ctx.binaries.dir}/${SUMS_FILE}`);
        const { createHash } = await import('node:crypto');
        if (ctx.facts!.binaries === createHash('sha256').update(sums).digest('hex')) {
          return `${ctx.release.version} already in the guest`;
        }
        await sendStream(
          ctx.ssh,
          sudoSh.slice(0, 2).concat(['-c', installBinariesScript(ctx.release.version)]),
          tarStream(ctx.binaries.dir, ['kubeadm', 'kubelet', 'kubectl', 'crictl', SUMS_FILE]),
          'copying the Kubernetes binaries',
        );
        return `${ctx.binaries.downloaded.length > 0 ? 'downloaded and ' : ''}copied into the guest`;
      },
    },
    {
      title: 'Certificates',
      run: async (ctx) => {
        ctx.certs = await ensureProfileCerts(
          ctx.profile,
          apiServerNames({
            serviceIp: SERVICE_IP,
            dnsDomain: DNS_DOMAIN,
            controlPlaneHost: CONTROL_PLANE_HOST,
            guestIp: ctx.facts!.guestIp,
            nodeName: ctx.profile,
          }),
        );
        return ctx.certs.reissued ? 'issued' : 'kept';
      },
    },
    {
      title: 'Configure the guest (containerd, kubelet, CNI)',
      run: async (ctx) => {
        const facts = ctx.facts!;
        const hosts = await ctx.ssh.exec(['cat', '/etc/hosts'], { timeoutMs: 20_000 });
        const block = renderHostsBlock([
          { ip: facts.guestIp, names: [CONTROL_PLANE_HOST] },
          ...(facts.hostIp ? [{ ip: facts.hostIp, names: [HOST_ALIAS] }] : []),
        ]);
        const files: GuestFile[] = [
          ...guestConfigFiles({
            profile: ctx.profile,
            release: ctx.release,
            guestIp: facts.guestIp,
            hostIp: facts.hostIp,
            imageRepository: ctx.options.imageRepository ?? DEFAULT_IMAGE_REPOSITORY,
          }),
          ...certFiles(ctx.certs!),
          { path: '/etc/hosts', content: mergeHosts(hosts.stdout, block), mode: 0o644 },
        ];
        const out = await runScript(
          ctx.ssh,
          configureScript(ctx.release.version, files),
          'configuring the guest',
        );
        return out.includes('containerd_changed=1') ? 'containerd restarted' : undefined;
      },
    },
    {
      title: 'Load the cached Kubernetes images',
      enabled: (ctx) => !ctx.facts?.initialized,
      run: async (ctx, report) => {
        if ((ctx.options.imageRepository ?? DEFAULT_IMAGE_REPOSITORY) !== DEFAULT_IMAGE_REPOSITORY) {
          return 'skipped (custom --image-repository)';
        }
        const file = imageCacheFile(ctx.release.version, ctx.arch);
        if (!(await fs.stat(file).catch(() => undefined)))
          return 'no local cache yet: images come from the registry';
        await importImageCache(ctx.ssh, file, report);
        return 'imported';
      },
    },
    {
      title: 'kubeadm init',
      enabled: (ctx) => !ctx.facts?.initialized,
      run: async (ctx, report) => {
        report('pulling images and starting the control plane (minutes on a first start)');
        const r = await ctx.ssh.exec(kubeadmInitArgv(), { timeoutMs: ctx.timeouts?.initMs ?? 20 * 60_000 });
        if (r.exitCode !== 0) throw await initFailure(ctx, `${r.stdout}\n${r.stderr}`);
        // A dev cluster needs one CoreDNS replica, not kubeadm's two.
        await ctx.ssh.exec(
          [
            'sudo',
            `${guestPaths.linkDir}/kubectl`,
            '--kubeconfig',
            guestPaths.adminConf,
            '-n',
            'kube-system',
            'scale',
            'deployment',
            'coredns',
            '--replicas=1',
          ],
          { timeoutMs: 60_000 },
        );
        ctx.initialized = true;
      },
    },
    {
      title: 'Start the kubelet',
      enabled: (ctx) => ctx.facts?.initialized === true,
      run: async (ctx) => {
        await runScript(ctx.ssh, 'systemctl start kubelet\n', 'starting the kubelet');
        return 'static pods come back from the data disk';
      },
    },
    {
      title: 'Wait for the API server (/readyz)',
      run: (ctx, report) =>
        waitForApiServer(apiConnection(ctx), { timeoutMs: ctx.timeouts?.readyMs ?? 10 * 60_000, report }),
    },
    {
      title: 'Wait for the node to be Ready',
      run: (ctx, report) =>
        waitForNodeReady(apiConnection(ctx), ctx.profile, {
          timeoutMs: ctx.timeouts?.readyMs ?? 10 * 60_000,
          report,
        }),
    },
    {
      title: 'Wait for CoreDNS and kube-proxy',
      run: (ctx, report) =>
        waitForSystemPods(apiConnection(ctx), { timeoutMs: ctx.timeouts?.readyMs ?? 10 * 60_000, report }),
    },
    {
      title: 'Update kubeconfig',
      run: async (ctx) => {
        const file = kubeconfigPath();
        await writeKubeconfigEntry(ctx, file);
        return `${file}${ctx.options.keepContext ? '' : `, current context "${ctx.profile}"`}`;
      },
    },
    {
      title: 'Cache the Kubernetes images for later clusters',
      enabled: (ctx) =>
        (ctx.options.imageRepository ?? DEFAULT_IMAGE_REPOSITORY) === DEFAULT_IMAGE_REPOSITORY,
      run: async (ctx, report) => {
        const file = imageCacheFile(ctx.release.version, ctx.arch);
        if (await fs.stat(file).catch(() => undefined)) return 'already cached';
        const bytes = await exportImageCache(ctx.ssh, file, ctx.arch, report);
        return `${(bytes / 1024 / 1024).toFixed(0)} MiB in ${file}`;
      },
    },
  ];
  return steps.map(timed);
}

export async function writeKubeconfigEntry(ctx: KubernetesContext, file: string): Promise<void> {
  const entry = await kubeconfigEntryFor(ctx.profile, ctx.apiServerPort, ctx.options.embedCerts === true);
  await updateKubeconfig(file, (doc) => withEntry(doc, entry, { setCurrent: !ctx.options.keepContext }));
}

/** "binaries 1.2s, certificates 0.4s, …" for the closing line of a start. */
export function phaseSummary(phases: { name: string; ms: number }[]): string {
  return phases.map((p) => `${p.name} ${(p.ms / 1000).toFixed(1)}s`).join(', ');
}
