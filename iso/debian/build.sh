#!/usr/bin/env bash
# Builds the kdev guest image from Debian bookworm packages with mmdebstrap:
# kernel (bzImage), the whole root filesystem as one compressed cpio (initrd),
# a BIOS+EFI bootable ISO holding both, cmdline, version.json and SHA256SUMS.
# Results are cached by a hash of the recipe and of the candidate package
# versions, so an unchanged rebuild only links files into --out.
#
# usage: iso/debian/build.sh --out DIR [--arch amd64]
# env:   KDEV_ISO_CACHE (default ${KDEV_HOME:-$HOME/.kdev}/cache/iso-build),
#        KDEV_ISO_CACHE_KEEP entries kept there (default 3)
#        KDEV_INITRD_COMPRESSION=zstd|xz (default zstd: decompresses faster under TCG)
set -euo pipefail
# The braces make bash read the whole script before running any of it, so an
# edit of this file while a build runs cannot change the running build.
{

die() {
  echo "iso/debian/build.sh: $*" >&2
  exit 1
}
log() { echo "==> $*" >&2; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

out=""
arch=amd64
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --arch) arch=${2:?--arch needs a value}; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    -h | --help) sed -n '2,11s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (usage: build.sh --out DIR [--arch amd64])" ;;
  esac
done

[[ $(uname -s) == Linux ]] || die "needs Linux (mmdebstrap, chroot, mknod); this is $(uname -s)"
[[ $EUID -eq 0 ]] || die "must run as root (mmdebstrap --mode=root, chroot and device nodes need it)"
[[ -n $out ]] || die "missing --out DIR"
[[ $arch == amd64 ]] || die "only --arch amd64 is implemented (got '$arch')"
for tool in mmdebstrap apt-cache chroot cpio zstd xz dpkg-deb grub-mkrescue xorriso mformat flock sha256sum; do
  command -v "$tool" >/dev/null || die "missing tool '$tool' (apt-get install mmdebstrap cpio zstd xz-utils grub-pc-bin grub-efi-amd64-bin xorriso mtools util-linux)"
done
compression=${KDEV_INITRD_COMPRESSION:-zstd}
[[ $compression == zstd || $compression == xz ]] || die "KDEV_INITRD_COMPRESSION must be zstd or xz"

kdev_version=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$repo/package.json" | head -n1)
[[ -n $kdev_version ]] || die "cannot read the version from $repo/package.json"

cache_root=${KDEV_ISO_CACHE:-${KDEV_HOME:-$HOME/.kdev}/cache/iso-build}
mkdir -p "$cache_root"
# Everything below reads this snapshot, never the work tree: an edit made
# while a build runs must not end up in a cache entry keyed by older files.
recipe=$(mktemp -d "$cache_root/.recipe.XXXXXX")
tmp=""
cleanup_build() {
  if [[ -n $tmp && -d $tmp ]]; then
    [[ -d $tmp/rootfs ]] && { umount -R "$tmp/rootfs" 2>/dev/null || true; }
    # --one-file-system: never descend into a proc/sys/dev mount a dead mmdebstrap left.
    rm -rf --one-file-system "$tmp"
  fi
}
trap 'cleanup_build; rm -rf "$recipe"' EXIT
# Snapshots of builds killed outright (SIGKILL skips the trap).
find "$cache_root" -maxdepth 1 -name '.recipe.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
cp -a "$repo/iso/debian" "$repo/iso/overlay" "$recipe/"
here=$recipe/debian
overlay=$recipe/overlay

mapfile -t packages < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$here/packages")

