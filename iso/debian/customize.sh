#!/usr/bin/env bash
# Debian-specific tailoring of the mmdebstrap root filesystem: applies the
# shared overlay, creates the kdev user, trims units that only slow a TCG boot
# and prunes files a RAM-resident root does not need.
# usage: customize.sh ROOTFS OVERLAY
set -euo pipefail
root=$1 overlay=$2

cp -a --no-preserve=ownership "$overlay/." "$root/"
chmod 0755 "$root/init" "$root"/usr/lib/kdev/*.sh
chmod 0644 "$root/usr/lib/kdev/common.sh"
chmod 0440 "$root/etc/sudoers.d/kdev"
chmod 0644 "$root/etc/profile.d/kdev-path.sh"

# '*' (not '!'): a locked password would make sshd refuse key logins without PAM.
chroot "$root" useradd --uid 1000 --create-home --user-group --shell /bin/bash --password '*' --comment kdev kdev
# seed.sh drops authorized_keys here at every boot.
install -d -m 0700 -o 1000 -g 1000 "$root/home/kdev/.ssh"

# The host generates the guest's host key and pins it; never ship or make one.
rm -f "$root"/etc/ssh/ssh_host_*
echo kdev >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# Upstream servers straight from DHCP, not the 127.0.0.53 stub: pods that
# inherit it (CoreDNS) would otherwise loop back into themselves.
ln -sfn /run/systemd/resolve/resolv.conf "$root/etc/resolv.conf"
# Empty machine-id: systemd makes a transient one per boot without treating
# the boot as a first boot (no presets, no firstboot prompts).
: >"$root/etc/machine-id"
mkdir -p "$root/opt/cni"
ln -sfn /usr/lib/cni "$root/opt/cni/bin"
mkdir -p "$root/etc/cni/net.d" "$root/mnt/kdev-data" "$root/data"
# data.sh's bind-mount points (etc/kdev/data.fstab), so that it need not make them at boot.
mkdir -p "$root/var/lib/containerd" "$root/var/lib/kubelet" "$root/var/lib/cni" "$root/var/lib/kdev" \
  "$root/etc/kubernetes" "$root/var/log"

systemctl --root="$root" enable systemd-networkd.service containerd.service ssh.service >/dev/null 2>&1
# Its package enables it; ready.sh starts it instead (see there).
systemctl --root="$root" disable systemd-resolved.service >/dev/null 2>&1
# Each unit costs real time under TCG; none of these matter in a throwaway root.
# The last five: /dev is devtmpfs and gets no nodes for modules not loaded (a
# module's own node appears when it loads), and / is already in RAM (its
# overlay's upper layer), so /tmp and /run/lock need no tmpfs of their own.
# systemd-modules-load and systemd-sysctl: the initrd does their work
# (initrd/init), before systemd starts.
# sshd-keygen.service: the host key comes from the seed, and the unit (ordered
# after basic.target, before ssh.service) held sshd back until basic.target.
mask=(
  apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer
  systemd-tmpfiles-clean.timer dpkg-db-backup.timer
  getty@.service serial-getty@.service console-getty.service getty-static.service autovt@.service
  systemd-networkd-wait-online.service systemd-udev-settle.service systemd-time-wait-sync.service
  systemd-user-sessions.service
  systemd-hwdb-update.service systemd-journal-catalog-update.service ldconfig.service
  systemd-update-done.service systemd-update-utmp.service systemd-update-utmp-runlevel.service
  systemd-random-seed.service systemd-pstore.service systemd-firstboot.service
  systemd-machine-id-commit.service systemd-sysusers.service systemd-binfmt.service
  proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount
  sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount sys-fs-fuse-connections.mount
  dev-hugepages.mount dev-mqueue.mount
  systemd-ask-password-console.path systemd-ask-password-wall.path
  remote-fs.target cryptsetup.target veritysetup.target integritysetup.target
  systemd-network-generator.service
  nftables.service
  systemd-sysext.service systemd-confext.service systemd-tpm2-setup.service
  systemd-tpm2-setup-early.service systemd-hibernate-clear.service systemd-bsod.service
  systemd-battery-check.service systemd-boot-random-seed.service
  systemd-udev-load-credentials.service modprobe@drm.service systemd-remount-fs.service
  systemd-networkd-persistent-storage.service
  kmod-static-nodes.service systemd-tmpfiles-setup-dev-early.service systemd-tmpfiles-setup-dev.service
  tmp.mount run-lock.mount
  sshd-keygen.service
  systemd-modules-load.service systemd-sysctl.service
)
systemctl --root="$root" mask "${mask[@]}" >/dev/null 2>&1
# Generators run before any unit starts, one exec each; none has work here
# (no fstab, no gettys, no sysv scripts, no GPT root, no TPM). A /dev/null
# link in /etc masks one.
mkdir -p "$root/etc/systemd/system-generators"
for g in "$root"/usr/lib/systemd/system-generators/*; do
  ln -sfn /dev/null "$root/etc/systemd/system-generators/${g##*/}"
