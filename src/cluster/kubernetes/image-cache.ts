// Container images in the guest's containerd (namespace k8s.io, the one the kubelet uses):
// loading archives from the host, listing, removing, and the per-version image cache that lets a
// second cluster of the same version start without any registry.
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { KdevError } from '../../lib/errors.js';
import { paths } from '../../lib/paths.js';
import type { SshClient } from '../../vm/ssh.js';
import type { GuestArch } from './binaries.js';
import { guestPaths } from './guest-layout.js';
import { receiveFile, sendFile } from './guest-transfer.js';

export const K8S_NAMESPACE = 'k8s.io';
const ctr = ['sudo', 'ctr', '-n', K8S_NAMESPACE];

export function imageCacheFile(version: string, arch: GuestArch): string {
  return path.join(paths.imagesDir(), `${version}-${arch}.tar`);
}

function stagingFile(kind: string): string {
  return `${guestPaths.stagingDir}/${kind}-${randomBytes(6).toString('hex')}.tar`;
}

async function check(ssh: SshClient, argv: string[], what: string, timeoutMs = 10 * 60_000): Promise<string> {
  const r = await ssh.exec(argv, { timeoutMs });
  if (r.exitCode !== 0) {
    const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-2).join(' | ');
    throw new KdevError('COMMAND_FAILED', `${what}: ${detail || `exit ${r.exitCode}`}`);
  }
  return r.stdout;
}

/**
 * Image names ctr reports from an import: "unpacking <name> (sha256:…)…done" from a local import
 * (what we ask for), "<name>  saved" from one through containerd 2's transfer service.
 */
export function parseImported(output: string): string[] {
  const names = new Set<string>();
  for (const m of output.matchAll(/^unpacking (\S+) \(sha256:[0-9a-f]+\)/gm)) names.add(m[1]!);
  for (const m of output.matchAll(/^(\S+:\S+)\s+saved\s*$/gm)) names.add(m[1]!);
  return [...names];
}

/** Copies an OCI or docker archive into the guest and imports it into k8s.io; returns the image names. */
export async function loadArchive(
  ssh: SshClient,
  archive: string,
  report?: (m: string) => void,
): Promise<string[]> {
  const remote = stagingFile('load');
  report?.(`copying ${path.basename(archive)} into the guest`);
  await sendFile(
    ssh,
    ['sudo', 'sh', '-c', `mkdir -p ${guestPaths.stagingDir} && cat > ${remote}`],
    archive,
    `copying ${archive}`,
  );
  try {
    report?.('importing into containerd (k8s.io)');
    const out = await check(
      ssh,
      [...ctr, 'images', 'import', '--local', remote],
      `importing ${path.basename(archive)}`,
    );
    return parseImported(out);
  } finally {
    await ssh.exec(['sudo', 'rm', '-f', remote]).catch(() => undefined);
  }
}

export async function importImageCache(
  ssh: SshClient,
  file: string,
  report?: (m: string) => void,
): Promise<string[]> {
  return loadArchive(ssh, file, report);
}

export async function listImages(ssh: SshClient): Promise<string[]> {
  const out = await check(ssh, [...ctr, 'images', 'ls', '-q'], 'listing images', 60_000);
  return (
    out
      .split('\n')
      .map((l) => l.trim())
      // Digest-only references duplicate the named ones.
      .filter((l) => l !== '' && !l.startsWith('sha256:'))
      .sort()
  );
}

/** Removes images by reference; unknown names are reported, not ignored. */
export async function removeImages(ssh: SshClient, refs: string[]): Promise<string[]> {
  const present = new Set(await listImages(ssh));
  const missing = refs.filter((r) => !present.has(r));
  if (missing.length > 0) {
    throw new KdevError('NOT_FOUND', `no such image in the guest: ${missing.join(', ')}`, {
      hints: ['List them with: kdev image ls'],
    });
  }
  await check(ssh, [...ctr, 'images', 'rm', ...refs], 'removing images', 60_000);
  return refs;
}

/**
 * Exports the images this cluster's kubeadm uses (as `kubeadm config images list` names them)
 * into `dest` on the host, through a temp file on the guest's data disk.
 */
export async function exportImageCache(
  ssh: SshClient,
  dest: string,
  arch: GuestArch,
  report?: (m: string) => void,
): Promise<number> {
  const listed = await check(
    ssh,
    [
      'sudo',
      `${guestPaths.linkDir}/kubeadm`,
      'config',
      'images',
      'list',
      '--config',
      guestPaths.kubeadmConfig,
    ],
    'listing the control-plane images',
    120_000,
  );
  const names = listed
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[\w.-]+(:\d+)?\/\S+:\S+$/.test(l));
  if (names.length === 0) throw new KdevError('COMMAND_FAILED', 'kubeadm listed no images to cache');
  const remote = stagingFile('export');
  try {
    report?.(`exporting ${names.length} images`);
    await check(ssh, ['sudo', 'sh', '-c', `mkdir -p ${guestPaths.stagingDir}`], 'preparing the export');
    await check(
      ssh,
      [...ctr, 'images', 'export', '--platform', `linux/${arch}`, remote, ...names],
      'exporting images',
    );
    report?.('copying the archive to the host');
    return await receiveFile(ssh, ['sudo', 'cat', remote], dest, 'copying the image archive');
  } finally {
    await ssh.exec(['sudo', 'rm', '-f', remote]).catch(() => undefined);
  }
}
