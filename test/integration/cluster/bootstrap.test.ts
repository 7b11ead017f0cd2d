// The bootstrap steps in order over a scripted SSH edge (what the guest answers), with everything
// host-side real: the binary cache from a local mirror, kdevCA and the profile certificates, the
// readiness waits against the local TLS stand-in API server, and the kubeconfig write.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import yaml from 'js-yaml';
import { SUMS_FILE, binaryCacheDir, ensureBinaries } from '../../../src/cluster/kubernetes/binaries.js';
import { kubernetesSteps, type KubernetesContext } from '../../../src/cluster/kubernetes/bootstrap.js';
import { resolveKubernetesVersion } from '../../../src/cluster/kubernetes/versions.js';
import type { SshClient, SshExecOptions, SshExecResult } from '../../../src/vm/ssh.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';
import { makeStandInMirror } from '../../e2e/helpers/k8s-mirror.js';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.js';

const home = useTempKdevHome();
const release = resolveKubernetesVersion('v1.37.1');

/** Answers the guest commands the steps send, like a guest with containerd 2 would. */
class ScriptedGuest implements SshClient {
  calls: { argv: string[]; input?: string }[] = [];
  initialized = false;
  binariesSum = '';
  initExit = 0;
  async exec(argv: readonly string[], opts: SshExecOptions = {}): Promise<SshExecResult> {
    const input = typeof opts.input === 'string' ? opts.input : undefined;
    this.calls.push({ argv: [...argv], input });
    const ok = (stdout = '') => ({ exitCode: 0, stdout, stderr: '' });
    if (argv.join(' ') === 'sudo sh -s' && input?.includes('guest_ip=')) {
      return ok(
        [
          'guest_ip=10.0.2.15',
          'host_ip=10.0.2.2',
          'containerd=2.1.9',
          `binaries=${this.binariesSum}`,
          `initialized=${this.initialized ? 'yes' : 'no'}`,
          ...(this.initialized ? [`cluster_version=${release.version}`] : []),
          'arch=x86_64',
        ].join('\n'),
      );
    }
    if (argv[0] === 'cat' && argv[1] === '/etc/hosts') return ok('127.0.0.1\tlocalhost\n');
    if (argv.join(' ') === 'sudo sh -s') return ok('containerd_changed=1\n');
    if (argv[1] === '/usr/local/bin/kubeadm' && argv[2] === 'init') {
      return this.initExit === 0
        ? ok('Your Kubernetes control-plane has initialized successfully!')
        : {
            exitCode: 1,
            stdout: '[preflight] Running pre-flight checks',
            stderr: 'error execution phase wait-control-plane: timed out',
          };
    }
    if (argv.includes('journalctl')) return ok('E1130 kubelet.go:1 "Failed to start ContainerManager"');
    return ok();
  }
  async interactive(): Promise<number> {
    return 0;
  }
  async waitForSsh(): Promise<void> {}
  sshArgs(): string[] {
    return ['-o', 'BatchMode=yes', 'kdev@127.0.0.1'];
  }
}

let server: FakeApiServer | undefined;
let guest: ScriptedGuest;
let mirror: string;

beforeEach(async () => {
  guest = new ScriptedGuest();
  mirror = makeStandInMirror(
    fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-mirror-')),
    release.version,
    release.criTools,
  );
  // The guest already holds this version's binaries (the copy itself needs a real guest: e2e).
  const cached = await ensureBinaries({ release, arch: 'amd64', mirror });
  guest.binariesSum = createHash('sha256')
    .update(fs.readFileSync(path.join(cached.dir, SUMS_FILE)))
    .digest('hex');
  process.env.KUBECONFIG = path.join(home.dir(), 'kubeconfig');
});

afterEach(async () => {
  await server?.close();
  server = undefined;
  delete process.env.KUBECONFIG;
  fs.rmSync(mirror, { recursive: true, force: true });
});

function context(): KubernetesContext {
  return {
    profile: 'dev',
    release,
    ssh: guest,
    apiServerPort: 0,
    arch: 'amd64',
    // A custom repository: the image cache steps (which stream over real ssh) stay out of this test.
    options: { binaryMirror: mirror, imageRepository: 'mirror.local/k8s' },
    timeouts: { readyMs: 15_000 },
    phases: [],
  };
}

/** Runs the steps like the CLI does; the stand-in API server starts once the certificates exist. */
async function runAll(ctx: KubernetesContext): Promise<{ ran: string[]; notes: Record<string, string> }> {
  const ran: string[] = [];
  const notes: Record<string, string> = {};
  for (const step of kubernetesSteps()) {
    if (step.enabled && !step.enabled(ctx)) continue;
    if (step.title.startsWith('Wait for the API server') && !server) {
      server = await startFakeApiServer({
        certPem: ctx.certs!.apiServer.certPem,
        keyPem: ctx.certs!.apiServer.keyPem,
        clientCaPem: ctx.certs!.ca.certPem,
      });
      ctx.apiServerPort = server.port;
    }
    ran.push(step.title);
    const note = await step.run(ctx, () => undefined);
    if (note) notes[step.title] = note;
  }
  return { ran, notes };
}

