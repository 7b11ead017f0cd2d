// Talking to a profile's API server from the host: through the forwarded port on 127.0.0.1 with
// kdevCA pinned and the admin client certificate, via @kubernetes/client-node.
import https from 'node:https';
import type { CoreV1Api, KubeConfig } from '@kubernetes/client-node';

export interface ApiConnection {
  /** https://127.0.0.1:<port> */
  server: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  /** The context name (the profile). */
  name: string;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

export async function kubeConfigFor(conn: ApiConnection): Promise<KubeConfig> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: conn.name, server: conn.server, caData: b64(conn.caPem), skipTLSVerify: false }],
    users: [{ name: conn.name, certData: b64(conn.clientCertPem), keyData: b64(conn.clientKeyPem) }],
    contexts: [{ name: conn.name, cluster: conn.name, user: conn.name }],
    currentContext: conn.name,
  });
  return kc;
}

export async function coreApi(conn: ApiConnection): Promise<CoreV1Api> {
  const k8s = await import('@kubernetes/client-node');
  return (await kubeConfigFor(conn)).makeApiClient(k8s.CoreV1Api);
}

export interface ProbeResult {
  ok: boolean;
  status?: number;
  body?: string;
  error?: string;
}

/** GET a health path (/readyz, /livez) with the CA pinned; never throws. */
export function probe(conn: ApiConnection, pathname = '/readyz', timeoutMs = 5000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const url = new URL(pathname, conn.server);
    const req = https.request(
      url,
      {
        method: 'GET',
        ca: conn.caPem,
        cert: conn.clientCertPem,
        key: conn.clientKeyPem,
        // The forward is 127.0.0.1; the certificate names it, so normal verification applies.
        rejectUnauthorized: true,
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ ok: res.statusCode === 200, status: res.statusCode, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) =>
      resolve({ ok: false, error: (err as NodeJS.ErrnoException).code ?? err.message }),
    );
    req.end();
  });
}
