// The certificates kdev makes, checked by real openssl: chain, SANs, usages, key modes, reuse.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { ensureCa } from '../../../src/cluster/pki/ca.js';
import { apiServerNames, ensureProfileCerts } from '../../../src/cluster/pki/profile-certs.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';

useTempKdevHome();

const names = apiServerNames({
  serviceIp: '10.96.0.1',
  dnsDomain: 'cluster.local',
  controlPlaneHost: 'control-plane.kdev.internal',
  guestIp: '10.0.2.15',
  nodeName: 'dev',
});

const openssl = (...args: string[]) => execFileSync('openssl', args, { encoding: 'utf8' });

describe('kdev PKI', () => {
  it('issues a CA and profile certificates that openssl verifies, with the SANs and modes asked for', async () => {
    const certs = await ensureProfileCerts('dev', names);
    const f = certs.files;
    expect(openssl('verify', '-CAfile', f.caCert, f.apiServerCert)).toContain(': OK');
    expect(openssl('verify', '-CAfile', f.caCert, '-purpose', 'sslserver', f.apiServerCert)).toContain(
      ': OK',
    );
    expect(openssl('verify', '-CAfile', f.caCert, '-purpose', 'sslclient', f.clientCert)).toContain(': OK');

    const text = openssl('x509', '-in', f.apiServerCert, '-noout', '-text');
    for (const dns of [
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
      'localhost',
      'control-plane.kdev.internal',
      'dev',
    ])
      expect(text).toContain(`DNS:${dns}`);
    for (const ip of ['10.96.0.1', '127.0.0.1', '10.0.2.15']) expect(text).toContain(`IP Address:${ip}`);
    expect(text).toContain('TLS Web Server Authentication');

    const ca = openssl('x509', '-in', f.caCert, '-noout', '-subject', '-enddate', '-text');
    expect(ca).toContain('CN = kdevCA');
    expect(ca).toContain('CA:TRUE');
    const years = (new Date(/notAfter=(.*)/.exec(ca)![1]!).getTime() - Date.now()) / (365 * 86_400_000);
    expect(years).toBeGreaterThan(9.9);

    expect(openssl('x509', '-in', f.clientCert, '-noout', '-subject')).toMatch(
      /CN = kubernetes-admin, O = kubeadm:cluster-admins|O = kubeadm:cluster-admins, CN = kubernetes-admin/,
    );
    // Keys load in openssl and match their certificates.
    const pub = (args: string[]) => openssl(...args, '-pubkey', '-noout');
    expect(openssl('pkey', '-in', f.apiServerKey, '-pubout')).toBe(pub(['x509', '-in', f.apiServerCert]));
    for (const key of [f.caKey, f.apiServerKey, f.clientKey])
      expect(fs.statSync(key).mode & 0o777).toBe(0o600);
  });

  it('keeps valid certificates, reissues the server one when a SAN is missing, and shares one CA', async () => {
    const first = await ensureProfileCerts('dev', names);
    const again = await ensureProfileCerts('dev', names);
    expect(again.reissued).toBe(false);
    expect(again.apiServer.certPem).toBe(first.apiServer.certPem);
    const moved = await ensureProfileCerts('dev', {
      ...names,
      ipAddresses: [...names.ipAddresses, '192.168.127.2'],
    });
    expect(moved.reissued).toBe(true);
    expect(moved.client.certPem).toBe(first.client.certPem);
    const other = await ensureProfileCerts('other', names);
    expect(other.ca.certPem).toBe(first.ca.certPem);
    expect((await ensureCa()).certPem).toBe(first.ca.certPem);
  });

  it('makes exactly one CA when profiles start together', async () => {
    const cas = await Promise.all([ensureCa(), ensureCa(), ensureCa()]);
    expect(new Set(cas.map((c) => c.certPem)).size).toBe(1);
  });
});
