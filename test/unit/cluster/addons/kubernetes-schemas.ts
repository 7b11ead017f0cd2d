// Kubernetes OpenAPI schemas from npm, one package per Kubernetes release it was generated from, and
// which of them each minor kdev supports is checked against. Only two such releases exist:
//
// - kubernetes-models 4.5.1 (alias kubernetes-models-1-33): Kubernetes v1.33.0. Its CHANGELOG says
//   4.5.0 "Update schema version to v1.33.0" (scripts/generate.ts: latest spec 1.33.0); 4.5.1 only
//   bumped @kubernetes-models/apimachinery. Runs on Node >= 14.
// - kubernetes-models 5.1.0 (alias kubernetes-models-1-36): Kubernetes v1.36.0. Its CHANGELOG says
//   5.0.0 "Update to Kubernetes v1.36.0" (generate.ts: latest spec 1.36.0); 5.0.1, 5.0.2 and 5.1.0
//   fixed import paths, bumped dependencies and exported the schema files. It declares Node >= 22;
//   its validators are plain ESM and run on Node 20 (these tests are the evidence).
//
// kubernetes-models 4.3.x/4.4.x are v1.27.1 and no release was generated from 1.34, 1.35 or 1.37.
// No other package in the npm list ships per-version Kubernetes schemas for offline use
// (kubernetes-types stops at 1.30 and has types only; @monokle/validation downloads its schemas at
// run time). So 1.34 and 1.35 are checked against both neighbours (1.33 and 1.36) and 1.37 against
// 1.36 only: close, not exact.
//
// Each package merges older releases' specs so that removed API versions still have models: a
// schema accepts an apiVersion that its release no longer serves. It also ignores unknown fields:
// the shipped-addons test checks field names against @kubernetes/client-node's generated models,
// which come from one release (1.4.0, kdev's runtime dependency, says "OpenAPI spec version:
// v1.34.0" in every model file; 1.3.0 says v1.33.0; 2.0.x says release-1.36, a branch, not a
// release, so it is not used as a 1.35 or 1.36 stand-in).
import fs from 'node:fs';
import path from 'node:path';

export interface SchemaPackage {
  /** The Kubernetes minor the package was generated from. */
  minor: string;
  /** The npm alias in devDependencies. */
  module: string;
  /** The exact kubernetes-models release behind the alias (the minor mapping holds for it only). */
  version: string;
}

export const SCHEMA_PACKAGES: readonly SchemaPackage[] = [
  { minor: '1.33', module: 'kubernetes-models-1-33', version: '4.5.1' },
  { minor: '1.36', module: 'kubernetes-models-1-36', version: '5.1.0' },
];

/** How far a schema may be from the minor it stands in for before the check stops meaning much. */
export const MAX_SCHEMA_DISTANCE = 2;

const minorNumber = (minor: string): number => Number(minor.split('.')[1]);

/** A minor's own schema; else the nearest older and the nearest newer one that exist. */
export function schemasFor(minor: string): { exact: boolean; packages: SchemaPackage[] } {
  const own = SCHEMA_PACKAGES.find((p) => p.minor === minor);
  if (own) return { exact: true, packages: [own] };
  const n = minorNumber(minor);
  const older = SCHEMA_PACKAGES.filter((p) => minorNumber(p.minor) < n).at(-1);
  const newer = SCHEMA_PACKAGES.find((p) => minorNumber(p.minor) > n);
  return { exact: false, packages: [older, newer].filter((p): p is SchemaPackage => p !== undefined) };
}

/** Minors between a minor and the nearest schema it is checked against. */
export function schemaDistance(minor: string): number {
  const n = minorNumber(minor);
  return Math.min(...schemasFor(minor).packages.map((p) => Math.abs(minorNumber(p.minor) - n)));
}

/** The version of the package installed under an alias (npm aliases keep the real package.json). */
export function installedVersion(module: string): string {
  const file = path.join(process.cwd(), 'node_modules', module, 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}

export type Validatable = new (data: object) => { validate(): void };

/** The model class of an object's apiVersion and kind: core is `v1`, groups `<group>/<version>`. */
export async function modelIn(pkg: SchemaPackage, apiVersion: string, kind: string): Promise<Validatable> {
  const mod = (await import(`${pkg.module}/${apiVersion}`)) as Record<string, unknown>;
  const model = mod[kind];
  if (typeof model !== 'function') throw new Error(`${pkg.module} has no ${apiVersion} ${kind}`);
  return model as Validatable;
}

/** The Kubernetes release @kubernetes/client-node's models were generated from (their file header). */
export function clientNodeSpecVersion(): string {
  const file = path.join(
    process.cwd(),
    'node_modules/@kubernetes/client-node/dist/gen/models/V1Deployment.js',
  );
  return /OpenAPI spec version: (\S+)/.exec(fs.readFileSync(file, 'utf8'))?.[1] ?? 'unknown';
}
