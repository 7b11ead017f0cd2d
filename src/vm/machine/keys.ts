// SSH keys of a machine: the client key kdev logs in with, and the guest's host key pair, made on
// the host so the host can pin it before the first connection (no trust-on-first-use).
import fs from 'node:fs/promises';
import type { CommandRunner } from '../../lib/exec.js';
import { pathExists, writeFileAtomic } from '../../lib/fs-atomic.js';
import type { MachineFiles } from './files.js';

/**
 * The name the guest's host key is pinned under (ssh -o HostKeyAlias=…). Not `[127.0.0.1]:port`:
 * a guest reached at an address learned later (a DHCP lease under vfkit) is still checked
 * strictly, and a reused port can never vouch for another machine's key.
 */
export function hostKeyAlias(machineName: string): string {
  return `kdev.${machineName}`;
}

/** The known_hosts line pinning publicKey (`<type> <base64> [comment]`) under the machine's alias. */
export function knownHostsLine(machineName: string, publicKey: string): string {
  const [type, key] = publicKey.trim().split(/\s+/);
  return `${hostKeyAlias(machineName)} ${type} ${key}\n`;
}

async function ensureKeyPair(
  runner: CommandRunner,
  priv: string,
  pub: string,
  comment: string,
): Promise<void> {
  if ((await pathExists(priv)) && (await pathExists(pub))) return;
  // A half-written pair (crash mid-create) is useless, and ssh-keygen will not overwrite it.
  await fs.rm(priv, { force: true });
  await fs.rm(pub, { force: true });
  await runner.run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', priv]);
  await fs.chmod(priv, 0o600);
}

/** Both key pairs (kept when they exist) and known_hosts pinning the guest's host key. */
export async function ensureMachineKeys(
  runner: CommandRunner,
  files: MachineFiles,
  machineName: string,
): Promise<void> {
  await ensureKeyPair(runner, files.sshKey, files.sshPublicKey, `kdev@${machineName}`);
  await ensureKeyPair(runner, files.hostKey, files.hostPublicKey, `kdev-host@${machineName}`);
  const hostPub = await fs.readFile(files.hostPublicKey, 'utf8');
  await writeFileAtomic(files.knownHosts, knownHostsLine(machineName, hostPub));
}
