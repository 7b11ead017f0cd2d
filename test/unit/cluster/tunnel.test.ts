import type { V1LoadBalancerIngress, V1Service, V1ServicePort } from '@kubernetes/client-node';
import {
  describeTunnelEvent,
  planTunnel,
  Tunnel,
  TUNNEL_INGRESS,
  type ServiceRef,
  type TunnelDeps,
  type TunnelEvent,
} from '../../../src/cluster/tunnel.js';
import type { Endpoint, Forward } from '../../../src/vm/driver.js';

const svc = (
  name: string,
  ports: V1ServicePort[],
  opts: { type?: string; namespace?: string; ingress?: V1LoadBalancerIngress[] } = {},
): V1Service => ({
  metadata: { name, namespace: opts.namespace ?? 'default' },
  spec: { type: opts.type ?? 'LoadBalancer', ports },
  status: { loadBalancer: opts.ingress ? { ingress: opts.ingress } : {} },
});

const ep = (name: string, port: number, guestPort: number): Endpoint => ({
  name,
  host: '127.0.0.1',
  port,
  guestPort,
});

const SSH = ep('ssh', 40022, 22);
const ours = () => structuredClone(TUNNEL_INGRESS);

describe('planTunnel', () => {
  it('opens a forward per TCP node port of each LoadBalancer and sets their ingress', () => {
    const plan = planTunnel(
      [
        svc('web', [
          { name: 'http', port: 80, nodePort: 30080 },
          { name: 'https', port: 443, nodePort: 30443, protocol: 'TCP' },
        ]),
        svc('db', [{ port: 5432, nodePort: 31432 }], { type: 'NodePort' }),
        svc('plain', [{ port: 80 }], { type: 'ClusterIP' }),
      ],
      [SSH],
      new Set(),
    );
    expect(plan.open).toEqual([
      { namespace: 'default', name: 'web', port: 80, nodePort: 30080, forward: 'lb-30080' },
      { namespace: 'default', name: 'web', port: 443, nodePort: 30443, forward: 'lb-30443' },
    ]);
    expect(plan.setIngress).toEqual([{ namespace: 'default', name: 'web' }]);
    expect(plan.close).toEqual([]);
    expect(plan.keep).toEqual([]);
    expect(plan.notes).toEqual([]);
  });

  it('keeps forwards that are there, closes tunnel forwards nobody needs, never touches others', () => {
    const plan = planTunnel(
      [svc('web', [{ port: 80, nodePort: 30080 }], { ingress: ours() })],
      [SSH, ep('lb-30080', 80, 30080), ep('lb-31000', 8080, 31000), ep('svc-31000', 41000, 31000)],
      new Set(['default/web']),
    );
    expect(plan.keep.map((k) => k.endpoint.name)).toEqual(['lb-30080']);
    expect(plan.close.map((e) => e.name)).toEqual(['lb-31000']);
    expect(plan.open).toEqual([]);
    expect(plan.setIngress).toEqual([]);
    expect(plan.adopt).toEqual([]);
  });

  it('reopens a tunnel forward that leads to the wrong guest port', () => {
    const plan = planTunnel(
      [svc('web', [{ port: 80, nodePort: 30080 }])],
      [ep('lb-30080', 80, 30081)],
      new Set(),
    );
    expect(plan.close.map((e) => e.name)).toEqual(['lb-30080']);
    expect(plan.open.map((p) => p.forward)).toEqual(['lb-30080']);
  });

  it('takes over the ingress a killed tunnel left, and clears it where the Service is no LoadBalancer any more', () => {
    const plan = planTunnel(
      [
        svc('web', [{ port: 80, nodePort: 30080 }], { ingress: ours() }),
        svc('was-lb', [{ port: 80, nodePort: 30081 }], { type: 'NodePort', ingress: ours() }),
      ],
      [],
      new Set(),
    );
    expect(plan.adopt).toEqual([{ namespace: 'default', name: 'web' }]);
    expect(plan.clearIngress).toEqual([{ namespace: 'default', name: 'was-lb' }]);
    expect(plan.setIngress).toEqual([]);
  });

  it('leaves an ingress it did not write alone (another load balancer, or 127.0.0.1 without ipMode Proxy)', () => {
    const plan = planTunnel(
      [
        svc('metal', [{ port: 80, nodePort: 30080 }], { ingress: [{ ip: '192.168.5.10' }] }),
        svc('hand', [{ port: 81, nodePort: 30081 }], { ingress: [{ ip: '127.0.0.1' }] }),
        svc('gone-lb', [{ port: 82, nodePort: 30082 }], { type: 'ClusterIP', ingress: [{ ip: '10.0.0.1' }] }),
      ],
      [],
      new Set(),
    );
    expect(plan.setIngress).toEqual([]);
    expect(plan.clearIngress).toEqual([]);
    expect(plan.adopt).toEqual([]);
    // Their ports are still reached on 127.0.0.1.
    expect(plan.open.map((p) => p.forward)).toEqual(['lb-30081', 'lb-30080']);
    expect(plan.notes).toEqual([
      'default/hand: ingress 127.0.0.1 is managed elsewhere; left as it is',
      'default/metal: ingress 192.168.5.10 is managed elsewhere; left as it is',
    ]);
  });

  it('skips UDP ports and ports without a node port, with a note; no ingress when nothing is forwarded', () => {
    const plan = planTunnel(
      [svc('dns', [{ port: 53, nodePort: 30053, protocol: 'UDP' }]), svc('no-np', [{ port: 80 }])],
      [],
      new Set(),
    );
    expect(plan.open).toEqual([]);
    expect(plan.setIngress).toEqual([]);
    expect(plan.notes).toEqual([
      'default/dns: port 53/UDP is not TCP; not forwarded',
      'default/no-np: port 80 has no node port (allocateLoadBalancerNodePorts: false?)',
    ]);
  });

  it('orders by namespace and name, so the first of two Services on one port gets it', () => {
    const plan = planTunnel(
      [
        svc('b', [{ port: 80, nodePort: 30002 }], { namespace: 'x' }),
        svc('a', [{ port: 80, nodePort: 30001 }], { namespace: 'x' }),
        svc('z', [{ port: 80, nodePort: 30003 }], { namespace: 'a' }),
      ],
      [],
      new Set(),
    );
    expect(plan.open.map((p) => `${p.namespace}/${p.name}`)).toEqual(['a/z', 'x/a', 'x/b']);
  });
});

