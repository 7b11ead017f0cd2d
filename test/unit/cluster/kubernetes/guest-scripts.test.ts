import { execFileSync } from 'node:child_process';
import { guestConfigFiles } from '../../../../src/cluster/kubernetes/guest-config.js';
import {
  configureScript,
  installBinariesScript,
  parseProbe,
  preflightIgnores,
  probeScript,
} from '../../../../src/cluster/kubernetes/guest-scripts.js';
import { resolveKubernetesVersion } from '../../../../src/cluster/kubernetes/versions.js';

const release = resolveKubernetesVersion('v1.36.4');
const files = guestConfigFiles({
  profile: 'dev',
  release,
  guestIp: '10.0.2.15',
  hostIp: '10.0.2.2',
  imageRepository: 'registry.k8s.io',
});

/** The guest's /bin/sh is dash; `sh -n` parses without running. */
const parses = (script: string) => execFileSync('sh', ['-n'], { input: script });

describe('guest scripts', () => {
  it('are valid POSIX shell', () => {
    for (const s of [
      probeScript(release.version),
      installBinariesScript(release.version),
      configureScript(release.version, files),
    ])
      expect(() => parses(s)).not.toThrow();
  });

  it('the configure script writes every file with its mode, containerd restart only on change', () => {
    const s = configureScript(release.version, [
      ...files,
      { path: "/etc/it's.conf", content: 'x', mode: 0o600 },
    ]);
    for (const f of files)
      expect(s).toContain(`put ${f.path} ${f.mode.toString(8)} ${Buffer.from(f.content).toString('base64')}`);
    expect(s).toContain(`if put /etc/containerd/conf.d/10-kubernetes.toml 644 `);
    expect(s).toContain("put '/etc/it'\\''s.conf' 600 eA==");
    expect(s).toContain('ln -sfn /var/lib/kdev/kubernetes/v1.36.4/"$b" /usr/local/bin/"$b"');
    expect(s).toContain('systemctl enable kubelet.service');
    // The guest starts systemd-resolved only after KDEV_READY: the kubelet must find its file.
    const waitDns = s.indexOf('until [ -s /etc/resolv.conf ]');
    expect(waitDns).toBeGreaterThan(-1);
    expect(waitDns).toBeLessThan(s.indexOf('systemctl enable kubelet.service'));
  });

  it('the install script checks the sums before it moves anything and marks completion last', () => {
    const s = installBinariesScript(release.version).split('\n');
    const check = s.findIndex((l) => l.includes('sha256sum -c'));
    const move = s.findIndex((l) => l.includes('mv -f'));
    const mark = s.findIndex((l) => l.startsWith('touch'));
    expect(check).toBeGreaterThan(0);
    expect(move).toBeGreaterThan(check);
    expect(mark).toBeGreaterThan(move);
  });

  it('reads the probe answer', () => {
    expect(
      parseProbe(
        'guest_ip=10.0.2.15\nhost_ip=10.0.2.2\ncontainerd=2.1.9\nbinaries=\ninitialized=yes\ncluster_version=v1.36.4\narch=x86_64\n',
      ),
    ).toEqual({
      guestIp: '10.0.2.15',
      hostIp: '10.0.2.2',
      containerd: '2.1.9',
      binaries: '',
      initialized: true,
      clusterVersion: 'v1.36.4',
      arch: 'x86_64',
    });
  });

  it('ignores only the preflight checks a VM dev cluster fails on purpose', () => {
    expect(preflightIgnores()).toEqual([
      'DirAvailable--etc-kubernetes-manifests',
      'DirAvailable--var-lib-kdev-etcd',
      'FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml',
      'FileAvailable--etc-kubernetes-manifests-kube-controller-manager.yaml',
      'FileAvailable--etc-kubernetes-manifests-kube-scheduler.yaml',
      'FileAvailable--etc-kubernetes-manifests-etcd.yaml',
      'Port-10250',
      'Swap',
      'NumCPU',
      'Mem',
    ]);
  });
});
