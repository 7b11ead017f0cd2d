// Every guest file renderer against a reviewed fixture (test/unit/cluster/kubernetes/fixtures).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import yaml from 'js-yaml';
import { guestConfigFiles, type GuestConfigInput } from '../../../../src/cluster/kubernetes/guest-config.js';
import { renderBridgeConflist } from '../../../../src/cluster/kubernetes/render/cni.js';
import { renderContainerdDropIn } from '../../../../src/cluster/kubernetes/render/containerd.js';
import { mergeHosts, renderHostsBlock } from '../../../../src/cluster/kubernetes/render/hosts.js';
import { kubeadmDocuments } from '../../../../src/cluster/kubernetes/render/kubeadm-config.js';
import {
  renderKubeletDropIn,
  renderKubeletUnit,
} from '../../../../src/cluster/kubernetes/render/kubelet-unit.js';
import { resolveKubernetesVersion } from '../../../../src/cluster/kubernetes/versions.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name), 'utf8');

const input: GuestConfigInput = {
  profile: 'dev',
  release: resolveKubernetesVersion('v1.37.1'),
  guestIp: '10.0.2.15',
  hostIp: '10.0.2.2',
  imageRepository: 'registry.k8s.io',
};
const kubeadmInput = {
  clusterName: 'c',
  kubernetesVersion: 'v1.36.4',
  kubeadmApi: 'kubeadm.k8s.io/v1beta4',
  nodeName: 'n',
  nodeIp: '10.0.2.15',
  bindPort: 8443,
  controlPlaneHost: 'cp',
  certificatesDir: '/pki',
  etcdDataDir: '/etcd',
  imageRepository: 'r',
  podSubnet: '10.244.0.0/16',
  serviceSubnet: '10.96.0.0/12',
  dnsDomain: 'cluster.local',
  criSocket: 'unix:///s',
  staticPodPath: '/m',
  certSANs: [],
};
const files = new Map(guestConfigFiles(input).map((f) => [f.path, f.content]));

describe('guest configuration renderers', () => {
  it('renders the containerd CRI drop-in', () => {
    expect(files.get('/etc/containerd/conf.d/10-kubernetes.toml')).toBe(
      fixture('containerd-10-kubernetes.toml'),
    );
  });

  it('renders the kubeadm config with all four documents', () => {
    const text = files.get('/var/lib/kdev/kubeadm.yaml')!;
    expect(text).toBe(fixture('kubeadm.yaml'));
    const docs = yaml.loadAll(text) as Record<string, unknown>[];
    expect(docs.map((d) => d.kind)).toEqual([
      'InitConfiguration',
      'ClusterConfiguration',
      'KubeletConfiguration',
      'KubeProxyConfiguration',
    ]);
    expect(docs[0]!.apiVersion).toBe('kubeadm.k8s.io/v1beta4');
  });

  it('renders the kubelet unit and drop-in', () => {
    expect(files.get('/etc/systemd/system/kubelet.service')).toBe(fixture('kubelet.service'));
    expect(files.get('/etc/systemd/system/kubelet.service.d/10-kdev.conf')).toBe(
      fixture('kubelet-10-kdev.conf'),
    );
  });

  it('renders the bridge CNI conflist', () => {
    expect(files.get('/etc/cni/net.d/10-kdev-bridge.conflist')).toBe(fixture('10-kdev-bridge.conflist'));
  });

  it('renders crictl, module and sysctl files', () => {
    expect(files.get('/etc/crictl.yaml')).toBe(
      'runtime-endpoint: unix:///run/containerd/containerd.sock\nimage-endpoint: unix:///run/containerd/containerd.sock\ntimeout: 10\n',
    );
    expect(files.get('/etc/modules-load.d/kdev-kubernetes.conf')).toBe('overlay\nbr_netfilter\n');
    expect(files.get('/etc/sysctl.d/90-kdev-kubernetes.conf')).toContain('net.ipv4.ip_forward = 1');
  });

  it('replaces the hosts block instead of appending a second one', () => {
    const block = renderHostsBlock([
      { ip: '10.0.2.15', names: ['control-plane.kdev.internal'] },
      { ip: '10.0.2.2', names: ['host.kdev.internal'] },
    ]);
    const base = '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n';
    const once = mergeHosts(base, block);
    expect(once).toBe(fixture('hosts'));
    expect(mergeHosts(once, block)).toBe(once);
    const moved = mergeHosts(
      once,
      renderHostsBlock([{ ip: '192.168.127.2', names: ['control-plane.kdev.internal'] }]),
    );
    expect(moved).not.toContain('10.0.2.15');
    expect(moved.match(/# BEGIN kdev/g)).toHaveLength(1);
  });

  it('uses the version table and the image repository', () => {
    const other = guestConfigFiles({
      ...input,
      release: resolveKubernetesVersion('v1.35.2'),
      imageRepository: 'mirror.local:5000/k8s',
    });
    const map = new Map(other.map((f) => [f.path, f.content]));
    expect(map.get('/etc/containerd/conf.d/10-kubernetes.toml')).toContain(
      'sandbox = "mirror.local:5000/k8s/pause:3.10.1"',
    );
    expect(map.get('/var/lib/kdev/kubeadm.yaml')).toContain('imageRepository: mirror.local:5000/k8s');
    expect(map.get('/var/lib/kdev/kubeadm.yaml')).toContain('kubernetesVersion: v1.35.2');
  });

  it('exposes the low-level renderers used above', () => {
    expect(
      renderContainerdDropIn({
        sandboxImage: 'p:1',
        cniConfDir: '/c',
        cniBinDirs: ['/b'],
        registryConfigPath: '/r',
      }),
    ).toContain('bin_dirs = ["/b"]');
    expect(renderKubeletUnit({ kubeletPath: '/k' })).toContain('Restart=always');
    expect(renderKubeletDropIn({ kubeletPath: '/k', nodeIp: '1.2.3.4', nodeName: 'n' })).toContain(
      '--node-ip=1.2.3.4',
    );
    expect(
      JSON.parse(renderBridgeConflist({ podSubnet: '10.1.0.0/16' })).plugins[0].ipam.ranges[0][0].subnet,
    ).toBe('10.1.0.0/16');
    expect(kubeadmDocuments({ ...kubeadmInput, kubeadmApi: 'x' }).map((d) => d.apiVersion)).toEqual([
      'x',
      'x',
      'kubelet.config.k8s.io/v1beta1',
      'kubeproxy.config.k8s.io/v1alpha1',
    ]);
  });
});
