import { closeAddonForwards, openAddonForwards } from '../../../../src/cluster/addons/forwards.js';
import type { Profile } from '../../../../src/cluster/profiles.js';
import type { Driver, Endpoint, Forward } from '../../../../src/vm/driver.js';

const profile = { name: 'p', kubernetes: true, addons: ['ingress', 'registry'] } as unknown as Profile;

function fakeDriver(open: Endpoint[], canAdd = true): { driver: Driver; added: Forward[] } {
  const added: Forward[] = [];
  const driver = {
    endpoints: async () => [...open],
    ...(canAdd
      ? {
          addForward: async (f: Forward): Promise<Endpoint> => {
            added.push(f);
            return { name: f.name, host: '127.0.0.1', port: f.hostPort, guestPort: f.guestPort };
          },
        }
      : {}),
  } as unknown as Driver;
  return { driver, added };
}

const requests = async () => [
  { addon: 'ingress', name: 'addon-ingress-http', guestPort: 30080, hostPort: 8080 },
  { addon: 'registry', name: 'addon-registry-http', guestPort: 30500, hostPort: 5000 },
];

describe('openAddonForwards', () => {
  test('a free preferred port is used; a taken one gets any free port', async () => {
    const { driver, added } = fakeDriver([]);
    const eps = await openAddonForwards(profile, driver, {
      requests,
      portFree: async (port) => port === 8080,
      freePort: async () => 41234,
    });
    expect(added).toEqual([
      { name: 'addon-ingress-http', guestPort: 30080, hostPort: 8080 },
      { name: 'addon-registry-http', guestPort: 30500, hostPort: 41234 },
    ]);
    expect(eps.map((e) => [e.addon, e.host, e.port])).toEqual([
      ['ingress', '127.0.0.1', 8080],
      ['registry', '127.0.0.1', 41234],
    ]);
  });

  test('a forward already open (an earlier enable, the same boot) is reused, not added twice', async () => {
    const open = { name: 'addon-ingress-http', host: '127.0.0.1', port: 9999, guestPort: 30080 };
    const { driver, added } = fakeDriver([open]);
    const eps = await openAddonForwards(profile, driver, {
      requests,
      portFree: async () => true,
      freePort: async () => 1,
    });
    expect(added.map((f) => f.name)).toEqual(['addon-registry-http']);
    expect(eps[0]).toMatchObject({ addon: 'ingress', port: 9999 });
  });

  test('a driver that cannot add forwards at run time gets none', async () => {
    const { driver } = fakeDriver([], false);
    expect(await openAddonForwards(profile, driver, { requests })).toEqual([]);
  });
});

describe('closeAddonForwards', () => {
  function closable(state: string, open: string[]): { driver: Driver; removed: string[] } {
    const removed: string[] = [];
    const driver = {
      state: async () => state,
      endpoints: async () => open.map((name) => ({ name, host: '127.0.0.1', port: 1, guestPort: 1 })),
      removeForward: async (name: string) => {
        removed.push(name);
      },
    } as unknown as Driver;
    return { driver, removed };
  }

  test('closes the named forwards that are open, and only those', async () => {
    const { driver, removed } = closable('Running', ['ssh', 'addon-ingress-http', 'addon-ingress-https']);
    const names = ['addon-ingress-http', 'addon-ingress-https', 'addon-ingress-extra'];
    expect(await closeAddonForwards(driver, names)).toEqual(['addon-ingress-http', 'addon-ingress-https']);
    expect(removed).toEqual(['addon-ingress-http', 'addon-ingress-https']);
  });

  test('a stopped machine has none open; nothing is asked of it', async () => {
    const { driver, removed } = closable('Stopped', ['addon-ingress-http']);
    expect(await closeAddonForwards(driver, ['addon-ingress-http'])).toEqual([]);
    expect(removed).toEqual([]);
  });
});
