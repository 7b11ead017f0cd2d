import {
  controlPlaneImages,
  MINOR_RELEASES,
  resolveKubernetesVersion,
  STABLE_VERSION,
} from '../../../../src/cluster/kubernetes/versions.js';
import { KdevError } from '../../../../src/lib/errors.js';

describe('Kubernetes versions', () => {
  it('resolves stable (the default) to the newest pinned patch, at least v1.36.4', () => {
    const r = resolveKubernetesVersion();
    expect(r.version).toBe(STABLE_VERSION);
    const [, maj, min, patch] = /^v(\d+)\.(\d+)\.(\d+)$/.exec(r.version)!.map(Number);
    expect(maj! * 1e6 + min! * 1e3 + patch!).toBeGreaterThanOrEqual(1_036_004);
    expect(resolveKubernetesVersion('stable').minor).toBe(MINOR_RELEASES[0]!.minor);
  });

  it('covers the newest four minors, newest first, each with a kubeadm API, images and cri-tools', () => {
    expect(MINOR_RELEASES.map((r) => r.minor)).toEqual(['1.37', '1.36', '1.35', '1.34']);
    for (const r of MINOR_RELEASES) {
      expect(r.kubeadmApi).toBe('kubeadm.k8s.io/v1beta4');
      expect(r.images.pause).toMatch(/^3\.\d+(\.\d+)?$/);
      expect(r.images.etcd).toMatch(/^3\.\d+\.\d+-\d+$/);
      expect(r.images.coredns).toMatch(/^v1\.\d+\.\d+$/);
      expect(r.criTools).toBe(`v${r.minor}.0`);
      expect(r.pinnedPatch.startsWith(`v${r.minor}.`)).toBe(true);
    }
    expect(resolveKubernetesVersion('v1.36.4').images).toEqual({
      pause: '3.10.2',
      etcd: '3.6.8-0',
      coredns: 'v1.14.2',
    });
  });

  it('accepts vX.Y.Z with or without the v', () => {
    expect(resolveKubernetesVersion('1.35.3').version).toBe('v1.35.3');
    expect(resolveKubernetesVersion('v1.34.0').criTools).toBe('v1.34.0');
  });

  it.each(['v1.33.5', 'v1.38.0', 'v2.0.0'])('refuses %s outside the window, listing the window', (v) => {
    let err: unknown;
    try {
      resolveKubernetesVersion(v);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KdevError);
    expect((err as KdevError).code).toBe('BAD_INPUT');
    expect((err as KdevError).hints.join(' ')).toContain('v1.37, v1.36, v1.35, v1.34');
  });

  it.each(['1.36', 'v1.36.x', 'latest-ish', ''])('refuses the malformed version %j', (v) => {
    expect(() => resolveKubernetesVersion(v)).toThrow(/invalid --kubernetes-version/);
  });

  it('lists the control-plane images, from a mirror when asked', () => {
    const imgs = controlPlaneImages(resolveKubernetesVersion('v1.36.4'), 'mirror:5000/k8s');
    expect(imgs).toContain('mirror:5000/k8s/kube-apiserver:v1.36.4');
    expect(imgs).toContain('mirror:5000/k8s/etcd:3.6.8-0');
    expect(imgs).toContain('mirror:5000/k8s/coredns/coredns:v1.14.2');
    expect(imgs).toHaveLength(7);
  });
});
