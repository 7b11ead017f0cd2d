// Kubernetes binaries from a local mirror (HTTP and a folder): verified, cached, never half-kept.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { binaryCacheDir, ensureBinaries } from '../../../src/cluster/kubernetes/binaries.js';
import { resolveKubernetesVersion } from '../../../src/cluster/kubernetes/versions.js';
import { useTempKdevHome } from '../../helpers/temp-home.js';

useTempKdevHome();

const release = resolveKubernetesVersion('v1.36.4');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A mirror folder in the upstream layout, with made-up binaries. */
function makeMirror(): { root: string; content: Record<string, Buffer> } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-mirror-'));
  const content: Record<string, Buffer> = {};
  const binDir = path.join(root, release.version, 'bin', 'linux', 'amd64');
  fs.mkdirSync(binDir, { recursive: true });
  for (const bin of ['kubeadm', 'kubelet', 'kubectl']) {
    content[bin] = Buffer.concat([Buffer.from(`#!/bin/sh\necho ${bin}\n`), randomBytes(300_000)]);
    fs.writeFileSync(path.join(binDir, bin), content[bin]);
    fs.writeFileSync(path.join(binDir, `${bin}.sha256`), sha(content[bin]));
  }
  const criDir = path.join(root, 'cri-tools', release.criTools);
  fs.mkdirSync(criDir, { recursive: true });
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), 'kdev-crictl-'));
  content.crictl = Buffer.from('#!/bin/sh\necho crictl\n');
  fs.writeFileSync(path.join(stage, 'crictl'), content.crictl, { mode: 0o755 });
  const tarball = `crictl-${release.criTools}-linux-amd64.tar.gz`;
  execFileSync('tar', ['-C', stage, '-czf', path.join(criDir, tarball), 'crictl']);
  const tgz = fs.readFileSync(path.join(criDir, tarball));
  fs.writeFileSync(path.join(criDir, `${tarball}.sha256`), `${sha(tgz)}  ${tarball}\n`);
  fs.rmSync(stage, { recursive: true });
  return { root, content };
}

