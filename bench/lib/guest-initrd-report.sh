# shellcheck shell=bash
# guest_initrd_report INITRD WORKDIR: prints the initrd's compressed and
# uncompressed size and its largest contributors, grouped by Debian package
# (from the image's own dpkg database), kernel modules and everything else.
# Each group's compressed figure is that group alone through zstd -9: a guide
# to what shrinking it would save, not an exact share of the file.

guest_initrd_decompressor() {
  case $(od -An -tx1 -N4 "$1" | tr -d ' ') in
    28b52ffd) echo "zstd -dc" ;;
    fd377a58) echo "xz -dc" ;;
    1f8b*) echo "gzip -dc" ;;
    *) echo cat ;;
  esac
}

guest_mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB", b / 1048576 }'; }

guest_initrd_report() {
  local initrd=$1 root=$2 dec
  dec=$(guest_initrd_decompressor "$initrd")
  mkdir -p "$root"
  local packed unpacked nfiles
  packed=$(stat -c %s "$initrd")
  unpacked=$($dec "$initrd" | wc -c)
  # Device nodes need root; their absence does not change any size.
  (cd "$root" && $dec "$initrd" | cpio -id --quiet --no-absolute-filenames 2>/dev/null) || true
  nfiles=$(find "$root" -type f | wc -l)
  echo "initrd: $(guest_mb "$packed") (${dec%% *}), $(guest_mb "$unpacked") as cpio, $nfiles files"

  # path<TAB>group for every regular file; packages first, then the rest.
  (
    cd "$root" || exit
    for list in var/lib/dpkg/info/*.list; do
      [[ -f $list ]] || continue
      local pkg=${list##*/}
      pkg=${pkg%.list}
      pkg=${pkg%:*}
      awk -v p="$pkg" '{ print substr($0, 2) "\t" p }' "$list"
    done
  ) | sort -t $'\t' -k1,1 -u >"$root.owners"
  (cd "$root" && find . -type f -printf '%P\t%s\n' | sort -t $'\t' -k1,1) >"$root.sizes"
  # Merged /usr: dpkg lists /bin/x and /lib/x, the tree has usr/bin/x.
  awk -F '\t' '
    NR == FNR { own[$1] = $2; next }
    {
      path = $1; alt = path; sub(/^usr\//, "", alt)
      if (path ~ /^usr\/lib\/modules\//) g = "(kernel modules)"
      else if (path in own) g = own[path]
      else if (alt in own) g = own[alt]
      else g = "(not from a package: overlay, generated)"
      print g "\t" path "\t" $2
    }' "$root.owners" "$root.sizes" >"$root.members"
  awk -F '\t' '{ size[$1] += $3 } END { for (g in size) printf "%d\t%s\n", size[g], g }' "$root.members" |
    sort -rn >"$root.groups"

  echo "largest contributors (uncompressed, and zstd -9 of that group alone):"
  local size group packed_group
  head -n "${KDEV_BENCH_TOP:-10}" "$root.groups" | while IFS=$'\t' read -r size group; do
    packed_group=$(awk -F '\t' -v g="$group" '$1 == g { print $2 }' "$root.members" |
      tar -C "$root" -cf - -T - | zstd -q -9 | wc -c)
    printf '  %-42s %10s %10s\n' "$group" "$(guest_mb "$size")" "$(guest_mb "$packed_group")"
  done
  echo "largest files:"
  # sort into a file: piped into head, sort dies of SIGPIPE and pipefail fails the whole bench.
  sort -t $'\t' -k2,2 -rn "$root.sizes" >"$root.largest"
  head -n 5 "$root.largest" | while IFS=$'\t' read -r path size; do
    printf '  %-42s %10s\n' "/$path" "$(guest_mb "$size")"
  done
}
