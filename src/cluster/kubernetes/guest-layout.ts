// Where the Kubernetes pieces live inside the guest. The guest's root is RAM; only /etc/kubernetes,
// /var/lib/{kubelet,containerd,cni,kdev}, /var/log and /data are on the data disk, so everything
// outside those folders is written again on every start.

/** The API server's port inside the guest (the host reaches it through a forward). */
export const API_SERVER_GUEST_PORT = 8443;
export const CONTROL_PLANE_HOST = 'control-plane.kdev.internal';
export const HOST_ALIAS = 'host.kdev.internal';
export const POD_SUBNET = '10.244.0.0/16';
export const SERVICE_SUBNET = '10.96.0.0/12';
/** The first address of the service subnet: the `kubernetes` service. */
export const SERVICE_IP = '10.96.0.1';
export const CLUSTER_DNS_IP = '10.96.0.10';
export const DNS_DOMAIN = 'cluster.local';
export const CRI_SOCKET = 'unix:///run/containerd/containerd.sock';

export const guestPaths = {
  /** Persistent: binaries per version, with a marker written last. */
  binDir: (version: string) => `/var/lib/kdev/kubernetes/${version}`,
  binMarker: (version: string) => `/var/lib/kdev/kubernetes/${version}/.complete`,
  /** On PATH for root and sudo (RAM: re-linked every start). */
  linkDir: '/usr/local/bin',
  certificatesDir: '/etc/kubernetes/pki',
  etcdDataDir: '/var/lib/kdev/etcd',
  kubeadmConfig: '/var/lib/kdev/kubeadm.yaml',
  /** kubeadm writes these on init; their presence means the cluster exists. */
  adminConf: '/etc/kubernetes/admin.conf',
  apiServerManifest: '/etc/kubernetes/manifests/kube-apiserver.yaml',
  staticPodPath: '/etc/kubernetes/manifests',
  kubeletUnit: '/etc/systemd/system/kubelet.service',
  kubeletDropIn: '/etc/systemd/system/kubelet.service.d/10-kdev.conf',
  containerdDropIn: '/etc/containerd/conf.d/10-kubernetes.toml',
  registryConfigDir: '/etc/containerd/certs.d',
  cniConflist: '/etc/cni/net.d/10-kdev-bridge.conflist',
  crictlConfig: '/etc/crictl.yaml',
  modulesLoad: '/etc/modules-load.d/kdev-kubernetes.conf',
  sysctl: '/etc/sysctl.d/90-kdev-kubernetes.conf',
  /** Where host files are staged before `install` moves them into place. */
  stagingDir: '/var/lib/kdev/staging',
} as const;

export const KUBERNETES_BINARIES = ['kubeadm', 'kubelet', 'kubectl'] as const;
export type KubernetesBinary = (typeof KUBERNETES_BINARIES)[number];
