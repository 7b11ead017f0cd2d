#!/usr/bin/env bash
# The integration tests read kdev's kubeconfig with a real kubectl. Bookworm has none: when the
# host lacks one, unpack (never install) sid's kubectl package into DIR and print the PATH line
# to export. Prints nothing when kubectl is already on PATH.
#   usage: scripts/test-kubectl.sh [DIR]   (default /opt/kdev-test-tools/kubectl)
set -euo pipefail
command -v kubectl >/dev/null && exit 0
dir=${1:-/opt/kdev-test-tools/kubectl}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [[ ! -x $dir/root/usr/bin/kubectl ]]; then
  apt_dir=$dir/apt
  mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dir/debs" "$dir/root"
  printf 'deb http://deb.debian.org/debian sid main\n' >"$apt_dir/sources.list"
  apt_opts=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o "Dir::State::status=/dev/null" -o Debug::NoLocking=1 -o APT::Get::List-Cleanup=0
  )
  apt-get "${apt_opts[@]}" -qq update >&2
  (cd "$dir/debs" && apt-get "${apt_opts[@]}" -qq download "kubectl:$(dpkg --print-architecture)" >&2)
  dpkg-deb -x "$dir"/debs/kubectl_*.deb "$dir/root"
fi
"$dir/root/usr/bin/kubectl" version --client >&2
printf 'PATH=%s:%s\n' "$dir/root/usr/bin" "$PATH"
