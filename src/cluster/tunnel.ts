// `kdev tunnel`: minikube's tunnel without sudo. Every LoadBalancer Service gets a forward from
// 127.0.0.1 to its node port in the guest (the mechanism of `kdev service`) and the ingress
// 127.0.0.1, so `kubectl get svc` shows where it is reached. It follows the cluster by polling:
// one LIST of all Services every couple of seconds costs a single-node dev cluster nothing, and,
// unlike a watch, needs no resync or reconnect logic when the API server or the machine restarts.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { V1LoadBalancerIngress, V1Service } from '@kubernetes/client-node';
import { KdevError } from '../lib/errors.js';
import { ensurePrivateDir } from '../lib/fs-atomic.js';
import { acquireLock, type Release } from '../lib/lock.js';
import type { Logger } from '../lib/log.js';
import { freePort, portFree } from '../lib/net.js';
import { paths } from '../lib/paths.js';
import { validateProfileName } from '../lib/profile-name.js';
import type { Driver, Endpoint } from '../vm/driver.js';
import { requireRunning } from './access.js';
import { requireProfile } from './profiles.js';
import { apiConnectionFor, apiServerPort, requireKubernetes } from './kubernetes/profile-access.js';
import {
  serviceIngressApi,
  TUNNEL_INGRESS,
  type ServiceIngressApi,
  type ServiceRef,
} from './kubernetes/service-ingress.js';

export { TUNNEL_INGRESS, type ServiceRef };

/** How often the tunnel looks at the Services (ms). */
export const TUNNEL_POLL_MS = 2000;

/** Forwards the tunnel opens are named `lb-<node port>`: node ports are unique in a cluster. */
const FORWARD_PREFIX = 'lb-';
export const tunnelForwardName = (nodePort: number) => `${FORWARD_PREFIX}${nodePort}`;
const isTunnelForward = (name: string) => /^lb-\d+$/.test(name);

/** One TCP port of a LoadBalancer Service, and the forward that reaches it. */
export interface TunnelPort extends ServiceRef {
  port: number;
  nodePort: number;
  /** The forward's name (tunnelForwardName(nodePort)). */
  forward: string;
}

export interface TunnelPlan {
  /** Ports without a forward yet. */
  open: TunnelPort[];
  /** Ports whose forward is already there (opened earlier, or left by a tunnel that was killed). */
  keep: { port: TunnelPort; endpoint: Endpoint }[];
  /** Tunnel forwards no Service needs any more. */
  close: Endpoint[];
  /** LoadBalancer Services with no ingress yet. */
  setIngress: ServiceRef[];
  /** Services that still carry the tunnel's ingress but are no longer LoadBalancers with a port. */
  clearIngress: ServiceRef[];
  /** Services carrying the tunnel's ingress that this tunnel did not set (a killed one did). */
  adopt: ServiceRef[];
  /** Why a LoadBalancer Service is (partly) left alone, one line each. */
  notes: string[];
}

export const refKey = (r: ServiceRef) => `${r.namespace}/${r.name}`;
const keyOf = (s: V1Service) => `${s.metadata?.namespace ?? 'default'}/${s.metadata?.name ?? ''}`;

const sameIngress = (a: V1LoadBalancerIngress[] | undefined, b: V1LoadBalancerIngress[]) =>
  a !== undefined &&
  a.length === b.length &&
  a.every((x, i) => x.ip === b[i]?.ip && x.ipMode === b[i]?.ipMode && !x.hostname && !x.ports?.length);

/**
 * The reconcile step, pure: from the Services now, the machine's forwards now and the Services
 * whose ingress this tunnel set, what to open, close, set and clear. Only `lb-*` forwards and the
 * exact TUNNEL_INGRESS are ever touched: a second tunnel is refused by a lock, so any of them was
 * made by this tunnel or by one that was killed before it could clean up.
 */
