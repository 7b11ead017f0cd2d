// Certificates with @peculiar/x509 on Node's WebCrypto: RSA-2048 keys (kubeadm's default
// algorithm, so kubeadm signs the rest of the cluster's certificates with our CA key as it is).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

const KEY_ALG = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
} as const;

export interface PemPair {
  certPem: string;
  keyPem: string;
}

export interface IssueRequest {
  /** Distinguished name, e.g. "CN=kube-apiserver" or "CN=kubernetes-admin, O=kubeadm:cluster-admins". */
  subject: string;
  days: number;
  usage: 'ca' | 'server' | 'client';
  dnsNames?: string[];
  ipAddresses?: string[];
}

async function lib(): Promise<typeof X509> {
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  return x509;
}

function toPem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END ${label}-----\n`;
}

async function importKey(keyPem: string): Promise<webcrypto.CryptoKey> {
  const der = Buffer.from(keyPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  return webcrypto.subtle.importKey('pkcs8', der, KEY_ALG, true, ['sign']);
}

/** Issues a certificate: self-signed when `issuer` is absent (the CA), else signed by it. */
export async function issueCertificate(req: IssueRequest, issuer?: PemPair): Promise<PemPair> {
  const x509 = await lib();
  const keys = (await webcrypto.subtle.generateKey(KEY_ALG, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 5 * 60_000); // clock skew between host and guest
  const notAfter = new Date(Date.now() + req.days * 86_400_000);
  const isCa = req.usage === 'ca';
  const F = x509.KeyUsageFlags;
  const extensions: X509.Extension[] = [
    new x509.BasicConstraintsExtension(isCa, isCa ? 0 : undefined, true),
    new x509.KeyUsagesExtension(
      isCa ? F.keyCertSign | F.cRLSign | F.digitalSignature : F.digitalSignature | F.keyEncipherment,
      true,
    ),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (!isCa) {
    extensions.push(
      new x509.ExtendedKeyUsageExtension(
        [req.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
    );
  }
  const names = [
    ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));

  let cert: X509.X509Certificate;
  if (!issuer) {
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: req.subject,
      notBefore,
      notAfter,
      keys,
      signingAlgorithm: KEY_ALG,
      extensions,
    });
  } else {
    const caCert = new x509.X509Certificate(issuer.certPem);
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey));
    cert = await x509.X509CertificateGenerator.create({
      subject: req.subject,
      issuer: caCert.subject,
      notBefore,
      notAfter,
      publicKey: keys.publicKey,
      signingKey: await importKey(issuer.keyPem),
      signingAlgorithm: KEY_ALG,
      extensions,
    });
  }
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey);
  return { certPem: cert.toString('pem') + '\n', keyPem: toPem('PRIVATE KEY', pkcs8) };
}

export interface CertificateFacts {
  subject: string;
  issuer: string;
  notAfter: Date;
  dnsNames: string[];
  ipAddresses: string[];
}

/** What a PEM certificate says about itself (for reuse decisions and status). */
export async function describeCertificate(certPem: string): Promise<CertificateFacts> {
  const x509 = await lib();
  const cert = new x509.X509Certificate(certPem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const json = san?.names.toJSON() ?? [];
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    notAfter: cert.notAfter,
    dnsNames: json.filter((n) => n.type === 'dns').map((n) => n.value),
    ipAddresses: json.filter((n) => n.type === 'ip').map((n) => n.value),
  };
}

/** Whether `certPem` carries a valid signature by `caPem`'s key. */
export async function isSignedBy(certPem: string, caPem: string): Promise<boolean> {
  const x509 = await lib();
  const cert = new x509.X509Certificate(certPem);
  const ca = new x509.X509Certificate(caPem);
  return cert.verify({ publicKey: ca.publicKey, signatureOnly: true });
}
