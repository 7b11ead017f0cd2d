// Every addon kdev ships: valid addon.yaml, pinned images, manifests valid against the Kubernetes
// OpenAPI schema of each supported minor (kubernetes-models releases generated from upstream's
// OpenAPI document; which minors have one of their own is in kubernetes-schemas.ts).
import * as k8s from '@kubernetes/client-node';
import yaml from 'js-yaml';
import { SUPPORTED_KUBERNETES_MINORS, PINNED_IMAGE } from '../../../../src/cluster/addons/addon-schema.js';
import { renderAddon } from '../../../../src/cluster/addons/addons.js';
import { addonImages, loadCatalog, type Addon } from '../../../../src/cluster/addons/catalog.js';
import type { KubeObject } from '../../../../src/cluster/addons/manifest.js';
import { MINOR_RELEASES } from '../../../../src/cluster/kubernetes/versions.js';
import { useTempKdevHome } from '../../../helpers/temp-home.js';
import {
  MAX_SCHEMA_DISTANCE,
  clientNodeSpecVersion,
  SCHEMA_PACKAGES,
  installedVersion,
  modelIn,
  schemaDistance,
  schemasFor,
} from './kubernetes-schemas.js';

useTempKdevHome();

const CORE = [
  'storage-provisioner',
  'default-storageclass',
  'metrics-server',
  'ingress',
  'registry',
  'dashboard',
];

async function shipped(): Promise<Addon[]> {
  const { addons, problems } = await loadCatalog();
  expect(problems).toEqual([]);
  return addons.filter((a) => a.source === 'builtin');
}

type AttributeMap = { baseName: string; type: string }[];

/**
 * Field names the schema does not know (typos such as `imagePulPolicy`), checked against
 * @kubernetes/client-node's generated models: kubernetes-models' validators accept unknown fields.
 */
function unknownFields(value: unknown, type: string, at: string, out: string[]): string[] {
  if (value === null || value === undefined) return out;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    (value as unknown[]).forEach((v, i) => unknownFields(v, array[1]!, `${at}[${i}]`, out));
    return out;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    for (const [key, v] of Object.entries(value as object)) unknownFields(v, map[1]!, `${at}.${key}`, out);
    return out;
  }
  const model = (k8s as unknown as Record<string, { getAttributeTypeMap?: () => AttributeMap }>)[type];
  if (!model?.getAttributeTypeMap || typeof value !== 'object') return out;
  const attributes = model.getAttributeTypeMap();
  for (const [key, v] of Object.entries(value as object)) {
    const attr = attributes.find((a) => a.baseName === key);
    if (!attr) out.push(`${at}.${key}`);
    else unknownFields(v, attr.type, `${at}.${key}`, out);
  }
  return out;
}

const modelName = (o: KubeObject) => `${(o.apiVersion.split('/').at(-1) ?? '').replace(/^v/, 'V')}${o.kind}`;

