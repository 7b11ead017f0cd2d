// A running profile's cluster as the host reaches it: its SSH client, the forwarded API port, the
// certificates kdev made for it, and the kubeconfig entry that points there.
import fs from 'node:fs/promises';
import { KdevError } from '../../lib/errors.js';
import type { Driver } from '../../vm/driver.js';
import type { SshClient } from '../../vm/ssh.js';
import { requireRunning, sshTo } from '../access.js';
import { API_SERVER_FORWARD, endpointOf } from '../forwards.js';
import { kubeconfigPath, updateKubeconfig, withEntry, type KubeconfigEntry } from '../kubeconfig.js';
import { requireProfile, type Profile } from '../profiles.js';
import { profileCertFiles } from '../pki/profile-certs.js';
import type { ApiConnection } from './api-client.js';

export interface RunningProfile {
  profile: Profile;
  driver: Driver;
  ssh: SshClient;
}

export async function runningProfile(name: string): Promise<RunningProfile> {
  const profile = await requireProfile(name);
  const driver = await requireRunning(name);
  return { profile, driver, ssh: await sshTo(name, driver) };
}

export function requireKubernetes(profile: Profile): void {
  if (!profile.kubernetes) {
    throw new KdevError('BAD_INPUT', `profile "${profile.name}" runs without Kubernetes`, {
      hints: [`Make a cluster: kdev delete -p ${profile.name} && kdev start -p ${profile.name}`],
    });
  }
}

export const apiServerUrl = (port: number) => `https://127.0.0.1:${port}`;

export async function apiServerPort(driver: Driver): Promise<number> {
  return (await endpointOf(driver, API_SERVER_FORWARD)).port;
}

/** The CA and admin client certificate of a profile, read from KDEV_HOME. */
export async function apiConnectionFor(profile: string, port: number): Promise<ApiConnection> {
  const f = profileCertFiles(profile);
  const read = (file: string) =>
    fs.readFile(file, 'utf8').catch(() => {
      throw new KdevError('NOT_FOUND', `${file} is missing`, {
        hints: [`kdev start -p ${profile} makes it again`],
      });
    });
  const [caPem, clientCertPem, clientKeyPem] = await Promise.all([
    read(f.caCert),
    read(f.clientCert),
    read(f.clientKey),
  ]);
  return { name: profile, server: apiServerUrl(port), caPem, clientCertPem, clientKeyPem };
}

/** The entry `kdev start` and `kdev update-context` write for a profile. */
export async function kubeconfigEntryFor(
  profile: string,
  port: number,
  embed: boolean,
): Promise<KubeconfigEntry> {
  const f = profileCertFiles(profile);
  const entry: KubeconfigEntry = {
    name: profile,
    server: apiServerUrl(port),
    caFile: f.caCert,
    clientCertFile: f.clientCert,
    clientKeyFile: f.clientKey,
  };
  if (embed) {
    const c = await apiConnectionFor(profile, port);
    entry.embed = { ca: c.caPem, clientCert: c.clientCertPem, clientKey: c.clientKeyPem };
  }
  return entry;
}

export interface UpdateContextResult {
  profile: string;
  kubeconfig: string;
  server: string;
  currentContext: boolean;
}

/** `kdev update-context`: points the profile's kubeconfig entry at its current forwarded port. */
export async function updateContext(
  name: string,
  opts: { embedCerts?: boolean; keepContext?: boolean } = {},
): Promise<UpdateContextResult> {
  const { profile, driver } = await runningProfile(name);
  requireKubernetes(profile);
  const port = await apiServerPort(driver);
  const entry = await kubeconfigEntryFor(name, port, opts.embedCerts === true);
  const file = kubeconfigPath();
  await updateKubeconfig(file, (doc) => withEntry(doc, entry, { setCurrent: !opts.keepContext }));
  return { profile: name, kubeconfig: file, server: entry.server, currentContext: !opts.keepContext };
}
