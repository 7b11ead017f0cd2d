// The order objects reach the API server: CRDs first (then wait Established), namespaces next,
// everything else in manifest order. Deleting walks the same list backwards.
import type { KubeObject } from './manifest.js';

export const isCrd = (o: KubeObject): boolean =>
  o.kind === 'CustomResourceDefinition' && o.apiVersion.startsWith('apiextensions.k8s.io/');
export const isNamespace = (o: KubeObject): boolean => o.kind === 'Namespace' && o.apiVersion === 'v1';

export interface ApplyPlan<T> {
  crds: T[];
  namespaces: T[];
  rest: T[];
}

/** Stable: within each group objects keep the order they were written in. */
export function planApply<T extends { object: KubeObject } | KubeObject>(items: readonly T[]): ApplyPlan<T> {
  const obj = (t: T): KubeObject => ('object' in t ? (t.object as KubeObject) : (t as KubeObject));
  return {
    crds: items.filter((t) => isCrd(obj(t))),
    namespaces: items.filter((t) => isNamespace(obj(t))),
    rest: items.filter((t) => !isCrd(obj(t)) && !isNamespace(obj(t))),
  };
}

export function applyOrder<T extends { object: KubeObject } | KubeObject>(items: readonly T[]): T[] {
  const p = planApply(items);
  return [...p.crds, ...p.namespaces, ...p.rest];
}

export function deleteOrder<T extends { object: KubeObject } | KubeObject>(items: readonly T[]): T[] {
  return applyOrder(items).reverse();
}

/** `Kind/namespace/name` for messages. */
export function describeObject(o: KubeObject): string {
  return `${o.kind}/${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;
}