/** Every `image` of every pod template, plus image lines inside embedded YAML strings. */
function imagesIn(objects: KubeObject[]): string[] {
  const found: string[] = [];
  const walk = (v: unknown, key?: string): void => {
    if (typeof v === 'string') {
      if (key === 'image') found.push(v);
      for (const m of v.matchAll(/^\s*image:\s*(\S+)\s*$/gm)) found.push(m[1] ?? '');
    } else if (Array.isArray(v)) v.forEach((x) => walk(x));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(objects);
  return found;
}

describe('shipped addons', () => {
  it('are the core set, each with a valid addon.yaml named after its folder', async () => {
    const addons = await shipped();
    expect(addons.map((a) => a.meta.name).sort()).toEqual([...CORE].sort());
    for (const a of addons) {
      expect(a.meta.upstream.why.length).toBeGreaterThan(40);
      expect(a.manifests.length).toBeGreaterThan(0);
    }
  });

  it('declare exactly the Kubernetes minors kdev bootstraps (MINOR_RELEASES), none outside them', async () => {
    const window = MINOR_RELEASES.map((r) => r.minor).sort();
    expect([...SUPPORTED_KUBERNETES_MINORS].sort()).toEqual(window);
    for (const a of await shipped())
      expect([a.meta.name, [...a.meta.kubernetesVersions].sort()]).toEqual([a.meta.name, window]);
  });

  it('pin every image by tag and digest, and use only images their addon.yaml declares', async () => {
    for (const a of await shipped()) {
      const declared = new Set(Object.values(a.meta.images).map((i) => i.ref));
      for (const ref of declared) expect(ref).toMatch(PINNED_IMAGE);
      const used = imagesIn(renderAddon(a, 'kdev'));
      for (const image of used)
        expect([a.meta.name, image, declared.has(image)]).toEqual([a.meta.name, image, true]);
      // Every declared image is used somewhere, so the image cache holds nothing stale.
      for (const ref of declared)
        expect([a.meta.name, ref, used.includes(ref)]).toEqual([a.meta.name, ref, true]);
    }
    expect(addonImages(await shipped()).length).toBeGreaterThanOrEqual(6);
  });

  it('depend only on shipped addons', async () => {
    const addons = await shipped();
    const names = new Set(addons.map((a) => a.meta.name));
    for (const a of addons) for (const d of a.meta.dependsOn) expect(names.has(d)).toBe(true);
  });

  it('have schema packages installed at the releases their minors were read from', () => {
    for (const p of SCHEMA_PACKAGES)
      expect([p.module, installedVersion(p.module)]).toEqual([p.module, p.version]);
  });

  it(`have, for every supported minor, its own schema or one at most ${MAX_SCHEMA_DISTANCE} minors away`, () => {
    for (const minor of SUPPORTED_KUBERNETES_MINORS)
      expect([minor, schemaDistance(minor) <= MAX_SCHEMA_DISTANCE]).toEqual([minor, true]);
  });

  describe.each(SUPPORTED_KUBERNETES_MINORS.map((minor) => ({ minor, ...schemasFor(minor) })))(
    'on Kubernetes $minor',
    ({ minor, exact, packages }) => {
      const against = packages.map((p) => `${p.minor} (${p.module}@${p.version})`).join(' and ');
      it(`render manifests valid against the ${exact ? '' : 'nearest '}OpenAPI schema: ${against}${exact ? '' : `; none exists for ${minor}`}`, async () => {
        let count = 0;
        for (const a of await shipped()) {
          for (const o of renderAddon(a, 'kdev')) {
            for (const p of packages) {
              const Model = await modelIn(p, o.apiVersion, o.kind);
              expect(() => new Model(o).validate()).not.toThrow();
            }
            count++;
          }
        }
        expect(count).toBeGreaterThan(25);
      });
    },
  );

  it(`use no field the Kubernetes API (${clientNodeSpecVersion()}, client-node's models) does not define`, async () => {
    let checked = 0;
    for (const a of await shipped()) {
      for (const o of renderAddon(a, 'kdev')) {
        expect([modelName(o), typeof (k8s as Record<string, unknown>)[modelName(o)]]).toEqual([
          modelName(o),
          'function',
        ]);
        expect([a.meta.name, o.kind, unknownFields(o, modelName(o), o.kind, [])]).toEqual([
          a.meta.name,
          o.kind,
          [],
        ]);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(25);
    // Not vacuous: a misspelt container field is found.
    const typo = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'x' },
      spec: { template: { spec: { containers: [{ name: 'c', imagePulPolicy: 'Always' }] } } },
    };
    expect(unknownFields(typo, 'V1Deployment', 'Deployment', [])).toEqual([
      'Deployment.spec.template.spec.containers[0].imagePulPolicy',
    ]);
  });

  it("reach the wire unchanged through client-node's typed serializer (what the PATCH body is made with)", async () => {
    for (const a of await shipped()) {
      for (const o of renderAddon(a, 'kdev')) {
        const wire = yaml.load(k8s.dumpYaml(k8s.loadYaml(JSON.stringify(o))));
        expect([a.meta.name, o.kind, wire]).toEqual([a.meta.name, o.kind, o]);
      }
    }
  });

  it('have no placeholders left after rendering', async () => {
    for (const a of await shipped()) expect(JSON.stringify(renderAddon(a, 'kdev'))).not.toContain('${');
  });

  it('declare forwards for the NodePorts the host reaches', async () => {
    const addons = await shipped();
    const byName = new Map(addons.map((a) => [a.meta.name, a]));
    for (const name of ['ingress', 'registry', 'dashboard']) {
      const a = byName.get(name)!;
      const nodePorts = renderAddon(a, 'kdev')
        .filter((o) => o.kind === 'Service')
        .flatMap((o) => ((o.spec as { ports?: { nodePort?: number }[] }).ports ?? []).map((p) => p.nodePort));
      for (const f of a.meta.forwards) expect(nodePorts).toContain(f.guestPort);
    }
  });

  it.each(SCHEMA_PACKAGES.map((p) => ({ ...p })))(
    'the $minor schema check fails on a wrong field (it is not vacuous)',
    async (p) => {
      const a = (await shipped()).find((x) => x.meta.name === 'metrics-server')!;
      const deployment = renderAddon(a, 'kdev').find((o) => o.kind === 'Deployment')!;
      const broken = JSON.parse(JSON.stringify(deployment)) as KubeObject & { spec: { replicas: unknown } };
      broken.spec.replicas = 'one';
      const Model = await modelIn(p, broken.apiVersion, broken.kind);
      expect(() => new Model(broken).validate()).toThrow(/replicas/);
    },
  );
});
