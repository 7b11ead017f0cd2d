#!/usr/bin/env bash
# The kernel in the form a driver boots without decompressing it.
#   vmlinux BZIMAGE OUT  the x86_64 ELF kernel inside a bzImage; refuses one
#                        without the PVH entry note QEMU needs to boot it.
#   arm64 VMLINUZ OUT    an uncompressed arm64 Image (magic "ARM\x64" at 0x38);
#                        a gzip or EFI zboot kernel is unpacked first.
set -euo pipefail
mode=$1 src=$2 dst=$3
die() {
  echo "kernel-image.sh: $*" >&2
  exit 1
}
# u32le FILE OFFSET: the little-endian 32-bit number at OFFSET.
u32le() { od -An -tu4 -j "$2" -N4 --endian=little "$1" | tr -d ' '; }
# hexat FILE OFFSET COUNT: COUNT bytes at OFFSET as hex.
hexat() { od -An -tx1 -j "$2" -N "$3" "$1" | tr -d ' \n'; }
# slice FILE OFFSET LENGTH: those bytes of FILE on stdout.
slice() { dd if="$1" iflag=skip_bytes,count_bytes skip="$2" count="$3" bs=1M status=none; }
# Decompresses FILE by its magic; trailing bytes after the stream (the
# kernel appends the uncompressed size) make the tools complain, not fail us.
unpack() {
  local f=$1 magic
  magic=$(hexat "$f" 0 6)
  case $magic in
    28b52ffd*) zstd -dc <"$f" 2>/dev/null || true ;;
    fd377a585a00) xz -dc --single-stream <"$f" 2>/dev/null || true ;;
    1f8b*) gzip -dc <"$f" 2>/dev/null || true ;;
    5d0000*) xz -dc --format=lzma <"$f" 2>/dev/null || true ;;
    02214c18*) lz4 -dc <"$f" 2>/dev/null || true ;;
    *) die "unknown compression (magic $magic) in $src" ;;
  esac
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

case $mode in
  vmlinux)
    [[ $(hexat "$src" 0x202 4) == 48647253 ]] || die "$src is not a bzImage (no HdrS)"
    setup_sects=$(od -An -tu1 -j $((0x1f1)) -N1 "$src" | tr -d ' ')
    ((setup_sects == 0)) && setup_sects=4
    # Setup header fields payload_offset and payload_length (boot protocol 2.08+).
    off=$(((setup_sects + 1) * 512 + $(u32le "$src" $((0x248)))))
    len=$(u32le "$src" $((0x24c)))
    slice "$src" "$off" "$len" >"$tmp/payload"
    unpack "$tmp/payload" >"$tmp/vmlinux"
    [[ $(hexat "$tmp/vmlinux" 0 4) == 7f454c46 ]] || die "the payload of $src is not an ELF kernel"
    # XEN_ELFNOTE_PHYS32_ENTRY (type 18) in a "Xen" note: QEMU's PVH entry.
    readelf -n "$tmp/vmlinux" | awk '$1 == "Xen" && /\(0x00000012\)|PHYS32/ { found = 1 } END { exit !found }' ||
      die "$src has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): QEMU cannot boot its vmlinux"
    ;;
  arm64)
    cp "$src" "$tmp/Image"
    case $(hexat "$src" 0 8) in
      1f8b*) unpack "$src" >"$tmp/Image" ;;
      4d5a0000*)
        # EFI zboot: "MZ", then "zimg", payload offset and size, compression name.
        if [[ $(hexat "$src" 4 4) == 7a696d67 ]]; then
          poff=$(u32le "$src" 8) plen=$(u32le "$src" 12)
          slice "$src" "$poff" "$plen" >"$tmp/payload"
          unpack "$tmp/payload" >"$tmp/Image"
        fi
        ;;
    esac
    [[ $(hexat "$tmp/Image" $((0x38)) 4) == 41524d64 ]] ||
      die "$src is not an arm64 Image (no ARM\\x64 magic at 0x38, nor a gzip or EFI zboot one holding it)"
    ;;
  *) die "unknown mode '$mode'" ;;
esac
mv "$tmp/$( [[ $mode == vmlinux ]] && echo vmlinux || echo Image)" "$dst"