/** A running machine and a cluster in memory: the edges of the tunnel. */
function world(services: V1Service[], endpoints: Endpoint[] = [SSH]) {
  const events: TunnelEvent[] = [];
  const calls: string[] = [];
  const busy = new Set<number>([40022]);
  const eps = [...endpoints];
  let freeNext = 45000;
  let failList: string | undefined;
  const deps: TunnelDeps = {
    driver: {
      endpoints: async () => [...eps],
      addForward: async (f: Forward) => {
        if (busy.has(f.hostPort)) throw new Error(`port ${f.hostPort} in use`);
        calls.push(`add ${f.name} ${f.hostPort}->${f.guestPort}`);
        busy.add(f.hostPort);
        const e = ep(f.name, f.hostPort, f.guestPort);
        eps.push(e);
        return e;
      },
      removeForward: async (name: string) => {
        const i = eps.findIndex((e) => e.name === name);
        if (i < 0) throw new Error(`no forward ${name}`);
        busy.delete(eps[i]!.port);
        eps.splice(i, 1);
        calls.push(`remove ${name}`);
      },
    },
    listServices: async () => {
      if (failList) throw new Error(failList);
      return structuredClone(services);
    },
    setIngress: async (r: ServiceRef) => {
      calls.push(`set ${r.namespace}/${r.name}`);
      const s = services.find((x) => x.metadata?.name === r.name && x.metadata?.namespace === r.namespace);
      if (!s) throw new Error('not found');
      s.status = { loadBalancer: { ingress: ours() } };
    },
    clearIngress: async (r: ServiceRef) => {
      calls.push(`clear ${r.namespace}/${r.name}`);
      const s = services.find((x) => x.metadata?.name === r.name && x.metadata?.namespace === r.namespace);
      if (!s || JSON.stringify(s.status?.loadBalancer?.ingress) !== JSON.stringify(TUNNEL_INGRESS))
        return false;
      s.status = { loadBalancer: {} };
      return true;
    },
    portFree: async (p) => !busy.has(p),
    freePort: async () => freeNext++,
    onEvent: (e) => events.push(e),
  };
  return {
    deps,
    events,
    calls,
    busy,
    endpoints: eps,
    lines: () => events.map(describeTunnelEvent),
    failListWith: (m?: string) => (failList = m),
  };
}

