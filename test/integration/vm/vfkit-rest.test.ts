// The vfkit REST client against a real HTTP server on a unix socket that answers as vfkit does:
// GET /vm/state -> 200 {"state":"VirtualMachineState…"}; POST /vm/state -> 202, 400 on a bad
// body, 500 {"error":…} when Virtualization.framework refuses.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { VfkitRestClient } from '../../../src/vm/vfkit/rest.js';

interface FakeVfkit {
  state: string;
  requests: { method: string; url: string; body: string }[];
  refuse?: string;
}

function serve(sock: string, vm: FakeVfkit): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      vm.requests.push({ method: req.method ?? '', url: req.url ?? '', body });
      res.setHeader('content-type', 'application/json; charset=utf-8');
      if (req.url !== '/vm/state') {
        res.writeHead(404).end('404 page not found');
      } else if (req.method === 'GET') {
        res.writeHead(200).end(JSON.stringify({ state: vm.state }));
      } else if (req.method === 'POST') {
        let wanted: unknown;
        try {
          wanted = (JSON.parse(body) as { state?: unknown }).state;
        } catch {
          res.writeHead(400).end(JSON.stringify({ error: 'invalid character' }));
          return;
        }
        if (vm.refuse) {
          res.writeHead(500).end(JSON.stringify({ error: vm.refuse }));
        } else if (wanted === 'Stop' || wanted === 'HardStop') {
          vm.state = 'VirtualMachineStateStopped';
          res.writeHead(202).end();
        } else {
          res.writeHead(500).end(JSON.stringify({ error: `invalid new VMState: ${String(wanted)}` }));
        }
      }
    });
  });
  return new Promise((resolve) => server.listen(sock, () => resolve(server)));
}

async function stop(server: http.Server | undefined): Promise<void> {
  if (!server) return;
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
}

describe('VfkitRestClient', () => {
  let dir: string;
  let sock: string;
  let server: http.Server | undefined;
  let vm: FakeVfkit;

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-vfk-'));
    sock = path.join(dir, 'rest.sock');
    vm = { state: 'VirtualMachineStateRunning', requests: [] };
    server = await serve(sock, vm);
  });
  afterEach(async () => {
    await stop(server);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads the state and strips the framework prefix', async () => {
    await expect(new VfkitRestClient(sock).state()).resolves.toBe('Running');
    vm.state = 'VirtualMachineStateStarting';
    await expect(new VfkitRestClient(sock).state()).resolves.toBe('Starting');
  });

  it('posts Stop and HardStop as vfkit expects them', async () => {
    const client = new VfkitRestClient(sock);
    await client.changeState('Stop');
    await expect(client.state()).resolves.toBe('Stopped');
    await client.changeState('HardStop');
    const posts = vm.requests.filter((r) => r.method === 'POST');
    expect(posts.map((p) => JSON.parse(p.body))).toEqual([{ state: 'Stop' }, { state: 'HardStop' }]);
  });

  it("turns a refusal into one line with vfkit's reason", async () => {
    vm.refuse = 'Invalid virtual machine state transition.';
    await expect(new VfkitRestClient(sock).changeState('Stop')).rejects.toMatchObject({
      code: 'VM_ERROR',
      message: 'vfkit refused POST /vm/state (HTTP 500): Invalid virtual machine state transition.',
    });
  });

  it('rejects an unknown state instead of guessing', async () => {
    vm.state = 'Banana';
    await expect(new VfkitRestClient(sock).state()).rejects.toMatchObject({ code: 'VM_ERROR' });
  });

  it('says so when nothing listens on the socket', async () => {
    await stop(server);
    server = undefined;
    await expect(new VfkitRestClient(path.join(dir, 'gone.sock')).state()).rejects.toMatchObject({
      code: 'VM_ERROR',
      message: expect.stringContaining('did not answer'),
    });
  });
});
