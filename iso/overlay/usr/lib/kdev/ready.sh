#!/bin/sh
# Prints the readiness line the host waits for on the serial console, once
# sshd and containerd are up (this unit is ordered after both) and the NIC has
# its DHCP address, then one line
# of boot phase times from the guest's own clock (seconds since the kernel
# started), for bench/guest-boot:
#   KDEV_BOOT_TIMES ready=U initrd_start=A initrd_end=B root=R userspace=C data=D containerd=E sshd=F
# (root: when the Debian image's initrd had mounted rootfs.erofs; 0 without one)
set -u
# Ready means reachable: the host's forwards (QEMU's hostfwd, gvproxy) and a
# vmnet host connect to the address DHCP gives the virtio NIC, so an sshd up
# before that lease has nobody to answer. Wait for it (networkd usually has
# it long before containerd is up). Every exec costs 0.1-0.5 s under TCG, so
# the checks read files with shell built-ins.

# has_ipv4: some link has a global IPv4 address. networkd's state file says
# so (IPV4_ADDRESS_STATE=routable); without that file or key, ask ip.
has_ipv4() {
  if [ -r /run/systemd/netif/state ]; then
    while IFS='=' read -r k v; do
      [ "$k" = IPV4_ADDRESS_STATE ] || continue
      [ "$v" = routable ]
      return
    done </run/systemd/netif/state
  fi
  [ -n "$(ip -4 -o addr show scope global 2>/dev/null)" ]
}
# running UNIT...: one of the units has a process in its cgroup. This unit is
# ordered after them, so each has started or failed by now; a failed one has
# an empty (or no) cgroup. Without cgroup v2, ask systemctl.
running() {
  if [ ! -d /sys/fs/cgroup/system.slice ]; then
    systemctl -q is-active "$@" 2>/dev/null
    return
  fi
  for u in "$@"; do
    { read -r _ <"/sys/fs/cgroup/system.slice/$u/cgroup.procs"; } 2>/dev/null && return 0
  done
  return 1
}

i=0
until has_ipv4; do
  i=$((i + 1))
  if [ $i -gt 240 ]; then
    echo "kdev: not ready (no IPv4 address from DHCP after 120 s)" >/dev/console
    exit 1
  fi
  sleep 0.5
done
# The ssh unit is ssh.service on Debian, sshd.service elsewhere.
ssh_up=no
running ssh.service sshd.service && ssh_up=yes
containerd_up=no
running containerd.service && containerd_up=yes
if [ $ssh_up = no ] || [ $containerd_up = no ]; then
  echo "kdev: not ready (sshd up: $ssh_up, containerd up: $containerd_up)" >/dev/console
  exit 1
fi
read -r up _ </proc/uptime
echo KDEV_READY >/dev/console

# DNS (systemd-resolved, which writes /etc/resolv.conf from networkd's DHCP
# data) starts here, not at boot: its unit orders itself before
# sysinit.target, so when enabled every service waited for its start, about
# ten seconds of CPU under TCG. Nothing on the way to readiness resolves names.
systemctl start --no-block systemd-resolved.service || true

# Off the ready path from here on.
# usec since boot -> seconds with two decimals.
secs() { awk -v u="${1:-0}" 'BEGIN { printf "%.2f", u / 1000000 }'; }
# mono UNIT PROPERTY (no UNIT: the manager's own).
mono() {
  if [ -n "$1" ]; then systemctl show -P "$2" "$1" 2>/dev/null; else systemctl show -P "$2" 2>/dev/null; fi
}
# The kernel logs when it starts and ends unpacking the initramfs, and the
# initrd's /init when it has mounted the root.
unpack=$(dmesg 2>/dev/null | awk -F'[][]' '
  /Trying to unpack rootfs image as initramfs/ { s = $2 + 0 }
  /Freeing initrd memory/ { e = $2 + 0 }
  /kdev-init: root mounted/ { r = $2 + 0 }
  /kdev-init: data disk mounted/ { d = $2 + 0 }
  END { printf "initrd_start=%.2f initrd_end=%.2f root=%.2f initrd_data=%.2f", s, e, r, d }')
# The data disk: mounted by the initrd (Debian image), else by kdev-data.service.
case $unpack in
  *initrd_data=0.00) data=$(secs "$(mono kdev-data.service ActiveEnterTimestampMonotonic)") ;;
  *) data=${unpack##*initrd_data=} ;;
esac
unpack=${unpack% initrd_data=*}
echo "KDEV_BOOT_TIMES ready=$up $unpack userspace=$(secs "$(mono '' UserspaceTimestampMonotonic)")" \
  "data=$data" \
  "containerd=$(secs "$(mono containerd.service ActiveEnterTimestampMonotonic)")" \
  "sshd=$(secs "$(mono ssh.service ActiveEnterTimestampMonotonic)")" >/dev/console
