// The kubelet's systemd unit and kdev's drop-in. kubeadm writes /var/lib/kubelet/config.yaml and
// kubeadm-flags.env at init; the drop-in points kubelet at them and pins the node's IP and name.

export interface KubeletUnitInput {
  kubeletPath: string;
  nodeIp: string;
  nodeName: string;
}

export function renderKubeletUnit(input: Pick<KubeletUnitInput, 'kubeletPath'>): string {
  return [
    '[Unit]',
    'Description=kubelet: the Kubernetes node agent (kdev)',
    'Documentation=https://kubernetes.io/docs/',
    'Wants=network-online.target containerd.service',
    'After=network-online.target containerd.service kdev-data.service',
    // Before kubeadm init the config is missing and kubelet exits; it must keep coming back.
    'StartLimitIntervalSec=0',
    '',
    '[Service]',
    `ExecStart=${input.kubeletPath}`,
    'Restart=always',
    'RestartSec=2',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

export function renderKubeletDropIn(input: KubeletUnitInput): string {
  const flags = [
    '--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf',
    '--kubeconfig=/etc/kubernetes/kubelet.conf',
    '--config=/var/lib/kubelet/config.yaml',
    `--node-ip=${input.nodeIp}`,
    `--hostname-override=${input.nodeName}`,
  ];
  return [
    '# Written by kdev on every start.',
    '[Service]',
    'Environment="KUBELET_KDEV_ARGS=' + flags.join(' ') + '"',
    // kubeadm's per-node flags (e.g. the pause image); the - lets kubelet start before init.
    'EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env',
    'ExecStart=',
    `ExecStart=${input.kubeletPath} $KUBELET_KDEV_ARGS $KUBELET_KUBEADM_ARGS`,
    '',
  ].join('\n');
}
