// The Kubernetes guest phases on a real guest under QEMU, everything short of a real kubeadm:
// binaries copied once, the containerd CRI drop-in served, hosts entries, certificates, kubelet
// unit, CNI conflist, the local image cache imported into a fresh profile, kdev image
// load/ls/rm and `ctr run`. kubeadm, kubelet, kubectl and crictl are shell stand-ins from a local
// --binary-mirror (see helpers/k8s-mirror.ts): no Kubernetes binary is reachable from CI.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { resolveKubernetesVersion } from '../../src/cluster/kubernetes/versions.js';
import { runKdev, type CliResult } from '../helpers/cli.js';
import { buildBusyboxOciArchive } from './helpers/guest-oci.js';
import { ensureGuestImage, vmSkipReason } from './helpers/image.js';
import { makeStandInMirror, STAND_IN_INIT_ERROR } from './helpers/k8s-mirror.js';

const VM_TEST_MS = 20 * 60_000;
const skip = vmSkipReason(['busybox']);
if (skip) console.log(`skipping Kubernetes guest e2e: ${skip}`);
const describeVm = skip ? describe.skip : describe;

const release = resolveKubernetesVersion('stable');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-e2e-k8s-'));
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-e2e-k8s-work-'));
const env = {
  KDEV_HOME: home,
  KDEV_QEMU_ACCEL: process.env.KDEV_QEMU_ACCEL ?? 'tcg',
  KUBECONFIG: path.join(work, 'kubeconfig'),
  HOME: work,
};
const P = 'k8s';
const CACHED_IMAGE = 'registry.k8s.io/kdev-e2e/cached:v1';
const LOADED_IMAGE = 'docker.io/library/kdev-busybox:e2e';
let image = '';
let mirror = '';

