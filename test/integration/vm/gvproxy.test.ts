// The gvproxy command line and forwarder API against a real gvproxy process; no VM is needed to
// add, list and remove forwards. Uses $KDEV_GVPROXY (scripts/host-tools.sh), else gvproxy on PATH.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../../../src/lib/net.js';
import {
  buildGvproxyArgv,
  gvproxyPaths,
  gvproxySocketsReady,
  gvproxyStartError,
  GvproxyForwarder,
  removeStaleSockets,
  type GvproxyPaths,
} from '../../../src/vm/network/gvproxy.js';
import { listening, runs } from '../../helpers/host.js';

const gvproxy = process.env.KDEV_GVPROXY || 'gvproxy';
const available = runs(gvproxy, '-version');
if (!available) console.warn(`skipping gvproxy tests: ${gvproxy} does not run (bash scripts/host-tools.sh)`);
const maybe = available ? describe : describe.skip;

async function waitFor(
  check: () => Promise<boolean>,
  exited: () => boolean,
  ms = 10_000,
): Promise<'ready' | 'exited'> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return 'ready';
    if (exited()) return 'exited';
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

maybe('gvproxy (real process)', () => {
  let dir: string;
  let paths: GvproxyPaths;
  let proc: ChildProcess | undefined;
  let exited = false;

  function start(): void {
    const { args } = buildGvproxyArgv({ ...paths, peer: 'qemu', binary: gvproxy });
    const log = fs.openSync(paths.logFile, 'a');
    exited = false;
    proc = spawn(gvproxy, args, { stdio: ['ignore', log, log] });
    proc.once('exit', () => (exited = true));
    fs.closeSync(log);
  }

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-gvp-'));
    paths = gvproxyPaths(dir, 'qemu');
  });
  afterEach(async () => {
    if (proc && !exited) {
      proc.kill('SIGTERM');
      await waitFor(
        async () => exited,
        () => exited,
      );
    }
    proc = undefined;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('adds, lists and removes forwards on 127.0.0.1 only', async () => {
    start();
    await expect(
      waitFor(
        () => gvproxySocketsReady(paths),
        () => exited,
      ),
    ).resolves.toBe('ready');
    const api = new GvproxyForwarder(paths.apiSocket);
    expect(await api.list()).toEqual([]);

    const [ssh, extra] = await freePorts(2);
    await api.expose(ssh!, 22);
    await api.expose(extra!, 8080);
    expect(await api.list()).toEqual(
      expect.arrayContaining([
        { local: `127.0.0.1:${ssh}`, remote: '192.168.127.2:22', protocol: 'tcp' },
        { local: `127.0.0.1:${extra}`, remote: '192.168.127.2:8080', protocol: 'tcp' },
      ]),
    );
    expect(await listening(extra!)).toBe(true);

    await api.unexpose(extra!);
    expect(await api.list()).toEqual([
      { local: `127.0.0.1:${ssh}`, remote: '192.168.127.2:22', protocol: 'tcp' },
    ]);
    expect(await listening(extra!)).toBe(false);
  });

  it('sync adds what is missing and removes what is not wanted', async () => {
    start();
    await waitFor(
      () => gvproxySocketsReady(paths),
      () => exited,
    );
    const api = new GvproxyForwarder(paths.apiSocket);
    const [a, b, c] = await freePorts(3);
    await api.expose(a!, 22);
    await api.expose(b!, 9999);
    await api.sync([
      { hostPort: a!, guestPort: 22 },
      { hostPort: c!, guestPort: 8443 },
    ]);
    const locals = (await api.list()).map((e) => `${e.local}->${e.remote}`).sort();
    expect(locals).toEqual([`127.0.0.1:${a}->192.168.127.2:22`, `127.0.0.1:${c}->192.168.127.2:8443`].sort());
  });

  it('reports a host port already in use as one line', async () => {
    start();
    await waitFor(
      () => gvproxySocketsReady(paths),
      () => exited,
    );
    const busy = net.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      await expect(new GvproxyForwarder(paths.apiSocket).expose(port, 22)).rejects.toMatchObject({
        code: 'VM_ERROR',
        message: expect.stringContaining(`127.0.0.1:${port}`),
      });
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });

  it('refuses to start over a stale socket, and starts once it is removed', async () => {
    fs.writeFileSync(paths.vmSocket, '');
    start();
    await expect(
      waitFor(
        () => gvproxySocketsReady(paths),
        () => exited,
      ),
    ).resolves.toBe('exited');
    const err = await gvproxyStartError(paths, 'exited');
    expect(err.message).toMatch(/^gvproxy exited before it was ready: .*already exists/);

    await removeStaleSockets(paths);
    start();
    await expect(
      waitFor(
        () => gvproxySocketsReady(paths),
        () => exited,
      ),
    ).resolves.toBe('ready');
  });
});
