// kubeadm's config file (kubeadm.k8s.io/v1beta4) with the kubelet's and kube-proxy's, tuned for a
// one-node dev cluster on a laptop the way minikube tunes its own: swap allowed, no disk-pressure
// eviction or image GC, no leader election, etcd on the data disk.
import yaml from 'js-yaml';

export interface KubeadmConfigInput {
  clusterName: string;
  kubernetesVersion: string;
  kubeadmApi: string;
  nodeName: string;
  nodeIp: string;
  bindPort: number;
  controlPlaneHost: string;
  certificatesDir: string;
  etcdDataDir: string;
  imageRepository: string;
  podSubnet: string;
  serviceSubnet: string;
  dnsDomain: string;
  criSocket: string;
  staticPodPath: string;
  /** Extra names and addresses on the API server certificate. */
  certSANs: string[];
}

const arg = (name: string, value: string) => ({ name, value });

export function kubeadmDocuments(input: KubeadmConfigInput): Record<string, unknown>[] {
  const init = {
    apiVersion: input.kubeadmApi,
    kind: 'InitConfiguration',
    localAPIEndpoint: { advertiseAddress: input.nodeIp, bindPort: input.bindPort },
    nodeRegistration: {
      criSocket: input.criSocket,
      name: input.nodeName,
      // One node runs everything: no control-plane taint.
      taints: [],
      imagePullPolicy: 'IfNotPresent',
      kubeletExtraArgs: [arg('node-ip', input.nodeIp)],
    },
    // Emulated CPUs (TCG) start the control plane slowly; kubeadm's 4m default is too tight.
    timeouts: { controlPlaneComponentHealthCheck: '10m0s', kubeletHealthCheck: '6m0s' },
  };
  const cluster = {
    apiVersion: input.kubeadmApi,
    kind: 'ClusterConfiguration',
    clusterName: input.clusterName,
    kubernetesVersion: input.kubernetesVersion,
    controlPlaneEndpoint: `${input.controlPlaneHost}:${input.bindPort}`,
    certificatesDir: input.certificatesDir,
    imageRepository: input.imageRepository,
    apiServer: { certSANs: input.certSANs },
    controllerManager: { extraArgs: [arg('leader-elect', 'false')] },
    scheduler: { extraArgs: [arg('leader-elect', 'false')] },
    etcd: { local: { dataDir: input.etcdDataDir } },
    networking: {
      dnsDomain: input.dnsDomain,
      podSubnet: input.podSubnet,
      serviceSubnet: input.serviceSubnet,
    },
  };
  const kubelet = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    cgroupDriver: 'systemd',
    containerRuntimeEndpoint: input.criSocket,
    clusterDomain: input.dnsDomain,
    staticPodPath: input.staticPodPath,
    hairpinMode: 'hairpin-veth',
    // Laptops have swap; a dev node must not refuse to run because of it.
    failSwapOn: false,
    // A full laptop disk should not evict the user's pods or delete their images.
    evictionHard: { 'nodefs.available': '0%', 'nodefs.inodesFree': '0%', 'imagefs.available': '0%' },
    imageGCHighThresholdPercent: 100,
    runtimeRequestTimeout: '15m',
  };
  const proxy = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clusterCIDR: input.podSubnet,
    metricsBindAddress: '0.0.0.0:10249',
    // 0: leave the kernel's conntrack table size alone (a VM may not allow changing it).
    conntrack: { maxPerCore: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
  };
  return [init, cluster, kubelet, proxy];
}

export function renderKubeadmConfig(input: KubeadmConfigInput): string {
  return kubeadmDocuments(input)
    .map((doc) => yaml.dump(doc, { lineWidth: -1, noRefs: true, quotingType: '"' }))
    .join('---\n');
}
