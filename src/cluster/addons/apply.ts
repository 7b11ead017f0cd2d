// Server-side apply from the host through @kubernetes/client-node (field manager "kdev"), the
// CRD-Established and workload-available waits, and deletion in reverse with a wait until gone.
import {
  ApiException,
  KubernetesObjectApi,
  loadYaml,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { KdevError } from '../../lib/errors.js';
import type { KubeObject } from './manifest.js';
import { describeObject, planApply } from './order.js';

export const FIELD_MANAGER = 'kdev';

export interface ApplyOptions {
  /** Wait for Deployments and DaemonSets to be available. */
  wait?: boolean;
  timeoutMs?: number;
  pollMs?: number;
  onProgress?: (message: string) => void;
  /** What to suggest when the API server cannot be reached. */
  profile?: string;
}

const DEFAULT_TIMEOUT_MS = 5 * 60_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiException ? (err.code as number) : undefined;
}

/** The `message` of the Status the API server sent back (client-node hands it over as text or object). */
function serverMessage(body: unknown): string | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body) as unknown;
    } catch {
      return body.trim() || undefined;
    }
  }
  const message = (value as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' && message !== '' ? message : undefined;
}

/** API errors as one line: the object, the HTTP status and the server's own message. */
function apiError(err: unknown, what: string, opts: ApplyOptions): KdevError {
  if (err instanceof KdevError) return err;
  const status = statusOf(err);
  if (status !== undefined) {
    const message = serverMessage((err as ApiException<unknown>).body) ?? `HTTP ${status}`;
    return new KdevError('COMMAND_FAILED', `${what}: ${message}`, { cause: err });
  }
  const message = (err as Error).message;
  if (/Unrecognized API version and kind/.test(message)) {
    return new KdevError('COMMAND_FAILED', `${what}: the cluster does not serve this kind`, {
      cause: err,
      hints: ["Check the addon's kubernetesVersions against the cluster's version"],
    });
  }
  if (!isUnreachable(err)) return new KdevError('COMMAND_FAILED', `${what}: ${message}`, { cause: err });
  const p = opts.profile && opts.profile !== 'kdev' ? ` -p ${opts.profile}` : '';
  return new KdevError('COMMAND_FAILED', `${what}: cannot reach the API server (${message})`, {
    cause: err,
    hints: [`Is the cluster running? kdev status${p}`, `Start it with: kdev start${p}`],
  });
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'EPIPE',
]);

/** A connection that never got an HTTP answer (the code may sit on the error or on its cause). */
function isUnreachable(err: unknown): boolean {
  for (
    let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0;
    e && i < 4;
    e = e.cause as typeof e, i++
  ) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  }
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|socket hang up|fetch failed/.test(
    (err as Error).message,
  );
}

async function until<T>(check: () => Promise<T | undefined>, what: string, opts: ApplyOptions): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) {
      throw new KdevError(
        'TIMEOUT',
        `timed out after ${Math.round((opts.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000)}s waiting for ${what}`,
      );
    }
    await sleep(opts.pollMs ?? 1000);
  }
}

function ref(o: KubeObject): KubernetesObject & { metadata: { name: string } } {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name: o.metadata.name, namespace: o.metadata.namespace },
  };
}

async function readOrUndefined(
  api: KubernetesObjectApi,
  o: KubeObject,
): Promise<KubernetesObject | undefined> {
  try {
    return await api.read(ref(o));
  } catch (err) {
    if (statusOf(err) === 404) return undefined;
    throw err;
  }
}

function conditionTrue(obj: KubernetesObject | undefined, type: string): boolean {
  const conditions = (obj as { status?: { conditions?: { type?: string; status?: string }[] } } | undefined)
    ?.status?.conditions;
  return conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
}

/**
 * The object as client-node's typed model. KubernetesObjectApi serializes from the model, so an
 * object passed in wire form would lose fields whose model name differs from the wire name
 * (`x-kubernetes-preserve-unknown-fields` in a CRD schema, `$ref`); loadYaml deserializes first.
 * JSON is YAML, so the object goes through as it is.
 */
