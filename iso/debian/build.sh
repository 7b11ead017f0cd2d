#!/usr/bin/env bash
# Builds the kdev guest image from pinned Debian 13 (trixie) packages, the
# container runtime from sid, with mmdebstrap: the kernel (amd64: bzImage and
# the uncompressed PVH vmlinux; arm64: Image), the root filesystem as a
# read-only erofs disk (rootfs.erofs), a small initrd (busybox and the modules
# that mount it, see initrd/init), an EFI (and on amd64 BIOS) bootable ISO
# holding them, cmdline, version.json, packages.txt and SHA256SUMS. Results are cached
# by a hash of the recipe (whose package versions are all pinned), so an
# unchanged rebuild only links files into --out. arm64 builds on x86_64
# through qemu-user-static (binfmt registered here when missing).
#
# usage: iso/debian/build.sh --out DIR [--arch amd64|arm64]
# env:   KDEV_ISO_CACHE (default ${KDEV_HOME:-$HOME/.kdev}/cache/iso-build),
#        KDEV_ISO_CACHE_KEEP entries kept there (default 3),
#        KDEV_INITRD_COMPRESSION=zstd|xz|lz4|none (default zstd),
#        KDEV_ROOTFS_COMPRESSION=lz4hc|none (default lz4hc),
#        KDEV_DEBIAN_MIRROR, KDEV_DEBIAN_SECURITY_MIRROR (default: from this
#        host's apt sources, else deb.debian.org)
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
    -h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (usage: build.sh --out DIR [--arch amd64|arm64])" ;;
  esac
done

[[ $(uname -s) == Linux ]] || die "needs Linux (mmdebstrap, chroot, mknod); this is $(uname -s)"
[[ $EUID -eq 0 ]] || die "must run as root (mmdebstrap --mode=root, chroot and device nodes need it)"
[[ -n $out ]] || die "missing --out DIR"
case $arch in
  amd64 | x86_64) arch=amd64 ;;
  arm64 | aarch64) arch=arm64 ;;
  *) die "--arch must be amd64 or arm64 (got '$arch')" ;;
esac
for tool in mmdebstrap chroot cpio zstd xz lz4 dpkg-deb grub-mkrescue xorriso mformat flock sha256sum readelf mkfs.erofs; do
  command -v "$tool" >/dev/null || die "missing tool '$tool' (apt-get install mmdebstrap cpio zstd xz-utils lz4 grub-pc-bin grub-efi-amd64-bin xorriso mtools util-linux binutils erofs-utils)"
done
compression=${KDEV_INITRD_COMPRESSION:-zstd}
[[ $compression =~ ^(zstd|xz|lz4|none)$ ]] || die "KDEV_INITRD_COMPRESSION must be zstd, xz, lz4 or none"
rootfs_compression=${KDEV_ROOTFS_COMPRESSION:-lz4hc}
[[ $rootfs_compression =~ ^(lz4hc|none)$ ]] || die "KDEV_ROOTFS_COMPRESSION must be lz4hc or none"

# A foreign root filesystem runs its maintainer scripts through qemu-user.
# Hosts without a binfmt entry for it (containers, fresh CI machines) get one
# here, from qemu-user-static's own definition; it stays registered after.
ensure_binfmt() {
  local qarch=$1 conf=/usr/lib/binfmt.d/qemu-$1.conf
  command -v arch-test >/dev/null || die "missing tool 'arch-test' (apt-get install arch-test)"
  arch-test "$arch" >/dev/null 2>&1 && return 0
  [[ -f $conf ]] || die "cannot run $arch binaries here and $conf is missing (apt-get install qemu-user-static)"
  if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc ||
      die "cannot mount binfmt_misc to register qemu-$qarch"
  fi
  if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-$qarch ]]; then
    log "registering $conf with binfmt_misc"
    grep -v '^#' "$conf" >/proc/sys/fs/binfmt_misc/register || die "registering qemu-$qarch with binfmt_misc failed"
  fi
  arch-test "$arch" >/dev/null 2>&1 || die "still cannot run $arch binaries after registering qemu-$qarch ($(arch-test "$arch" 2>&1))"
}
host_arch=$(dpkg --print-architecture)
if [[ $arch != "$host_arch" ]]; then
  case $arch in arm64) ensure_binfmt aarch64 ;; amd64) ensure_binfmt x86_64 ;; esac
fi

