#!/bin/sh
# Data disk (virtio serial kdev-data): format it ext4 once, mount it, and bind
# the persistent directories from it. Runs before local-fs.target, so every
# ordinary service (containerd, kubelet, journal flush) finds them in place.
set -eu
# shellcheck source=../../../usr/lib/kdev/common.sh
. /usr/lib/kdev/common.sh

mnt=/mnt/kdev-data
fstab=/etc/kdev/data.fstab
mount_opts=noatime,noinit_itable

if ! kdev_disk kdev-data ext4; then
  kdev_log "no data disk with serial kdev-data: nothing will survive a reboot"
  exit 0
fi
dev=$KDEV_DEV
[ -d "$mnt" ] || mkdir -p "$mnt"

# Every boot after the first: the mount just works, no probing needed.
if ! mount -t ext4 -o "$mount_opts" "$dev" "$mnt" 2>/dev/null; then
  # blkid -p exits 2 when it finds no signature at all. Anything else (a
  # filesystem, a partition table, an error) means: never format.
  rc=0
  blkid -p "$dev" >/dev/null 2>&1 || rc=$?
  if [ "$rc" -ne 2 ]; then
    kdev_log "$dev (kdev-data) has data but does not mount as ext4 (blkid exit $rc); not touching it"
    exit 1
  fi
  kdev_log "formatting $dev (ext4, label KDEV_DATA)"
  # Lazy init keeps first boot fast and noinit_itable (above) skips zeroing
  # inode tables later: the host hands us a fresh, already zeroed disk.
  # nodiscard: discarding an empty disk is pure cost.
  mkfs.ext4 -q -F -L KDEV_DATA -m 1 -E lazy_itable_init=1,lazy_journal_init=1,nodiscard "$dev"
  mount -t ext4 -o "$mount_opts" "$dev" "$mnt"
fi

# Mount points the image lacks, and on the first boot the directories on the
# disk, seeded with what the image ships there (e.g. the /var/log layout).
# Later boots find everything in place and exec nothing here.
# The persistent folders are the bind targets of $fstab (read with builtins).
missing=
while read -r _ d _; do
  case $d in /*) ;; *) continue ;; esac
  [ -d "$d" ] || missing="$missing $d"
  [ -d "$mnt$d" ] && continue
  missing="$missing $mnt$d"
  if [ -d "$d" ]; then seed="${seed:-} $d"; fi
done <"$fstab"
# shellcheck disable=SC2086 # word splitting wanted: the lists hold plain paths
if [ -n "$missing" ]; then mkdir -p $missing; fi
for d in ${seed:-}; do cp -a "$d/." "$mnt$d/"; done
# All binds in one process: every exec costs a fraction of a second under TCG.
mount -a -T "$fstab"
# journald keeps the journal in /run until kdev-journal-flush.service;
# this directory on the disk makes it persistent from then on.
[ -d /var/log/journal ] || mkdir /var/log/journal
