// enable/disable against a local HTTPS API server: the server-side-apply PATCHes (content type,
// fieldManager=kdev, force=true, order), the wait for the CRD to be Established, and deletion in reverse.
import fs from 'node:fs/promises';
import path from 'node:path';
import { applyEnabledAddons, disableAddon, enableAddons } from '../../../src/cluster/addons/addons.js';
import { profileKubeConfig } from '../../../src/cluster/addons/kube-access.js';
import { loadProfile, saveProfile } from '../../../src/cluster/profiles.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';
import { FakeApiServer } from './fake-apiserver.js';
import { testProfile } from '../../helpers/profile.js';

const home = useTempKdevHome();
let api: FakeApiServer;
let addonDir: string;

const profile = testProfile;

const META = `name: widgets
description: A user addon with a CRD
upstream: {project: example/widgets, url: 'https://example.com', version: v1, why: test}
images:
  app: {ref: 'docker.io/library/busybox:1.37.0@sha256:${'b'.repeat(64)}', digestSource: test}
default: false
kubernetesVersions: ['1.36']
`;

// Written in an order the engine must fix: the CR before its CRD, the namespace last.
const MANIFESTS = `apiVersion: apps/v1
kind: Deployment
metadata: {name: widget-controller, namespace: widgets}
spec:
  selector: {matchLabels: {app: w}}
  template:
    metadata: {labels: {app: w}}
    spec:
      containers:
        - name: c
          image: \${images.app}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: first, namespace: widgets}
spec:
  owner: \${profile}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
---
apiVersion: v1
kind: Namespace
metadata: {name: widgets}
`;

const CRD = 'PATCH /apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com';
const NS = 'PATCH /api/v1/namespaces/widgets';
const DEPLOY = 'PATCH /apis/apps/v1/namespaces/widgets/deployments/widget-controller';
const WIDGET = 'PATCH /apis/example.com/v1/namespaces/widgets/widgets/first';

beforeAll(async () => {
  api = new FakeApiServer();
  await api.start();
});
afterAll(async () => api.stop());

beforeEach(async () => {
  api.requests.length = 0;
  api.objects.clear();
  addonDir = path.join(home.dir(), 'src', 'widgets');
  await fs.mkdir(path.join(addonDir, 'manifests'), { recursive: true });
  await fs.writeFile(path.join(addonDir, 'addon.yaml'), META);
  await fs.writeFile(path.join(addonDir, 'manifests', 'all.yaml'), MANIFESTS);
  const kubeconfig = path.join(home.dir(), 'kubeconfig');
  await fs.writeFile(kubeconfig, api.kubeconfig('dev'));
  process.env.KUBECONFIG = kubeconfig;
  await saveProfile(profile());
});
afterEach(() => delete process.env.KUBECONFIG);

const kc = () => profileKubeConfig('dev');
const fast = { pollMs: 20, timeoutMs: 10_000 };

