// Forwards added and removed while a QEMU machine runs, on both network back ends: slirp
// (hostfwd_add over QMP) and gvproxy (its forwarder API). Real qemu (TCG) with a fake guest that
// halts after KDEV_READY, and a real gvproxy: the host side of a forward needs no guest.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePorts } from '../../../src/lib/net.js';
import type { MachineSpec } from '../../../src/vm/driver.js';
import { pidAlive } from '../../../src/vm/process/processes.js';
import { QemuDriver } from '../../../src/vm/qemu/driver.js';
import { haveQemuX86, listening, runs } from '../../helpers/host.js';
import { fakeGuestSpec } from './fake-guest.js';

const gvproxy = process.env.KDEV_GVPROXY || 'gvproxy';
const haveQemu = haveQemuX86();
const haveGvproxy = runs(gvproxy, '-version');
if (!haveQemu) console.warn('skipping qemu forward tests: qemu-system-x86_64 or qemu-img missing');
if (haveQemu && !haveGvproxy) console.warn(`skipping the gvproxy half: ${gvproxy} does not run`);

const savedHome = process.env.KDEV_HOME;
let home = '';
beforeAll(() => {
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-fwd-'));
  process.env.KDEV_HOME = home;
});
afterAll(() => {
  fs.rmSync(home, { recursive: true, force: true });
  if (savedHome === undefined) delete process.env.KDEV_HOME;
  else process.env.KDEV_HOME = savedHome;
});

async function specFor(name: string, network: 'user' | 'gvproxy'): Promise<MachineSpec> {
  const [ssh, apiServer] = (await freePorts(2)) as [number, number];
  return fakeGuestSpec(path.join(home, 'img'), name, { ssh, apiServer }, network);
}

describe.each([
  ['user', haveQemu],
  ['gvproxy', haveQemu && haveGvproxy],
] as const)('runtime forwards on %s networking (real qemu)', (network, available) => {
  const maybe = available ? it : it.skip;

  maybe('adds a forward on 127.0.0.1, lists it, removes it; remove leaves no helper behind', async () => {
    const name = `fwd-${network}`;
    const d = new QemuDriver(name, {
      env: { ...process.env, ...(haveGvproxy ? { KDEV_GVPROXY: gvproxy } : {}) },
    });
    const spec = await specFor(name, network);
    try {
      await d.create(spec);
      await d.start(spec);
      expect(await d.state()).toBe('Running');
      expect(await listening(spec.forwards[0]!.hostPort)).toBe(true);

      const [hostPort] = (await freePorts(1)) as [number];
      const ep = await d.addForward({ name: 'web', guestPort: 8080, hostPort });
      expect(ep).toEqual({ name: 'web', host: '127.0.0.1', port: hostPort, guestPort: 8080 });
      expect(await listening(hostPort)).toBe(true);
      expect((await d.endpoints()).map((e) => e.name)).toEqual(['ssh', 'apiserver', 'web']);
      await expect(
        d.addForward({ name: 'web', guestPort: 9090, hostPort: hostPort + 1 }),
      ).rejects.toMatchObject({
        code: 'BAD_INPUT',
      });

      await d.removeForward('web');
      expect(await listening(hostPort)).toBe(false);
      expect((await d.endpoints()).map((e) => e.name)).toEqual(['ssh', 'apiserver']);
      await expect(d.removeForward('web')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      const record = JSON.parse(
        fs.readFileSync(path.join(home, 'machines', name, 'machine.json'), 'utf8'),
      ) as {
        runtime?: { processes: { pid: number }[] };
      };
      await d.remove();
      for (const p of record.runtime?.processes ?? []) expect(pidAlive(p.pid)).toBe(false);
    }
  });
});
