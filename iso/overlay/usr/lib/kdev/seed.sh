#!/bin/sh
# Seed disk (virtio serial kdev-seed): a plain tar from the host with
# authorized_keys, the SSH host key pair, hostname, mounts and optionally env.
# Unknown members are ignored. Runs before sshd, which serves only this key.
set -eu
# shellcheck source=../../../usr/lib/kdev/common.sh
. /usr/lib/kdev/common.sh

if ! dev=$(kdev_disk kdev-seed); then
  kdev_log "no seed disk with serial kdev-seed: no SSH keys, sshd stays down"
  exit 1
fi

seed=/run/kdev/seed
rm -rf "$seed"
mkdir -p /run/kdev
mkdir -m 0700 "$seed"
# The disk is the archive, zero padded; tar stops at the end-of-archive blocks.
tar -x -o -f "$dev" -C "$seed"

for f in authorized_keys ssh_host_ed25519_key ssh_host_ed25519_key.pub; do
  [ -s "$seed/$f" ] || { kdev_log "seed lacks $f"; exit 1; }
done

install -d -m 0755 /etc/ssh
install -m 0600 "$seed/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key
install -m 0644 "$seed/ssh_host_ed25519_key.pub" /etc/ssh/ssh_host_ed25519_key.pub
install -d -m 0700 -o kdev -g kdev /home/kdev/.ssh
install -m 0600 -o kdev -g kdev "$seed/authorized_keys" /home/kdev/.ssh/authorized_keys

if [ -s "$seed/hostname" ]; then
  name=$(head -n 1 "$seed/hostname" | tr -cd 'A-Za-z0-9.-')
  if [ -n "$name" ]; then
    echo "$name" >/etc/hostname
    echo "$name" >/proc/sys/kernel/hostname
    grep -v '^127\.0\.1\.1[[:space:]]' /etc/hosts >/etc/hosts.kdev || true
    printf '127.0.1.1\t%s\n' "$name" >>/etc/hosts.kdev
    mv /etc/hosts.kdev /etc/hosts
  fi
fi

if [ -f "$seed/env" ]; then
  install -d -m 0755 /etc/kdev
  install -m 0644 "$seed/env" /etc/kdev/env
fi

# One line per mount: "<tag> <guest-path> <9p|virtiofs>". A failed mount is
# reported on the console but does not keep sshd down: the host can see and
# report it over SSH.
[ -f "$seed/mounts" ] || exit 0
while read -r tag path type _; do
  case $tag in '' | '#'*) continue ;; esac
  mkdir -p "$path"
  case $type in
    9p)
      modprobe -qa 9pnet_virtio 9p || true
      mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,cache=mmap "$tag" "$path" ||
        kdev_log "mount of 9p tag $tag on $path failed"
      ;;
    virtiofs)
      modprobe -q virtiofs || true
      mount -t virtiofs "$tag" "$path" || kdev_log "mount of virtiofs tag $tag on $path failed"
      ;;
    *) kdev_log "unknown mount type '$type' for tag $tag" ;;
  esac
done <"$seed/mounts"