done

# Nothing in the guest installs packages, and the rest is dead weight in RAM
# (every byte here is decompressed and copied at each boot, slowly under TCG).
chroot "$root" dpkg --purge --force-depends apt >/dev/null 2>&1 || true
# apt resolves init-system-helpers' "usrmerge | usr-is-merged" to usrmerge
# even with usr-is-merged listed, and usrmerge drags in the full perl (50 MB).
# /usr is merged already; perl only ever served maintainer scripts.
# shellcheck disable=SC2016 # ${Package} is for dpkg-query
mapfile -t perl_pkgs < <(chroot "$root" dpkg-query -W -f '${Package}\n' |
  grep -E '^(usrmerge|perl|perl-base|perl-modules-.*|libperl.*|lib.*-perl)$')
chroot "$root" dpkg --purge --force-remove-essential --force-depends "${perl_pkgs[@]}" >/dev/null 2>&1 || true
# Legacy shims (v1 API): Kubernetes and ctr use io.containerd.runc.v2.
rm -f "$root"/usr/bin/containerd-shim "$root"/usr/bin/containerd-shim-runc-v1
# CNI plugins a single-node bridge network (and kube-proxy, portmap,
# bandwidth, firewall, tuning) never calls; each is a 3-7 MB Go binary.
# Debian's *-fp binaries are containerd's failpoint test doubles.
(cd "$root/usr/lib/cni" && rm -f dhcp dummy host-device ipvlan macvlan sbr static vlan vrf ptp tap cni-bridge-fp)
rm -f "$root"/usr/lib/containerd/containerd-shim-runc-fp-v1 "$root"/usr/lib/containerd/runc-fp \
  "$root"/usr/lib/containerd/loopback-v2
# runc's contrib tools, 2-4 MB Go binaries each, that nothing in the guest runs: a
# console-socket receiver, a pidfd test helper, a seccomp-notify agent, and the
# systemd, id-mapping and rootfs-remapping test helpers.
(cd "$root/usr/sbin" && rm -f recvtty pidfd-kill seccompagent sd-helper fs-idmap remap-rootfs)
# iconv modules: nothing in the guest converts character sets beyond glibc's built-ins.
rm -rf "$root"/usr/lib/*-linux-gnu/gconv
rm -rf "$root"/var/cache/apt "$root"/var/lib/apt "$root"/var/cache/debconf/*-old \
  "$root"/var/lib/dpkg/*-old "$root"/usr/share/man "$root"/usr/share/info \
  "$root"/usr/share/locale "$root"/usr/share/lintian \
  "$root"/usr/lib/udev/hwdb.d "$root"/usr/lib/udev/hwdb.bin "$root"/etc/udev/hwdb.bin
find "$root/var/log" -type f -delete
# ConditionNeedsUpdate= units compare these stamps with /usr's mtime.
touch "$root/etc/.updated" "$root/var/.updated"
# The kernel opens /dev/console for /init before anything mounts devtmpfs.
rm -f "$root/dev/console"
mknod -m 0600 "$root/dev/console" c 5 1
