// A QEMU machine on gvproxy (the network path vfkit uses on macOS), under real QEMU (TCG here)
// and a real gvproxy: the static lease, SSH through a forward gvproxy opened on 127.0.0.1,
// forwards added and removed while the machine runs, and a guest that cannot reach gvproxy's
// own API on 192.168.127.1:80.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/lib/net.js';
import { GvproxyForwarder } from '../../src/vm/network/gvproxy.js';
import { loadDriver } from '../../src/vm/registry.js';
import { runKdev, type CliResult } from '../helpers/cli.js';
import { ensureGuestImage, vmSkipReason } from './helpers/image.js';

const VM_TEST_MS = 15 * 60_000;
const gvproxy = process.env.KDEV_GVPROXY || 'gvproxy';
const gvproxyMissing = (() => {
  try {
    execFileSync(gvproxy, ['-version'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return `${gvproxy} does not run (bash scripts/host-tools.sh unpacks it)`;
  }
})();
const skip = vmSkipReason() ?? gvproxyMissing;
if (skip) console.log(`skipping gvproxy network e2e: ${skip}`);
const describeVm = skip ? describe.skip : describe;

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-e2e-gvp-'));
const env = {
  KDEV_HOME: home,
  KDEV_QEMU_ACCEL: process.env.KDEV_QEMU_ACCEL ?? 'tcg',
  ...(process.env.KDEV_GVPROXY ? { KDEV_GVPROXY: process.env.KDEV_GVPROXY } : {}),
};
const P = 'gvp';
const kdev = (args: string[], timeoutMs = 600_000) => runKdev(args, env, timeoutMs);
// kdev ssh quotes each argument for the guest shell, so a pipeline goes through sh -c.
const guest = (command: string) => kdev(['ssh', '-p', P, '--', 'sh', '-c', command]);
const apiSocket = path.join(home, 'machines', P, 'gvp-api.sock');

function expectOk(r: CliResult): CliResult {
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

/** What a TCP client on the host reads from 127.0.0.1:port, or the connection error's code. */
function readFrom(port: number): Promise<string> {
  return new Promise((resolve) => {
    let data = '';
    const s = net.connect({ host: '127.0.0.1', port });
    s.setTimeout(20_000, () => s.destroy());
    s.on('data', (d) => (data += d.toString()));
    s.on('close', () => resolve(data));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(`error:${e.code}`));
  });
}

describeVm('QEMU machine on gvproxy (real QEMU, real gvproxy)', () => {
  beforeAll(async () => {
    const image = ensureGuestImage();
    expectOk(
      await kdev([
        'start', '-p', P, '--no-kubernetes', '--network', 'gvproxy',
        '--memory', '1g', '--cpus', '2', '--disk-size', '4g', '--iso-url', image,
      ]), // prettier-ignore
    );
    process.env.KDEV_HOME = home;
  }, VM_TEST_MS);

  afterAll(async () => {
    await kdev(['delete', '--all']);
    fs.rmSync(home, { recursive: true, force: true });
  }, VM_TEST_MS);

  it('gives the guest the static lease and reaches its sshd through a 127.0.0.1 forward', async () => {
    expect(expectOk(await guest('ip -4 -o addr show')).stdout).toContain('inet 192.168.127.2/');
    const exposed = await new GvproxyForwarder(apiSocket).list();
    expect(exposed).toContainEqual(expect.objectContaining({ remote: '192.168.127.2:22', protocol: 'tcp' }));
    for (const e of exposed) expect(e.local).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('adds and removes a forward while the machine runs', async () => {
    // A one-line TCP service in the guest: socat answers every connection with "hello".
    expectOk(
      await guest(
        "setsid -f socat TCP-LISTEN:8080,fork,reuseaddr SYSTEM:'echo hello' </dev/null >/dev/null 2>&1",
      ),
    );
    // setsid -f returns before socat listens: a connection forwarded before then is reset and
    // reads as "" on the host (seen in CI). Wait until the guest's kernel lists the listener.
    expectOk(
      await guest(
        'i=0; until ss -Hltn "sport = :8080" | grep -q LISTEN; do i=$((i+1)); [ $i -lt 100 ] || exit 1; sleep 0.1; done',
      ),
    );
    const driver = await loadDriver('qemu', P);
    const hostPort = await freePort();
    const ep = await driver.addForward!({ name: 'web', guestPort: 8080, hostPort });
    expect(ep).toEqual({ name: 'web', host: '127.0.0.1', port: hostPort, guestPort: 8080 });
    expect((await driver.endpoints()).map((e) => e.name)).toContain('web');
    expect((await readFrom(hostPort)).trim()).toBe('hello');

    await driver.removeForward!('web');
    expect((await driver.endpoints()).map((e) => e.name)).not.toContain('web');
    expect(await readFrom(hostPort)).toBe('error:ECONNREFUSED');
    expect((await new GvproxyForwarder(apiSocket).list()).map((e) => e.local)).not.toContain(
      `127.0.0.1:${hostPort}`,
    );
  });

  it("does not let the guest open host ports through gvproxy's API on 192.168.127.1:80", async () => {
    // The guard is the guest image's (iso/overlay); an image built before it cannot pass.
    const guard = await guest('test -e /etc/kdev/guard.nft');
    if (guard.exitCode !== 0) {
      console.log('skipping the gvproxy API guard check: this guest image has no /etc/kdev/guard.nft');
      return;
    }
    const hostPort = await freePort();
    const body = JSON.stringify({
      local: `0.0.0.0:${hostPort}`,
      remote: '192.168.127.2:22',
      protocol: 'tcp',
    });
    const request = `POST /services/forwarder/expose HTTP/1.0\\r\\nContent-Length: ${body.length}\\r\\n\\r\\n${body}`;
    const r = await guest(`printf '${request}' | socat -t5 - TCP:192.168.127.1:80,connect-timeout=5`);
    expect(r.exitCode).not.toBe(0);
    const locals = (await new GvproxyForwarder(apiSocket).list()).map((e) => e.local);
    expect(locals.some((l) => l.endsWith(`:${hostPort}`))).toBe(false);
    expect(await readFrom(hostPort)).toBe('error:ECONNREFUSED');
  });
});
