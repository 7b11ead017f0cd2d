// Shell scripts kdev runs in the guest (as root, fed on stdin to `sudo sh -s`). Built by pure
// functions from constant paths and base64 payloads, so nothing user-typed reaches a shell.
import type { GuestFile } from './guest-config.js';
import { guestPaths, KUBERNETES_BINARIES } from './guest-layout.js';
import { shellQuote as q } from '../../vm/ssh.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** One `key=value` per line about the guest, read before anything is changed. */
export function probeScript(version: string): string {
  const bin = guestPaths.binDir(version);
  return [
    'set -u',
    'echo "guest_ip=$(ip -4 -o route get 1.1.1.1 2>/dev/null | sed -n \'s/.* src \\([0-9.]*\\).*/\\1/p\')"',
    'echo "host_ip=$(ip -4 route show default 2>/dev/null | sed -n \'s/^default via \\([0-9.]*\\).*/\\1/p\' | head -n1)"',
    'echo "containerd=$(containerd --version 2>/dev/null | awk \'{print $3}\')"',
    `if [ -f ${q(guestPaths.binMarker(version))} ]; then echo "binaries=$(cat ${q(`${bin}/SHA256SUMS`)} | sha256sum | cut -c1-64)"; else echo binaries=; fi`,
    `if [ -f ${q(guestPaths.adminConf)} ]; then echo initialized=yes; else echo initialized=no; fi`,
    `if [ -f ${q(guestPaths.adminConf)} ]; then echo "cluster_version=$(sed -n 's/^kubernetesVersion: //p' ${q(guestPaths.kubeadmConfig)} 2>/dev/null)"; fi`,
    'echo "arch=$(uname -m)"',
    '',
  ].join('\n');
}

export interface GuestFacts {
  guestIp: string;
  hostIp: string;
  containerd: string;
  /** sha256 of the installed SHA256SUMS, or '' when this version's binaries are not installed. */
  binaries: string;
  initialized: boolean;
  clusterVersion?: string;
  arch: string;
}

export function parseProbe(stdout: string): GuestFacts {
  const kv = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) kv.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return {
    guestIp: kv.get('guest_ip') ?? '',
    hostIp: kv.get('host_ip') ?? '',
    containerd: kv.get('containerd') ?? '',
    binaries: kv.get('binaries') ?? '',
    initialized: kv.get('initialized') === 'yes',
    clusterVersion: kv.get('cluster_version') || undefined,
    arch: kv.get('arch') ?? '',
  };
}

/** Receives a tar of the binaries and SHA256SUMS on stdin, checks them, installs, marks complete. */
export function installBinariesScript(version: string): string {
  const dir = guestPaths.binDir(version);
  const staging = `${guestPaths.stagingDir}/bin-${version}`;
  const files = [...KUBERNETES_BINARIES, 'crictl', 'SHA256SUMS'];
  return [
    'set -eu',
    `rm -rf ${q(staging)} && mkdir -p ${q(staging)}`,
    `tar -x -C ${q(staging)} -f -`,
    `cd ${q(staging)} && sha256sum -c --quiet SHA256SUMS`,
    `rm -f ${q(guestPaths.binMarker(version))} && mkdir -p ${q(dir)}`,
    `for f in ${files.join(' ')}; do mv -f "$f" ${q(dir)}/"$f"; done`,
    `chmod 0755 ${files
      .filter((f) => f !== 'SHA256SUMS')
      .map((f) => q(`${dir}/${f}`))
      .join(' ')}`,
    `touch ${q(guestPaths.binMarker(version))}`,
    `cd / && rm -rf ${q(staging)}`,
    '',
  ].join('\n');
}

/**
 * Writes every file (only when its content changed), links this version's binaries onto PATH,
 * loads the kernel modules and sysctls, restarts containerd only when its drop-in changed, and
 * enables the kubelet. Safe to run on every start.
 */
export function configureScript(version: string, files: readonly GuestFile[]): string {
  const lines = [
    'set -eu',
    'containerd_changed=0',
    'kubelet_changed=0',
    // put <path> <octal mode> <base64>: exit 0 when written, 1 when already identical.
    'put() {',
    '  mkdir -p "$(dirname "$1")"',
    '  printf %s "$3" | base64 -d > "$1.kdev-new"',
    '  chmod "$2" "$1.kdev-new"',
    '  if [ -f "$1" ] && cmp -s "$1.kdev-new" "$1"; then rm -f "$1.kdev-new"; chmod "$2" "$1"; return 1; fi',
    '  mv -f "$1.kdev-new" "$1"',
    '}',
  ];
  for (const f of files) {
    const call = `put ${q(f.path)} ${f.mode.toString(8)} ${q(b64(f.content))}`;
    if (f.path === guestPaths.containerdDropIn) lines.push(`if ${call}; then containerd_changed=1; fi`);
    else if (f.path.startsWith('/etc/systemd/system/kubelet'))
      lines.push(`if ${call}; then kubelet_changed=1; fi`);
    else lines.push(`${call} || true`);
  }
  const dir = guestPaths.binDir(version);
  lines.push(
    `mkdir -p ${q(guestPaths.registryConfigDir)} ${q(guestPaths.etcdDataDir)} ${q(guestPaths.staticPodPath)}`,
    `chmod 0700 ${q(guestPaths.etcdDataDir)}`,
    `for b in ${[...KUBERNETES_BINARIES, 'crictl'].join(' ')}; do ln -sfn ${q(dir)}/"$b" ${q(guestPaths.linkDir)}/"$b"; done`,
    'modprobe overlay || true',
    'modprobe br_netfilter',
    `sysctl -q -p ${q(guestPaths.sysctl)}`,
    'systemctl daemon-reload',
    'if [ "$containerd_changed" = 1 ]; then',
    '  systemctl restart containerd',
    'fi',
    // containerd (restarted or just booted) must answer before kubeadm or ctr talk to it.
    'i=0; until ctr version >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 100 ] || { echo "containerd does not answer" >&2; exit 1; }; sleep 0.2; done',
    // The kubelet reads /etc/resolv.conf (a link to systemd-resolved's file) for every pod's DNS,
    // and the guest starts resolved only once it is ready: wait for the file, up to ~60 s.
    'i=0; until [ -s /etc/resolv.conf ]; do i=$((i+1)); [ $i -lt 300 ] || { echo "no /etc/resolv.conf: systemd-resolved did not start" >&2; exit 1; }; sleep 0.2; done',
    'systemctl enable kubelet.service >/dev/null 2>&1',
    'if [ "$kubelet_changed" = 1 ] && systemctl is-active -q kubelet; then systemctl restart kubelet; fi',
    'echo "containerd_changed=$containerd_changed"',
    '',
  );
  return lines.join('\n');
}

/** kubeadm preflight checks a VM dev cluster fails on purpose (minikube skips the same ones). */
export function preflightIgnores(): string[] {
  const dash = (p: string) => p.replace(/^\//, '').replaceAll('/', '-');
  return [
    `DirAvailable--${dash(guestPaths.staticPodPath)}`,
    `DirAvailable--${dash(guestPaths.etcdDataDir)}`,
    ...['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].map(
      (c) => `FileAvailable--${dash(guestPaths.staticPodPath)}-${c}.yaml`,
    ),
    'Port-10250',
    'Swap',
    'NumCPU',
    'Mem',
  ];
}

export function kubeadmInitArgv(): string[] {
  return [
    'sudo',
    `${guestPaths.linkDir}/kubeadm`,
    'init',
    '--config',
    guestPaths.kubeadmConfig,
    `--ignore-preflight-errors=${preflightIgnores().join(',')}`,
  ];
}
