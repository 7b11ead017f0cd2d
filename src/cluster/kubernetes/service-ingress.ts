// The Services side of `kdev tunnel`: list every Service, and set or clear the ingress on the
// status subresource. Each request has a deadline, so a silent API server cannot hang the tunnel.
import type {
  ConfigurationOptions,
  ObservableMiddleware,
  V1LoadBalancerIngress,
  V1Service,
} from '@kubernetes/client-node';
import { KdevError } from '../../lib/errors.js';
import { coreApi, type ApiConnection } from './api-client.js';

/**
 * The ingress the tunnel writes. ipMode Proxy (GA in Kubernetes 1.32) says traffic reaches the node
 * at its node port, which is exactly what the forward does, so kube-proxy installs no shortcut for
 * 127.0.0.1 inside the node. The exact value is also the tunnel's mark: only a Service carrying it
 * is taken over from a killed tunnel or cleared on exit.
 */
export const TUNNEL_INGRESS: V1LoadBalancerIngress[] = [{ ip: '127.0.0.1', ipMode: 'Proxy' }];

export interface ServiceRef {
  namespace: string;
  name: string;
}

const JSON_PATCH = 'application/json-patch+json';
const MERGE_PATCH = 'application/merge-patch+json';
/** An API request that hangs (a stopped guest) must not hold up a tick, nor the cleanup after Ctrl-C. */
export const TUNNEL_REQUEST_TIMEOUT_MS = 10_000;

/** client-node request options: a deadline for each request, and the PATCH content type. */
function requestOptions(
  k8s: typeof import('@kubernetes/client-node'),
  timeoutMs: number,
  contentType?: string,
): ConfigurationOptions {
  const deadline: ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(AbortSignal.timeout(timeoutMs));
      if (contentType) ctx.setHeaderParam('Content-Type', contentType);
      return new k8s.Observable(Promise.resolve(ctx));
    },
    post: (res) => new k8s.Observable(Promise.resolve(res)),
  };
  return { middleware: [deadline], middlewareMergeStrategy: 'append' };
}

/** What the tunnel needs from the cluster. */
export interface ServiceIngressApi {
  listServices(): Promise<V1Service[]>;
  setIngress(ref: ServiceRef): Promise<void>;
  /** Removes TUNNEL_INGRESS only if it is still there; false when the Service is gone or changed. */
  clearIngress(ref: ServiceRef): Promise<boolean>;
}

/** Through @kubernetes/client-node: one LIST, and merge/JSON patches of the status subresource. */
export async function serviceIngressApi(
  conn: ApiConnection,
  timeoutMs = TUNNEL_REQUEST_TIMEOUT_MS,
): Promise<ServiceIngressApi> {
  const core = await coreApi(conn);
  const k8s = await import('@kubernetes/client-node');
  const options = (contentType?: string) => requestOptions(k8s, timeoutMs, contentType);
  const statusCode = (err: unknown) => (err as { code?: number }).code;
  const bounded = <T>(request: Promise<T>): Promise<T> =>
    request.catch((err: unknown) => {
      if ((err as Error).name !== 'AbortError') throw err;
      throw new KdevError('TIMEOUT', `no answer from the API server within ${timeoutMs / 1000} s`, {
        cause: err,
      });
    });
  return {
    listServices: async () => (await bounded(core.listServiceForAllNamespaces({}, options()))).items,
    setIngress: async (ref) => {
      await bounded(
        core.patchNamespacedServiceStatus(
          {
            ...ref,
            body: { status: { loadBalancer: { ingress: TUNNEL_INGRESS } } },
            fieldManager: 'kdev-tunnel',
          },
          options(MERGE_PATCH),
        ),
      );
    },
    clearIngress: async (ref) => {
      // The test op makes the removal conditional: a Service whose ingress changed meanwhile keeps it.
      const body = [
        { op: 'test', path: '/status/loadBalancer/ingress', value: TUNNEL_INGRESS },
        { op: 'remove', path: '/status/loadBalancer/ingress' },
      ];
      try {
        await bounded(
          core.patchNamespacedServiceStatus(
            { ...ref, body, fieldManager: 'kdev-tunnel' },
            options(JSON_PATCH),
          ),
        );
        return true;
      } catch (err) {
        // 404: the Service is gone; 422: the test failed (someone else's ingress now).
        if (statusCode(err) === 404 || statusCode(err) === 422) return false;
        throw err;
      }
    },
  };
}
