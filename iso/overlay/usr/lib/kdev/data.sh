#!/bin/sh
# Data disk (virtio serial kdev-data): format it ext4 once, mount it, and bind
# the persistent directories from it. Runs before local-fs.target, so every
# ordinary service (containerd, kubelet, journal flush) finds them in place.
set -eu
# shellcheck source=../../../usr/lib/kdev/common.sh
. /usr/lib/kdev/common.sh

mnt=/mnt/kdev-data
persistent="/var/lib/containerd /var/lib/kubelet /var/lib/cni /var/lib/kdev /etc/kubernetes /var/log /data"

if ! dev=$(kdev_disk kdev-data); then
  kdev_log "no data disk with serial kdev-data: nothing will survive a reboot"
  exit 0
fi

# blkid -p exits 2 when it finds no signature at all. Anything else (a
# filesystem, a partition table, an error) means: never format.
rc=0
blkid -p "$dev" >/dev/null 2>&1 || rc=$?
if [ "$rc" -eq 2 ]; then
  kdev_log "formatting $dev (ext4, label KDEV_DATA)"
  # Lazy init keeps first boot fast: the kernel zeroes inode tables later.
  mkfs.ext4 -q -F -L KDEV_DATA -m 1 -E lazy_itable_init=1,lazy_journal_init=1 "$dev"
elif [ "$rc" -ne 0 ]; then
  kdev_log "cannot probe $dev (blkid exit $rc); not mounting it"
  exit 1
fi

modprobe -q ext4 || true
mkdir -p "$mnt"
mount -t ext4 -o noatime "$dev" "$mnt"

for d in $persistent; do
  src=$mnt$d
  if [ ! -d "$src" ]; then
    # First time: start from what the image ships there (e.g. /var/log layout).
    mkdir -p "$src"
    if [ -d "$d" ]; then cp -a "$d/." "$src/"; fi
  fi
  mkdir -p "$d"
  mount --bind "$src" "$d"
done
# journald keeps the journal in /run until systemd-journal-flush.service;
# this directory on the disk makes it persistent from then on.
mkdir -p /var/log/journal