/** Serves a folder; `truncate` names files whose body is cut short of its Content-Length. */
async function serve(root: string, truncate = new Set<string>()) {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const rel = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.push(rel);
    const file = path.join(root, rel);
    if (!file.startsWith(root) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      res.writeHead(404).end('<html>not found</html>');
      return;
    }
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': body.length });
    if (truncate.has(path.basename(file))) {
      res.write(body.subarray(0, body.length / 2));
      res.socket?.destroy();
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const cacheDir = () => binaryCacheDir(release.version, 'amd64');
const leftovers = () =>
  fs.readdirSync(cacheDir()).filter((f) => f.includes('.part') || f.startsWith('.crictl-'));

describe('Kubernetes binary cache', () => {
  it('downloads, verifies and caches from an HTTP mirror, with progress; a second run fetches nothing', async () => {
    const { root, content } = makeMirror();
    const srv = await serve(root);
    try {
      const lines: string[] = [];
      const r = await ensureBinaries({
        release,
        arch: 'amd64',
        mirror: srv.url,
        report: (l) => lines.push(l),
      });
      expect(r.downloaded.sort()).toEqual([
        'crictl-v1.36.0-linux-amd64.tar.gz',
        'kubeadm',
        'kubectl',
        'kubelet',
      ]);
      for (const bin of ['kubeadm', 'kubelet', 'kubectl', 'crictl']) {
        const file = path.join(cacheDir(), bin);
        expect(fs.readFileSync(file).equals(content[bin]!)).toBe(true);
        expect(fs.statSync(file).mode & 0o111).not.toBe(0);
        expect(r.sums.get(bin)).toBe(sha(content[bin]!));
      }
      expect(fs.readFileSync(path.join(cacheDir(), 'SHA256SUMS'), 'utf8')).toContain(
        `${sha(content.kubelet!)}  kubelet`,
      );
      expect(lines.some((l) => /^kubelet: [\d.]+\/[\d.]+ MiB at [\d.]+ MiB\/s$/.test(l))).toBe(true);
      expect(srv.hits).toContain(`/${release.version}/bin/linux/amd64/kubelet.sha256`);
      expect(srv.hits).toContain(`/cri-tools/v1.36.0/crictl-v1.36.0-linux-amd64.tar.gz`);
      const before = srv.hits.length;
      expect((await ensureBinaries({ release, arch: 'amd64', mirror: srv.url })).downloaded).toEqual([]);
      expect(srv.hits.length).toBe(before);
      expect(leftovers()).toEqual([]);
    } finally {
      await srv.close();
      fs.rmSync(root, { recursive: true });
    }
  });

  it('refuses a checksum mismatch, naming the file, and caches nothing of it', async () => {
    const { root } = makeMirror();
    fs.writeFileSync(path.join(root, release.version, 'bin/linux/amd64/kubelet.sha256'), 'a'.repeat(64));
    const srv = await serve(root);
    try {
      await expect(ensureBinaries({ release, arch: 'amd64', mirror: srv.url })).rejects.toMatchObject({
        code: 'CHECKSUM_MISMATCH',
        message: expect.stringContaining('kubelet'),
      });
      expect(fs.existsSync(path.join(cacheDir(), 'kubelet'))).toBe(false);
      expect(fs.existsSync(path.join(cacheDir(), 'SHA256SUMS'))).toBe(false);
      expect(leftovers()).toEqual([]);
    } finally {
      await srv.close();
      fs.rmSync(root, { recursive: true });
    }
  });

  it('fails a truncated download and keeps no partial file; the next run completes', async () => {
    const { root } = makeMirror();
    const srv = await serve(root, new Set(['kubectl']));
    try {
      await expect(ensureBinaries({ release, arch: 'amd64', mirror: srv.url })).rejects.toMatchObject({
        code: expect.stringMatching(/DOWNLOAD_FAILED|CHECKSUM_MISMATCH/),
      });
      expect(fs.existsSync(path.join(cacheDir(), 'kubectl'))).toBe(false);
      expect(leftovers()).toEqual([]);
    } finally {
      await srv.close();
    }
    const good = await serve(root);
    try {
      const r = await ensureBinaries({ release, arch: 'amd64', mirror: good.url });
      // kubeadm and kubelet were verified and kept the first time.
      expect(r.downloaded.sort()).toEqual(['crictl-v1.36.0-linux-amd64.tar.gz', 'kubectl']);
    } finally {
      await good.close();
      fs.rmSync(root, { recursive: true });
    }
  });

  it('takes a local folder as --binary-mirror', async () => {
    const { root, content } = makeMirror();
    try {
      await ensureBinaries({ release, arch: 'amd64', mirror: root });
      expect(fs.readFileSync(path.join(cacheDir(), 'crictl')).equals(content.crictl!)).toBe(true);
    } finally {
      fs.rmSync(root, { recursive: true });
    }
  });

  it('refuses a .sha256 that is not just a digest, and a mirror scheme it cannot read', async () => {
    const { root } = makeMirror();
    fs.writeFileSync(path.join(root, release.version, 'bin/linux/amd64/kubeadm.sha256'), '<html>oops</html>');
    try {
      await expect(ensureBinaries({ release, arch: 'amd64', mirror: root })).rejects.toMatchObject({
        code: 'DOWNLOAD_FAILED',
        message: expect.stringMatching(/kubeadm\.sha256 is not a SHA-256 checksum/),
      });
      await expect(ensureBinaries({ release, arch: 'amd64', mirror: 'ftp://x/y' })).rejects.toMatchObject({
        code: 'BAD_INPUT',
      });
    } finally {
      fs.rmSync(root, { recursive: true });
    }
  });
});
