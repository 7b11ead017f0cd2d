// A local HTTPS Kubernetes API server for addon tests: real TLS (a CA and server certificate made by
// openssl), discovery, server-side apply, read and delete answered with the shapes a real
// kube-apiserver sends (APIResourceList, the applied object with uid/generation, Status on 404).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface Recorded {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: Record<string, unknown>;
}

interface Resource {
  name: string;
  kind: string;
  namespaced: boolean;
}

const BUILTIN: Record<string, Resource[]> = {
  v1: [
    { name: 'namespaces', kind: 'Namespace', namespaced: false },
    { name: 'services', kind: 'Service', namespaced: true },
    { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
    { name: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  ],
  'apps/v1': [
    { name: 'deployments', kind: 'Deployment', namespaced: true },
    { name: 'daemonsets', kind: 'DaemonSet', namespaced: true },
  ],
  'apiextensions.k8s.io/v1': [
    { name: 'customresourcedefinitions', kind: 'CustomResourceDefinition', namespaced: false },
  ],
  'rbac.authorization.k8s.io/v1': [
    { name: 'clusterroles', kind: 'ClusterRole', namespaced: false },
    { name: 'clusterrolebindings', kind: 'ClusterRoleBinding', namespaced: false },
    { name: 'roles', kind: 'Role', namespaced: true },
    { name: 'rolebindings', kind: 'RoleBinding', namespaced: true },
  ],
  'storage.k8s.io/v1': [{ name: 'storageclasses', kind: 'StorageClass', namespaced: false }],
};

function makeCerts(dir: string): { ca: string; cert: string; key: string } {
  const run = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run([
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '1',
    '-subj',
    '/CN=test-ca',
  ]);
  run([
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=kube-apiserver',
  ]);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.crt',
    '-days',
    '1',
    '-extfile',
    'ext.cnf',
  ]);
  const read = (f: string) => fs.readFileSync(path.join(dir, f), 'utf8');
  return { ca: read('ca.crt'), cert: read('server.crt'), key: read('server.key') };
}

export class FakeApiServer {
  readonly requests: Recorded[] = [];
  /** Stored objects by URL path. */
  readonly objects = new Map<string, Record<string, unknown>>();
  /** Reads of a CRD that answer "not yet Established" before it flips. */
  crdReadsBeforeEstablished = 2;
  /** Reads of a deleted object that still find it (terminating) before it is gone. */
  readsUntilGone = 1;
  /** Reads of a Deployment before it reports available. */
  readsUntilAvailable = 1;
  /** A path whose apply is refused with 422 Invalid and this message. */
  refuse?: { path: string; message: string };
  /** Served API groups beyond the built-in ones (added when a CRD is Established). */
  private readonly extra: Record<string, Resource[]> = {};
  private readonly readCounts = new Map<string, number>();
  private readonly gone = new Map<string, number>();
  private server?: https.Server;
  private dir = '';
  ca = '';
  url = '';

