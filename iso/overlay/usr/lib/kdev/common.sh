# shellcheck shell=sh
# Shared helpers for the kdev boot scripts (POSIX sh, sourced). Under TCG
# every exec costs 0.1-0.2 s at boot, so these prefer shell built-ins.

kdev_log() {
  # The console is what the host reads when something goes wrong at boot.
  echo "kdev: $*" >/dev/console 2>/dev/null || true
  echo "kdev: $*" >&2
}

# kdev_disk SERIAL [MODULE...]: set KDEV_DEV to /dev/vdX, the virtio disk
# with that serial; false if none shows up within ~5 s. Reads sysfs, so it
# works before (and without) udev. The extra modules load in the same modprobe.
kdev_disk() {
  want=$1
  shift
  modprobe -qa virtio_pci virtio_blk "$@" 2>/dev/null || true
  i=0
  while [ "$i" -lt "${KDEV_DISK_WAIT_TICKS:-100}" ]; do
    for s in /sys/block/vd*/serial; do
      [ -r "$s" ] || continue
      serial=
      read -r serial <"$s" || true
      if [ "$serial" = "$want" ]; then
        KDEV_DEV=${s%/serial}
        KDEV_DEV=/dev/${KDEV_DEV##*/}
        # devtmpfs creates the node when the disk registers; wait for it too.
        [ -b "$KDEV_DEV" ] && return 0
      fi
    done
    i=$((i + 1))
    sleep 0.05
  done
  return 1
}
