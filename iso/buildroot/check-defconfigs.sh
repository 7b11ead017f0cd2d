#!/bin/sh
# Check that every symbol set in iso/buildroot/configs/*_defconfig survives
# Buildroot's kconfig: expand each defconfig in a scratch output directory
# and compare the resulting .config line by line. A symbol kconfig drops is
# either unknown to this Buildroot (a typo, or renamed) or has an unmet
# dependency; both are reported.
#
#   iso/buildroot/check-defconfigs.sh BUILDROOT_DIR [NAME_defconfig ...]
#
# BUILDROOT_DIR is an unpacked Buildroot release (the one the defconfigs
# target is named in their header). Needs a host C compiler and make; it
# downloads and builds nothing else.
set -eu

if [ $# -lt 1 ] || [ ! -f "$1/Config.in" ]; then
	echo "usage: $0 BUILDROOT_DIR [NAME_defconfig ...]" >&2
	exit 2
fi
br=$(cd "$1" && pwd)
shift
ext=$(cd "$(dirname "$0")" && pwd)

if [ $# -eq 0 ]; then
	set -- $(cd "$ext/configs" && ls -- *_defconfig)
fi

version=$(sed -n 's/^export BR2_VERSION := //p' "$br/Makefile")
echo "Buildroot $version at $br"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

status=0
for name in "$@"; do
	defconfig="$ext/configs/$name"
	out="$work/$name"
	if ! make -s -C "$br" O="$out" BR2_EXTERNAL="$ext" "$name" >"$out.log" 2>&1; then
		echo "FAIL $name: kconfig failed:"
		sed 's/^/    /' "$out.log"
		status=1
		continue
	fi
	# kconfig warnings (e.g. "override: reassigning", unmet dependencies).
	grep -i 'warning' "$out.log" | sed "s/^/WARN $name: /" || true

	total=0 bad=0
	# Each "SYM=value" must come out unchanged; each "# SYM is not set" must
	# not come out set.
	while IFS= read -r line; do
		case "$line" in
		'# BR2_'*' is not set')
			sym=${line#\# }
			sym=${sym%% *}
			total=$((total + 1))
			if grep -q "^$sym=" "$out/.config"; then
				echo "FAIL $name: $sym should be unset but is $(grep "^$sym=" "$out/.config")"
				bad=$((bad + 1))
			fi
			;;
		BR2_*=*)
			sym=${line%%=*}
			total=$((total + 1))
			if ! grep -qxF -- "$line" "$out/.config"; then
				got=$(grep -- "^$sym=" "$out/.config" || grep -- "^# $sym is not set" "$out/.config" || true)
				if ! grep -rqE "^[[:space:]]*(menu)?config $sym\$" "$br" --include='Config.in*' &&
					! grep -rqE "^[[:space:]]*(menu)?config $sym\$" "$ext" --include='Config.in*'; then
					why="unknown symbol in Buildroot $version"
				else
					why="got '${got:-nothing}' (unmet dependency or wrong value)"
				fi
				echo "FAIL $name: $line: $why"
				bad=$((bad + 1))
			fi
			;;
		esac
	done <"$defconfig"

	if [ "$bad" -eq 0 ]; then
		echo "OK   $name: all $total symbols survive kconfig"
	else
		echo "FAIL $name: $bad of $total symbols did not survive"
		status=1
	fi
done
exit "$status"
