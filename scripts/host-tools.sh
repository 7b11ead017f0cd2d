#!/usr/bin/env bash
# Test-only host helpers that bookworm lacks, unpacked (never installed) from a newer Debian suite
# into one folder: gvproxy (runs as is: glibc >= 2.34) and virtiofsd (needs glibc >= 2.39, so it
# runs through the unpacked suite's own loader, behind a wrapper). The product never uses this:
# it finds the system's virtiofsd/gvproxy like a user's machine has them.
#   usage: scripts/host-tools.sh [DIR]   (default /opt/kdev-test-tools)
#   prints the env lines to export: KDEV_VIRTIOFSD=… KDEV_GVPROXY=…
set -euo pipefail
dir=${1:-/opt/kdev-test-tools}
suite=${KDEV_TOOLS_SUITE:-trixie}
arch=$(dpkg --print-architecture)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ -x $dir/bin/virtiofsd && -x $dir/bin/gvproxy ]]; then
  printf 'KDEV_VIRTIOFSD=%s\nKDEV_GVPROXY=%s\n' "$dir/bin/virtiofsd" "$dir/bin/gvproxy"
  exit 0
fi

apt_dir=$dir/apt
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dir/debs" "$dir/root" "$dir/bin"
printf 'deb http://deb.debian.org/debian %s main\n' "$suite" >"$apt_dir/sources.list"
apt_opts=(
  -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::State::status=/dev/null" -o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0
)
apt-get "${apt_opts[@]}" -qq update >&2
pkgs=(virtiofsd gvproxy libc6 libseccomp2 libcap-ng0 libgcc-s1)
(cd "$dir/debs" && apt-get "${apt_opts[@]}" -qq download "${pkgs[@]/%/:$arch}" >&2)
for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done

gvproxy=$(find "$dir/root" -type f -name gvproxy -perm -u+x | head -n1)
virtiofsd=$(find "$dir/root" -type f -name virtiofsd -perm -u+x | head -n1)
loader=$(find "$dir/root" -name 'ld-linux-*.so.*' | head -n1)
libdir=$(dirname "$(find "$dir/root" -name 'libc.so.6' | head -n1)")
[[ -n $gvproxy && -n $virtiofsd && -n $loader && -n $libdir ]] || { echo "host-tools: unpack incomplete" >&2; exit 1; }
ln -sf "$gvproxy" "$dir/bin/gvproxy"
cat >"$dir/bin/virtiofsd" <<WRAP
#!/bin/sh
exec "$loader" --library-path "$libdir" "$virtiofsd" "\$@"
WRAP
chmod 755 "$dir/bin/virtiofsd"
"$dir/bin/virtiofsd" --version >&2
"$dir/bin/gvproxy" -version >&2 || true
printf 'KDEV_VIRTIOFSD=%s\nKDEV_GVPROXY=%s\n' "$dir/bin/virtiofsd" "$dir/bin/gvproxy"
