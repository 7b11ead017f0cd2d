// Addon images in the host's image cache (cache/images/addons/), beside the control-plane archives:
// at each start, archives of the enabled addons' images are loaded into a guest that lacks them,
// and images the guest has pulled by now (on an earlier run) are exported once, so a later profile
// enables the same addons without a registry.
import fs from 'node:fs/promises';
import path from 'node:path';
import { ensurePrivateDir } from '../../lib/fs-atomic.js';
import { paths } from '../../lib/paths.js';
import type { SshClient } from '../../vm/ssh.js';
import { receiveFile } from '../kubernetes/guest-transfer.js';
import { guestPaths } from '../kubernetes/guest-layout.js';
import { K8S_NAMESPACE, listImages, loadArchive } from '../kubernetes/image-cache.js';

export function addonImagesDir(): string {
  return path.join(paths.imagesDir(), 'addons');
}

/** One archive per pinned image and architecture; the digest keeps the name unique. */
export function addonImageArchive(ref: string, arch: string): string {
  return path.join(addonImagesDir(), `${ref.replace(/[^A-Za-z0-9._-]+/g, '_')}-${arch}.tar`);
}

/** The names containerd may hold a pinned `repo:tag@sha256:…` under once the kubelet pulled it. */
export function guestNames(ref: string): string[] {
  const [name = '', digest = ''] = ref.split('@');
  const repo = name.replace(/:[^/:]+$/, '');
  return [ref, `${repo}@${digest}`, name];
}

const exists = (f: string) =>
  fs.stat(f).then(
    () => true,
    () => false,
  );

export interface AddonImageCacheResult {
  loaded: string[];
  saved: string[];
}

export async function syncAddonImages(
  ssh: SshClient,
  refs: readonly string[],
  arch: string,
  report?: (m: string) => void,
): Promise<AddonImageCacheResult> {
  const present = new Set(await listImages(ssh));
  const inGuest = (ref: string) => guestNames(ref).find((n) => present.has(n));
  const result: AddonImageCacheResult = { loaded: [], saved: [] };
  for (const ref of refs) {
    const archive = addonImageArchive(ref, arch);
    const cached = await exists(archive);
    const name = inGuest(ref);
    if (!name && cached) {
      await loadArchive(ssh, archive, report);
      result.loaded.push(ref);
    } else if (name && !cached) {
      await ensurePrivateDir(addonImagesDir());
      const remote = `${guestPaths.stagingDir}/addon-image-${process.pid}.tar`;
      try {
        report?.(`caching ${ref}`);
        await ssh.exec(['sudo', 'mkdir', '-p', guestPaths.stagingDir]);
        const r = await ssh.exec(
          [
            'sudo',
            'ctr',
            '-n',
            K8S_NAMESPACE,
            'images',
            'export',
            '--platform',
            `linux/${arch}`,
            remote,
            name,
          ],
          { timeoutMs: 10 * 60_000 },
        );
        // A cache miss is not a failed start: the image is pulled again next time.
        if (r.exitCode !== 0) continue;
        // receiveFile writes a temp file and renames it: no half archive is ever taken for a cached one.
        await receiveFile(ssh, ['sudo', 'cat', remote], archive, `copying ${ref}`);
        result.saved.push(ref);
      } finally {
        await ssh.exec(['sudo', 'rm', '-f', remote]).catch(() => undefined);
      }
    }
  }
  return result;
}