const kdev = (args: string[], timeoutMs = 900_000) => runKdev(args, env, timeoutMs);
const guest = async (...argv: string[]) => {
  const r = await kdev(['ssh', '-p', P, '--', ...argv], 120_000);
  if (r.exitCode !== 0)
    throw new Error(`guest ${argv.join(' ')}: exit ${r.exitCode}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
const start = () =>
  kdev([
    'start',
    '-p',
    P,
    '-o',
    'json',
    '--memory',
    '2g',
    '--cpus',
    '2',
    '--disk-size',
    '6g',
    '--iso-url',
    image,
    '--binary-mirror',
    mirror,
  ]);

interface Event {
  type: string;
  name?: string;
  note?: string;
  error?: { code: string; message: string; hints: string[] };
}
const events = (r: CliResult): Event[] =>
  r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Event);
const done = (r: CliResult, name: string) => events(r).find((e) => e.type === 'done' && e.name === name);

describeVm('Kubernetes guest phases (real QEMU, stand-in Kubernetes binaries)', () => {
  let first: CliResult;

  beforeAll(async () => {
    image = ensureGuestImage();
    mirror = makeStandInMirror(path.join(work, 'mirror'), release.version, release.criTools);
    // A previous cluster of this version left its images in the local cache: a fresh profile imports them.
    const cached = await buildBusyboxOciArchive(fs.mkdtempSync(path.join(work, 'cached-')), CACHED_IMAGE);
    fs.mkdirSync(path.join(home, 'cache', 'images'), { recursive: true });
    fs.copyFileSync(cached, path.join(home, 'cache', 'images', `${release.version}-amd64.tar`));
    first = await start();
  }, VM_TEST_MS);

  afterAll(async () => {
    await kdev(['delete', '--all']);
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }, VM_TEST_MS);

  test('start runs every guest phase, then reports the failed kubeadm init with its output and a hint', () => {
    expect(first.exitCode).toBe(6);
    for (const step of [
      'Inspect the guest',
      'Kubernetes binaries',
      'Certificates',
      'Configure the guest (containerd, kubelet, CNI)',
      'Load the cached Kubernetes images',
    ])
      expect(done(first, step)).toBeDefined();
    expect(done(first, 'Kubernetes binaries')!.note).toMatch(/copied into the guest/);
    expect(done(first, 'Load the cached Kubernetes images')!.note).toBe('imported');
    const err = events(first).find((e) => e.error)!.error!;
    expect(err).toMatchObject({ code: 'COMMAND_FAILED', message: 'kubeadm init failed' });
    expect(err.hints.join('\n')).toContain(
      `kubeadm: error execution phase preflight: ${STAND_IN_INIT_ERROR}`,
    );
    expect(err.hints.join('\n')).toMatch(/kdev logs -p k8s/);
  });

  test('containerd serves the CRI with the rendered drop-in', async () => {
    const plugins = await guest('sudo', 'ctr', 'plugins', 'ls');
    expect(plugins).toMatch(/io\.containerd\.grpc\.v1\s+cri\s+.*ok/);
    const config = await guest('sudo', 'containerd', 'config', 'dump');
    // `config dump` prints the merged configuration (main file plus conf.d imports).
    const q = `['"]`;
    expect(config).toMatch(new RegExp(`sandbox = ${q}registry\\.k8s\\.io/pause:${release.images.pause}${q}`));
    expect(config).toMatch(/SystemdCgroup = true/);
    expect(config).toMatch(new RegExp(`config_path = ${q}/etc/containerd/certs\\.d${q}`));
  });

  test('hosts entries, certificates (keys 0600), kubelet unit enabled, CNI conflist, binaries on PATH', async () => {
    const hosts = await guest('cat', '/etc/hosts');
    expect(hosts).toMatch(/^\d+\.\d+\.\d+\.\d+\tcontrol-plane\.kdev\.internal$/m);
    expect(hosts).toMatch(/^\d+\.\d+\.\d+\.\d+\thost\.kdev\.internal$/m);
    const modes = await guest(
      'sudo',
      'stat',
      '-c',
      '%a %n',
      ...['ca.crt', 'ca.key', 'apiserver.crt', 'apiserver.key'].map((f) => `/etc/kubernetes/pki/${f}`),
    );
    expect(modes).toContain('600 /etc/kubernetes/pki/ca.key');
    expect(modes).toContain('600 /etc/kubernetes/pki/apiserver.key');
    expect(modes).toContain('644 /etc/kubernetes/pki/ca.crt');
    expect((await guest('systemctl', 'is-enabled', 'kubelet')).trim()).toBe('enabled');
    expect(await guest('systemctl', 'cat', 'kubelet')).toContain(`--hostname-override=${P}`);
    expect(JSON.parse(await guest('cat', '/etc/cni/net.d/10-kdev-bridge.conflist')).plugins[0].type).toBe(
      'bridge',
    );
    expect(await guest('sudo', 'crictl', 'ps')).toContain('crictl stand-in ps');
    expect(await guest('sudo', 'cat', '/var/lib/kdev/kubeadm.yaml')).toContain(
      `kubernetesVersion: ${release.version}`,
    );
  });

  test('the cached image archive was imported into k8s.io on this fresh profile', async () => {
    expect(await guest('sudo', 'ctr', '-n', 'k8s.io', 'images', 'ls', '-q')).toContain(CACHED_IMAGE);
  });

  test(
    'kdev image load/ls/rm, and ctr runs the loaded image',
    async () => {
      const archive = await buildBusyboxOciArchive(fs.mkdtempSync(path.join(work, 'load-')), LOADED_IMAGE);
      const load = await kdev(['image', 'load', '-p', P, archive], 300_000);
      expect(load.exitCode).toBe(0);
      expect(load.stdout).toContain(`loaded ${LOADED_IMAGE}`);
      expect((await kdev(['image', 'ls', '-p', P])).stdout.split('\n')).toContain(LOADED_IMAGE);
      const ran = await guest(
        'sudo',
        'ctr',
        '-n',
        'k8s.io',
        'run',
        '--rm',
        LOADED_IMAGE,
        'e2e-run',
        '/bin/busybox',
        'echo',
        'hello-from-ctr',
      );
      expect(ran.trim()).toBe('hello-from-ctr');
      expect((await kdev(['image', 'rm', '-p', P, LOADED_IMAGE])).exitCode).toBe(0);
      expect((await kdev(['image', 'ls', '-p', P])).stdout.split('\n')).not.toContain(LOADED_IMAGE);
      const missing = await kdev(['image', 'rm', '-p', P, 'docker.io/library/nope:1']);
      expect(missing.exitCode).toBe(3);
      expect(missing.stderr).toMatch(/no such image/);
    },
    VM_TEST_MS,
  );

  test(
    'a second start copies no binaries, and status reports the cluster down',
    async () => {
      const again = await start();
      expect(done(again, 'Kubernetes binaries')!.note).toBe(`${release.version} already in the guest`);
      const status = await kdev(['status', '-p', P, '-o', 'json']);
      expect(JSON.parse(status.stdout)).toMatchObject({
        Host: 'Running',
        Kubelet: 'Stopped',
        APIServer: 'Stopped',
      });
      expect(status.exitCode & 2).toBe(2);
    },
    VM_TEST_MS,
  );
});
