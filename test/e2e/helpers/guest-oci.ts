// A one-layer OCI image archive holding Debian's static busybox, made from plain files, tar and
// sha256, so e2e tests can run a container without any registry.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** Writes `content` as a blob of the layout and returns its descriptor. */
function blob(layout: string, mediaType: string, content: Buffer | string) {
  const digest = sha256(content);
  fs.writeFileSync(path.join(layout, 'blobs', 'sha256', digest), content);
  return { mediaType, digest: `sha256:${digest}`, size: Buffer.byteLength(content) };
}

/**
 * Builds `<dir>/busybox-oci.tar`, an OCI image layout named `name` (e.g.
 * docker.io/library/kdev-busybox:e2e) whose only layer is /bin/busybox from `busybox`.
 */
export async function buildBusyboxOciArchive(
  dir: string,
  name: string,
  busybox = '/bin/busybox',
  architecture: 'amd64' | 'arm64' = 'amd64',
): Promise<string> {
  const rootfs = path.join(dir, 'layer-root');
  const layout = path.join(dir, 'layout');
  fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true });
  fs.mkdirSync(path.join(layout, 'blobs', 'sha256'), { recursive: true });
  fs.copyFileSync(busybox, path.join(rootfs, 'bin', 'busybox'));
  fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
  fs.symlinkSync('busybox', path.join(rootfs, 'bin', 'sh'));

  // Uncompressed layer: its digest is also its diff_id.
  const layerTar = path.join(dir, 'layer.tar');
  await execa('tar', [
    '--format=posix',
    '--numeric-owner',
    '--owner=0',
    '--group=0',
    '-C',
    rootfs,
    '-cf',
    layerTar,
    'bin',
  ]);
  const layer = blob(layout, 'application/vnd.oci.image.layer.v1.tar', fs.readFileSync(layerTar));

  const platform = { architecture, os: 'linux' };
  const config = blob(
    layout,
    'application/vnd.oci.image.config.v1+json',
    JSON.stringify({
      ...platform,
      config: { Cmd: ['/bin/sh'], Env: ['PATH=/bin'] },
      rootfs: { type: 'layers', diff_ids: [layer.digest] },
    }),
  );
  const manifest = blob(
    layout,
    'application/vnd.oci.image.manifest.v1+json',
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config,
      layers: [layer],
    }),
  );
  const tag = name.slice(name.lastIndexOf(':') + 1);
  fs.writeFileSync(
    path.join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          ...manifest,
          platform,
          // containerd names the imported image from the first; other tools read the second.
          annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  fs.writeFileSync(path.join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));

  const archive = path.join(dir, 'busybox-oci.tar');
  await execa('tar', ['--format=posix', '-C', layout, '-cf', archive, 'oci-layout', 'index.json', 'blobs']);
  return archive;
}

/**
 * Debian's static busybox for another architecture (an arm64 guest on this x86_64 host): the
 * package downloaded and unpacked with a private apt state, nothing installed. Returns its path.
 */
export async function downloadBusybox(dir: string, debArch: string): Promise<string> {
  const state = path.join(dir, 'apt');
  for (const d of ['lists/partial', 'cache/archives/partial'])
    fs.mkdirSync(path.join(state, d), { recursive: true });
  fs.writeFileSync(path.join(state, 'status'), '');
  const apt = [
    ...['-o', `APT::Architecture=${debArch}`, '-o', `APT::Architectures::=${debArch}`],
    ...[
      '-o',
      `Dir::State::Lists=${path.join(state, 'lists')}`,
      '-o',
      `Dir::Cache=${path.join(state, 'cache')}`,
    ],
    ...['-o', `Dir::State::status=${path.join(state, 'status')}`, '-o', 'Acquire::Languages=none'],
    ...['-o', 'APT::Sandbox::User=root'],
  ];
  await execa('apt-get', [...apt, '-qq', 'update']);
  await execa('apt-get', [...apt, '-qq', 'download', `busybox-static:${debArch}`], { cwd: dir });
  const deb = fs.readdirSync(dir).find((f) => f.startsWith('busybox-static_') && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download busybox-static:${debArch} left no package in ${dir}`);
  await execa('dpkg-deb', ['-x', path.join(dir, deb), path.join(dir, 'pkg')]);
  return path.join(dir, 'pkg', 'bin', 'busybox');
}
