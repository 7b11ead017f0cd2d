// Addons on a real cluster: metrics-server answers the metrics API (what kubectl top reads), a
// local-path PVC binds and its data survives stop/start, Traefik answers an Ingress from the host.
// Needs the internet (dl.k8s.io binaries, image pulls from docker.io, registry.k8s.io, ghcr.io):
// runs only with KDEV_E2E_NETWORK=1.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { runKdev } from '../helpers/cli.js';
import { ensureGuestImage, vmSkipReason } from './helpers/image.js';

const MS = 40 * 60_000;
const skip =
  process.env.KDEV_E2E_NETWORK === '1'
    ? vmSkipReason()
    : 'KDEV_E2E_NETWORK is not 1: these tests pull Kubernetes binaries and addon images from the internet';
if (skip) console.log(`skipping addons network e2e: ${skip}`);
const describeNet = skip ? describe.skip : describe;

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-e2e-addons-'));
const kubeconfig = path.join(home, 'kubeconfig');
const env = {
  KDEV_HOME: home,
  KUBECONFIG: kubeconfig,
  KDEV_QEMU_ACCEL: process.env.KDEV_QEMU_ACCEL ?? 'tcg',
};
const P = 'addons';
const kdev = async (args: string[]) => {
  const r = await runKdev([...args, '-p', P], env, MS);
  if (r.exitCode !== 0) throw new Error(`kdev ${args.join(' ')} failed (${r.exitCode}): ${r.stderr}`);
  return r;
};

function client(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  kc.setCurrentContext(P);
  return kc;
}

async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined>,
  timeoutMs = 10 * 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 3000));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

async function apply(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects)
    await api.patch(o, undefined, undefined, 'kdev-e2e', true, PatchStrategy.ServerSideApply);
}

const busybox =
  'docker.io/library/busybox:1.37.0@sha256:bdf57e528e45e4433820e045b29b4597825a1c9e38353532d90a01445013f82e';
const pod = (name: string, command: string): KubernetesObject =>
  ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'c',
          image: busybox,
          command: ['sh', '-c', command],
          volumeMounts: [{ name: 'd', mountPath: '/d' }],
        },
      ],
      volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'e2e-data' } }],
    },
  }) as KubernetesObject;

describeNet('addons on a real cluster (network)', () => {
  beforeAll(async () => {
    await kdev([
      'start',
      '--memory',
      '4g',
      '--cpus',
      '2',
      '--disk-size',
      '20g',
      '--iso-url',
      ensureGuestImage(),
    ]);
  }, MS);
  afterAll(async () => {
    await runKdev(['delete', '-p', P], env, MS);
    fs.rmSync(home, { recursive: true, force: true });
  }, MS);

  test(
    'metrics-server: the metrics API answers for the node (kubectl top node)',
    async () => {
      await kdev(['addons', 'enable', 'metrics-server', '--wait', '--timeout', '900']);
      const core = client().makeApiClient(CoreV1Api);
      const node = (await core.listNode()).items[0]!.metadata!.name!;
      const usage = await eventually('node metrics', async () => {
        const kc = client();
        const cluster = kc.getCurrentCluster()!;
        const opts = await kc.applyToFetchOptions({});
        const res = await fetch(
          `${cluster.server}/apis/metrics.k8s.io/v1beta1/nodes/${node}`,
          opts as RequestInit,
        );
        return res.ok ? ((await res.json()) as { usage?: { cpu?: string } }).usage : undefined;
      });
      expect(usage.cpu).toMatch(/^\d+n?$/);
    },
    MS,
  );

  test(
    'storage-provisioner: a PVC binds and its data survives stop/start',
    async () => {
      await kdev(['addons', 'enable', 'default-storageclass', '--wait', '--timeout', '900']);
      const kc = client();
      await apply(kc, [
        {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'e2e-data', namespace: 'default' },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } },
        } as KubernetesObject,
        pod('writer', 'echo kept > /d/marker'),
      ]);
      const core = kc.makeApiClient(CoreV1Api);
      await eventually('writer to finish', async () =>
        (await core.readNamespacedPod({ name: 'writer', namespace: 'default' })).status?.phase === 'Succeeded'
          ? true
          : undefined,
      );
      const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'e2e-data', namespace: 'default' });
      expect(pvc.status?.phase).toBe('Bound');
      expect(pvc.spec?.storageClassName).toBe('standard');

      await kdev(['stop']);
      await kdev(['start']);
      await apply(client(), [pod('reader', 'cat /d/marker')]);
      const core2 = client().makeApiClient(CoreV1Api);
      await eventually('reader to finish', async () =>
        (await core2.readNamespacedPod({ name: 'reader', namespace: 'default' })).status?.phase ===
        'Succeeded'
          ? true
          : undefined,
      );
      expect(await core2.readNamespacedPodLog({ name: 'reader', namespace: 'default' })).toBe('kept\n');
    },
    MS,
  );

  test(
    'ingress: an Ingress answers from the host through the forwarded port',
    async () => {
      const r = await kdev(['addons', 'enable', 'ingress', '--wait', '--timeout', '900', '-o', 'json']);
      expect(JSON.parse(r.stdout)).toMatchObject({ enabled: ['ingress'] });
      // The addon's Service is its own backend here: Traefik answers /ping on its traefik entry point.
      await apply(client(), [
        {
          apiVersion: 'v1',
          kind: 'Service',
          metadata: { name: 'traefik-ping', namespace: 'traefik' },
          spec: {
            selector: { 'app.kubernetes.io/name': 'traefik' },
            ports: [{ port: 9000, targetPort: 9000 }],
          },
        } as KubernetesObject,
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: { name: 'ping', namespace: 'traefik' },
          spec: {
            rules: [
              {
                host: 'ping.kdev.test',
                http: {
                  paths: [
                    {
                      path: '/ping',
                      pathType: 'Prefix',
                      backend: { service: { name: 'traefik-ping', port: { number: 9000 } } },
                    },
                  ],
                },
              },
            ],
          },
        } as KubernetesObject,
      ]);
      const status = JSON.parse((await kdev(['status', '-o', 'json'])).stdout) as {
        Forwards?: { name: string; hostPort: number }[];
      };
      const http = status.Forwards?.find((f) => f.name === 'addon-ingress-http');
      expect(http).toBeDefined();
      const body = await eventually('the Ingress to answer', async () => {
        const res = await fetch(`http://127.0.0.1:${http!.hostPort}/ping`, {
          headers: { host: 'ping.kdev.test' },
        });
        return res.ok ? res.text() : undefined;
      });
      expect(body).toBe('OK');
    },
    MS,
  );
});
