// `kdev tunnel` against a local HTTPS API server (the profile's own certificates, client cert
// required) through the real @kubernetes/client-node: the status-subresource PATCHes it sends, and
// forwards that carry bytes. The machine is a stand-in whose addForward opens a real TCP proxy on
// 127.0.0.1 to a local server playing the node port: a real qemu/gvproxy forward carries bytes only
// into a booted guest, which integration tests do not have (the qemu half below checks the host
// side of a real hostfwd instead).
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  lockTunnel,
  runTunnel,
  Tunnel,
  TUNNEL_INGRESS,
  type TunnelEvent,
} from '../../../src/cluster/tunnel.js';
import { apiConnectionFor } from '../../../src/cluster/kubernetes/profile-access.js';
import { serviceIngressApi } from '../../../src/cluster/kubernetes/service-ingress.js';
import { apiServerNames, ensureProfileCerts } from '../../../src/cluster/pki/profile-certs.js';
import { freePorts } from '../../../src/lib/net.js';
import type { Endpoint, Forward } from '../../../src/vm/driver.js';
import { QemuDriver } from '../../../src/vm/qemu/driver.js';
import { fakeGuestSpec } from '../vm/fake-guest.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';
import { recordedServices, startServicesApiServer, type ServicesApiServer } from './services-apiserver.js';
import { haveQemuX86, listening } from '../../helpers/host.js';

useTempKdevHome();

const names = apiServerNames({
  serviceIp: '10.96.0.1',
  dnsDomain: 'cluster.local',
  controlPlaneHost: 'control-plane.kdev.internal',
  guestIp: '10.0.2.15',
  nodeName: 'dev',
});

/** Servers playing the guest's node ports: each answers with its own name. */
async function nodePortServer(text: string): Promise<http.Server> {
  const s = http.createServer((_req, res) => res.end(text));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}

/** A running machine whose forwards are real TCP proxies from 127.0.0.1 to the node-port servers. */
function proxyMachine(guest: Map<number, number>) {
  const endpoints: Endpoint[] = [{ name: 'ssh', host: '127.0.0.1', port: 1, guestPort: 22 }];
  const open = new Map<string, { server: net.Server; sockets: Set<net.Socket> }>();
  return {
    endpoints: async () => [...endpoints],
    addForward: async (f: Forward): Promise<Endpoint> => {
      const sockets = new Set<net.Socket>();
      const server = net.createServer((client) => {
        const upstream = net.connect({ host: '127.0.0.1', port: guest.get(f.guestPort) ?? 1 });
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host: '127.0.0.1', port: f.hostPort, exclusive: true }, resolve);
      });
      open.set(f.name, { server, sockets });
      const ep = { name: f.name, host: '127.0.0.1', port: f.hostPort, guestPort: f.guestPort };
      endpoints.push(ep);
      return ep;
    },
    removeForward: async (name: string) => {
      const o = open.get(name);
      if (!o) throw new Error(`no forward ${name}`);
      for (const s of o.sockets) s.destroy();
      await new Promise((r) => o.server.close(r));
      open.delete(name);
      endpoints.splice(
        endpoints.findIndex((e) => e.name === name),
        1,
      );
    },
  };
}

