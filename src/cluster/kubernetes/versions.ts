// The Kubernetes versions kdev bootstraps: one row per minor release (kubeadm config API, the
// images kubeadm pulls, the matching cri-tools release), the supported window and `stable`.
import { KdevError } from '../../lib/errors.js';

export interface MinorRelease {
  minor: string;
  kubeadmApi: 'kubeadm.k8s.io/v1beta4';
  /** Tags kubeadm's own constants pin for `pinnedPatch` (registry.k8s.io/<name>:<tag>). */
  images: { pause: string; etcd: string; coredns: string };
  /** cri-tools (crictl) is released once per Kubernetes minor. */
  criTools: string;
  /** The patch release the image tags above were checked against. */
  pinnedPatch: string;
}

// Image tags as `kubeadm config images list` prints them for each pinned patch (evidence: public
// bootstrap scripts and notes recording that output, e.g. v1.37.1 → coredns v1.14.6, etcd
// 3.7.0-0, pause 3.10.2; v1.36.4 → coredns v1.14.2, etcd 3.6.8-0, pause 3.10.2; kubeadm's
// constants.go for v1.35.x → etcd 3.6.6-0, coredns v1.13.1, pause 3.10.1). Later patches of a
// minor may bump etcd; kubeadm then pulls its own choice and the image cache asks the guest's
// kubeadm (`kubeadm config images list`), so only the pause tag here is load-bearing.
export const MINOR_RELEASES: readonly MinorRelease[] = [
  {
    minor: '1.37',
    kubeadmApi: 'kubeadm.k8s.io/v1beta4',
    images: { pause: '3.10.2', etcd: '3.7.0-0', coredns: 'v1.14.6' },
    criTools: 'v1.37.0',
    pinnedPatch: 'v1.37.1',
  },
  {
    minor: '1.36',
    kubeadmApi: 'kubeadm.k8s.io/v1beta4',
    images: { pause: '3.10.2', etcd: '3.6.8-0', coredns: 'v1.14.2' },
    criTools: 'v1.36.0',
    pinnedPatch: 'v1.36.4',
  },
  {
    minor: '1.35',
    kubeadmApi: 'kubeadm.k8s.io/v1beta4',
    images: { pause: '3.10.1', etcd: '3.6.6-0', coredns: 'v1.13.1' },
    criTools: 'v1.35.0',
    pinnedPatch: 'v1.35.8',
  },
  {
    minor: '1.34',
    kubeadmApi: 'kubeadm.k8s.io/v1beta4',
    images: { pause: '3.10.1', etcd: '3.6.4-0', coredns: 'v1.12.1' },
    criTools: 'v1.34.0',
    pinnedPatch: 'v1.34.2',
  },
];

/**
 * `stable`: the newest patch release seen in public evidence at the time of writing (November
 * 2026): v1.37.1 (`kubeadm config images list` output and upgrade-plan notes that name it as the
 * latest stable; no v1.37.2 found). Update together with MINOR_RELEASES.
 */
export const STABLE_VERSION = 'v1.37.1';

export const DEFAULT_KUBERNETES_VERSION = 'stable';

export interface KubernetesRelease extends MinorRelease {
  /** Full version with the leading v, e.g. v1.37.1. */
  version: string;
}

const VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)$/;

export function supportedWindow(): string {
  return MINOR_RELEASES.map((r) => `v${r.minor}`).join(', ');
}

/** `stable` or vX.Y.Z (the v is optional) within the newest four minors, else BAD_INPUT. */
export function resolveKubernetesVersion(input: string = DEFAULT_KUBERNETES_VERSION): KubernetesRelease {
  const raw = input.trim();
  const wanted = raw === 'stable' || raw === 'latest' ? STABLE_VERSION : raw;
  const m = VERSION_RE.exec(wanted);
  if (!m) {
    throw new KdevError('BAD_INPUT', `invalid --kubernetes-version "${input}"`, {
      hints: [`Use stable or a release like ${STABLE_VERSION}; supported minors: ${supportedWindow()}`],
    });
  }
  const minor = `${Number(m[1])}.${Number(m[2])}`;
  const row = MINOR_RELEASES.find((r) => r.minor === minor);
  if (!row) {
    throw new KdevError('BAD_INPUT', `Kubernetes v${minor} is outside the supported window`, {
      hints: [`Supported minors: ${supportedWindow()} (default: stable = ${STABLE_VERSION})`],
    });
  }
  return { ...row, version: `v${Number(m[1])}.${Number(m[2])}.${Number(m[3])}` };
}

/** registry.k8s.io (or a mirror) image references kubeadm needs for this release. */
export function controlPlaneImages(release: KubernetesRelease, repository = 'registry.k8s.io'): string[] {
  const v = release.version;
  return [
    `${repository}/kube-apiserver:${v}`,
    `${repository}/kube-controller-manager:${v}`,
    `${repository}/kube-scheduler:${v}`,
    `${repository}/kube-proxy:${v}`,
    `${repository}/coredns/coredns:${release.images.coredns}`,
    `${repository}/pause:${release.images.pause}`,
    `${repository}/etcd:${release.images.etcd}`,
  ];
}

export function pauseImage(release: KubernetesRelease, repository = 'registry.k8s.io'): string {
  return `${repository}/pause:${release.images.pause}`;
}
