// A local HTTPS server standing in for kube-apiserver's Services: it presents the profile's API
// server certificate, requires a client certificate signed by kdevCA, lists the Services of a
// ServiceList written in the shape kube-apiserver sends (./fixtures/services.json) and applies PATCHes of the status subresource as
// the real one does: merge patch (RFC 7386) and JSON patch (RFC 6902, a failed test is 422).
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

type Json = Record<string, unknown>;

export interface RecordedPatch {
  path: string;
  contentType: string;
  body: unknown;
  status: number;
}

export interface ServicesApiServer {
  url: string;
  port: number;
  /** The Services as stored now, by `namespace/name`. */
  services: Map<string, Json>;
  patches: RecordedPatch[];
  close(): Promise<void>;
}

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'services.json');

export function recordedServices(): Json[] {
  return (JSON.parse(fs.readFileSync(fixture, 'utf8')) as { items: Json[] }).items;
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out: Json =
    typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Json) } : {};
  for (const [k, v] of Object.entries(patch as Json)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** JSON equality; key order does not matter (and, unlike util.isDeepStrictEqual, neither does the realm). */
function sameJson(a: unknown, b: unknown): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return a === b;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return (
    ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameJson((a as Json)[k], (b as Json)[k]))
  );
}

/** RFC 6902 with the ops the tunnel sends (test, add, replace, remove) on object members. */
function jsonPatch(doc: Json, ops: { op: string; path: string; value?: unknown }[]): Json | string {
  const out = structuredClone(doc);
  for (const op of ops) {
    const keys = op.path.split('/').slice(1);
    const last = keys.pop() ?? '';
    let parent: unknown = out;
    for (const k of keys) parent = (parent as Json | undefined)?.[k];
    if (typeof parent !== 'object' || parent === null) return `doc is missing path: "${op.path}"`;
    const p = parent as Json;
    if (op.op === 'test') {
      if (!sameJson(p[last], op.value)) return `testing value ${op.path} failed`;
    } else if (op.op === 'remove') {
      if (!(last in p)) return `remove operation does not apply: doc is missing key: ${op.path}`;
      delete p[last];
    } else if (op.op === 'add' || op.op === 'replace') {
      p[last] = op.value;
    } else return `unexpected op ${op.op}`;
  }
  return out;
}

export async function startServicesApiServer(opts: {
  certPem: string;
  keyPem: string;
  clientCaPem: string;
  services: Json[];
}): Promise<ServicesApiServer> {
  const services = new Map<string, Json>();
  for (const s of opts.services) {
    const m = s.metadata as { namespace: string; name: string };
    services.set(`${m.namespace}/${m.name}`, structuredClone(s));
  }
  const patches: RecordedPatch[] = [];
  let rv = 2000;
  const server = https.createServer(
    {
      cert: opts.certPem,
      key: opts.keyPem,
      ca: opts.clientCaPem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      let raw = '';
      req.on('data', (c: Buffer) => (raw += c.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'https://x');
        const send = (code: number, body: unknown) => {
          res.writeHead(code, { 'content-type': 'application/json' });
          res.end(JSON.stringify(body));
        };
        if (req.method === 'GET' && url.pathname === '/api/v1/services') {
          return send(200, {
            kind: 'ServiceList',
            apiVersion: 'v1',
            metadata: { resourceVersion: String(rv) },
            items: [...services.values()],
          });
        }
        const m = /^\/api\/v1\/namespaces\/([^/]+)\/services\/([^/]+)\/status$/.exec(url.pathname);
        if (req.method === 'PATCH' && m) {
          const key = `${m[1]}/${m[2]}`;
          const contentType = req.headers['content-type'] ?? '';
          const body: unknown = raw ? JSON.parse(raw) : undefined;
          const answer = (code: number, out: unknown) => {
            patches.push({ path: url.pathname, contentType, body, status: code });
            send(code, out);
          };
          const current = services.get(key);
          if (!current) return answer(404, status(404, 'NotFound', `services "${m[2]}" not found`));
          let next: Json;
          if (contentType === 'application/merge-patch+json') {
            next = mergePatch(current, body) as Json;
          } else if (contentType === 'application/json-patch+json') {
            const r = jsonPatch(current, body as { op: string; path: string; value?: unknown }[]);
            if (typeof r === 'string') return answer(422, status(422, 'Invalid', r));
            next = r;
          } else {
            return answer(
              415,
              status(415, 'UnsupportedMediaType', `the body of the request was in an unknown format`),
            );
          }
          // The status subresource ignores everything but status, as the real one does.
          const stored: Json = { ...current, status: next.status ?? {} };
          (stored.metadata as Json).resourceVersion = String(++rv);
          services.set(key, stored);
          return answer(200, { kind: 'Service', apiVersion: 'v1', ...stored });
        }
        send(
          404,
          status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`),
        );
      });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    services,
    patches,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
