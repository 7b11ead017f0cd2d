// kdevCA: one certificate authority shared by every profile (10 years), kept in KDEV_HOME/certs.
// Made once under a lock, so two profiles starting together cannot make two CAs.
import path from 'node:path';
import { ensurePrivateDir, readFileIfExists, writeFileAtomic } from '../../lib/fs-atomic.js';
import { withLock } from '../../lib/lock.js';
import { paths } from '../../lib/paths.js';
import { issueCertificate, type PemPair } from './x509.js';

export const CA_COMMON_NAME = 'kdevCA';
const CA_DAYS = 3650;

export const caFiles = () => ({
  cert: path.join(paths.certsDir(), 'ca.crt'),
  key: path.join(paths.certsDir(), 'ca.key'),
});

async function readCa(): Promise<PemPair | undefined> {
  const f = caFiles();
  const [certPem, keyPem] = await Promise.all([readFileIfExists(f.cert), readFileIfExists(f.key)]);
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

export async function ensureCa(): Promise<PemPair> {
  const existing = await readCa();
  if (existing) return existing;
  await ensurePrivateDir(paths.home());
  await ensurePrivateDir(paths.certsDir());
  return withLock(path.join(paths.certsDir(), 'ca.lock'), { timeoutMs: 60_000, what: 'kdevCA' }, async () => {
    const again = await readCa();
    if (again) return again;
    const ca = await issueCertificate({ subject: `CN=${CA_COMMON_NAME}`, days: CA_DAYS, usage: 'ca' });
    // Key first: a certificate without its key would look complete to the next reader.
    await writeFileAtomic(caFiles().key, ca.keyPem, 0o600);
    await writeFileAtomic(caFiles().cert, ca.certPem, 0o644);
    return ca;
  });
}