# Debian entries of this host's apt sources, as one-line "deb URI SUITE main"
# for mmdebstrap. Read at run time so no mirror host is baked into the recipe.
debian_sources() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk '$1 == "deb" {
      i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i+1) ~ /^bookworm(-updates|-security)?$/) {
        for (c = i + 2; c <= NF; c++) if ($c == "main") print "deb " $i " " $(i+1) " main"
      }
    }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # deb822: blank-line separated stanzas of "Field: value".
    awk 'function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && comps ~ /(^| )main( |$)/) {
          nu = split(uris, u, " "); ns = split(suites, s, " ")
          for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++)
            if (s[b] ~ /^bookworm(-updates|-security)?$/) print "deb " u[a] " " s[b] " main"
        }
        types = uris = suites = comps = enabled = ""
      }
      /^[ \t]*$/ { flush(); next }
      /^#/ { next }
      { key = tolower($1); sub(/^[^:]*:[ \t]*/, ""); v = $0 }
      key == "types:" { types = v } key == "uris:" { uris = v } key == "suites:" { suites = v }
      key == "components:" { comps = v } key == "enabled:" { enabled = tolower(v) }
      END { flush() }' "$f"
  done
}
mapfile -t mirrors < <(debian_sources | awk '!seen[$0]++')
[[ ${#mirrors[@]} -gt 0 ]] || die "no Debian bookworm 'main' entry in /etc/apt/sources.list*; add one (and run apt-get update)"

# Candidate versions from this host's apt lists: a new Debian point release or
# security update changes the key and so triggers a rebuild.
candidate_versions() {
  # One apt-cache call for all: each one costs a few hundred ms.
  local listed
  listed=$(apt-cache policy "$@" 2>/dev/null | awk '
    /^[^ ].*:$/ { pkg = substr($0, 1, length($0) - 1) }
    $1 == "Candidate:" && $2 != "(none)" { print pkg " " $2 }')
  local pkg
  for pkg in "$@"; do
    grep -q "^$pkg " <<<"$listed" ||
      die "apt knows no candidate for '$pkg'; run 'apt-get update' (sources: ${mirrors[*]})"
  done
  echo "$listed"
}
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')
[[ -n $kernel_pkg ]] || die "cannot resolve linux-image-amd64 with apt-cache; run 'apt-get update'"

# Modes count only as executable or not: a checkout's umask must not matter.
recipe_digest() {
  local f
  (cd "$recipe" && find debian overlay \( -type f -o -type l \) -print0 | LC_ALL=C sort -z) |
    while IFS= read -r -d '' f; do
      if [[ -L $recipe/$f ]]; then
        printf 'L %s -> %s\n' "$f" "$(readlink "$recipe/$f")"
      else
        printf 'F %s %s %s\n' "$f" "$([[ -x $recipe/$f ]] && echo x || echo -)" "$(sha256sum <"$recipe/$f" | cut -d' ' -f1)"
      fi
    done
}
hash=$({
  echo "kdev-iso-debian v1 $arch $kdev_version $compression"
  recipe_digest
  candidate_versions linux-image-amd64 "$kernel_pkg" "${packages[@]}"
} | sha256sum | cut -c1-16)

entry=$cache_root/$hash
iso_name=kdev-$kdev_version-$arch.iso
artifacts=("$iso_name" bzImage initrd cmdline version.json SHA256SUMS)
mkdir -p "$out"

# Hardlink when the cache and DIR share a filesystem; the cache entry is never
# written again, so sharing inodes is safe as long as nobody edits DIR in place.
publish() {
  local f
  for f in "${artifacts[@]}"; do
    rm -f "$out/$f"
    ln "$entry/$f" "$out/$f" 2>/dev/null || cp "$entry/$f" "$out/$f"
  done
  echo "hash: $hash"
  echo "cache: $entry"
  for f in "${artifacts[@]}"; do echo "$f: $(cd "$out" && pwd)/$f"; done
}

# Each entry is ~170 MB and every recipe or package change makes a new one: keep the newest
# KDEV_ISO_CACHE_KEEP (default 3). Published outputs are hard links, so they outlive the entry.
prune_cache() {
  local keep=${KDEV_ISO_CACHE_KEEP:-3} n=0 d
  while IFS= read -r d; do
    n=$((n + 1))
    ((n > keep)) || continue
    # An entry whose lock is held is being built or read right now: leave it.
    (flock -n 8 && rm -rf "$d" "$d.lock") 8>>"$d.lock" 2>/dev/null || true
  done < <(find "$cache_root" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)
}

# One builder per key; a second caller waits and then takes the cache hit.
exec 9>"$cache_root/$hash.lock"
flock 9
if [[ -d $entry ]]; then
  log "cache hit $hash"
  publish
  exit 0
fi

# A killed build leaves this behind; it is ours now since we hold the lock.
tmp=$cache_root/.build-$hash
cleanup_build
mkdir -p "$tmp/kernel" "$tmp/out"
root=$tmp/rootfs

log "mmdebstrap bookworm (${#packages[@]} packages) from: ${mirrors[*]}"
start=$SECONDS
KDEV_KERNEL_PKG=$kernel_pkg KDEV_KERNEL_DIR=$tmp/kernel \
  mmdebstrap --mode=root --format=directory --variant=essential \
  --include="$(IFS=,; echo "${packages[*]}")" \
  --aptopt='Acquire::Languages "none"' \
  --dpkgopt='path-exclude=/usr/share/man/*' \
  --dpkgopt='path-exclude=/usr/share/info/*' \
  --dpkgopt='path-exclude=/usr/share/locale/*' \
  --dpkgopt='path-exclude=/usr/share/doc/*' \
  --dpkgopt='path-include=/usr/share/doc/*/copyright' \
  --dpkgopt='path-exclude=/usr/share/lintian/*' \
  --dpkgopt='path-exclude=/usr/share/bash-completion/*' \
  --dpkgopt='path-exclude=/usr/share/zsh/*' \
  --customize-hook="$here/fetch-kernel.sh" \
  bookworm "$root" "${mirrors[@]}"
log "mmdebstrap took $((SECONDS - start))s"

"$here/customize.sh" "$root" "$overlay"
kver=$("$here/kernel.sh" "$tmp/kernel" "$root" "$here/modules")

cmdline="console=ttyS0 panic=-1 quiet"

log "packing initrd ($compression)"
start=$SECONDS
compress() {
  # zstd -9: -19 saves about 13% of the size for 40 times the build time, and
  # the kernel decompresses either equally fast. The kernel's xz decoder only
  # knows CRC32 checks.
  if [[ $compression == zstd ]]; then zstd -q -9 -T0; else xz --check=crc32 -9 -T0; fi
}
(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --reproducible) | compress >"$tmp/out/initrd"
cp "$tmp/kernel/pkg/boot/vmlinuz-$kver" "$tmp/out/bzImage"
echo "$cmdline" >"$tmp/out/cmdline"
log "initrd: $(du -h "$tmp/out/initrd" | cut -f1) in $((SECONDS - start))s"

# shellcheck disable=SC2016 # ${Version} is dpkg-query's, not ours
pkgver() { chroot "$root" dpkg-query -W -f='${Version}' "$1"; }
cat >"$tmp/out/version.json" <<EOF
{
  "kdevVersion": "$kdev_version",
  "arch": "$arch",
  "kernel": "$kver",
  "kernelPackage": "$(dpkg-deb -f "$tmp"/kernel/*.deb Version)",
  "containerd": "$(pkgver containerd)",
  "runc": "$(pkgver runc)",
  "cni": "$(pkgver containernetworking-plugins)",
  "debian": "$(cat "$root/etc/debian_version")",
  "cmdline": "$cmdline",
  "initrdCompression": "$compression",
  "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "recipeHash": "$hash"
}
EOF

log "making $iso_name (BIOS + EFI)"
mkdir -p "$tmp/iso/boot/grub"
ln "$tmp/out/bzImage" "$tmp/iso/boot/bzImage"
ln "$tmp/out/initrd" "$tmp/iso/boot/initrd"
sed "s|@CMDLINE@|$cmdline|" "$here/grub.cfg" >"$tmp/iso/boot/grub/grub.cfg"
grub-mkrescue -o "$tmp/out/$iso_name" "$tmp/iso" -- -volid KDEV >"$tmp/grub-mkrescue.log" 2>&1 ||
  { cat "$tmp/grub-mkrescue.log" >&2; die "grub-mkrescue failed"; }

(cd "$tmp/out" && sha256sum "$iso_name" bzImage initrd cmdline version.json >SHA256SUMS)

# rename(2) is atomic: the entry appears complete or not at all.
mv -T "$tmp/out" "$entry"
prune_cache
publish
exit 0
}