  async start(): Promise<void> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-apiserver-'));
    const { ca, cert, key } = makeCerts(this.dir);
    this.ca = ca;
    this.server = https.createServer({ cert, key }, (req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'https://127.0.0.1');
        const rec: Recorded = {
          method: req.method ?? '',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          contentType: req.headers['content-type'],
          body: raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined,
        };
        this.requests.push(rec);
        const [status, body] = this.answer(rec);
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((r) => this.server?.close(() => r()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** The requests that changed something, as `METHOD path`. */
  writes(): string[] {
    return this.requests
      .filter((r) => r.method === 'PATCH' || r.method === 'DELETE')
      .map((r) => `${r.method} ${r.path}`);
  }

  kubeconfig(context: string): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      `current-context: ${context}`,
      'clusters:',
      `- name: ${context}`,
      '  cluster:',
      `    server: ${this.url}`,
      `    certificate-authority-data: ${Buffer.from(this.ca).toString('base64')}`,
      'users:',
      `- name: ${context}`,
      '  user:',
      '    token: test-token',
      'contexts:',
      `- name: ${context}`,
      '  context:',
      `    cluster: ${context}`,
      `    user: ${context}`,
      '',
    ].join('\n');
  }

  private status(code: number, reason: string, message: string): [number, Record<string, unknown>] {
    return [
      code,
      { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code },
    ];
  }

  private groups(): Record<string, Resource[]> {
    return { ...BUILTIN, ...this.extra };
  }

  private answer(r: Recorded): [number, Record<string, unknown>] {
    const gv = /^\/api\/v1$/.test(r.path) ? 'v1' : /^\/apis\/([^/]+\/[^/]+)$/.exec(r.path)?.[1];
    if (r.method === 'GET' && gv) {
      const resources = this.groups()[gv];
      if (!resources) return this.status(404, 'NotFound', 'the server could not find the requested resource');
      return [
        200,
        {
          kind: 'APIResourceList',
          apiVersion: 'v1',
          groupVersion: gv,
          resources: resources.map((x) => ({
            name: x.name,
            singularName: x.kind.toLowerCase(),
            namespaced: x.namespaced,
            kind: x.kind,
            verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
          })),
        },
      ];
    }
    const key = r.path;
    const name = key.split('/').at(-1) ?? '';
    if (r.method === 'PATCH') {
      if (this.refuse?.path === key) return this.status(422, 'Invalid', this.refuse.message);
      if (r.contentType !== 'application/apply-patch+yaml')
        return this.status(415, 'UnsupportedMediaType', 'want apply');
      const prev = this.objects.get(key);
      const body = r.body ?? {};
      const meta = (body.metadata ?? {}) as Record<string, unknown>;
      const obj = {
        ...body,
        metadata: {
          ...meta,
          uid: (prev?.metadata as { uid?: string } | undefined)?.uid ?? `uid-${this.objects.size + 1}`,
          generation: 1,
          managedFields: [{ manager: r.query.fieldManager, operation: 'Apply' }],
        },
      };
      this.objects.set(key, obj);
      this.gone.delete(key);
      return [prev ? 200 : 201, obj];
    }
    if (r.method === 'DELETE') {
      if (!this.objects.has(key)) return this.status(404, 'NotFound', `"${name}" not found`);
      this.gone.set(key, this.readsUntilGone);
      return [200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name } }];
    }
    if (r.method === 'GET') {
      const obj = this.objects.get(key);
      if (!obj) return this.status(404, 'NotFound', `"${name}" not found`);
      const left = this.gone.get(key);
      if (left !== undefined) {
        if (left <= 0) {
          this.objects.delete(key);
          this.gone.delete(key);
          return this.status(404, 'NotFound', `"${name}" not found`);
        }
        this.gone.set(key, left - 1);
        return [
          200,
          { ...obj, metadata: { ...(obj.metadata as object), deletionTimestamp: '2026-11-30T00:00:00Z' } },
        ];
      }
      const reads = (this.readCounts.get(key) ?? 0) + 1;
      this.readCounts.set(key, reads);
      if (obj.kind === 'CustomResourceDefinition') return [200, this.crdStatus(obj, reads)];
      if (obj.kind === 'Deployment') {
        const ready = reads > this.readsUntilAvailable ? 1 : 0;
        return [
          200,
          {
            ...obj,
            status: {
              observedGeneration: 1,
              replicas: 1,
              updatedReplicas: 1,
              readyReplicas: ready,
              availableReplicas: ready,
            },
          },
        ];
      }
      return [200, obj];
    }
    return this.status(405, 'MethodNotAllowed', `${r.method} not supported`);
  }

  private crdStatus(obj: Record<string, unknown>, reads: number): Record<string, unknown> {
    const established = reads > this.crdReadsBeforeEstablished;
    const spec = obj.spec as {
      group: string;
      names: { plural: string; kind: string };
      scope: string;
      versions: { name: string }[];
    };
    if (established) {
      for (const v of spec.versions) {
        this.extra[`${spec.group}/${v.name}`] = [
          { name: spec.names.plural, kind: spec.names.kind, namespaced: spec.scope === 'Namespaced' },
        ];
      }
    }
    return {
      ...obj,
      status: {
        conditions: [
          { type: 'NamesAccepted', status: 'True', reason: 'NoConflicts' },
          {
            type: 'Established',
            status: established ? 'True' : 'False',
            reason: established ? 'InitialNamesAccepted' : 'Installing',
          },
        ],
      },
    };
  }
}
