import { applyOrder, deleteOrder, describeObject } from '../../../../src/cluster/addons/order.js';
import type { KubeObject } from '../../../../src/cluster/addons/manifest.js';

const o = (apiVersion: string, kind: string, name: string, namespace?: string): KubeObject => ({
  apiVersion,
  kind,
  metadata: { name, ...(namespace ? { namespace } : {}) },
});

const objects = [
  o('apps/v1', 'Deployment', 'web', 'shop'),
  o('v1', 'Namespace', 'shop'),
  o('example.com/v1', 'Widget', 'w1', 'shop'),
  o('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'widgets.example.com'),
  o('v1', 'Service', 'web', 'shop'),
  o('v1', 'Namespace', 'other'),
];

describe('apply order', () => {
  it('puts CRDs first, namespaces next, the rest in written order', () => {
    expect(applyOrder(objects).map(describeObject)).toEqual([
      'CustomResourceDefinition/widgets.example.com',
      'Namespace/shop',
      'Namespace/other',
      'Deployment/shop/web',
      'Widget/shop/w1',
      'Service/shop/web',
    ]);
  });

  it('deletes in exactly the reverse order', () => {
    expect(deleteOrder(objects)).toEqual([...applyOrder(objects)].reverse());
    expect(describeObject(deleteOrder(objects)[0]!)).toBe('Service/shop/web');
    expect(describeObject(deleteOrder(objects).at(-1)!)).toBe('CustomResourceDefinition/widgets.example.com');
  });

  it('works on manifest documents as well as bare objects', () => {
    const docs = objects.map((object, i) => ({ file: 'x.yaml', line: i + 1, object }));
    expect(applyOrder(docs).map((d) => d.line)).toEqual([4, 2, 6, 1, 3, 5]);
  });
});