kdev_version=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' "$repo/package.json" | head -n1)
[[ -n $kdev_version ]] || die "cannot read the version from $repo/package.json"

cache_root=${KDEV_ISO_CACHE:-${KDEV_HOME:-$HOME/.kdev}/cache/iso-build}
mkdir -p "$cache_root"
# Everything below reads this snapshot, never the work tree: an edit made
# while a build runs must not end up in a cache entry keyed by older files.
recipe=$(mktemp -d "$cache_root/.recipe.XXXXXX")
tmp=""
child=""
stage_part=""
# Everything mounted below DIR, deepest first (mmdebstrap mounts proc, sys,
# dev and more into the root it builds; a killed build must not leave them).
mounts_under() {
  awk -v d="$1" '{ m = $5; gsub(/\\040/, " ", m); if (m == d || index(m, d "/") == 1) print m }' /proc/self/mountinfo | sort -r
}
cleanup_build() {
  if [[ -n $child ]]; then
    # mmdebstrap runs in its own process group (setsid). Told to stop, it
    # first finishes the step it is in (minutes for a package install under
    # qemu-user): give it 10 s, then kill the whole group; the loop below
    # unmounts whatever it left.
    kill -TERM -- "-$child" 2>/dev/null || true
    local i
    for ((i = 0; i < 50; i++)); do
      kill -0 "$child" 2>/dev/null || break
      sleep 0.2
    done
    kill -KILL -- "-$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
    child=""
  fi
  if [[ -n $tmp && -d $tmp ]]; then
    local m
    while IFS= read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done < <(mounts_under "$tmp")
    # --one-file-system: never descend into a mount that is still there.
    rm -rf --one-file-system "$tmp"
  fi
}
trap 'cleanup_build; rm -rf "$recipe"; [[ -z $stage_part ]] || rm -f "$stage_part"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
trap 'exit 141' PIPE
# Snapshots of builds killed outright (SIGKILL skips the trap).
find "$cache_root" -maxdepth 1 -name '.recipe.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
cp -a "$repo/iso/debian" "$repo/iso/overlay" "$recipe/"
here=$recipe/debian
overlay=$recipe/overlay

