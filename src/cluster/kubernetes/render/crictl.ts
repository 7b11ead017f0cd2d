// crictl's config, so `kdev ssh -- sudo crictl ps` talks to containerd without flags.

export function renderCrictlConfig(criSocket: string): string {
  return `runtime-endpoint: ${criSocket}\nimage-endpoint: ${criSocket}\ntimeout: 10\n`;
}

/** Kernel modules and sysctls the kubelet's preflight and kube-proxy need. */
export function renderModulesLoad(): string {
  return 'overlay\nbr_netfilter\n';
}

export function renderSysctl(): string {
  return [
    'net.bridge.bridge-nf-call-iptables = 1',
    'net.bridge.bridge-nf-call-ip6tables = 1',
    'net.ipv4.ip_forward = 1',
    '',
  ].join('\n');
}
