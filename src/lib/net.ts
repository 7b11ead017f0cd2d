// Local TCP ports.
import net from 'node:net';

/** A port on 127.0.0.1 that was free a moment ago (the OS picks it; another process may still race us). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [port] = await freePorts(1, host);
  return port as number;
}

/** Distinct free ports, held open together so the OS cannot hand out the same one twice. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const srv = net.createServer();
      servers.push(srv);
      ports.push(
        await new Promise<number>((resolve, reject) => {
          srv.once('error', reject);
          srv.listen({ host, port: 0, exclusive: true }, () => {
            const addr = srv.address();
            resolve(typeof addr === 'object' && addr ? addr.port : 0);
          });
        }),
      );
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

/** Whether 127.0.0.1:port can be bound right now. */
export async function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  const srv = net.createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen({ host, port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