function get(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

const refused = async (port: number) => !(await listening(port));

/** Waits (bounded) until the tunnel has said something matching. */
async function until(events: TunnelEvent[], pred: (e: TunnelEvent) => boolean): Promise<TunnelEvent> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = events.find(pred);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`not seen; events: ${JSON.stringify(events)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const added = (name: string) => (e: TunnelEvent) => e.kind === 'forward-added' && e.port.name === name;
const removed = (name: string) => (e: TunnelEvent) => e.kind === 'forward-removed' && e.port?.name === name;

describe('kdev tunnel against an API server and real forwards', () => {
  let api: ServicesApiServer;
  const servers: http.Server[] = [];

  afterEach(async () => {
    await api?.close();
    for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  });

  it('forwards LoadBalancer ports, patches the status subresource, follows changes, cleans up on exit', async () => {
    const certs = await ensureProfileCerts('dev', names);
    const [webPort, apiPort] = (await freePorts(2)) as [number, number];
    const services = recordedServices();
    const web = services.find((s) => (s.metadata as { name: string }).name === 'web')!;
    // The Service port is one known to be free, so the tunnel can take it as the host port.
    (web.spec as { ports: { port: number }[] }).ports[0]!.port = webPort;
    // A LoadBalancer some other controller answers for: forwarded, its ingress left alone.
    const other = structuredClone(web);
    Object.assign(other.metadata as object, { name: 'web-other', uid: 'uid-other' });
    (other.spec as { ports: { nodePort: number }[] }).ports[0]!.nodePort = 31081;
    other.status = { loadBalancer: { ingress: [{ ip: '192.168.5.10' }] } };
    api = await startServicesApiServer({
      certPem: certs.apiServer.certPem,
      keyPem: certs.apiServer.keyPem,
      clientCaPem: certs.ca.certPem,
      services: [...services, other],
    });
    const guest = new Map<number, number>();
    for (const [nodePort, text] of [
      [31080, 'web'],
      [31081, 'web-other'],
      [31090, 'api'],
    ] as const) {
      const s = await nodePortServer(text);
      servers.push(s);
      guest.set(nodePort, (s.address() as AddressInfo).port);
    }

    const cluster = await serviceIngressApi(await apiConnectionFor('dev', api.port));
    const events: TunnelEvent[] = [];
    const stop = new AbortController();
    const done = runTunnel(
      { driver: proxyMachine(guest), ...cluster, onEvent: (e) => events.push(e) },
      { signal: stop.signal, intervalMs: 50 },
    );
    try {
      const webAdded = await until(events, added('web'));
      const otherAdded = await until(events, added('web-other'));
      if (webAdded.kind !== 'forward-added' || otherAdded.kind !== 'forward-added')
        throw new Error('unreachable');
      // Same Service port on both: the first (by name) gets it, the other any free port.
      expect(otherAdded.endpoint.port).not.toBe(webPort);
      expect(webAdded.endpoint).toEqual({
        name: 'lb-31080',
        host: '127.0.0.1',
        port: webPort,
        guestPort: 31080,
      });
      expect(await get(webPort)).toBe('web');
      expect(await get(otherAdded.endpoint.port)).toBe('web-other');

      await until(events, (e) => e.kind === 'ingress-set');
      expect(api.patches).toEqual([
        {
          path: '/api/v1/namespaces/default/services/web/status',
          contentType: 'application/merge-patch+json',
          body: { status: { loadBalancer: { ingress: [{ ip: '127.0.0.1', ipMode: 'Proxy' }] } } },
          status: 200,
        },
      ]);
      expect(api.services.get('default/web')!.status as object).toEqual({
        loadBalancer: { ingress: [{ ip: '127.0.0.1', ipMode: 'Proxy' }] },
      });

      // A new LoadBalancer appears in another namespace; web goes away.
      const apiSvc = structuredClone(web);
      Object.assign(apiSvc.metadata as object, { name: 'api', namespace: 'team', uid: 'uid-api' });
      Object.assign((apiSvc.spec as { ports: object[] }).ports[0]!, { port: apiPort, nodePort: 31090 });
      apiSvc.status = { loadBalancer: {} };
      api.services.set('team/api', apiSvc);
      api.services.delete('default/web');
      const apiAdded = await until(events, added('api'));
      await until(events, removed('web'));
      if (apiAdded.kind !== 'forward-added') throw new Error('unreachable');
      expect(apiAdded.endpoint.port).toBe(apiPort);
      expect(await get(apiPort)).toBe('api');
      expect(await refused(webPort)).toBe(true);
      await until(events, (e) => e.kind === 'ingress-set' && e.service.name === 'api');
    } finally {
      stop.abort();
      await done;
    }

    // On exit: every forward closed, the ingress the tunnel set cleared by a conditional JSON patch.
    for (const e of events) if (e.kind === 'forward-added') expect(await refused(e.endpoint.port)).toBe(true);
    const clear = api.patches.filter((p) => p.contentType === 'application/json-patch+json');
    expect(clear).toEqual([
      {
        path: '/api/v1/namespaces/team/services/api/status',
        contentType: 'application/json-patch+json',
        body: [
          { op: 'test', path: '/status/loadBalancer/ingress', value: TUNNEL_INGRESS },
          { op: 'remove', path: '/status/loadBalancer/ingress' },
        ],
        status: 200,
      },
    ]);
    expect(api.services.get('team/api')!.status).toEqual({ loadBalancer: {} });
    expect(api.services.get('default/web-other')!.status).toEqual({
      loadBalancer: { ingress: [{ ip: '192.168.5.10' }] },
    });
    expect(api.patches.some((p) => p.path.includes('/web-other/'))).toBe(false);
    expect(events.filter((e) => e.kind === 'problem')).toEqual([]);
  });

  it('clearing an ingress someone changed meanwhile is a no-op (the server refuses the test op with 422)', async () => {
    const certs = await ensureProfileCerts('dev', names);
    const svc = recordedServices().find((s) => (s.metadata as { name: string }).name === 'web')!;
    svc.status = { loadBalancer: { ingress: [{ ip: '10.1.1.1' }] } };
    api = await startServicesApiServer({
      certPem: certs.apiServer.certPem,
      keyPem: certs.apiServer.keyPem,
      clientCaPem: certs.ca.certPem,
      services: [svc],
    });
    const cluster = await serviceIngressApi(await apiConnectionFor('dev', api.port));
    await expect(cluster.clearIngress({ namespace: 'default', name: 'web' })).resolves.toBe(false);
    await expect(cluster.clearIngress({ namespace: 'default', name: 'gone' })).resolves.toBe(false);
    expect(api.patches.map((p) => p.status)).toEqual([422, 404]);
    expect(api.services.get('default/web')!.status).toEqual({
      loadBalancer: { ingress: [{ ip: '10.1.1.1' }] },
    });
  });
});

describe('serviceIngressApi against an API server that never answers', () => {
  it('fails each request at its deadline, so neither a tick nor the cleanup after Ctrl-C hangs', async () => {
    await ensureProfileCerts('dev', names);
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as AddressInfo).port;
      const cluster = await serviceIngressApi(await apiConnectionFor('dev', port), 300);
      await expect(cluster.listServices()).rejects.toThrow('no answer from the API server within 0.3 s');
      await expect(cluster.clearIngress({ namespace: 'default', name: 'web' })).rejects.toThrow(
        'no answer from the API server within 0.3 s',
      );
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });
});

describe('lockTunnel', () => {
  it('refuses a second tunnel on the same profile with one line, and allows one after the first ends', async () => {
    const release = await lockTunnel('dev');
    try {
      await expect(lockTunnel('dev')).rejects.toMatchObject({
        code: 'LOCKED',
        message: 'a tunnel already runs for profile "dev"',
        hints: [`Stop it with Ctrl-C in its terminal (or: kill ${process.pid}), or use that one`],
      });
      // Another profile has its own tunnel.
      await (
        await lockTunnel('other')
      )();
    } finally {
      await release();
    }
    await (
      await lockTunnel('dev')
    )();
  });
});

const haveQemu = haveQemuX86();
if (!haveQemu)
  console.warn('skipping the tunnel on a real qemu machine: qemu-system-x86_64 or qemu-img missing');

describe('tunnel forwards on a real qemu machine (slirp hostfwd; a fake guest, so the host side only)', () => {
  const maybe = haveQemu ? it : it.skip;

  maybe('opens lb-<node port> on 127.0.0.1 at the Service port, records it, removes it on exit', async () => {
    const certs = await ensureProfileCerts('dev', names);
    const [ssh, apiServer, webPort] = (await freePorts(3)) as [number, number, number];
    const services = recordedServices();
    const web = services.find((s) => (s.metadata as { name: string }).name === 'web')!;
    (web.spec as { ports: { port: number }[] }).ports[0]!.port = webPort;
    const api = await startServicesApiServer({
      certPem: certs.apiServer.certPem,
      keyPem: certs.apiServer.keyPem,
      clientCaPem: certs.ca.certPem,
      services,
    });
    const img = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-tunnel-img-'));
    const spec = fakeGuestSpec(img, 'tun', { ssh, apiServer });
    const driver = new QemuDriver('tun', {});
    try {
      await driver.create(spec);
      await driver.start(spec);
      const cluster = await serviceIngressApi(await apiConnectionFor('dev', api.port));
      const events: TunnelEvent[] = [];
      const tunnel = new Tunnel({ driver, ...cluster, onEvent: (e) => events.push(e) });
      await tunnel.tick();
      expect(events.filter((e) => e.kind === 'problem')).toEqual([]);
      expect(await driver.endpoints()).toContainEqual({
        name: 'lb-31080',
        host: '127.0.0.1',
        port: webPort,
        guestPort: 31080,
      });
      expect(await refused(webPort)).toBe(false);
      await tunnel.close();
      expect((await driver.endpoints()).map((e) => e.name)).toEqual(['ssh', 'apiserver']);
      expect(await refused(webPort)).toBe(true);
      expect(api.services.get('default/web')!.status).toEqual({ loadBalancer: {} });
    } finally {
      await driver.remove();
      await api.close();
      fs.rmSync(img, { recursive: true, force: true });
    }
  });
});
