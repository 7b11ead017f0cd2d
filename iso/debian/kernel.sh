#!/usr/bin/env bash
# Unpacks the downloaded kernel package and copies into ROOTFS only the
# modules listed in MODULES_FILE plus what they need (depends and softdeps),
# then runs depmod there. Prints the kernel release on stdout.
# depmod/modprobe are the build host's when it has kmod (they read modules of
# any architecture, as in a kernel cross build), else ROOTFS's through chroot:
# emulated for arm64, where depmod over the whole module tree took minutes.
# usage: kernel.sh KERNEL_DIR ROOTFS MODULES_FILE KERNEL_PACKAGE
#        kernel.sh --insmod-order ROOTFS KVER NAME...
#   (the second form, once ROOTFS has its modules: prints the module files,
#   as paths inside ROOTFS, that load each NAME, dependencies and softdeps
#   first, each once; built-in ones need none. The initrd's lists.)
set -euo pipefail

# kmod_for: defines depmod and modprobe for $root, and sets $at to the prefix
# their paths carry ($root for the host's tools, empty through chroot).
kmod_for() {
  if [[ -x /sbin/depmod && -x /sbin/modprobe ]]; then
    depmod() { /sbin/depmod "$@"; }
    modprobe() { /sbin/modprobe "$@"; }
    at=$root
  else
    depmod() { chroot "$root" depmod "$@"; }
    modprobe() { chroot "$root" modprobe "$@"; }
    at=
  fi
}
# insmod_order DIR NAME...: the module files (without the $at prefix) that
# load each NAME from the tree under DIR (inside ROOTFS; empty: ROOTFS's
# own), in load order, each once.
# --show-depends lists the module, its dependencies and softdeps as
# "insmod PATH"; built-in ones show as "builtin NAME" and need nothing.
insmod_order() {
  local dir=$at$1 n
  shift
  for n in "$@"; do
    modprobe -d "${dir:-/}" -S "$kver" --show-depends "$n" ||
      { echo "kernel.sh: module '$n' not found in $kver" >&2; exit 1; }
  done | awk -v at="$at" '$1 == "insmod" { p = substr($2, length(at) + 1); if (!seen[p]++) print p }'
}

if [[ ${1:-} == --insmod-order ]]; then
  root=${2:?ROOTFS} kver=${3:?KVER}
  shift 3
  kmod_for
  insmod_order "" "$@"
  exit 0
fi

kdir=$1 root=$2 list=$3 pkg=$4

debs=("$kdir/${pkg}"_*.deb)
[[ -f ${debs[0]} ]] || { echo "kernel.sh: no kernel package in $kdir" >&2; exit 1; }
dpkg-deb -x "${debs[0]}" "$kdir/pkg"
# trixie's kernel packages install to /usr/lib/modules, older ones to /lib/modules.
pkgmods=$kdir/pkg/usr/lib/modules
[[ -d $pkgmods ]] || pkgmods=$kdir/pkg/lib/modules
kver=$(basename "$(find "$pkgmods" -mindepth 1 -maxdepth 1 -type d | head -n1)")

# The full module tree, visible inside the chroot for the duration.
stage=/run/kdev-kernel
rm -rf "$root$stage"
mkdir -p "$root$stage/lib" "$root$stage/usr/lib"
mv "$pkgmods" "$root$stage/lib/modules"
# depmod -b and modprobe -d look under lib/modules or usr/lib/modules, as kmod was built.
ln -s ../../lib/modules "$root$stage/usr/lib/modules"
trap 'rm -rf "${root:?}$stage"' EXIT
src=$root$stage/lib/modules/$kver
kmod_for
depmod -b "$at$stage" "$kver"

names=()
# A trailing "[amd64]" or "[arm64]" keeps a line to that architecture (the
# kernel package's suffix).
arch=${pkg##*-}
while read -r item; do
  if [[ $item =~ ^(.*)\[([a-z0-9]+)\]$ ]]; then
    [[ ${BASH_REMATCH[2]} == "$arch" ]] || continue
    item=${BASH_REMATCH[1]}
  fi
  if [[ $item == */* ]]; then
    # A path glob stands for every module file it matches.
    for f in "$src"/kernel/$item; do
      [[ -e $f ]] || { echo "kernel.sh: '$item' matches nothing in $kver" >&2; exit 1; }
      names+=("$(basename "${f%%.ko*}")")
    done
  else
    names+=("$item")
  fi
done < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$list")

keep=$(insmod_order "$stage" "${names[@]}" | sort -u)

dst=$root/lib/modules/$kver
rm -rf "$dst"
mkdir -p "$dst"
while read -r f; do
  rel=${f#"$stage/lib/modules/$kver"/}
  mkdir -p "$dst/$(dirname "$rel")"
  cp "$root$f" "$dst/$rel"
done <<<"$keep"
# Stored uncompressed: the initrd is compressed as a whole, and modprobe then
# need not decompress each module again at boot (slow under TCG).
find "$dst" -name '*.ko.xz' -exec xz -d {} +
find "$dst" -name '*.ko.zst' -exec zstd -q -d --rm {} +
cp "$src"/modules.order "$src"/modules.builtin "$src"/modules.builtin.modinfo "$dst/"
if [[ -n $at ]]; then depmod -b "$root" "$kver"; else depmod "$kver"; fi
echo "kernel.sh: kept $(wc -l <<<"$keep") modules ($(du -sh "$dst" | cut -f1)) of $kver" >&2
echo "$kver"
