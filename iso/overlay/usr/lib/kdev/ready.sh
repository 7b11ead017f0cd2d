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
# it long before containerd is up).
ipv4=""
i=0
while [ $i -lt 240 ]; do
  ipv4=$(ip -4 -o addr show scope global 2>/dev/null | awk '{ print $4; exit }')
  [ -n "$ipv4" ] && break
  sleep 0.5
  i=$((i + 1))
done
# One systemctl for all three units (every exec costs ~0.3 s under TCG): the
# ssh unit is ssh.service on Debian, sshd.service elsewhere.
states=$(systemctl show -P ActiveState ssh.service sshd.service containerd.service 2>/dev/null | tr '\n' ' ')
# shellcheck disable=SC2086 # one word per unit
set -- $states
ssh_up=no
[ "${1:-}" = active ] || [ "${2:-}" = active ] && ssh_up=yes
if [ -z "$ipv4" ]; then
  echo "kdev: not ready (no IPv4 address from DHCP after 120 s)" >/dev/console
  exit 1
elif [ "$ssh_up" = yes ] && [ "${3:-}" = active ]; then
  read -r up _ </proc/uptime
  echo KDEV_READY >/dev/console
else
  echo "kdev: not ready (sshd up: $ssh_up, containerd: ${3:-unknown})" >/dev/console
  exit 1
fi

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
  END { printf "initrd_start=%.2f initrd_end=%.2f root=%.2f", s, e, r }')
echo "KDEV_BOOT_TIMES ready=$up $unpack userspace=$(secs "$(mono '' UserspaceTimestampMonotonic)")" \
  "data=$(secs "$(mono kdev-data.service ActiveEnterTimestampMonotonic)")" \
  "containerd=$(secs "$(mono containerd.service ActiveEnterTimestampMonotonic)")" \
  "sshd=$(secs "$(mono ssh.service ActiveEnterTimestampMonotonic)")" >/dev/console
