# shellcheck shell=sh
# Shared helpers for the kdev boot scripts (POSIX sh, sourced).

kdev_log() {
  # The console is what the host reads when something goes wrong at boot.
  echo "kdev: $*" >/dev/console 2>/dev/null || true
  echo "kdev: $*" >&2
}

# kdev_disk SERIAL: print /dev/vdX of the virtio disk with that serial.
# Reads sysfs directly so it works before (and without) udev.
kdev_disk() {
  modprobe -qa virtio_pci virtio_blk 2>/dev/null || true
  i=0
  while [ "$i" -lt "${KDEV_DISK_WAIT_TICKS:-100}" ]; do
    for s in /sys/block/vd*/serial; do
      [ -r "$s" ] || continue
      if [ "$(cat "$s")" = "$1" ]; then
        d=${s%/serial}
        d=/dev/${d##*/}
        # devtmpfs creates the node when the disk registers; wait for it too.
        [ -b "$d" ] && { echo "$d"; return 0; }
      fi
    done
    i=$((i + 1))
    sleep 0.05
  done
  return 1
}
