import fs from 'node:fs/promises';
import path from 'node:path';
import {
  addonImageArchive,
  guestNames,
  syncAddonImages,
} from '../../../../src/cluster/addons/image-cache.js';
import type { SshClient, SshExecOptions } from '../../../../src/vm/ssh.js';
import { useTempKdevHome } from '../../../helpers/temp-home.js';

useTempKdevHome();

const REF = `docker.io/library/registry:3.0.0@sha256:${'c'.repeat(64)}`;

/** A guest whose containerd holds `images`; `export` answers with exportExit. Records every argv. */
function fakeGuest(images: string[], exportExit = 0): SshClient & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    async exec(argv: readonly string[], _opts?: SshExecOptions) {
      calls.push(argv.join(' '));
      if (argv.includes('ls')) return { exitCode: 0, stdout: `${images.join('\n')}\n`, stderr: '' };
      if (argv.includes('export')) return { exitCode: exportExit, stdout: '', stderr: 'no such image' };
      return { exitCode: 0, stdout: '', stderr: '' };
    },
    interactive: async () => 0,
    waitForSsh: async () => undefined,
    sshArgs: () => [],
  };
}

describe('addon image cache', () => {
  it('knows the names the kubelet stores a pinned image under', () => {
    expect(guestNames(REF)).toEqual([
      REF,
      `docker.io/library/registry@sha256:${'c'.repeat(64)}`,
      'docker.io/library/registry:3.0.0',
    ]);
  });

  it('keeps one archive per image and architecture under cache/images/addons', () => {
    expect(path.basename(addonImageArchive(REF, 'arm64'))).toBe(
      `docker.io_library_registry_3.0.0_sha256_${'c'.repeat(64)}-arm64.tar`,
    );
  });

  it('does nothing when the guest has the image and the host has its archive', async () => {
    await fs.mkdir(path.dirname(addonImageArchive(REF, 'amd64')), { recursive: true });
    await fs.writeFile(addonImageArchive(REF, 'amd64'), 'archive');
    const ssh = fakeGuest([`docker.io/library/registry@sha256:${'c'.repeat(64)}`]);
    expect(await syncAddonImages(ssh, [REF], 'amd64')).toEqual({ loaded: [], saved: [] });
    expect(ssh.calls).toEqual(['sudo ctr -n k8s.io images ls -q']);
  });

  it('leaves an image neither side has to the kubelet to pull', async () => {
    const ssh = fakeGuest([]);
    expect(await syncAddonImages(ssh, [REF], 'amd64')).toEqual({ loaded: [], saved: [] });
  });

  it('does not fail the start when an export fails, and caches nothing then', async () => {
    const ssh = fakeGuest([REF], 1);
    expect(await syncAddonImages(ssh, [REF], 'amd64')).toEqual({ loaded: [], saved: [] });
    expect(ssh.calls.some((c) => c.includes(`images export --platform linux/amd64`) && c.endsWith(REF))).toBe(
      true,
    );
    await expect(fs.stat(addonImageArchive(REF, 'amd64'))).rejects.toThrow();
  });
});
