import fs from 'node:fs/promises';
import path from 'node:path';
import { loadAddon, loadCatalog, resolveAddon } from '../../../../src/cluster/addons/catalog.js';
import { KubeConfig } from '@kubernetes/client-node';
import { SUPPORTED_KUBERNETES_MINORS } from '../../../../src/cluster/addons/addon-schema.js';
import { applyEnabledAddons, renderAddon } from '../../../../src/cluster/addons/addons.js';
import { testProfile } from '../../../helpers/profile.js';
import { useTempKdevHome } from '../../../helpers/temp-home.js';

const home = useTempKdevHome();

const META = `name: hello
description: A user addon
upstream:
  project: example/hello
  url: https://example.com/hello
  version: v1.0.0
  why: a test
images:
  app:
    ref: docker.io/library/busybox:1.37.0@sha256:${'a'.repeat(64)}
    digestSource: test
default: false
kubernetesVersions: ['1.36']
`;

const DEPLOYMENT = `apiVersion: v1
kind: ConfigMap
metadata:
  name: hello
  namespace: \${profile}
data:
  who: \${profile}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
spec:
  template:
    spec:
      containers:
        - name: hello
          image: \${images.app}
`;

async function writeAddon(dir: string, files: Record<string, string>): Promise<string> {
  for (const [rel, text] of Object.entries(files)) {
    await fs.mkdir(path.dirname(path.join(dir, rel)), { recursive: true });
    await fs.writeFile(path.join(dir, rel), text);
  }
  return dir;
}

describe('user addons', () => {
  it('are listed beside the built-in ones from $KDEV_HOME/addons', async () => {
    await writeAddon(path.join(home.dir(), 'addons', 'hello'), {
      'addon.yaml': META,
      'manifests/app.yaml': DEPLOYMENT,
    });
    const { addons, problems } = await loadCatalog();
    expect(problems).toEqual([]);
    const hello = addons.find((a) => a.meta.name === 'hello');
    expect(hello?.source).toBe('user');
    expect(addons.some((a) => a.meta.name === 'metrics-server')).toBe(true);
  });

  it('load from a path and render variables as whole values', async () => {
    const dir = await writeAddon(path.join(home.dir(), 'elsewhere'), {
      'addon.yaml': META,
      'manifests/app.yaml': DEPLOYMENT,
    });
    const addon = await resolveAddon(dir, await loadCatalog());
    expect(addon.source).toBe('path');
    const [cm, dep] = renderAddon(addon, 'dev', 'mirror.example.com/kdev');
    expect(cm?.metadata.namespace).toBe('dev');
    expect((cm as { data?: { who?: string } }).data?.who).toBe('dev');
    expect(JSON.stringify(dep)).toContain(
      `"mirror.example.com/kdev/busybox:1.37.0@sha256:${'a'.repeat(64)}"`,
    );
  });

  it('may not shadow a built-in addon', async () => {
    await writeAddon(path.join(home.dir(), 'addons', 'ingress'), {
      'addon.yaml': META.replace('name: hello', 'name: ingress'),
      'manifests/app.yaml': DEPLOYMENT,
    });
    const { problems } = await loadCatalog();
    expect(problems[0]?.message).toMatch(/"ingress" is a built-in addon/);
  });
});