export function planTunnel(
  services: readonly V1Service[],
  endpoints: readonly Endpoint[],
  owned: ReadonlySet<string>,
): TunnelPlan {
  const plan: TunnelPlan = {
    open: [],
    keep: [],
    close: [],
    setIngress: [],
    clearIngress: [],
    adopt: [],
    notes: [],
  };
  const wanted = new Map<string, TunnelPort>();
  // Code-point order, not the locale's: which Service gets a contested port must not vary by host.
  const sorted = [...services].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0));
  for (const svc of sorted) {
    const ref = { namespace: svc.metadata?.namespace ?? 'default', name: svc.metadata?.name ?? '' };
    const ingress = svc.status?.loadBalancer?.ingress;
    const ours = sameIngress(ingress, TUNNEL_INGRESS);
    const ports = svc.spec?.type === 'LoadBalancer' ? lbPorts(svc, ref, plan.notes) : [];
    if (ports.length === 0) {
      if (ours) plan.clearIngress.push(ref);
      continue;
    }
    for (const p of ports) if (!wanted.has(p.forward)) wanted.set(p.forward, p);
    if (ours) {
      if (!owned.has(refKey(ref))) plan.adopt.push(ref);
    } else if (!ingress?.length) {
      plan.setIngress.push(ref);
    } else {
      const shown = ingress.map((i) => i.ip ?? i.hostname).join(', ');
      plan.notes.push(`${refKey(ref)}: ingress ${shown} is managed elsewhere; left as it is`);
    }
  }
  const present = new Map(endpoints.filter((e) => isTunnelForward(e.name)).map((e) => [e.name, e]));
  for (const [name, port] of wanted) {
    const ep = present.get(name);
    if (ep && ep.guestPort === port.nodePort) plan.keep.push({ port, endpoint: ep });
    else plan.open.push(port);
  }
  for (const ep of present.values()) {
    const want = wanted.get(ep.name);
    if (!want || want.nodePort !== ep.guestPort) plan.close.push(ep);
  }
  return plan;
}

function lbPorts(svc: V1Service, ref: ServiceRef, notes: string[]): TunnelPort[] {
  const out: TunnelPort[] = [];
  for (const p of svc.spec?.ports ?? []) {
    if ((p.protocol ?? 'TCP') !== 'TCP') {
      notes.push(`${refKey(ref)}: port ${p.port}/${p.protocol} is not TCP; not forwarded`);
    } else if (typeof p.nodePort !== 'number') {
      notes.push(`${refKey(ref)}: port ${p.port} has no node port (allocateLoadBalancerNodePorts: false?)`);
    } else {
      out.push({ ...ref, port: p.port, nodePort: p.nodePort, forward: tunnelForwardName(p.nodePort) });
    }
  }
  return out;
}

export type TunnelEvent =
  | { kind: 'forward-added'; port: TunnelPort; endpoint: Endpoint; adopted: boolean }
  | { kind: 'forward-removed'; endpoint: Endpoint; port?: TunnelPort }
  | { kind: 'ingress-set' | 'ingress-cleared' | 'ingress-adopted'; service: ServiceRef }
  | { kind: 'note'; message: string }
  | { kind: 'problem'; message: string };

/** What the tunnel does to the cluster and the machine; fakes stand in for them in unit tests. */
export interface TunnelDeps extends ServiceIngressApi {
  driver: Pick<Driver, 'endpoints' | 'addForward' | 'removeForward'>;
  portFree?(port: number): Promise<boolean>;
  freePort?(): Promise<number>;
  onEvent(event: TunnelEvent): void;
  logger?: Logger;
}

const message = (err: unknown) => (err as Error).message.split('\n')[0] ?? String(err);

/** The tunnel's state between ticks: its forwards (for the removal lines) and the ingress it set. */
export class Tunnel {
  private readonly forwards = new Map<string, TunnelPort>();
  private readonly owned = new Set<string>();
  private readonly said = new Set<string>();
  private lastProblems = new Set<string>();

  constructor(private readonly deps: TunnelDeps) {}

  /** One reconcile: look, plan, act. A failure of one item is reported and retried next tick. */
  async tick(): Promise<void> {
    const problems: string[] = [];
    try {
      const [services, endpoints] = await Promise.all([
        this.deps.listServices(),
        this.deps.driver.endpoints(),
      ]);
      // A deleted Service took its ingress with it.
      const present = new Set(services.map((s) => keyOf(s)));
      for (const key of this.owned) if (!present.has(key)) this.owned.delete(key);
      await this.apply(planTunnel(services, endpoints, this.owned), problems);
    } catch (err) {
      problems.push(message(err));
      this.deps.logger?.debug(`tunnel: tick failed: ${(err as Error).message}`);
    }
    // A lasting problem (API server down, machine stopped) is said once, not every tick.
    const now = new Set(problems);
    for (const p of now) if (!this.lastProblems.has(p)) this.deps.onEvent({ kind: 'problem', message: p });
    this.lastProblems = now;
  }

