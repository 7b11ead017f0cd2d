// containerd 2.x CRI settings for Kubernetes, as a drop-in that the guest's main config imports
// (config version 3: the CRI plugin is split into cri.v1.images and cri.v1.runtime).

export interface ContainerdInput {
  /** The sandbox ("pause") image kubeadm expects for this version. */
  sandboxImage: string;
  cniConfDir: string;
  cniBinDirs: readonly string[];
  /** hosts.toml tree for registry mirrors (containerd's config_path). */
  registryConfigPath: string;
}

const q = (s: string) => JSON.stringify(s);

export function renderContainerdDropIn(input: ContainerdInput): string {
  return [
    '# Written by kdev on every start: CRI settings for the kubelet it installs.',
    'version = 3',
    '',
    "[plugins.'io.containerd.cri.v1.images']",
    "  snapshotter = 'overlayfs'",
    '',
    "  [plugins.'io.containerd.cri.v1.images'.pinned_images]",
    `    sandbox = ${q(input.sandboxImage)}`,
    '',
    "  [plugins.'io.containerd.cri.v1.images'.registry]",
    `    config_path = ${q(input.registryConfigPath)}`,
    '',
    "[plugins.'io.containerd.cri.v1.runtime']",
    "  [plugins.'io.containerd.cri.v1.runtime'.containerd]",
    "    default_runtime_name = 'runc'",
    '',
    "    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]",
    "      runtime_type = 'io.containerd.runc.v2'",
    '',
    "      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]",
    '        # kubelet runs with cgroupDriver: systemd; both must agree.',
    '        SystemdCgroup = true',
    '',
    "  [plugins.'io.containerd.cri.v1.runtime'.cni]",
    `    bin_dirs = [${input.cniBinDirs.map(q).join(', ')}]`,
    `    conf_dir = ${q(input.cniConfDir)}`,
    '',
  ].join('\n');
}