describe('addons enable (server-side apply)', () => {
  it('applies the CRD, waits until Established, then the namespace, then the rest in order', async () => {
    const result = await enableAddons('dev', [addonDir], kc, { ...fast, wait: true });
    expect(result.enabled).toEqual(['widgets']);
    expect(api.writes()).toEqual([CRD, NS, DEPLOY, WIDGET]);

    const patches = api.requests.filter((r) => r.method === 'PATCH');
    for (const p of patches) {
      expect(p.contentType).toBe('application/apply-patch+yaml');
      expect(p.query).toEqual({ fieldManager: 'kdev', force: 'true' });
    }
    // The namespace was only sent once the CRD's Established condition turned True.
    const crdReads = api.requests.filter(
      (r) =>
        r.method === 'GET' &&
        r.path === '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com',
    );
    expect(crdReads.length).toBe(api.crdReadsBeforeEstablished + 1);
    const nsAt = api.requests.findIndex((r) => `${r.method} ${r.path}` === NS);
    expect(api.requests.lastIndexOf(crdReads.at(-1)!)).toBeLessThan(nsAt);
    // Sent in wire form: the CRD schema keeps its x-kubernetes-* field names.
    expect(patches[0]?.body).toMatchObject({
      spec: { versions: [{ schema: { openAPIV3Schema: { 'x-kubernetes-preserve-unknown-fields': true } } }] },
    });
    // Variables rendered; --wait read the Deployment until it was available.
    expect(patches.find((p) => `PATCH ${p.path}` === WIDGET)?.body).toMatchObject({ spec: { owner: 'dev' } });
    expect(JSON.stringify(patches.find((p) => `PATCH ${p.path}` === DEPLOY)?.body)).toContain(
      `busybox:1.37.0@sha256:${'b'.repeat(64)}`,
    );
    expect(
      api.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/deployments/widget-controller'))
        .length,
    ).toBe(2);
    expect((await loadProfile('dev'))?.addons).toEqual([addonDir]);
  });

  it('re-applies idempotently after a start: the same PATCHes again, the record unchanged', async () => {
    await enableAddons('dev', [addonDir], kc, fast);
    const first = api.writes();
    api.requests.length = 0;
    const saved = (await loadProfile('dev'))!;
    const { applied, profile: after } = await applyEnabledAddons(saved, kc(), fast);
    expect(applied).toEqual(['widgets']);
    expect(api.writes()).toEqual(first);
    expect(after.addons).toEqual([addonDir]);
  });

  it('refuses a --no-kubernetes profile before any request', async () => {
    await saveProfile(profile({ kubernetes: false }));
    await expect(enableAddons('dev', ['metrics-server'], kc, fast)).rejects.toThrow(
      'profile "dev" runs without Kubernetes (--no-kubernetes): it has no addons',
    );
    expect(api.requests).toEqual([]);
  });

  it('refuses when the kubeconfig has no context for the profile', async () => {
    await fs.writeFile(process.env.KUBECONFIG!, api.kubeconfig('other'));
    const err = await enableAddons('dev', [addonDir], kc, fast).catch((e: unknown) => e);
    expect((err as Error).message).toBe('the kubeconfig has no context "dev"');
    expect((err as { hints: string[] }).hints.join('\n')).toMatch(
      /kdev start -p dev[\s\S]*kdev update-context -p dev/,
    );
  });

  it('names the object and the server message when the API server refuses one', async () => {
    api.refuse = {
      path: '/apis/apps/v1/namespaces/widgets/deployments/widget-controller',
      message:
        'Deployment.apps "widget-controller" is invalid: spec.template.spec.containers[0].image: Required value',
    };
    try {
      await expect(enableAddons('dev', [addonDir], kc, fast)).rejects.toThrow(
        'applying Deployment/widgets/widget-controller: Deployment.apps "widget-controller" is invalid: spec.template.spec.containers[0].image: Required value',
      );
    } finally {
      api.refuse = undefined;
    }
    // Nothing after the refused object was sent, and the profile records nothing.
    expect(api.writes()).toEqual([CRD, NS, DEPLOY]);
    expect((await loadProfile('dev'))?.addons).toBeUndefined();
  });
});

describe('addons disable', () => {
  it('deletes in reverse order and waits until every object is gone', async () => {
    await enableAddons('dev', [addonDir], kc, fast);
    api.requests.length = 0;
    const result = await disableAddon('dev', addonDir, kc, fast);
    expect(result).toEqual({ profile: 'dev', disabled: 'widgets', wasEnabled: true, forwardNames: [] });
    expect(api.writes()).toEqual([WIDGET, DEPLOY, NS, CRD].map((w) => w.replace('PATCH', 'DELETE')));
    for (const r of api.requests.filter((x) => x.method === 'DELETE')) {
      expect(r.query).toEqual({ propagationPolicy: 'Background' });
    }
    // Each object was read until the server answered 404.
    expect(api.objects.size).toBe(0);
    expect((await loadProfile('dev'))?.addons).toEqual([]);
  });
});