  private async apply(plan: TunnelPlan, problems: string[]): Promise<void> {
    const { deps } = this;
    const log = (m: string) => deps.logger?.debug(`tunnel: ${m}`);
    for (const n of plan.notes) {
      if (!this.said.has(n)) deps.onEvent({ kind: 'note', message: n });
      this.said.add(n);
    }
    for (const ep of plan.close) {
      try {
        await this.removeForward(ep);
      } catch (err) {
        problems.push(`cannot close ${ep.name}: ${message(err)}`);
      }
    }
    for (const { port, endpoint } of plan.keep) {
      if (this.forwards.has(port.forward)) continue;
      this.forwards.set(port.forward, port);
      deps.onEvent({ kind: 'forward-added', port, endpoint, adopted: true });
    }
    const taken = new Set<number>();
    const opened: string[] = [];
    for (const port of plan.open) {
      try {
        const endpoint = await this.openForward(port, taken);
        taken.add(endpoint.port);
        opened.push(refKey(port));
        this.forwards.set(port.forward, port);
        deps.onEvent({ kind: 'forward-added', port, endpoint, adopted: false });
      } catch (err) {
        problems.push(`cannot forward ${refKey(port)} port ${port.port}: ${message(err)}`);
      }
    }
    for (const ref of plan.adopt) {
      this.owned.add(refKey(ref));
      deps.onEvent({ kind: 'ingress-adopted', service: ref });
    }
    // The address is announced only where it leads somewhere: at least one port forwarded.
    const reached = new Set([...plan.keep.map((k) => refKey(k.port)), ...opened]);
    for (const ref of plan.setIngress.filter((r) => reached.has(refKey(r)))) {
      try {
        await deps.setIngress(ref);
        this.owned.add(refKey(ref));
        deps.onEvent({ kind: 'ingress-set', service: ref });
      } catch (err) {
        problems.push(`cannot set the ingress of ${refKey(ref)}: ${message(err)}`);
      }
    }
    for (const ref of plan.clearIngress) {
      try {
        if (await deps.clearIngress(ref)) deps.onEvent({ kind: 'ingress-cleared', service: ref });
        this.owned.delete(refKey(ref));
      } catch (err) {
        problems.push(`cannot clear the ingress of ${refKey(ref)}: ${message(err)}`);
      }
    }
    const changes = plan.open.length + plan.close.length + plan.setIngress.length + plan.clearIngress.length;
    if (changes > 0) {
      log(
        `${plan.keep.length + plan.open.length} forwards wanted, ${this.forwards.size} open, ${this.owned.size} ingresses held`,
      );
    }
  }

  /** The Service's own port when 127.0.0.1 has it free (http://127.0.0.1:<port>), else any free one. */
  private async openForward(port: TunnelPort, taken: ReadonlySet<number>): Promise<Endpoint> {
    const { driver } = this.deps;
    if (!driver.addForward)
      throw new KdevError('UNSUPPORTED_HOST', 'the driver cannot add forwards while it runs');
    const add = (hostPort: number) =>
      driver.addForward!({ name: port.forward, guestPort: port.nodePort, hostPort });
    const any = () => (this.deps.freePort ?? freePort)();
    if (!taken.has(port.port) && (await (this.deps.portFree ?? portFree)(port.port))) {
      try {
        return await add(port.port);
      } catch (err) {
        // Taken between the check and the bind, or refused by the back end: any port will do.
        this.deps.logger?.debug(`tunnel: port ${port.port} refused (${message(err)}); picking another`);
      }
    }
    return add(await any());
  }

  private async removeForward(ep: Endpoint): Promise<void> {
    if (!this.deps.driver.removeForward) return;
    await this.deps.driver.removeForward(ep.name);
    const port = this.forwards.get(ep.name);
    this.forwards.delete(ep.name);
    this.deps.onEvent({ kind: 'forward-removed', endpoint: ep, ...(port ? { port } : {}) });
  }