describe('malformed addons are refused with the file and line', () => {
  const load = async (files: Record<string, string>) =>
    loadAddon(await writeAddon(path.join(home.dir(), 'bad'), files), 'path');

  it('addon.yaml that is not YAML', async () => {
    await expect(
      load({ 'addon.yaml': 'name: x\n  bad: [\n', 'manifests/a.yaml': DEPLOYMENT }),
    ).rejects.toThrow(/bad\/addon\.yaml:\d+: invalid YAML/);
  });

  it('addon.yaml with an unpinned image, naming the line of the field', async () => {
    const meta = META.replace(/@sha256:a+/, '');
    const err = await load({ 'addon.yaml': meta, 'manifests/a.yaml': DEPLOYMENT }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(
      /addon\.yaml:10: images\.app\.ref: must be repo:tag@sha256:<digest>/,
    );
  });

  it('addon.yaml with a field it does not know', async () => {
    await expect(
      load({ 'addon.yaml': `${META}colour: blue\n`, 'manifests/a.yaml': DEPLOYMENT }),
    ).rejects.toThrow(/addon\.yaml:\d+: .*colour/);
  });

  it('a manifest with a YAML error in its second document', async () => {
    const broken = `${DEPLOYMENT}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: x\n  labels: {a: [}\n`;
    await expect(load({ 'addon.yaml': META, 'manifests/a.yaml': broken })).rejects.toThrow(
      /manifests\/a\.yaml:(2[2-6]): invalid YAML/,
    );
  });

  it('a manifest document without kind', async () => {
    await expect(
      load({
        'addon.yaml': META,
        'manifests/a.yaml': `${DEPLOYMENT}---\napiVersion: v1\nmetadata:\n  name: x\n`,
      }),
    ).rejects.toThrow(/manifests\/a\.yaml:20: the document has no apiVersion or kind/);
  });

  it('an unknown variable, and a variable inside a longer string', async () => {
    await expect(
      load({ 'addon.yaml': META, 'manifests/a.yaml': DEPLOYMENT.replace('${images.app}', '${images.nope}') }),
    ).rejects.toThrow(/a\.yaml:18: unknown variable \$\{images\.nope\}/);
    await expect(
      load({
        'addon.yaml': META,
        'manifests/a.yaml': DEPLOYMENT.replace('who: ${profile}', 'who: hi-${profile}'),
      }),
    ).rejects.toThrow(/a\.yaml:7: \$\{profile\} must be a whole value/);
  });

  it('an addon that owns kube-system', async () => {
    const ns = 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: kube-system\n';
    await expect(load({ 'addon.yaml': META, 'manifests/a.yaml': ns })).rejects.toThrow(
      /a\.yaml:1: an addon may not own namespace "kube-system"/,
    );
  });

  it('a folder without manifests', async () => {
    await expect(load({ 'addon.yaml': META })).rejects.toThrow(/holds no \*\.yaml manifests/);
  });
});

describe('unknown names', () => {
  it('get a did-you-mean hint', async () => {
    const err = await resolveAddon('metrics-sever', await loadCatalog()).catch((e: unknown) => e);
    expect((err as Error).message).toBe('no addon named "metrics-sever"');
    expect((err as { hints: string[] }).hints[0]).toBe('Did you mean: metrics-server?');
    const far = await resolveAddon('postgres', await loadCatalog()).catch((e: unknown) => e);
    expect((far as { hints: string[] }).hints[0]).toBe('List addons with: kdev addons list');
  });
});

describe("an addon's Kubernetes versions", () => {
  const withVersions = (versions: string) =>
    META.replace("kubernetesVersions: ['1.36']", `kubernetesVersions: ${versions}`);

  it('a minor the profile runs but the addon does not list is refused before anything is applied', async () => {
    const dir = await writeAddon(path.join(home.dir(), 'only-136'), {
      'addon.yaml': withVersions("['1.36']"),
      'manifests/app.yaml': DEPLOYMENT,
    });
    const p = testProfile({ kubernetesVersion: 'v1.35.8', addons: [dir] });
    // An empty KubeConfig: any request would fail differently.
    await expect(applyEnabledAddons(p, new KubeConfig())).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: 'addon "hello" does not support Kubernetes 1.35',
    });
  });

  it('minors outside the window kdev runs are accepted in addon.yaml (a user addon outlives a window move)', async () => {
    const dir = await writeAddon(path.join(home.dir(), 'old'), {
      'addon.yaml': withVersions(`['1.30', '${SUPPORTED_KUBERNETES_MINORS.at(-1)}']`),
      'manifests/app.yaml': DEPLOYMENT,
    });
    expect((await loadAddon(dir, 'path')).meta.kubernetesVersions).toEqual([
      '1.30',
      SUPPORTED_KUBERNETES_MINORS.at(-1),
    ]);
  });
});
