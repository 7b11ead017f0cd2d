// The addons commands as a user runs them (built CLI in a child process), against a local HTTPS API server.
import fs from 'node:fs/promises';
import path from 'node:path';
import { saveProfile } from '../../../src/cluster/profiles.js';
import { runKdev } from '../../helpers/cli.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';
import { FakeApiServer } from './fake-apiserver.js';
import { testProfile } from '../../helpers/profile.js';

const home = useTempKdevHome();
let api: FakeApiServer;

const profile = testProfile;

const kdev = (args: string[]) =>
  runKdev([...args, '-p', 'dev'], { KDEV_HOME: home.dir(), KUBECONFIG: path.join(home.dir(), 'kubeconfig') });

beforeAll(async () => {
  api = new FakeApiServer();
  await api.start();
});
afterAll(async () => api.stop());
beforeEach(async () => {
  api.requests.length = 0;
  api.objects.clear();
  await fs.writeFile(path.join(home.dir(), 'kubeconfig'), api.kubeconfig('dev'));
  await saveProfile(profile());
});

describe('kdev addons (real process)', () => {
  test('list shows every built-in addon as a table, and as JSON with -o json', async () => {
    const r = await kdev(['addons', 'list']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(/^NAME\s+ENABLED\s+VERSION\s+DESCRIPTION$/);
    expect(r.stdout).toMatch(/^metrics-server\s+no\s+v0\.8\.0\s+Resource metrics/m);
    const j = await kdev(['addons', 'list', '-o', 'json']);
    const parsed = JSON.parse(j.stdout) as { addons: { name: string; enabled: boolean; source: string }[] };
    expect(parsed.addons.map((a) => a.name)).toEqual(
      expect.arrayContaining([
        'dashboard',
        'default-storageclass',
        'ingress',
        'metrics-server',
        'registry',
        'storage-provisioner',
      ]),
    );
    expect(parsed.addons.every((a) => a.source === 'builtin' && a.enabled === false)).toBe(true);
  });

  test('enable applies with server-side apply, list then shows it enabled; disable deletes it', async () => {
    const r = await kdev(['addons', 'enable', 'default-storageclass']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    // The dependency first, each object by server-side apply as field manager kdev.
    expect(r.stdout).toBe('✔ storage-provisioner enabled\n✔ default-storageclass enabled\n');
    const writes = api.writes();
    expect(writes[0]).toBe('PATCH /api/v1/namespaces/local-path-storage');
    expect(writes.at(-1)).toBe('PATCH /apis/storage.k8s.io/v1/storageclasses/standard');
    expect(
      api.requests.filter((q) => q.method === 'PATCH').every((q) => q.query.fieldManager === 'kdev'),
    ).toBe(true);
    const list = JSON.parse((await kdev(['addons', 'list', '-o', 'json'])).stdout) as {
      addons: { name: string; enabled: boolean }[];
    };
    expect(list.addons.filter((a) => a.enabled).map((a) => a.name)).toEqual([
      'default-storageclass',
      'storage-provisioner',
    ]);

    const refused = await kdev(['addons', 'disable', 'storage-provisioner']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/default-storageclass depends on "storage-provisioner"/);

    api.requests.length = 0;
    const d = await kdev(['addons', 'disable', 'default-storageclass']);
    expect(d.exitCode).toBe(0);
    expect(api.writes()).toEqual(['DELETE /apis/storage.k8s.io/v1/storageclasses/standard']);
  });

  test('an unknown name gets a did-you-mean hint and exit 3', async () => {
    const r = await kdev(['addons', 'enable', 'ingres']);
    expect(r.exitCode).toBe(3);
    expect(r.stderr).toMatch(/^✖ no addon named "ingres"\n {2}→ Did you mean: ingress\?/);
    expect(api.requests).toEqual([]);
  });

  test('a --no-kubernetes profile is refused with one line', async () => {
    await saveProfile(profile({ kubernetes: false }));
    const r = await kdev(['addons', 'enable', 'metrics-server']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(
      '✖ profile "dev" runs without Kubernetes (--no-kubernetes): it has no addons',
    );
  });
});
