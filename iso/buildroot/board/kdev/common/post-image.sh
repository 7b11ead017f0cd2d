#!/bin/sh
# Buildroot post-image script for the kdev guest: turns Buildroot's images
# into the release artifacts of the guest contract, the same names the
# Debian recipe writes, in $BINARIES_DIR/kdev/:
#   kdev-<version>-<arch>.iso  bzImage (amd64) or Image (arm64)  initrd
#   cmdline  version.json  SHA256SUMS
# Version: $KDEV_VERSION, else the "version" of the repository's package.json.
set -eu

: "${BINARIES_DIR:?run by Buildroot}" "${BR2_CONFIG:?run by Buildroot}"
: "${BR2_EXTERNAL_KDEV_PATH:?run by Buildroot}" "${HOST_DIR:?run by Buildroot}"

config_value() {
	sed -n "s/^$1=\"\{0,1\}\([^\"]*\)\"\{0,1\}\$/\1/p" "$BR2_CONFIG"
}

pkg_version() {
	sed -n "s/^$1_VERSION = //p" "$BR2_EXTERNAL_KDEV_PATH/package/$2/$2.mk"
}

# board/ is named like Buildroot's arches; artifacts use Go/Kubernetes arch
# names like the Debian recipe (kdev-<version>-amd64.iso).
if grep -q '^BR2_x86_64=y' "$BR2_CONFIG"; then
	board_arch=x86_64 arch=amd64 kernel=bzImage
elif grep -q '^BR2_aarch64=y' "$BR2_CONFIG"; then
	board_arch=aarch64 arch=arm64 kernel=Image
else
	echo "post-image.sh: unsupported architecture" >&2
	exit 1
fi
board="$BR2_EXTERNAL_KDEV_PATH/board/kdev"

version="${KDEV_VERSION:-}"
if [ -z "$version" ]; then
	version=$(sed -n 's/^  "version": *"\([^"]*\)".*/\1/p' \
		"$BR2_EXTERNAL_KDEV_PATH/../../package.json" 2>/dev/null | head -n 1)
fi
version="${version:-0.0.0-dev}"

cpio=$(ls "$BINARIES_DIR"/rootfs.cpio.* 2>/dev/null | head -n 1)
if [ -z "$cpio" ]; then
	echo "post-image.sh: no compressed rootfs.cpio.* in $BINARIES_DIR" >&2
	exit 1
fi

# The ISO boot menu and the cmdline file must agree, or a direct kernel
# boot and an ISO boot would start different guests.
cmdline=$(cat "$board/$board_arch/cmdline")
if ! grep -Fq "linux __KERNEL_PATH__ $cmdline" "$board/$board_arch/grub.cfg"; then
	echo "post-image.sh: $board_arch/grub.cfg kernel arguments differ from $board_arch/cmdline" >&2
	exit 1
fi

out="$BINARIES_DIR/kdev"
rm -rf "$out"
mkdir -p "$out"
iso="kdev-$version-$arch.iso"

cp "$BINARIES_DIR/$kernel" "$out/$kernel"
cp "$cpio" "$out/initrd"
printf '%s\n' "$cmdline" >"$out/cmdline"

if [ "$arch" = amd64 ]; then
	# fs/iso9660 already made a BIOS+EFI ISO with grub2.
	cp "$BINARIES_DIR/rootfs.iso9660" "$out/$iso"
else
	# Buildroot's iso9660 target is x86-only: lay out the same tree and
	# make an EFI-bootable ISO with grub2's arm64-efi image.
	tree="$BINARIES_DIR/kdev-iso-tree"
	rm -rf "$tree"
	mkdir -p "$tree/boot/grub"
	cp "$BINARIES_DIR/Image" "$tree/boot/Image"
	cp "$cpio" "$tree/boot/initrd"
	sed -e 's%__KERNEL_PATH__%/boot/Image%' -e 's%__INITRD_PATH__%/boot/initrd%' \
		"$board/$board_arch/grub.cfg" >"$tree/boot/grub/grub.cfg"
	# FAT image for the El Torito EFI entry, sized to its content plus slack.
	efi_kib=$(du -sk "$BINARIES_DIR/efi-part" | cut -f1)
	dd if=/dev/zero of="$tree/boot/fat.efi" bs=1024 count=$((efi_kib + 1024)) 2>/dev/null
	"$HOST_DIR/sbin/mkfs.vfat" "$tree/boot/fat.efi" >/dev/null
	"$HOST_DIR/bin/mcopy" -s -i "$tree/boot/fat.efi" "$BINARIES_DIR/efi-part/"* ::/
	"$HOST_DIR/bin/xorriso" -as mkisofs -J -R -V KDEV \
		-e boot/fat.efi -no-emul-boot \
		-o "$out/$iso" "$tree"
	rm -rf "$tree"
fi

kernel_version=$(config_value BR2_LINUX_KERNEL_CUSTOM_VERSION_VALUE)
# Named as the Debian recipe names it (zstd, xz, gzip).
case "${cpio##*.cpio.}" in
zst) compression=zstd ;;
gz) compression=gzip ;;
*) compression=${cpio##*.cpio.} ;;
esac
if [ "${BR2_REPRODUCIBLE:-}" = y ] && [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
	built=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
else
	built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
fi
# Same keys as the Debian recipe's version.json where they mean the same.
cat >"$out/version.json" <<JSON
{
  "kdevVersion": "$version",
  "arch": "$arch",
  "kernel": "$kernel_version",
  "containerd": "$(pkg_version CONTAINERD_BIN containerd-bin)",
  "runc": "$(pkg_version RUNC_BIN runc-bin)",
  "cni": "$(pkg_version CNI_PLUGINS_BIN cni-plugins-bin)",
  "crictl": "$(pkg_version CRICTL_BIN crictl-bin)",
  "buildroot": "${BR2_VERSION:-unknown}",
  "recipe": "buildroot",
  "cmdline": "$cmdline",
  "initrdCompression": "$compression",
  "built": "$built"
}
JSON

(cd "$out" && sha256sum "$iso" "$kernel" initrd cmdline version.json >SHA256SUMS)
echo "kdev artifacts in $out:"
ls -l "$out"