function toModel(o: KubeObject): KubernetesObject {
  return loadYaml<KubernetesObject>(JSON.stringify(o));
}

/** Applies CRDs, waits until they are Established, then namespaces, then the rest. */
export async function applyObjects(
  kc: KubeConfig,
  objects: readonly KubeObject[],
  opts: ApplyOptions = {},
): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const plan = planApply(objects);
  const apply = async (o: KubeObject) => {
    try {
      await api.patch(toModel(o), undefined, undefined, FIELD_MANAGER, true, PatchStrategy.ServerSideApply);
      opts.onProgress?.(`applied ${describeObject(o)}`);
    } catch (err) {
      throw apiError(err, `applying ${describeObject(o)}`, opts);
    }
  };
  for (const o of plan.crds) await apply(o);
  for (const o of plan.crds) {
    await until(
      async () => {
        try {
          return conditionTrue(await readOrUndefined(api, o), 'Established') ? true : undefined;
        } catch (err) {
          throw apiError(err, `reading ${describeObject(o)}`, opts);
        }
      },
      `${describeObject(o)} to be Established`,
      opts,
    );
    opts.onProgress?.(`established ${describeObject(o)}`);
  }
  for (const o of [...plan.namespaces, ...plan.rest]) await apply(o);
  if (opts.wait) await waitAvailable(api, objects, opts);
}

/** True when a Deployment or DaemonSet has caught up with its spec and all its pods are available. */
export function workloadAvailable(obj: KubernetesObject): boolean {
  const o = obj as {
    kind?: string;
    metadata?: { generation?: number };
    spec?: { replicas?: number };
    status?: Record<string, number | undefined>;
  };
  const s = o.status ?? {};
  if ((s.observedGeneration ?? 0) < (o.metadata?.generation ?? 0)) return false;
  if (o.kind === 'Deployment') {
    const want = o.spec?.replicas ?? 1;
    return (s.updatedReplicas ?? 0) >= want && (s.availableReplicas ?? 0) >= want;
  }
  if (o.kind === 'DaemonSet') {
    const want = s.desiredNumberScheduled ?? 0;
    return (s.updatedNumberScheduled ?? 0) >= want && (s.numberAvailable ?? 0) >= want;
  }
  return true;
}

async function waitAvailable(
  api: KubernetesObjectApi,
  objects: readonly KubeObject[],
  opts: ApplyOptions,
): Promise<void> {
  const workloads = objects.filter(
    (o) => o.apiVersion === 'apps/v1' && (o.kind === 'Deployment' || o.kind === 'DaemonSet'),
  );
  for (const o of workloads) {
    await until(
      async () => {
        try {
          const live = await readOrUndefined(api, o);
          return live && workloadAvailable({ ...live, kind: o.kind }) ? true : undefined;
        } catch (err) {
          throw apiError(err, `reading ${describeObject(o)}`, opts);
        }
      },
      `${describeObject(o)} to be available`,
      opts,
    );
    opts.onProgress?.(`available ${describeObject(o)}`);
  }
}

/** Deletes in reverse apply order (absent objects are fine), then waits until every one is gone. */
export async function deleteObjects(
  kc: KubeConfig,
  objects: readonly KubeObject[],
  opts: ApplyOptions = {},
): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const plan = planApply(objects);
  const order = [...plan.crds, ...plan.namespaces, ...plan.rest].reverse();
  for (const o of order) {
    try {
      await api.delete(ref(o), undefined, undefined, undefined, undefined, 'Background');
      opts.onProgress?.(`deleted ${describeObject(o)}`);
    } catch (err) {
      if (statusOf(err) === 404) continue;
      throw apiError(err, `deleting ${describeObject(o)}`, opts);
    }
  }
  for (const o of order) {
    await until(
      async () => {
        try {
          return (await readOrUndefined(api, o)) === undefined ? true : undefined;
        } catch (err) {
          // A kind whose CRD went away first is gone too.
          if (statusOf(err) === 404 || /Unrecognized API version and kind/.test((err as Error).message))
            return true;
          throw apiError(err, `reading ${describeObject(o)}`, opts);
        }
      },
      `${describeObject(o)} to be gone`,
      opts,
    );
  }
}