  /** On exit: closes every tunnel forward and clears the ingress this tunnel set or took over. */
  async close(): Promise<void> {
    let endpoints: Endpoint[] = [];
    try {
      endpoints = (await this.deps.driver.endpoints()).filter((e) => isTunnelForward(e.name));
    } catch (err) {
      // A machine that stopped took its run-time forwards with it.
      this.deps.logger?.debug(`tunnel: no endpoints to close (${message(err)})`);
    }
    for (const ep of endpoints) {
      try {
        await this.removeForward(ep);
      } catch (err) {
        this.deps.onEvent({ kind: 'problem', message: `cannot close ${ep.name}: ${message(err)}` });
      }
    }
    for (const key of [...this.owned].sort()) {
      const [namespace = '', name = ''] = key.split('/');
      const ref = { namespace, name };
      try {
        if (await this.deps.clearIngress(ref)) this.deps.onEvent({ kind: 'ingress-cleared', service: ref });
        this.owned.delete(key);
      } catch (err) {
        this.deps.onEvent({
          kind: 'problem',
          message: `cannot clear the ingress of ${key} (the next tunnel will): ${message(err)}`,
        });
      }
    }
  }
}

/** Ticks until the signal aborts, then cleans up. */
export async function runTunnel(
  deps: TunnelDeps,
  opts: { signal: AbortSignal; intervalMs?: number },
): Promise<void> {
  const tunnel = new Tunnel(deps);
  const interval = opts.intervalMs ?? TUNNEL_POLL_MS;
  while (!opts.signal.aborted) {
    await tunnel.tick();
    await sleep(interval, undefined, { signal: opts.signal }).catch(() => undefined);
  }
  await tunnel.close();
}

/** One line per change, for the terminal. */
export function describeTunnelEvent(e: TunnelEvent): string {
  const url = (ep: Endpoint) => `http://${ep.host}:${ep.port}`;
  switch (e.kind) {
    case 'forward-added':
      return `+ ${refKey(e.port)}:${e.port.port}  ${url(e.endpoint)}  (node port ${e.port.nodePort}${e.adopted ? ', kept from an earlier tunnel' : ''})`;
    case 'forward-removed':
      return `- ${e.port ? `${refKey(e.port)}:${e.port.port}` : e.endpoint.name}  ${url(e.endpoint)}  closed`;
    case 'ingress-set':
      return `ingress 127.0.0.1 set on ${refKey(e.service)}`;
    case 'ingress-adopted':
      return `ingress 127.0.0.1 on ${refKey(e.service)} taken over from an earlier tunnel`;
    case 'ingress-cleared':
      return `ingress 127.0.0.1 cleared on ${refKey(e.service)}`;
    case 'note':
      return `note: ${e.message}`;
    case 'problem':
      return `! ${e.message}`;
  }
}

/** One tunnel per profile: a second one would fight the first over the same forwards. */
export async function lockTunnel(profile: string): Promise<Release> {
  validateProfileName(profile);
  await ensurePrivateDir(paths.home());
  // Profile names have no dots, so this never meets a profile's own lock file.
  const file = path.join(paths.locksDir(), `${profile}.tunnel.lock`);
  try {
    return await acquireLock(file, { timeoutMs: 0, what: `the tunnel of profile "${profile}"` });
  } catch (err) {
    if (!(err instanceof KdevError) || err.code !== 'LOCKED') throw err;
    const pid = /held by pid (\d+)/.exec(err.message)?.[1];
    throw new KdevError('LOCKED', `a tunnel already runs for profile "${profile}"`, {
      hints: [`Stop it with Ctrl-C in its terminal${pid ? ` (or: kill ${pid})` : ''}, or use that one`],
      cause: err,
    });
  }
}

/** The use case behind `kdev tunnel`: the lock, the running profile's driver and API server. */
export async function profileTunnel(
  profile: string,
  opts: {
    signal: AbortSignal;
    onEvent: (e: TunnelEvent) => void;
    /** Called once the lock is held and the cluster is reachable, before the first tick. */
    onReady?: () => void;
    logger?: Logger;
  },
): Promise<void> {
  requireKubernetes(await requireProfile(profile));
  const release = await lockTunnel(profile);
  try {
    const driver = await requireRunning(profile, opts.logger);
    if (!driver.addForward || !driver.removeForward) {
      throw new KdevError(
        'UNSUPPORTED_HOST',
        `profile "${profile}"'s driver cannot add forwards while it runs`,
      );
    }
    const conn = await apiConnectionFor(profile, await apiServerPort(driver));
    const cluster = await serviceIngressApi(conn);
    opts.onReady?.();
    await runTunnel(
      { driver, ...cluster, onEvent: opts.onEvent, logger: opts.logger },
      { signal: opts.signal },
    );
  } finally {
    await release();
  }
}
