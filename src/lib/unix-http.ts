// HTTP/1.1 over a unix socket, for the local APIs of helper processes (vfkit, gvproxy).
import http from 'node:http';

export interface HttpReply {
  status: number;
  body: string;
}

/** One HTTP request over a unix socket; rejects on connection errors and after timeoutMs. */
export function unixRequest(
  socketPath: string,
  method: 'GET' | 'POST' | 'DELETE',
  urlPath: string,
  body?: unknown,
  timeoutMs = 5000,
): Promise<HttpReply> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      {
        socketPath,
        method,
        path: urlPath,
        // One connection per request: a kept-alive socket would hold a closing server open.
        agent: false,
        // The Host header is required by HTTP/1.1 and ignored by the servers on these sockets.
        headers: {
          host: 'localhost',
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer on ${socketPath} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(payload);
  });
}
