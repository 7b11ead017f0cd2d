// `kdev service NAME`: a NodePort or LoadBalancer Service reached on 127.0.0.1, without sudo. The
// machine forwards a free host port to the Service's node port in the guest (kube-proxy listens
// there): through gvproxy's API on gvproxy machines, a slirp hostfwd on QEMU's user network.
import fs from 'node:fs/promises';
import type { V1Service } from '@kubernetes/client-node';
import { KdevError } from '../lib/errors.js';
import { freePort } from '../lib/net.js';
import type { Driver, Endpoint } from '../vm/driver.js';
import { requireRunning } from './access.js';
import { API_SERVER_FORWARD, endpointOf } from './forwards.js';
import { coreApi, type ApiConnection } from './kubernetes/api-client.js';
import { profileCertFiles } from './pki/profile-certs.js';

export interface ServicePort {
  name?: string;
  port: number;
  nodePort: number;
}

/** The node ports a Service exposes (TCP only); refuses a type that has none. */
export function nodePortsOf(svc: V1Service, label: string): ServicePort[] {
  const type = svc.spec?.type ?? 'ClusterIP';
  if (type !== 'NodePort' && type !== 'LoadBalancer') {
    throw new KdevError(
      'BAD_INPUT',
      `service ${label} is of type ${type}: only NodePort and LoadBalancer reach the host`,
      {
        hints: [
          `Change its type: kubectl patch service ${label.split('/')[1]} -n ${label.split('/')[0]} -p '{"spec":{"type":"NodePort"}}'`,
        ],
      },
    );
  }
  const ports = (svc.spec?.ports ?? [])
    .filter((p) => (p.protocol ?? 'TCP') === 'TCP' && typeof p.nodePort === 'number')
    .map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, nodePort: p.nodePort as number }));
  if (ports.length === 0) throw new KdevError('NOT_FOUND', `service ${label} has no TCP node port yet`);
  return ports;
}

/** A forward name (a short lower-case word, unique per machine) for one node port. */
export function forwardName(nodePort: number): string {
  return `svc-${nodePort}`;
}

export interface ServiceUrl {
  name: string;
  namespace: string;
  port: number;
  nodePort: number;
  url: string;
}

export interface ServiceDeps {
  driver: Driver;
  getService(name: string, namespace: string): Promise<V1Service>;
  freePort(): Promise<number>;
}

export async function serviceUrls(name: string, namespace: string, deps: ServiceDeps): Promise<ServiceUrl[]> {
  const label = `${namespace}/${name}`;
  const ports = nodePortsOf(await deps.getService(name, namespace), label);
  const { driver } = deps;
  if (!driver.addForward) {
    throw new KdevError(
      'UNSUPPORTED_HOST',
      `the ${driver.info().name} driver cannot add forwards while it runs`,
    );
  }
  const existing = await driver.endpoints();
  const out: ServiceUrl[] = [];
  for (const p of ports) {
    // Reuse the forward of an earlier `kdev service` for the same node port.
    const ep: Endpoint =
      existing.find((e) => e.name === forwardName(p.nodePort)) ??
      (await driver.addForward({
        name: forwardName(p.nodePort),
        guestPort: p.nodePort,
        hostPort: await deps.freePort(),
      }));
    out.push({ name, namespace, port: p.port, nodePort: p.nodePort, url: `http://127.0.0.1:${ep.port}` });
  }
  return out;
}

/** The use case behind `kdev service`: the running profile's driver and API server. */
export async function profileServiceUrls(
  profile: string,
  name: string,
  namespace: string,
): Promise<ServiceUrl[]> {
  const driver = await requireRunning(profile);
  const api = await endpointOf(driver, API_SERVER_FORWARD);
  const files = profileCertFiles(profile);
  const read = (f: string) =>
    fs.readFile(f, 'utf8').catch(() => {
      throw new KdevError('NOT_FOUND', `profile "${profile}" has no Kubernetes credentials (${f})`, {
        hints: ['Start it with Kubernetes: kdev start'],
      });
    });
  const conn: ApiConnection = {
    name: profile,
    server: `https://127.0.0.1:${api.port}`,
    caPem: await read(files.caCert),
    clientCertPem: await read(files.clientCert),
    clientKeyPem: await read(files.clientKey),
  };
  const core = await coreApi(conn);
  return serviceUrls(name, namespace, {
    driver,
    freePort: () => freePort(),
    getService: async (n, ns) => {
      try {
        return await core.readNamespacedService({ name: n, namespace: ns });
      } catch (err) {
        const code = (err as { code?: number }).code;
        throw new KdevError(
          code === 404 ? 'NOT_FOUND' : 'COMMAND_FAILED',
          code === 404
            ? `service ${ns}/${n} not found`
            : `cannot read service ${ns}/${n}: ${(err as Error).message.split('\n')[0]}`,
          {
            hints: code === 404 ? [`List them: kdev kubectl -- get services -n ${ns}`] : [],
          },
        );
      }
    },
  });
}