describe('kubernetesSteps', () => {
  it('first start: configures, runs kubeadm init with the preflight list, waits, writes kubeconfig', async () => {
    const ctx = context();
    const { ran, notes } = await runAll(ctx);
    expect(ran).toEqual([
      'Inspect the guest',
      'Kubernetes binaries',
      'Certificates',
      'Configure the guest (containerd, kubelet, CNI)',
      'Load the cached Kubernetes images',
      'kubeadm init',
      'Wait for the API server (/readyz)',
      'Wait for the node to be Ready',
      'Wait for CoreDNS and kube-proxy',
      'Update kubeconfig',
    ]);
    expect(notes['Kubernetes binaries']).toBe(`${release.version} already in the guest`);
    expect(notes['Configure the guest (containerd, kubelet, CNI)']).toBe('containerd restarted');
    const init = guest.calls.find((c) => c.argv.includes('init'))!;
    expect(init.argv).toEqual([
      'sudo',
      '/usr/local/bin/kubeadm',
      'init',
      '--config',
      '/var/lib/kdev/kubeadm.yaml',
      '--ignore-preflight-errors=DirAvailable--etc-kubernetes-manifests,DirAvailable--var-lib-kdev-etcd,FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml,FileAvailable--etc-kubernetes-manifests-kube-controller-manager.yaml,FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml,FileAvailable--etc-kubernetes-manifests-etcd.yaml,Port-10250,Swap,NumCPU,Mem',
    ]);
    expect(guest.calls.some((c) => c.argv.join(' ').includes('scale deployment coredns --replicas=1'))).toBe(
      true,
    );
    // The configure script carries every file, base64-encoded, with the certificates' modes.
    const configure = guest.calls.find((c) => c.input?.includes('containerd_changed=0'))!.input!;
    for (const p of ['/etc/containerd/conf.d/10-kubernetes.toml', '/etc/hosts', '/etc/kubernetes/pki/ca.key'])
      expect(configure).toContain(`put ${p} `);
    expect(configure).toMatch(/put \/etc\/kubernetes\/pki\/apiserver\.key 600 /);
    const hostsB64 = /put \/etc\/hosts 644 (\S+)/.exec(configure)![1]!;
    expect(Buffer.from(hostsB64, 'base64').toString()).toContain('10.0.2.15\tcontrol-plane.kdev.internal');
    // kubectl (real) reads what was written.
    const contexts = execFileSync('kubectl', ['config', 'get-contexts', '-o', 'name'], {
      env: { ...process.env, HOME: home.dir() },
      encoding: 'utf8',
    });
    expect(contexts.trim()).toBe('dev');
    const doc = yaml.load(fs.readFileSync(process.env.KUBECONFIG!, 'utf8')) as Record<string, unknown>;
    expect(doc['current-context']).toBe('dev');
    expect(ctx.phases.map((p) => p.name)).toEqual(ran);
    expect(fs.existsSync(binaryCacheDir(release.version, 'amd64'))).toBe(true);
  });

  it('warm start: no kubeadm init, the kubelet is started and the same waits pass', async () => {
    guest.initialized = true;
    const { ran } = await runAll(context());
    expect(ran).not.toContain('kubeadm init');
    expect(ran).toContain('Start the kubelet');
    expect(ran).not.toContain('Load the cached Kubernetes images');
    expect(guest.calls.some((c) => c.input === 'systemctl start kubelet\n')).toBe(true);
  });

  it('a failed init shows the last kubeadm and kubelet lines and where to look', async () => {
    guest.initExit = 1;
    await expect(runAll(context())).rejects.toMatchObject({
      code: 'COMMAND_FAILED',
      message: 'kubeadm init failed',
      hints: expect.arrayContaining([
        'kubeadm: error execution phase wait-control-plane: timed out',
        'kubelet: E1130 kubelet.go:1 "Failed to start ContainerManager"',
        expect.stringMatching(/kdev logs -p dev/),
      ]),
    });
  });

  it('refuses a guest with containerd 1.x, and a cluster of another version', async () => {
    const old = new ScriptedGuest();
    old.exec = async (argv, opts) => {
      const r = await ScriptedGuest.prototype.exec.call(old, argv, opts);
      return { ...r, stdout: r.stdout.replace('containerd=2.1.9', 'containerd=1.6.20~ds1') };
    };
    await expect(runAll({ ...context(), ssh: old })).rejects.toMatchObject({ code: 'UNSUPPORTED_HOST' });
    guest.initialized = true;
    await expect(
      runAll({ ...context(), release: resolveKubernetesVersion('v1.36.4') }),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(/runs v1\.37\.1, not v1\.36\.4/),
    });
  });
});
