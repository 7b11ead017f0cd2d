// The kubeconfig kdev writes, read by the real kubectl; kubectl and kdev's readiness waits both
// talking TLS to a local stand-in API server; concurrent writers (kdev and kubectl) losing nothing.
import { execFile } from 'node:child_process';
import fsSync from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import yaml from 'js-yaml';
import { updateKubeconfig, withEntry, type KubeconfigEntry } from '../../../src/cluster/kubeconfig.js';
import type { ApiConnection } from '../../../src/cluster/kubernetes/api-client.js';
import {
  waitForApiServer,
  waitForNodeReady,
  waitForSystemPods,
} from '../../../src/cluster/kubernetes/readiness.js';
import {
  apiServerNames,
  ensureProfileCerts,
  type ProfileCerts,
} from '../../../src/cluster/pki/profile-certs.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';
import { startFakeApiServer, type FakeApiServer } from './fake-apiserver.js';

const run = promisify(execFile);
const home = useTempKdevHome();

const names = apiServerNames({
  serviceIp: '10.96.0.1',
  dnsDomain: 'cluster.local',
  controlPlaneHost: 'control-plane.kdev.internal',
  guestIp: '10.0.2.15',
  nodeName: 'dev',
});

let certs: ProfileCerts;
let server: FakeApiServer;
let kubeconfig: string;
let env: NodeJS.ProcessEnv;

const kubectl = (...args: string[]) => run('kubectl', args, { env, timeout: 60_000 });

beforeEach(async () => {
  certs = await ensureProfileCerts('dev', names);
  server = await startFakeApiServer({
    certPem: certs.apiServer.certPem,
    keyPem: certs.apiServer.keyPem,
    clientCaPem: certs.ca.certPem,
    readyAfterReads: 2,
  });
  kubeconfig = path.join(home.dir(), 'kube', 'config');
  await fs.mkdir(path.dirname(kubeconfig), { recursive: true });
  // Someone's existing config: kdev must keep it.
  await fs.writeFile(
    kubeconfig,
    yaml.dump({
      apiVersion: 'v1',
      kind: 'Config',
      preferences: { colors: true },
      clusters: [{ name: 'prod', cluster: { server: 'https://prod.example:6443' } }],
      users: [{ name: 'prod', user: { token: 'abc' } }],
      contexts: [{ name: 'prod', context: { cluster: 'prod', user: 'prod' } }],
      'current-context': 'prod',
    }),
    { mode: 0o640 },
  );
  env = { ...process.env, HOME: home.dir(), KUBECONFIG: kubeconfig };
});

afterEach(() => server.close());

function entry(overrides: Partial<KubeconfigEntry> = {}): KubeconfigEntry {
  return {
    name: 'dev',
    server: server.url,
    caFile: certs.files.caCert,
    clientCertFile: certs.files.clientCert,
    clientKeyFile: certs.files.clientKey,
    ...overrides,
  };
}

const conn = (caPem = certs.ca.certPem): ApiConnection => ({
  name: 'dev',
  server: server.url,
  caPem,
  clientCertPem: certs.client.certPem,
  clientKeyPem: certs.client.keyPem,
});

