import {
  applyEnabledAddons,
  checkRequestedAddons,
  enabledAddonForwards,
  enabledAddonImages,
  listAddons,
  withDependencies,
} from '../../../../src/cluster/addons/addons.js';
import { loadCatalog, resolveAddon } from '../../../../src/cluster/addons/catalog.js';
import { parseAddonsFlag } from '../../../../src/cluster/addons/flags.js';
import { KubeConfig } from '@kubernetes/client-node';
import { useTempKdevHome } from '../../../helpers/temp-home.js';
import { testProfile } from '../../../helpers/profile.js';

useTempKdevHome();

const profile = testProfile;

describe('addon use cases without a cluster', () => {
  it('puts dependencies first, each once', async () => {
    const catalog = await loadCatalog();
    const wanted = await Promise.all(
      ['default-storageclass', 'storage-provisioner'].map((n) => resolveAddon(n, catalog)),
    );
    expect((await withDependencies(wanted, catalog)).map((a) => a.meta.name)).toEqual([
      'storage-provisioner',
      'default-storageclass',
    ]);
  });

  it('lists the images of the enabled addons and their dependencies for the image cache', async () => {
    const images = await enabledAddonImages(profile({ addons: ['default-storageclass'] }), ['registry']);
    expect(images).toEqual([
      expect.stringMatching(/^docker\.io\/rancher\/local-path-provisioner:v0\.0\.32@sha256:/),
      expect.stringMatching(/^docker\.io\/library\/busybox:1\.37\.0@sha256:/),
      expect.stringMatching(/^docker\.io\/library\/registry:3\.0\.0@sha256:/),
    ]);
  });

  it('names the guest ports enabled addons need forwarded', async () => {
    expect(await enabledAddonForwards(profile({ addons: ['registry', 'ingress'] }))).toEqual([
      { addon: 'registry', name: 'addon-registry-registry', guestPort: 30500, hostPort: 5000 },
      { addon: 'ingress', name: 'addon-ingress-http', guestPort: 30080, hostPort: 8080 },
      { addon: 'ingress', name: 'addon-ingress-https', guestPort: 30443, hostPort: 8443 },
    ]);
  });

  it('lists addons for a profile that does not exist yet, none enabled', async () => {
    const { addons } = await listAddons('nope');
    expect(addons.length).toBe(6);
    expect(addons.some((a) => a.enabled)).toBe(false);
  });

  it('start: a --no-kubernetes profile applies nothing, and refuses --addons', async () => {
    const kc = new KubeConfig();
    const bare = profile({ kubernetes: false });
    expect(await applyEnabledAddons(bare, kc)).toEqual({ profile: bare, applied: [] });
    await expect(applyEnabledAddons(bare, kc, { requested: ['ingress'] })).rejects.toThrow(/--no-kubernetes/);
  });
});

describe('kdev start --addons', () => {
  it('splits comma lists and repeated flags', () => {
    expect(parseAddonsFlag(['ingress, registry', 'ingress', ''])).toEqual(['ingress', 'registry']);
    expect(parseAddonsFlag(undefined)).toEqual([]);
  });

  it('refuses unknown names (did-you-mean) and --no-kubernetes before anything boots', async () => {
    await expect(checkRequestedAddons(['ingress', 'metrics-server'], true)).resolves.toBeUndefined();
    await expect(checkRequestedAddons(['regsitry'], true)).rejects.toMatchObject({
      hints: expect.arrayContaining(['Did you mean: registry?']),
    });
    await expect(checkRequestedAddons(['ingress'], false)).rejects.toThrow(/--no-kubernetes/);
  });
});
