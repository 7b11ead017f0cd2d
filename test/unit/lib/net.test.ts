import net from 'node:net';
import { freePort, portFree } from '../../../src/lib/net.js';

describe('portFree', () => {
  test('false while something listens on 127.0.0.1:port, true once it stops', async () => {
    const port = await freePort();
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r));
    expect(await portFree(port)).toBe(false);
    await new Promise((r) => srv.close(r));
    expect(await portFree(port)).toBe(true);
  });
});
