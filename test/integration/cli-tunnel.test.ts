// `kdev tunnel` refusals through the real built CLI: one line, the right exit code.
import fs from 'node:fs/promises';
import path from 'node:path';
import { saveProfile } from '../../src/cluster/profiles.js';
import { lockTunnel } from '../../src/cluster/tunnel.js';
import { apiServerNames, ensureProfileCerts } from '../../src/cluster/pki/profile-certs.js';
import { freePorts } from '../../src/lib/net.js';
import { QemuDriver } from '../../src/vm/qemu/driver.js';
import { collect, runKdev, spawnKdev } from '../helpers/cli.js';
import { testProfile } from '../helpers/profile.js';
import { useTempKdevHome } from '../helpers/temp-home.js';
import { fakeGuestSpec } from './vm/fake-guest.js';
import { haveQemuX86 } from '../helpers/host.js';

const home = useTempKdevHome();
const kdev = (args: string[]) => runKdev(args, { KDEV_HOME: home.dir() });
const errorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('✖'));

describe('kdev tunnel (real process)', () => {
  test('a missing profile: one line, nothing written', async () => {
    const r = await kdev(['tunnel', '-p', 'ghost']);
    expect(r.exitCode).toBe(3);
    expect(errorLines(r.stderr)).toEqual(['✖ profile "ghost" does not exist']);
    expect(r.stdout).toBe('');
    expect(await fs.readdir(home.dir())).toEqual([]);
  });

  test('a second tunnel on the same profile is refused with one line naming the first', async () => {
    await saveProfile(testProfile());
    const release = await lockTunnel('dev');
    try {
      const r = await kdev(['tunnel', '-p', 'dev']);
      expect(r.exitCode).toBe(4);
      expect(errorLines(r.stderr)).toEqual(['✖ a tunnel already runs for profile "dev"']);
      expect(r.stderr).toContain(
        `→ Stop it with Ctrl-C in its terminal (or: kill ${process.pid}), or use that one`,
      );
      expect(r.stdout).toBe('');
    } finally {
      await release();
    }
  });

  test('a profile whose machine does not run is refused after the lock, which it gives back', async () => {
    await saveProfile(testProfile());
    const r = await kdev(['tunnel', '-p', 'dev']);
    expect(r.exitCode).not.toBe(0);
    expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^✖ profile "dev" is not running/)]);
    await (
      await lockTunnel('dev')
    )();
  });
});

const haveQemu = haveQemuX86();
if (!haveQemu)
  console.warn('skipping kdev tunnel on a running machine: qemu-system-x86_64 or qemu-img missing');

// A running qemu machine whose guest (a fake one) never answers: the API server forward accepts
// and stays silent, which is what a hung guest looks like. The process must still stop on Ctrl-C.
describe('kdev tunnel on a running machine whose API server is silent (real process, real qemu)', () => {
  const maybe = haveQemu ? test : test.skip;
  let driver: QemuDriver | undefined;

  afterEach(async () => {
    await driver?.remove();
    driver = undefined;
  });

  async function startMachine(): Promise<void> {
    await saveProfile(testProfile());
    await ensureProfileCerts(
      'dev',
      apiServerNames({
        serviceIp: '10.96.0.1',
        dnsDomain: 'cluster.local',
        controlPlaneHost: 'control-plane.kdev.internal',
        guestIp: '10.0.2.15',
        nodeName: 'dev',
      }),
    );
    const [ssh, api] = (await freePorts(2)) as [number, number];
    const spec = fakeGuestSpec(path.join(home.dir(), 'img'), 'dev', { ssh, apiServer: api });
    driver = new QemuDriver('dev', {});
    await driver.create(spec);
    await driver.start(spec);
  }

  /** Resolves once the child has written `text` to stderr. */
  const saying = (child: ReturnType<typeof spawnKdev>, text: string) =>
    new Promise<void>((resolve) => {
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.includes(text)) resolve();
      });
    });

  maybe('Ctrl-C ends it with exit 0 and gives the lock back', async () => {
    await startMachine();
    const child = spawnKdev(['tunnel', '-p', 'dev'], { KDEV_HOME: home.dir() });
    const result = collect(child);
    await saying(child, 'Tunnel for profile "dev"');
    child.kill('SIGINT');
    const r = await result;
    expect(r.stderr).toContain('Closing the tunnel');
    expect(errorLines(r.stderr)).toEqual([]);
    expect(r.stdout).toBe('');
    expect(r.exitCode).toBe(0);
    await (
      await lockTunnel('dev')
    )();
  });

  maybe('a second Ctrl-C leaves at once (exit 130) while a request hangs', async () => {
    await startMachine();
    const child = spawnKdev(['tunnel', '-p', 'dev'], { KDEV_HOME: home.dir() });
    const result = collect(child);
    await saying(child, 'Tunnel for profile "dev"');
    child.kill('SIGINT');
    await saying(child, 'Closing the tunnel');
    child.kill('SIGINT');
    expect((await result).exitCode).toBe(130);
  });
});
