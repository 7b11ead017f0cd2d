#!/bin/sh
# Seed disk (virtio serial kdev-seed): a plain tar from the host with
# authorized_keys, the SSH host key pair, hostname, mounts and optionally env.
# Unknown members are ignored. Runs before sshd, which serves only this key.
# The root filesystem is fresh RAM at every boot, so nothing here is undone.
set -eu
# shellcheck source=../../../usr/lib/kdev/common.sh
. /usr/lib/kdev/common.sh

if ! kdev_disk kdev-seed; then
  kdev_log "no seed disk with serial kdev-seed: no SSH keys, sshd stays down"
  exit 1
fi

# Everything made below is private unless chmod'ed: key files come out 0600.
umask 077
seed=/run/kdev/seed
mkdir -p "$seed"
# The disk is the archive, zero padded; tar stops at the end-of-archive blocks.
tar -x -o -f "$KDEV_DEV" -C "$seed"

for f in authorized_keys ssh_host_ed25519_key ssh_host_ed25519_key.pub; do
  [ -s "$seed/$f" ] || { kdev_log "seed lacks $f"; exit 1; }
done

cp "$seed/ssh_host_ed25519_key" "$seed/ssh_host_ed25519_key.pub" /etc/ssh/
# /home/kdev/.ssh ships in the image as kdev's, mode 0700.
cp "$seed/authorized_keys" /home/kdev/.ssh/authorized_keys
chown kdev:kdev /home/kdev/.ssh/authorized_keys

if [ -s "$seed/hostname" ]; then
  name=
  read -r name <"$seed/hostname" || true
  case $name in
    '' | *[!A-Za-z0-9.-]*) kdev_log "ignoring invalid hostname '$name' from the seed" ;;
    *)
      echo "$name" >/etc/hostname
      echo "$name" >/proc/sys/kernel/hostname
      printf '127.0.1.1\t%s\n' "$name" >>/etc/hosts
      ;;
  esac
fi

if [ -f "$seed/env" ]; then
  [ -d /etc/kdev ] || mkdir -p /etc/kdev
  cp "$seed/env" /etc/kdev/env
fi

# One line per mount: "<tag> <guest-path> <9p|virtiofs> [ro]", the guest path
# with whitespace and backslashes as printf %b octal escapes (\0040 = space).
# A failed mount is reported on the console but does not keep sshd down: the
# host can see and report it over SSH.
[ -f "$seed/mounts" ] || exit 0
umask 022
while read -r tag path type opts _; do
  case $tag in '' | '#'*) continue ;; esac
  path=$(printf '%b' "$path")
  ro=
  [ "$opts" = ro ] && ro=,ro
  [ -d "$path" ] || mkdir -p "$path"
  case $type in
    9p)
      modprobe -qa 9pnet_virtio 9p || true
      # msize measured with bench/mounts: QEMU 7.2 agrees to 512000 at most (asked 524288 or
      # 1 MiB); sequential reads 52 MB/s there against 45 at 262144 and 40 at 65536.
      mount -t 9p -o "trans=virtio,version=9p2000.L,msize=524288,cache=mmap$ro" "$tag" "$path" ||
        kdev_log "mount of 9p tag $tag on $path failed"
      ;;
    virtiofs)
      modprobe -q virtiofs || true
      mount -t virtiofs -o "defaults$ro" "$tag" "$path" || kdev_log "mount of virtiofs tag $tag on $path failed"
      ;;
    *) kdev_log "unknown mount type '$type' for tag $tag" ;;
  esac
done <"$seed/mounts"
