// `kdev image load|ls|rm` on any running profile, with or without Kubernetes: the images live in
// containerd's k8s.io namespace, where the kubelet (and `ctr -n k8s.io`) find them.
import fs from 'node:fs/promises';
import path from 'node:path';
import { KdevError } from '../lib/errors.js';
import { listImages, loadArchive, removeImages } from './kubernetes/image-cache.js';
import { runningProfile } from './kubernetes/profile-access.js';

export async function loadImageArchive(
  profile: string,
  archive: string,
  report?: (m: string) => void,
): Promise<{ profile: string; archive: string; images: string[] }> {
  const file = path.resolve(archive);
  const st = await fs.stat(file).catch(() => undefined);
  if (!st?.isFile()) {
    throw new KdevError('BAD_INPUT', `${archive}: no such file`, {
      hints: ['Give an image archive, e.g. from: docker save app:dev -o app.tar'],
    });
  }
  const { ssh } = await runningProfile(profile);
  return { profile, archive: file, images: await loadArchive(ssh, file, report) };
}

export async function listGuestImages(profile: string): Promise<{ profile: string; images: string[] }> {
  const { ssh } = await runningProfile(profile);
  return { profile, images: await listImages(ssh) };
}

export async function removeGuestImages(
  profile: string,
  refs: string[],
): Promise<{ profile: string; removed: string[] }> {
  const { ssh } = await runningProfile(profile);
  return { profile, removed: await removeImages(ssh, refs) };
}
