// An addon's host forward through the real CLI: `kdev addons enable registry` applies to a local
// HTTPS API server, then opens addon-registry-registry on a real qemu (TCG, slirp hostfwd over QMP)
// whose guest is a stub that halts at once, so no Kubernetes VM boots: the host side of a forward
// needs no guest. `kdev status -o json` then lists the forward; `kdev addons disable` closes it.
import fs from 'node:fs/promises';
import path from 'node:path';
import { saveProfile } from '../../../src/cluster/profiles.js';
import { freePorts } from '../../../src/lib/net.js';
import { QemuDriver } from '../../../src/vm/qemu/driver.js';
import { runKdev } from '../../helpers/cli.js';
import { haveQemuX86, listening } from '../../helpers/host.js';
import { testProfile } from '../../helpers/profile.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';
import { fakeGuestSpec } from '../vm/fake-guest.js';
import { FakeApiServer } from './fake-apiserver.js';

const haveQemu = haveQemuX86();
if (!haveQemu) console.warn('skipping the addon forward CLI test: qemu-system-x86_64 or qemu-img missing');
const maybe = haveQemu ? test : test.skip;

const home = useTempKdevHome();
let api: FakeApiServer;
beforeAll(async () => {
  api = new FakeApiServer();
  await api.start();
});
afterAll(async () => api.stop());

const kdev = (args: string[]) =>
  runKdev([...args, '-p', 'dev'], { KDEV_HOME: home.dir(), KUBECONFIG: path.join(home.dir(), 'kubeconfig') });

interface Status {
  Host: string;
  Forwards?: { name: string; hostPort: number; guestPort: number }[];
}

describe('addon host forwards (real CLI, real qemu with a stub guest)', () => {
  maybe(
    'enable opens addon-<name>-<forward> on 127.0.0.1, status lists it, a second enable reuses it, disable closes it',
    async () => {
      const [ssh, apiServer] = (await freePorts(2)) as [number, number];
      const spec = fakeGuestSpec(path.join(home.dir(), 'img'), 'dev', { ssh, apiServer });
      const driver = new QemuDriver('dev', { env: process.env });
      await fs.writeFile(path.join(home.dir(), 'kubeconfig'), api.kubeconfig('dev'));
      await saveProfile(testProfile({ ports: { ssh, apiServer } }));
      try {
        await driver.create(spec);
        await driver.start(spec);

        const r = await kdev(['addons', 'enable', 'registry']);
        expect(r.stderr).toBe('');
        expect(r.exitCode).toBe(0);
        // The registry's preferred host port (5000) may be taken on this host: then any free one.
        const m = /^✔ registry enabled\n {2}addon-registry-registry: 127\.0\.0\.1:(\d+)\n$/.exec(r.stdout);
        expect(m).not.toBeNull();
        const port = Number(m![1]);
        expect(await listening(port)).toBe(true);
        expect(api.writes()).toContain('PATCH /api/v1/namespaces/kdev-registry/services/registry');

        const status = JSON.parse((await kdev(['status', '-o', 'json'])).stdout) as Status;
        expect(status.Host).toBe('Running');
        expect(status.Forwards).toEqual([
          { name: 'ssh', hostPort: ssh, guestPort: 22 },
          { name: 'apiserver', hostPort: apiServer, guestPort: 8443 },
          { name: 'addon-registry-registry', hostPort: port, guestPort: 30500 },
        ]);

        // Enabling again (or another addon) finds the forward open and does not add a second one.
        const again = await kdev(['addons', 'enable', 'registry', '-o', 'json']);
        expect(again.exitCode).toBe(0);
        expect((JSON.parse(again.stdout) as { forwards: { port: number }[] }).forwards).toMatchObject([
          { port },
        ]);
        expect((await driver.endpoints()).filter((e) => e.name === 'addon-registry-registry')).toHaveLength(
          1,
        );

        // Disable deletes the objects and closes the forward; the machine's own forwards stay.
        const d = await kdev(['addons', 'disable', 'registry']);
        expect([d.exitCode, d.stdout]).toEqual([
          0,
          '✔ registry disabled\n  addon-registry-registry: closed\n',
        ]);
        expect(await listening(port)).toBe(false);
        expect((await driver.endpoints()).map((e) => e.name)).toEqual(['ssh', 'apiserver']);
      } finally {
        await driver.remove();
      }
    },
  );
});
