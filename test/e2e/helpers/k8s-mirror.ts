// A --binary-mirror folder in dl.k8s.io's layout whose kubeadm, kubelet, kubectl and crictl are
// small shell stand-ins: no Kubernetes binary is reachable from CI, but every guest phase up to
// `kubeadm init` (copy, checksum, install, link, configure) runs for real with them. The stand-in
// kubeadm fails init with a known line, which exercises kdev's failed-init report.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export const STAND_IN_INIT_ERROR = 'kdev e2e stand-in: no real kubeadm in this test';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

export function makeStandInMirror(root: string, version: string, criTools: string, arch = 'amd64'): string {
  const scripts: Record<string, string> = {
    kubeadm: `#!/bin/sh\necho "[init] Using Kubernetes version: ${version}"\necho "error execution phase preflight: ${STAND_IN_INIT_ERROR}" >&2\nexit 1\n`,
    kubelet: '#!/bin/sh\necho "kubelet stand-in" >&2\nexit 1\n',
    kubectl: '#!/bin/sh\necho "kubectl stand-in $*"\n',
  };
  const binDir = path.join(root, version, 'bin', 'linux', arch);
  fs.mkdirSync(binDir, { recursive: true });
  for (const [name, body] of Object.entries(scripts)) {
    fs.writeFileSync(path.join(binDir, name), body, { mode: 0o755 });
    fs.writeFileSync(path.join(binDir, `${name}.sha256`), sha(Buffer.from(body)));
  }
  const stage = fs.mkdtempSync(path.join(root, '.crictl-'));
  fs.writeFileSync(path.join(stage, 'crictl'), '#!/bin/sh\necho "crictl stand-in $*"\n', { mode: 0o755 });
  const criDir = path.join(root, 'cri-tools', criTools);
  fs.mkdirSync(criDir, { recursive: true });
  const tarball = path.join(criDir, `crictl-${criTools}-linux-${arch}.tar.gz`);
  execFileSync('tar', ['-C', stage, '-czf', tarball, 'crictl']);
  fs.writeFileSync(`${tarball}.sha256`, `${sha(fs.readFileSync(tarball))}  ${path.basename(tarball)}\n`);
  fs.rmSync(stage, { recursive: true });
  return root;
}
