// The whole cluster, for real: needs dl.k8s.io and registry.k8s.io, so it runs only with
// KDEV_E2E_NETWORK=1 (skipped with the reason printed elsewhere). kdev start → node Ready →
// a pod Running; stop/start keeps the namespace; a second profile starts from the image cache;
// delete removes the context.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { runKdev, type CliResult } from '../helpers/cli.js';
import { ensureGuestImage, vmSkipReason } from './helpers/image.js';

const NET_MS = 45 * 60_000;
const skip =
  process.env.KDEV_E2E_NETWORK === '1'
    ? vmSkipReason()
    : 'needs the internet (dl.k8s.io, registry.k8s.io); set KDEV_E2E_NETWORK=1 to run it';
if (skip) console.log(`skipping Kubernetes network e2e: ${skip}`);
const describeNet = skip ? describe.skip : describe;

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-e2e-net-'));
const kubeconfig = path.join(home, 'kubeconfig');
const env = {
  KDEV_HOME: home,
  KUBECONFIG: kubeconfig,
  KDEV_QEMU_ACCEL: process.env.KDEV_QEMU_ACCEL ?? 'tcg',
};
const run = promisify(execFile);
let image = '';
const kdev = (args: string[]) => runKdev(args, env, NET_MS);
const start = (p: string) =>
  kdev(['start', '-p', p, '--iso-url', image, '--memory', '4g', '--cpus', '2', '-o', 'json']);
const kubectl = (...args: string[]) =>
  run('kubectl', args, { env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 120_000 });
const ok = (r: CliResult) => {
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}\n${r.stdout.slice(-3000)}\n${r.stderr}`);
  return r;
};

async function until(what: string, check: () => Promise<boolean>, ms = 600_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 3000));
  }
  throw new Error(`${what} did not happen within ${ms / 1000} s`);
}

describeNet('Kubernetes cluster (network)', () => {
  beforeAll(() => {
    image = ensureGuestImage();
  }, NET_MS);
  afterAll(async () => {
    await kdev(['delete', '--all']);
    fs.rmSync(home, { recursive: true, force: true });
  }, NET_MS);

  test(
    'start → node Ready → a pod runs; stop/start keeps it; the context goes with delete',
    async () => {
      ok(await start('net'));
      expect((await kubectl('get', 'nodes', '--no-headers')).stdout).toMatch(/^net\s+Ready\s/m);
      await kubectl('create', 'namespace', 'kept');
      await kubectl('-n', 'kept', 'run', 'pause', '--image=registry.k8s.io/pause:3.10.2', '--restart=Never');
      await until(
        'the pod running',
        async () =>
          (await kubectl('-n', 'kept', 'get', 'pod', 'pause', '-o', 'jsonpath={.status.phase}')).stdout ===
          'Running',
      );
      ok(await kdev(['stop', '-p', 'net']));
      const warm = ok(await start('net'));
      expect(warm.stdout).not.toContain('"name":"kubeadm init"');
      expect((await kubectl('get', 'namespace', 'kept', '-o', 'name')).stdout.trim()).toBe('namespace/kept');
      expect(fs.existsSync(path.join(home, 'cache', 'images'))).toBe(true);

      const second = ok(await start('net2'));
      expect(second.stdout).toContain('"note":"imported"');
      expect((await kubectl('--context', 'net2', 'get', 'nodes', '--no-headers')).stdout).toMatch(
        /^net2\s+Ready/m,
      );

      ok(await kdev(['delete', '-p', 'net2']));
      expect((await kubectl('config', 'get-contexts', '-o', 'name')).stdout.split('\n')).not.toContain(
        'net2',
      );
    },
    NET_MS,
  );
});
