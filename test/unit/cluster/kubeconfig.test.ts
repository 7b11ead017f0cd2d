import yaml from 'js-yaml';
import {
  entryState,
  kubeconfigPath,
  parseKubeconfig,
  withEntry,
  withoutEntry,
  type KubeconfigEntry,
} from '../../../src/cluster/kubeconfig.js';

const entry: KubeconfigEntry = {
  name: 'dev',
  server: 'https://127.0.0.1:40123',
  caFile: '/h/.kdev/certs/ca.crt',
  clientCertFile: '/h/.kdev/profiles/dev/certs/client.crt',
  clientKeyFile: '/h/.kdev/profiles/dev/certs/client.key',
};

// Someone else's config with fields kdev knows nothing about.
const theirs = `
apiVersion: v1
kind: Config
preferences:
  colors: true
extensions:
  - name: their-tool
    extension: {answer: 42}
clusters:
  - name: prod
    cluster: {server: 'https://prod.example:6443', certificate-authority-data: QUJD, proxy-url: 'http://proxy:3128'}
users:
  - name: prod-admin
    user: {exec: {apiVersion: client.authentication.k8s.io/v1, command: gke-auth}}
contexts:
  - name: prod
    context: {cluster: prod, user: prod-admin, namespace: payments}
current-context: prod
x-unknown-top-level: keep-me
`;

describe('kubeconfig merge', () => {
  it('adds the profile and keeps every other entry and unknown field', () => {
    const before = parseKubeconfig(theirs, 'cfg');
    const after = withEntry(before, entry, { setCurrent: true });
    const reparsed = yaml.load(yaml.dump(after)) as Record<string, unknown>;
    expect(reparsed['x-unknown-top-level']).toBe('keep-me');
    expect(reparsed.preferences).toEqual({ colors: true });
    expect(reparsed.extensions).toEqual([{ name: 'their-tool', extension: { answer: 42 } }]);
    expect((reparsed.clusters as unknown[])[0]).toEqual((before.clusters as unknown[])[0]);
    expect((reparsed.users as unknown[])[0]).toEqual((before.users as unknown[])[0]);
    expect((reparsed.contexts as unknown[])[0]).toEqual((before.contexts as unknown[])[0]);
    expect(reparsed['current-context']).toBe('dev');
    expect(reparsed.clusters).toContainEqual({
      name: 'dev',
      cluster: { server: entry.server, 'certificate-authority': entry.caFile },
    });
    expect(reparsed.users).toContainEqual({
      name: 'dev',
      user: { 'client-certificate': entry.clientCertFile, 'client-key': entry.clientKeyFile },
    });
    expect(reparsed.contexts).toContainEqual({ name: 'dev', context: { cluster: 'dev', user: 'dev' } });
  });

  it('keeps current-context under --keep-context', () => {
    const after = withEntry(parseKubeconfig(theirs, 'cfg'), entry, { setCurrent: false });
    expect(after['current-context']).toBe('prod');
  });

  it('updates in place (no duplicates), switching between paths and embedded data', () => {
    let doc = withEntry({}, entry, { setCurrent: true });
    doc = withEntry(doc, { ...entry, server: 'https://127.0.0.1:50000' }, { setCurrent: true });
    expect((doc.clusters as unknown[]).length).toBe(1);
    expect(entryState(doc, 'dev', 'https://127.0.0.1:50000')).toBe('Configured');
    expect(entryState(doc, 'dev', 'https://127.0.0.1:40123')).toBe('Misconfigured');
    doc = withEntry(
      doc,
      { ...entry, embed: { ca: 'CA', clientCert: 'CRT', clientKey: 'KEY' } },
      { setCurrent: true },
    );
    const cluster = (doc.clusters as { cluster: Record<string, string> }[])[0]!.cluster;
    expect(cluster['certificate-authority-data']).toBe(Buffer.from('CA').toString('base64'));
    expect(cluster['certificate-authority']).toBeUndefined();
    const user = (doc.users as { user: Record<string, string> }[])[0]!.user;
    expect(Object.keys(user).sort()).toEqual(['client-certificate-data', 'client-key-data']);
  });

  it('keeps fields a user added to the profile entries themselves (e.g. a namespace)', () => {
    let doc = withEntry({}, entry, { setCurrent: true });
    (doc.contexts as { context: Record<string, string> }[])[0]!.context.namespace = 'mine';
    doc = withEntry(doc, entry, { setCurrent: true });
    expect((doc.contexts as { context: Record<string, string> }[])[0]!.context.namespace).toBe('mine');
  });

  it('removes only the profile, and unsets current-context only when it was ours', () => {
    const withDev = withEntry(parseKubeconfig(theirs, 'cfg'), entry, { setCurrent: true });
    const removed = withoutEntry(withDev, 'dev');
    expect(removed['current-context']).toBe('');
    expect(removed.clusters).toEqual(parseKubeconfig(theirs, 'cfg').clusters);
    const kept = withoutEntry(withEntry(parseKubeconfig(theirs, 'cfg'), entry, { setCurrent: false }), 'dev');
    expect(kept['current-context']).toBe('prod');
    expect(entryState(kept, 'dev', entry.server)).toBe('Misconfigured');
  });

  it('refuses a file that is not a kubeconfig with one line', () => {
    expect(() => parseKubeconfig('- a\n- b\n', '/x/config')).toThrow('/x/config is not a kubeconfig');
    expect(() => parseKubeconfig('a: [', '/x/config')).toThrow(/is not valid YAML/);
    expect(parseKubeconfig('', 'x')).toEqual({});
  });

  it('picks the first KUBECONFIG path, else ~/.kube/config', () => {
    expect(kubeconfigPath({ KUBECONFIG: ':/a/one:/a/two' })).toBe('/a/one');
    expect(kubeconfigPath({ HOME: '/h' })).toMatch(/\.kube\/config$/);
  });
});
