// Every file kdev writes into the guest for Kubernetes, rendered from one input. Pure: the
// bootstrap step ships the list over SSH on every start (the guest's root is RAM).
import {
  API_SERVER_GUEST_PORT,
  CONTROL_PLANE_HOST,
  CRI_SOCKET,
  DNS_DOMAIN,
  guestPaths,
  POD_SUBNET,
  SERVICE_SUBNET,
} from './guest-layout.js';
import { renderBridgeConflist } from './render/cni.js';
import { renderContainerdDropIn } from './render/containerd.js';
import { renderCrictlConfig, renderModulesLoad, renderSysctl } from './render/crictl.js';
import { renderKubeadmConfig } from './render/kubeadm-config.js';
import { renderKubeletDropIn, renderKubeletUnit } from './render/kubelet-unit.js';
import { pauseImage, type KubernetesRelease } from './versions.js';

export interface GuestConfigInput {
  profile: string;
  release: KubernetesRelease;
  guestIp: string;
  /** The host as the guest sees it (slirp 10.0.2.2, gvproxy 192.168.127.1). */
  hostIp: string;
  imageRepository: string;
}

export interface GuestFile {
  path: string;
  content: string;
  mode: number;
}

export function kubeletPath(): string {
  return `${guestPaths.linkDir}/kubelet`;
}

export function guestConfigFiles(input: GuestConfigInput): GuestFile[] {
  const nodeName = input.profile;
  const file = (path: string, content: string, mode = 0o644): GuestFile => ({ path, content, mode });
  return [
    file(
      guestPaths.containerdDropIn,
      renderContainerdDropIn({
        sandboxImage: pauseImage(input.release, input.imageRepository),
        cniConfDir: '/etc/cni/net.d',
        // Debian's plugins live in /usr/lib/cni; /opt/cni/bin is where upstream puts them.
        cniBinDirs: ['/usr/lib/cni', '/opt/cni/bin'],
        registryConfigPath: guestPaths.registryConfigDir,
      }),
    ),
    file(guestPaths.cniConflist, renderBridgeConflist({ podSubnet: POD_SUBNET })),
    file(guestPaths.crictlConfig, renderCrictlConfig(CRI_SOCKET)),
    file(guestPaths.modulesLoad, renderModulesLoad()),
    file(guestPaths.sysctl, renderSysctl()),
    file(guestPaths.kubeletUnit, renderKubeletUnit({ kubeletPath: kubeletPath() })),
    file(
      guestPaths.kubeletDropIn,
      renderKubeletDropIn({ kubeletPath: kubeletPath(), nodeIp: input.guestIp, nodeName }),
    ),
    file(
      guestPaths.kubeadmConfig,
      renderKubeadmConfig({
        clusterName: input.profile,
        kubernetesVersion: input.release.version,
        kubeadmApi: input.release.kubeadmApi,
        nodeName,
        nodeIp: input.guestIp,
        bindPort: API_SERVER_GUEST_PORT,
        controlPlaneHost: CONTROL_PLANE_HOST,
        certificatesDir: guestPaths.certificatesDir,
        etcdDataDir: guestPaths.etcdDataDir,
        imageRepository: input.imageRepository,
        podSubnet: POD_SUBNET,
        serviceSubnet: SERVICE_SUBNET,
        dnsDomain: DNS_DOMAIN,
        criSocket: CRI_SOCKET,
        staticPodPath: guestPaths.staticPodPath,
        certSANs: ['127.0.0.1', 'localhost', CONTROL_PLANE_HOST, input.guestIp],
      }),
      0o600,
    ),
  ];
}
