// "Is the cluster usable?" in the order a user would notice: the API server answers /readyz, the
// node is Ready, then CoreDNS and kube-proxy run. Each wait polls until its deadline.
import { KdevError } from '../../lib/errors.js';
import { coreApi, probe, type ApiConnection } from './api-client.js';

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  report?: (message: string) => void;
}

/** Polls check() until it returns true; the last reason it gave goes into the TIMEOUT error. */
export async function pollUntil(
  what: string,
  check: () => Promise<true | string>,
  opts: WaitOptions,
  hints: string[] = [],
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    let result: true | string;
    try {
      result = await check();
    } catch (err) {
      result = (err as Error).message.split('\n')[0] ?? String(err);
    }
    if (result === true) return;
    if (result !== last) opts.report?.(result);
    last = result;
    if (Date.now() >= deadline) {
      throw new KdevError(
        'TIMEOUT',
        `${what} not ready after ${Math.round(opts.timeoutMs / 1000)} s: ${last}`,
        {
          hints,
        },
      );
    }
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
  }
}

export async function waitForApiServer(conn: ApiConnection, opts: WaitOptions): Promise<void> {
  await pollUntil(
    'the API server',
    async () => {
      const r = await probe(conn, '/readyz');
      if (r.ok) return true;
      return r.error ? `/readyz: ${r.error}` : `/readyz answered ${r.status}`;
    },
    opts,
    [
      'See the kubelet and control plane: kdev ssh -- sudo journalctl -u kubelet --no-pager -n 50',
      'kdev logs',
    ],
  );
}

export async function waitForNodeReady(
  conn: ApiConnection,
  nodeName: string,
  opts: WaitOptions,
): Promise<void> {
  const api = await coreApi(conn);
  await pollUntil(
    `node ${nodeName}`,
    async () => {
      const node = await api.readNode({ name: nodeName });
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
      if (ready?.status === 'True') return true;
      return `node ${nodeName}: Ready=${ready?.status ?? 'unknown'}${ready?.message ? ` (${ready.message})` : ''}`;
    },
    opts,
    [`Inspect it: kdev kubectl -- describe node ${nodeName}`],
  );
}

/** The kube-system workloads a fresh kubeadm cluster needs before users can run pods. */
export const SYSTEM_WORKLOADS = [
  { label: 'k8s-app=kube-dns', name: 'CoreDNS' },
  { label: 'k8s-app=kube-proxy', name: 'kube-proxy' },
] as const;

export async function waitForSystemPods(conn: ApiConnection, opts: WaitOptions): Promise<void> {
  const api = await coreApi(conn);
  await pollUntil(
    'CoreDNS and kube-proxy',
    async () => {
      const waiting: string[] = [];
      for (const w of SYSTEM_WORKLOADS) {
        const pods = await api.listNamespacedPod({ namespace: 'kube-system', labelSelector: w.label });
        const running = pods.items.filter((p) => p.status?.phase === 'Running');
        if (running.length === 0)
          waiting.push(`${w.name}: ${pods.items.length === 0 ? 'no pod yet' : 'not running'}`);
      }
      return waiting.length === 0 ? true : waiting.join(', ');
    },
    opts,
    ['Inspect them: kdev kubectl -- get pods -n kube-system'],
  );
}