describe('kubeconfig and the API server, with real kubectl', () => {
  it('kubectl lists, switches and uses the merged context; the mode and the other entries stay', async () => {
    await updateKubeconfig(kubeconfig, (doc) => withEntry(doc, entry(), { setCurrent: false }));
    expect((await fs.stat(kubeconfig)).mode & 0o777).toBe(0o640);
    const contexts = (await kubectl('config', 'get-contexts', '-o', 'name')).stdout
      .split('\n')
      .filter(Boolean);
    expect(contexts.sort()).toEqual(['dev', 'prod']);
    expect((await kubectl('config', 'current-context')).stdout.trim()).toBe('prod');
    await kubectl('config', 'use-context', 'dev');
    expect((await kubectl('config', 'current-context')).stdout.trim()).toBe('dev');

    const nodes = await kubectl('get', 'nodes');
    expect(nodes.stdout).toMatch(/^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION/);
    expect(nodes.stdout).toMatch(/\ndev\s+Ready\s+control-plane\s+5m\s+v1\.37\.1/);
    expect(server.clients).toContain('kubernetes-admin');
    const doc = yaml.load(await fs.readFile(kubeconfig, 'utf8')) as Record<string, unknown>;
    expect(doc.preferences).toEqual({ colors: true });
  });

  it('kubectl works with --embed-certs too', async () => {
    await updateKubeconfig(kubeconfig, (doc) =>
      withEntry(
        doc,
        entry({
          embed: { ca: certs.ca.certPem, clientCert: certs.client.certPem, clientKey: certs.client.keyPem },
        }),
        { setCurrent: true },
      ),
    );
    expect((await kubectl('--context', 'dev', 'get', 'nodes', '-o', 'name')).stdout.trim()).toBe('node/dev');
    expect(await fs.readFile(kubeconfig, 'utf8')).not.toContain(certs.files.caCert);
  });

  it("kdev's readiness waits pass: /readyz, node Ready (after polling), CoreDNS and kube-proxy", async () => {
    const seen: string[] = [];
    const opts = { timeoutMs: 20_000, pollMs: 50, report: (m: string) => seen.push(m) };
    await waitForApiServer(conn(), opts);
    await waitForNodeReady(conn(), 'dev', opts);
    await waitForSystemPods(conn(), opts);
    expect(seen).toContain('node dev: Ready=False (kubelet is posting ready status)');
    expect(server.paths).toEqual(
      expect.arrayContaining(['/readyz', '/api/v1/nodes/dev', '/api/v1/namespaces/kube-system/pods']),
    );
  });

  it('with the wrong CA both kubectl and the readiness wait fail', async () => {
    const otherHome = await fs.mkdtemp(path.join(os.tmpdir(), 'kdev-other-ca-'));
    const saved = process.env.KDEV_HOME;
    process.env.KDEV_HOME = otherHome;
    let wrong: ProfileCerts;
    try {
      wrong = await ensureProfileCerts('dev', names);
    } finally {
      process.env.KDEV_HOME = saved;
    }
    await updateKubeconfig(kubeconfig, (doc) =>
      withEntry(doc, entry({ caFile: wrong.files.caCert }), { setCurrent: true }),
    );
    await expect(kubectl('--context', 'dev', 'get', 'nodes')).rejects.toMatchObject({
      stderr: expect.stringMatching(/certificate|x509|unknown authority/i),
    });
    await expect(
      waitForApiServer(conn(wrong.ca.certPem), { timeoutMs: 800, pollMs: 100 }),
    ).rejects.toMatchObject({
      code: 'TIMEOUT',
      message: expect.stringMatching(/readyz: .*(CERT|SIGNATURE|SELF_SIGNED|UNABLE)/),
    });
    // A client certificate from another CA is refused by the server as well.
    const foreignClient: ApiConnection = {
      ...conn(),
      clientCertPem: wrong.client.certPem,
      clientKeyPem: wrong.client.keyPem,
    };
    await expect(waitForApiServer(foreignClient, { timeoutMs: 800, pollMs: 100 })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    await fs.rm(otherHome, { recursive: true, force: true });
  });

  const kdevWriters = (n: number) =>
    Array.from({ length: n }, (_, i) =>
      updateKubeconfig(
        kubeconfig,
        (doc) =>
          withEntry(doc, entry({ name: `p${i}`, server: `https://127.0.0.1:${30000 + i}` }), {
            setCurrent: true,
          }),
        { timeoutMs: 60_000 },
      ),
    );
  const entryNames = (key: string) => {
    const doc = yaml.load(fsSync.readFileSync(kubeconfig, 'utf8')) as Record<string, { name: string }[]>;
    return doc[key]!.map((c) => c.name).sort();
  };
  const pNames = Array.from({ length: 20 }, (_, i) => `p${i}`);

  it('20 concurrent kdev writers leave every entry, and no lock or temp file behind', async () => {
    await Promise.all(kdevWriters(20));
    expect(entryNames('contexts')).toEqual(['prod', ...pNames].sort());
    expect(entryNames('clusters')).toEqual(['prod', ...pNames].sort());
    expect(entryNames('users')).toEqual(['prod', ...pNames].sort());
    await expect(fs.access(`${kubeconfig}.lock`)).rejects.toThrow();
    expect((await fs.readdir(path.dirname(kubeconfig))).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('kubectl set-context alongside: kdev never drops what kubectl wrote', async () => {
    // kubectl gives up at once when the lock exists (client-go's lockFile); retry like a user would.
    const kubectlWriter = async (i: number) => {
      for (let attempt = 0; attempt < 400; attempt++) {
        try {
          await kubectl('config', 'set-context', `k${i}`, '--cluster=prod', '--user=prod');
          return;
        } catch (err) {
          if (!/lock/.test(String((err as { stderr?: string }).stderr))) throw err;
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      throw new Error(`kubectl writer ${i} never got the lock`);
    };
    // One kubectl at a time: two kubectl processes race each other the same way (see below).
    const kubectls = async () => {
      for (const i of [0, 1, 2]) await kubectlWriter(i);
    };
    await Promise.all([...kdevWriters(20), kubectls()]);
    // kdev re-reads under the lock, so every kubectl entry survives. kubectl computes its write
    // from a read made before it takes the lock and deletes entries it did not see then (client-go
    // ModifyConfig), so a kdev entry written in that window can be lost: no writer can prevent
    // that, and writing it again (what `kdev update-context` does) restores it.
    expect(entryNames('contexts')).toEqual(expect.arrayContaining(['prod', 'k0', 'k1', 'k2']));
    await Promise.all(kdevWriters(20));
    expect(entryNames('contexts')).toEqual(['prod', 'k0', 'k1', 'k2', ...pNames].sort());
    await expect(fs.access(`${kubeconfig}.lock`)).rejects.toThrow();
  });
});
