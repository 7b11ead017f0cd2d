// A local HTTPS server that stands in for kube-apiserver: it presents the profile's API server
// certificate, requires a client certificate signed by kdevCA, and answers the handful of paths
// kubectl and kdev's readiness checks use from recorded, real-shaped responses (./fixtures).
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const load = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown>;

export interface FakeApiServer {
  port: number;
  url: string;
  /** Client certificate subjects (CN) seen on requests, in order. */
  clients: string[];
  paths: string[];
  close(): Promise<void>;
}

function nodeTable(node: Record<string, unknown>) {
  const meta = node.metadata as Record<string, unknown>;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion: '612' },
    columnDefinitions: [
      { name: 'Name', type: 'string', format: 'name', description: 'Name', priority: 0 },
      { name: 'Status', type: 'string', format: '', description: 'The status of the node', priority: 0 },
      { name: 'Roles', type: 'string', format: '', description: 'The roles of the node', priority: 0 },
      { name: 'Age', type: 'string', format: '', description: 'CreationTimestamp', priority: 0 },
      { name: 'Version', type: 'string', format: '', description: 'Kubelet Version', priority: 0 },
    ],
    rows: [
      {
        cells: [meta.name, 'Ready', 'control-plane', '5m', 'v1.37.1'],
        object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: meta },
      },
    ],
  };
}

export async function startFakeApiServer(opts: {
  certPem: string;
  keyPem: string;
  clientCaPem: string;
  /** Node Ready only after this many reads of the node (to exercise the waiter's polling). */
  readyAfterReads?: number;
}): Promise<FakeApiServer> {
  const node = load('node.json');
  const pods = load('kube-system-pods.json');
  const clients: string[] = [];
  const paths: string[] = [];
  let nodeReads = 0;
  const nodeNow = () => {
    nodeReads++;
    if (nodeReads > (opts.readyAfterReads ?? 0)) return node;
    const copy = structuredClone(node) as { status: { conditions: { type: string; status: string }[] } };
    copy.status.conditions = copy.status.conditions.map((c) =>
      c.type === 'Ready' ? { ...c, status: 'False' } : c,
    );
    return copy;
  };
  const server = https.createServer(
    {
      cert: opts.certPem,
      key: opts.keyPem,
      ca: opts.clientCaPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      clients.push(String(peer.subject?.CN ?? ''));
      const url = new URL(req.url ?? '/', 'https://x');
      paths.push(url.pathname);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      switch (url.pathname) {
        case '/readyz':
        case '/livez':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end('ok');
        case '/version':
          return json(200, load('version.json'));
        case '/api':
          return json(200, {
            kind: 'APIVersions',
            versions: ['v1'],
            serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: '10.0.2.15:8443' }],
          });
        case '/apis':
          return json(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: [] });
        case '/api/v1':
          return json(200, load('api-v1.json'));
        case '/api/v1/nodes':
          if ((req.headers.accept ?? '').includes('as=Table')) return json(200, nodeTable(nodeNow()));
          return json(200, { kind: 'NodeList', apiVersion: 'v1', metadata: {}, items: [nodeNow()] });
        case '/api/v1/nodes/dev':
          return json(200, nodeNow());
        case '/api/v1/namespaces/kube-system/pods': {
          const [k, v] = (url.searchParams.get('labelSelector') ?? '').split('=');
          const items = (pods.items as { metadata: { labels: Record<string, string> } }[]).filter(
            (p) => !k || p.metadata.labels[k] === v,
          );
          return json(200, { ...pods, items });
        }
        default:
          return json(404, {
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            message: `the server could not find the requested resource (${url.pathname})`,
            reason: 'NotFound',
            code: 404,
          });
      }
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `https://127.0.0.1:${port}`,
    clients,
    paths,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
