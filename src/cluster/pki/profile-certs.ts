// Per profile: the API server's serving certificate and the admin client certificate, signed by
// kdevCA. kubeadm makes every other certificate of the cluster from the CA key in the guest.
import path from 'node:path';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../../lib/fs-atomic.js';
import { paths } from '../../lib/paths.js';
import { ensureCa, caFiles } from './ca.js';
import { describeCertificate, isSignedBy, issueCertificate, type PemPair } from './x509.js';

const LEAF_DAYS = 365;
/** Reissue a leaf this long before it expires. */
const RENEW_BEFORE_MS = 30 * 86_400_000;

// kubeadm (1.29+) puts admin.conf's user in this group, bound to cluster-admin at init;
// system:masters is kept for super-admin.conf only.
export const ADMIN_SUBJECT = 'CN=kubernetes-admin, O=kubeadm:cluster-admins';

export interface ApiServerNames {
  dnsNames: string[];
  ipAddresses: string[];
}

export interface ProfileCertFiles {
  caCert: string;
  caKey: string;
  apiServerCert: string;
  apiServerKey: string;
  clientCert: string;
  clientKey: string;
}

export function profileCertFiles(profile: string): ProfileCertFiles {
  const dir = path.join(paths.profileDir(profile), 'certs');
  const ca = caFiles();
  return {
    caCert: ca.cert,
    caKey: ca.key,
    apiServerCert: path.join(dir, 'apiserver.crt'),
    apiServerKey: path.join(dir, 'apiserver.key'),
    clientCert: path.join(dir, 'client.crt'),
    clientKey: path.join(dir, 'client.key'),
  };
}

/** The SANs the API server needs: service names, service IP, loopback, control-plane name, guest IP, node name. */
export function apiServerNames(opts: {
  serviceIp: string;
  dnsDomain: string;
  controlPlaneHost: string;
  guestIp: string;
  nodeName: string;
}): ApiServerNames {
  const dns = [
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    `kubernetes.default.svc.${opts.dnsDomain}`,
    'localhost',
    opts.controlPlaneHost,
    opts.nodeName,
  ];
  return {
    dnsNames: [...new Set(dns)],
    ipAddresses: [...new Set([opts.serviceIp, '127.0.0.1', opts.guestIp])],
  };
}

async function readPair(cert: string, key: string): Promise<PemPair | undefined> {
  const [certPem, keyPem] = await Promise.all([readFileIfExists(cert), readFileIfExists(key)]);
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

async function reusable(pair: PemPair | undefined, ca: PemPair, names?: ApiServerNames): Promise<boolean> {
  if (!pair) return false;
  try {
    if (!(await isSignedBy(pair.certPem, ca.certPem))) return false;
    const facts = await describeCertificate(pair.certPem);
    if (facts.notAfter.getTime() - Date.now() < RENEW_BEFORE_MS) return false;
    if (!names) return true;
    return (
      names.dnsNames.every((n) => facts.dnsNames.includes(n)) &&
      names.ipAddresses.every((n) => facts.ipAddresses.includes(n))
    );
  } catch {
    return false;
  }
}

async function writePair(cert: string, key: string, pair: PemPair): Promise<void> {
  await ensurePrivateDir(path.dirname(cert));
  await writeFileAtomic(key, pair.keyPem, 0o600);
  await writeFileAtomic(cert, pair.certPem, 0o644);
}

export interface ProfileCerts {
  files: ProfileCertFiles;
  ca: PemPair;
  apiServer: PemPair;
  client: PemPair;
  /** Whether the API server certificate was (re)issued this time. */
  reissued: boolean;
}

/** Makes (or keeps, when still valid and covering `names`) the profile's certificates. */
export async function ensureProfileCerts(profile: string, names: ApiServerNames): Promise<ProfileCerts> {
  const ca = await ensureCa();
  const files = profileCertFiles(profile);
  let reissued = false;
  let apiServer = await readPair(files.apiServerCert, files.apiServerKey);
  if (!(await reusable(apiServer, ca, names))) {
    apiServer = await issueCertificate(
      { subject: 'CN=kube-apiserver', days: LEAF_DAYS, usage: 'server', ...names },
      ca,
    );
    await writePair(files.apiServerCert, files.apiServerKey, apiServer);
    reissued = true;
  }
  let client = await readPair(files.clientCert, files.clientKey);
  if (!(await reusable(client, ca))) {
    client = await issueCertificate({ subject: ADMIN_SUBJECT, days: LEAF_DAYS, usage: 'client' }, ca);
    await writePair(files.clientCert, files.clientKey, client);
  }
  return { files, ca, apiServer: apiServer!, client: client!, reissued };
}