# pinned LIST: the "name=version" lines of a recipe list for $arch.
pinned() {
  sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$1" | awk -v a="$arch" '
    NF == 1 || $2 == "[" a "]" { gsub(/ARCH/, a, $1); print $1 }' |
    while IFS= read -r line; do
      [[ $line == *=* ]] || die "$(basename "$1"): '$line' has no pinned version (name=version)"
      echo "$line"
    done
}
mapfile -t packages < <(pinned "$here/packages")
mapfile -t downloads < <(pinned "$here/downloads")
[[ ${#packages[@]} -gt 0 && ${#downloads[@]} -gt 0 ]] || die "empty package list"
kernel_pkg=${downloads[0]%%=*}

# The Debian and security mirrors of this host's apt sources (the URI only:
# the suites are the recipe's), read at run time so no mirror host is baked
# into the recipe. Prints "debian URI" / "security URI" lines.
debian_mirrors() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    awk '$1 == "deb" {
      i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
      if ($(i+1) ~ /^[a-z]+-security$/) print "security " $i
      else if ($(i+1) ~ /^(bookworm|trixie|sid|unstable)$/) print "debian " $i
    }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    # deb822: blank-line separated stanzas of "Field: value".
    awk 'function flush() {
        if (types ~ /(^| )deb( |$)/ && enabled != "no" && comps ~ /(^| )main( |$)/) {
          nu = split(uris, u, " "); ns = split(suites, s, " ")
          for (a = 1; a <= nu; a++) for (b = 1; b <= ns; b++) {
            if (s[b] ~ /^[a-z]+-security$/) print "security " u[a]
            else if (s[b] ~ /^(bookworm|trixie|sid|unstable)$/) print "debian " u[a]
          }
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
found_mirrors=$(debian_mirrors)
mirror=${KDEV_DEBIAN_MIRROR:-$(awk '$1 == "debian" { print $2; exit }' <<<"$found_mirrors")}
mirror=${mirror:-http://deb.debian.org/debian}
security=${KDEV_DEBIAN_SECURITY_MIRROR:-$(awk '$1 == "security" { print $2; exit }' <<<"$found_mirrors")}
security=${security:-http://deb.debian.org/debian-security}
mirrors=(
  "deb $mirror trixie main"
  "deb $mirror trixie-updates main"
  "deb $security trixie-security main"
  "deb $mirror sid main"
)

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
# Every version is pinned in packages/downloads, which recipe_digest covers.
hash=$({
  echo "kdev-iso-debian v3 $arch $kdev_version $compression $rootfs_compression"
  recipe_digest
} | sha256sum | cut -c1-16)

entry=$cache_root/$hash
iso_name=kdev-$kdev_version-$arch.iso
# The kernel in the form each driver boots fastest: x86_64 QEMU boots the
# uncompressed vmlinux through its PVH entry (no decompression under TCG);
# bzImage stays for GRUB and for hosts whose QEMU lacks PVH. arm64 boots the
# uncompressed Image (Virtualization.framework takes nothing else).
if [[ $arch == amd64 ]]; then kernels=(bzImage vmlinux); else kernels=(Image); fi
artifacts=("$iso_name" "${kernels[@]}" initrd rootfs.erofs cmdline version.json packages.txt SHA256SUMS)
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

# Each entry is ~200 MB and every recipe or package change makes a new one: keep the newest
# KDEV_ISO_CACHE_KEEP (default 3). Published outputs are hard links, so they outlive the entry.
prune_cache() {
  local keep=${KDEV_ISO_CACHE_KEEP:-3} n=0 d
  while IFS= read -r d; do
    n=$((n + 1))
    ((n > keep)) || continue
    # An entry whose lock is held is being built or read right now: leave it.
    (flock -n 8 && rm -rf "$d" "$d.lock") 8>>"$d.lock" 2>/dev/null || true
  done < <(find "$cache_root" -mindepth 1 -maxdepth 1 -type d ! -name '.*' -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)
  # mmdebstrap stages: the newest two per architecture.
  n=0
  while IFS= read -r d; do
    n=$((n + 1))
    if ((n > 2)); then rm -f "$d"; fi
  done < <(find "$cache_root" -maxdepth 1 -name "stage-$arch-*.tar.zst" -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2-)
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

# The mmdebstrap result (root filesystem and downloaded packages) is cached on
# its own, keyed by what goes into it only: a change of the overlay, the
# customization or the initrd packing then costs a minute, not a full
# bootstrap. Bump stage_version when the mmdebstrap call below changes.
stage_version=2
stage_hash=$({
  echo "kdev-iso-debian-stage v$stage_version $arch"
  cat "$here/packages" "$here/downloads" "$here/fetch-kernel.sh"
} | sha256sum | cut -c1-16)
stage=$cache_root/stage-$arch-$stage_hash.tar.zst
if [[ -f $stage ]]; then
  log "reusing the mmdebstrap stage $(basename "$stage")"
  zstd -q -dc "$stage" | tar -C "$tmp" --numeric-owner -xpf -
else
  log "mmdebstrap trixie $arch (${#packages[@]} packages) from: ${mirrors[*]}"
  start=$SECONDS
  # sid only where a line pins a sid version: with priority 100 nothing else
  # comes from it, and the pinned runtime's dependencies resolve from trixie.
  # Release files are still signature-checked, but not for expiry: mirrors may
  # be frozen snapshots (sid's expires within a week), and every listed package
  # is pinned to an exact version anyway, so a stale index cannot downgrade it.
  # Maintainer scripts run emulated for arm64 (qemu-user): work whose result
  # customize.sh deletes anyway is skipped. With no hwdb.d sources udev's
  # postinst compiles an empty hwdb (a minute or more under emulation), and
  # placeholder host keys stop openssh-server's postinst generating three.
  # In the background, so that a TERM/INT reaches the trap at once (bash defers
  # traps until a foreground child exits); the trap stops it and unmounts.
  KDEV_DOWNLOADS="${downloads[*]}" KDEV_KERNEL_DIR=$tmp/kernel \
    setsid mmdebstrap --mode=root --format=directory --variant=essential --architectures="$arch" \
    --include="$(IFS=,; echo "${packages[*]}")" \
    --setup-hook='mkdir -p "$1/etc/apt/preferences.d" && printf "Package: *\nPin: release n=sid\nPin-Priority: 100\n" >"$1/etc/apt/preferences.d/kdev-sid"' \
    --aptopt='Acquire::Languages "none"' \
    --aptopt='Acquire::Check-Valid-Until "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/lintian/*' \
    --dpkgopt='path-exclude=/usr/share/bash-completion/*' \
    --dpkgopt='path-exclude=/usr/share/zsh/*' \
    --dpkgopt='path-exclude=/usr/share/fish/*' \
    --dpkgopt='path-exclude=/usr/lib/udev/hwdb.d/*' \
    --essential-hook='mkdir -p "$1/etc/ssh" && touch "$1/etc/ssh/ssh_host_rsa_key" "$1/etc/ssh/ssh_host_ecdsa_key" "$1/etc/ssh/ssh_host_ed25519_key"' \
    --customize-hook="$here/fetch-kernel.sh" \
    trixie "$root" "${mirrors[@]}" &
  child=$!
  wait "$child" || die "mmdebstrap failed (a pinned version no longer in the archive? see iso/debian/packages)"
  child=""
  log "mmdebstrap took $((SECONDS - start))s"
  log "caching the mmdebstrap stage"
  stage_part=$stage.part
  tar -C "$tmp" --numeric-owner -cpf - rootfs kernel | zstd -q -1 -T0 >"$stage_part"
  mv "$stage_part" "$stage"
  stage_part=""
fi

# Exactly the pinned versions, or the cache key would lie.
# shellcheck disable=SC2016 # ${Package} is for dpkg-query
chroot "$root" dpkg-query -W -f '${Package}=${Version}\n' | LC_ALL=C sort >"$tmp/out/packages.txt"
for p in "${packages[@]}"; do
  grep -qxF "$p" "$tmp/out/packages.txt" || die "installed $(grep "^${p%%=*}=" "$tmp/out/packages.txt" || echo "no ${p%%=*}"), not the pinned $p"
done

"$here/customize.sh" "$root" "$overlay"
kver=$("$here/kernel.sh" "$tmp/kernel" "$root" "$here/modules" "$kernel_pkg")
vmlinuz=$tmp/kernel/pkg/boot/vmlinuz-$kver

# lsm=: Debian's kernel also starts IMA/EVM, TOMOYO, IPE and the BPF LSM, and
# systemd then loads a BPF program into the last (over a second under TCG);
# nothing in the guest uses them. AppArmor stays for pods that ask for it.
lsm=lsm=landlock,lockdown,yama,apparmor
if [[ $arch == amd64 ]]; then
  cmdline="console=ttyS0 panic=-1 quiet $lsm"
  cp "$vmlinuz" "$tmp/out/bzImage"
  "$here/kernel-image.sh" vmlinux "$vmlinuz" "$tmp/out/vmlinux"
else
  cmdline="console=ttyAMA0 panic=-1 quiet $lsm"
  "$here/kernel-image.sh" arm64 "$vmlinuz" "$tmp/out/Image"
fi

# The root filesystem: read-only erofs, paged in on demand. Its /init is the
# Buildroot image's PID 1 (a root in RAM); here initrd/init starts systemd.
log "making rootfs.erofs ($rootfs_compression)"
start=$SECONDS
rm -f "$root/init"
erofs_args=(--quiet)
[[ $rootfs_compression == none ]] || erofs_args+=("-z$rootfs_compression")
mkfs.erofs "${erofs_args[@]}" "$tmp/out/rootfs.erofs" "$root" >&2 || die "mkfs.erofs failed"
log "rootfs.erofs: $(du -h "$tmp/out/rootfs.erofs" | cut -f1) in $((SECONDS - start))s"

log "packing initrd ($compression)"
start=$SECONDS
ird=$tmp/initrd
mkdir -p "$ird/bin" "$ird/dev" "$ird/lib/modules"
dpkg-deb -x "$tmp/kernel"/busybox-static_*.deb "$tmp/busybox"
bb=$tmp/busybox/usr/bin/busybox
[[ -x $bb ]] || bb=$tmp/busybox/bin/busybox
[[ -x $bb ]] || die "no usr/bin/busybox in the busybox-static package"
cp "$bb" "$ird/bin/busybox"
install -m 0755 "$here/initrd/init" "$ird/init"
mknod -m 0600 "$ird/dev/console" c 5 1
# Visible again once init has moved devtmpfs into the new root (see there).
mknod -m 0666 "$ird/dev/null" c 1 3
# root.list: what mounts the root disk (virtio_pci is built in on amd64 but
# may not be elsewhere), and virtio_rng: with it the kernel's CRNG is ready
# within moments, while only this initrd runs. Ready later, in the middle of a
# busy boot, the kernel patches its code (a static key) on one vCPU while the
# other runs getrandom(); under TCG that panicked x86_64 guests at
# crng_make_state (seen at "crng init done", ~23 s into a bench boot).
# cd.list: what finds rootfs.erofs on a booted ISO.
"$here/kernel.sh" --insmod-order "$root" "$kver" virtio_pci virtio_blk virtio_rng erofs overlay >"$ird/lib/modules/root.list"
cd_mods=(isofs sr_mod ahci virtio_scsi loop)
[[ $arch != amd64 ]] || cd_mods+=(ata_piix)
"$here/kernel.sh" --insmod-order "$root" "$kver" "${cd_mods[@]}" >"$ird/lib/modules/cd.list"
while read -r m; do
  mkdir -p "$ird$(dirname "$m")"
  cp "$root$m" "$ird$m"
done < <(cat "$ird/lib/modules/root.list" "$ird/lib/modules/cd.list")
compress() {
  # zstd -9: -19 saves about 13% of the size for 40 times the build time, and
  # the kernel decompresses either equally fast. The kernel's xz decoder only
  # knows CRC32 checks; its lz4 decoder only the legacy frame format (-l).
  case $compression in
    zstd) zstd -q -9 -T0 ;;
    xz) xz --check=crc32 -9 -T0 ;;
    lz4) lz4 -q -l -9 ;;
    none) cat ;;
  esac
}
(cd "$ird" && find . -mindepth 1 -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --quiet --reproducible) | compress >"$tmp/out/initrd"
echo "$cmdline" >"$tmp/out/cmdline"
log "initrd: $(du -h "$tmp/out/initrd" | cut -f1) in $((SECONDS - start))s"

pkgver() { sed -n "s/^$1=//p" "$tmp/out/packages.txt"; }
cat >"$tmp/out/version.json" <<EOF
{
  "kdevVersion": "$kdev_version",
  "arch": "$arch",
  "kernel": "$kver",
  "kernelPackage": "$(dpkg-deb -f "$tmp/kernel/$kernel_pkg"_*.deb Version)",
  "kernelFiles": [$(printf '"%s", ' "${kernels[@]}" | sed 's/, $//')],
  "containerd": "$(pkgver containerd)",
  "runc": "$(pkgver runc)",
  "cni": "$(pkgver containernetworking-plugins)",
  "systemd": "$(pkgver systemd)",
  "debian": "$(cat "$root/etc/debian_version")",
  "cmdline": "$cmdline",
  "initrdCompression": "$compression",
  "rootfs": "rootfs.erofs",
  "rootfsCompression": "$rootfs_compression",
  "built": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "recipeHash": "$hash"
}
EOF

log "making $iso_name"
mkdir -p "$tmp/iso/boot/grub"
ln "$tmp/out/${kernels[0]}" "$tmp/iso/boot/${kernels[0]}"
ln "$tmp/out/initrd" "$tmp/iso/boot/initrd"
# initrd/init looks for it at the top of an iso9660 disk when no kdev-root disk is attached.
ln "$tmp/out/rootfs.erofs" "$tmp/iso/rootfs.erofs"
if [[ $arch == amd64 ]]; then
  # BIOS + EFI from the host's GRUB.
  sed -e "s|@CMDLINE@|$cmdline|" -e "s|@KERNEL@|bzImage|" "$here/grub.cfg" >"$tmp/iso/boot/grub/grub.cfg"
  grub_args=()
else
  # EFI only, from the downloaded arm64 GRUB; its EFI console is the serial port.
  sed -e "s|@CMDLINE@|$cmdline|" -e "s|@KERNEL@|Image|" -e '/^serial\|^terminal_/d' "$here/grub.cfg" >"$tmp/iso/boot/grub/grub.cfg"
  dpkg-deb -x "$tmp/kernel"/grub-efi-arm64-bin_*.deb "$tmp/grub"
  grub_args=(-d "$tmp/grub/usr/lib/grub/arm64-efi")
fi
grub-mkrescue "${grub_args[@]}" -o "$tmp/out/$iso_name" "$tmp/iso" -- -volid KDEV >"$tmp/grub-mkrescue.log" 2>&1 ||
  { cat "$tmp/grub-mkrescue.log" >&2; die "grub-mkrescue failed"; }

(cd "$tmp/out" && sha256sum "$iso_name" "${kernels[@]}" initrd rootfs.erofs cmdline version.json packages.txt >SHA256SUMS)

# rename(2) is atomic: the entry appears complete or not at all.
mv -T "$tmp/out" "$entry"
prune_cache
publish
exit 0
}