describe('Tunnel', () => {
  it('forwards the Service port when free, else a free one, and sets the ingress once', async () => {
    const services = [
      svc('web', [{ port: 8080, nodePort: 30080 }]),
      svc('web2', [{ port: 8080, nodePort: 30081 }]),
      svc('busy', [{ port: 40022, nodePort: 30082 }]),
    ];
    const w = world(services);
    const t = new Tunnel(w.deps);
    await t.tick();
    expect(w.lines()).toEqual([
      '+ default/busy:40022  http://127.0.0.1:45000  (node port 30082)',
      '+ default/web:8080  http://127.0.0.1:8080  (node port 30080)',
      '+ default/web2:8080  http://127.0.0.1:45001  (node port 30081)',
      'ingress 127.0.0.1 set on default/busy',
      'ingress 127.0.0.1 set on default/web',
      'ingress 127.0.0.1 set on default/web2',
    ]);
    w.events.length = 0;
    w.calls.length = 0;
    await t.tick();
    expect(w.events).toEqual([]);
    expect(w.calls).toEqual([]);
  });

  it('falls back to a free port when the preferred one is refused at bind time', async () => {
    const w = world([svc('web', [{ port: 8080, nodePort: 30080 }])]);
    w.deps.portFree = async () => true; // the check says free, the back end then refuses
    w.busy.add(8080);
    await new Tunnel(w.deps).tick();
    expect(w.calls).toEqual(['add lb-30080 45000->30080', 'set default/web']);
  });

  it('follows the cluster: a new Service gets a forward, a deleted one loses it', async () => {
    const services = [svc('web', [{ port: 8080, nodePort: 30080 }])];
    const w = world(services);
    const t = new Tunnel(w.deps);
    await t.tick();
    services.push(svc('api', [{ port: 9090, nodePort: 30090 }], { namespace: 'team' }));
    services.splice(0, 1);
    w.events.length = 0;
    await t.tick();
    expect(w.lines()).toEqual([
      '- default/web:8080  http://127.0.0.1:8080  closed',
      '+ team/api:9090  http://127.0.0.1:9090  (node port 30090)',
      'ingress 127.0.0.1 set on team/api',
    ]);
    expect(w.endpoints.map((e) => e.name)).toEqual(['ssh', 'lb-30090']);
  });

  it('clears the ingress when a Service stops being a LoadBalancer, and closes its forward', async () => {
    const services = [svc('web', [{ port: 8080, nodePort: 30080 }])];
    const w = world(services);
    const t = new Tunnel(w.deps);
    await t.tick();
    services[0]!.spec!.type = 'NodePort';
    w.calls.length = 0;
    await t.tick();
    expect(w.calls).toEqual(['remove lb-30080', 'clear default/web']);
    expect(services[0]!.status).toEqual({ loadBalancer: {} });
  });

  it('on close removes its forwards and clears only the ingress it set or took over', async () => {
    const services = [
      svc('web', [{ port: 8080, nodePort: 30080 }]),
      svc('left', [{ port: 8081, nodePort: 30081 }], { ingress: ours() }),
      svc('metal', [{ port: 8082, nodePort: 30082 }], { ingress: [{ ip: '192.168.5.10' }] }),
    ];
    const w = world(services, [SSH, ep('lb-30081', 8081, 30081), ep('svc-30080', 41000, 30080)]);
    const t = new Tunnel(w.deps);
    await t.tick();
    expect(w.lines()).toContain(
      '+ default/left:8081  http://127.0.0.1:8081  (node port 30081, kept from an earlier tunnel)',
    );
    expect(w.lines()).toContain('ingress 127.0.0.1 on default/left taken over from an earlier tunnel');
    w.calls.length = 0;
    w.events.length = 0;
    await t.close();
    expect(w.calls.sort()).toEqual(
      [
        'remove lb-30080',
        'remove lb-30081',
        'remove lb-30082',
        'clear default/left',
        'clear default/web',
      ].sort(),
    );
    expect(w.endpoints.map((e) => e.name)).toEqual(['ssh', 'svc-30080']);
    expect(services.map((s) => s.status?.loadBalancer?.ingress)).toEqual([
      undefined,
      undefined,
      [{ ip: '192.168.5.10' }],
    ]);
  });

  it('does not clear an ingress someone changed after the tunnel set it', async () => {
    const services = [svc('web', [{ port: 8080, nodePort: 30080 }])];
    const w = world(services);
    const t = new Tunnel(w.deps);
    await t.tick();
    services[0]!.status = { loadBalancer: { ingress: [{ ip: '10.1.1.1' }] } };
    w.events.length = 0;
    await t.close();
    expect(w.lines()).toEqual(['- default/web:8080  http://127.0.0.1:8080  closed']);
    expect(services[0]!.status?.loadBalancer?.ingress).toEqual([{ ip: '10.1.1.1' }]);
  });

  it('says a lasting problem once, says it again after it went away and came back, and retries', async () => {
    const w = world([svc('web', [{ port: 8080, nodePort: 30080 }])]);
    const t = new Tunnel(w.deps);
    w.failListWith('connect ECONNREFUSED 127.0.0.1:40443');
    await t.tick();
    await t.tick();
    expect(w.lines()).toEqual(['! connect ECONNREFUSED 127.0.0.1:40443']);
    w.failListWith(undefined);
    await t.tick();
    expect(w.calls).toEqual(['add lb-30080 8080->30080', 'set default/web']);
    w.failListWith('connect ECONNREFUSED 127.0.0.1:40443');
    await t.tick();
    expect(w.lines().filter((l) => l.startsWith('!'))).toHaveLength(2);
  });

  it('reports a forward it cannot open and tries again next tick', async () => {
    const w = world([svc('web', [{ port: 8080, nodePort: 30080 }])]);
    const add = w.deps.driver.addForward!;
    let fail = true;
    w.deps.driver.addForward = async (f) => {
      if (fail) throw new Error('machine "dev" is not running');
      return add(f);
    };
    const t = new Tunnel(w.deps);
    await t.tick();
    // No forward, no address to announce yet.
    expect(w.lines()).toEqual(['! cannot forward default/web port 8080: machine "dev" is not running']);
    fail = false;
    await t.tick();
    expect(w.endpoints.map((e) => e.name)).toEqual(['ssh', 'lb-30080']);
    expect(w.calls).toEqual(['add lb-30080 8080->30080', 'set default/web']);
  });

  it('prints each note once', async () => {
    const w = world([svc('dns', [{ port: 53, nodePort: 30053, protocol: 'UDP' }])]);
    const t = new Tunnel(w.deps);
    await t.tick();
    await t.tick();
    expect(w.lines()).toEqual(['note: default/dns: port 53/UDP is not TCP; not forwarded']);
  });
});
