#!/bin/bash
# P5: writing the .deb of a ~100 MB package tree, wazofs's writer (libarchive, xz) against
# `dpkg-deb -Zxz --build` of the same tree, interleaved, ROUNDS times (default 3). Prints
# wall and CPU seconds and the size of each, then the ratios (wazofs / dpkg-deb).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-3}
make -s build/deb_write_bench
T=$(mktemp -d /tmp/wazofs-bench-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/tree/DEBIAN" "$T/tree/usr/share/bench"
printf 'Package: bench\nVersion: 1.0\nArchitecture: all\nMaintainer: b <b@example.org>\nDescription: bench\n' >"$T/tree/DEBIAN/control"
# ~100 MB of real files (compressible like a plugin's content), copied from /usr
{ find /usr/lib /usr/share -xdev -type f -size -4M -printf '%s %p\n' 2>/dev/null || true; } |
	awk '{ total += $1; print substr($0, index($0, " ") + 1); if (total > 100 * 1024 * 1024) exit }' \
		>"$T/list"
xargs -d '\n' -a "$T/list" cp --parents -t "$T/tree/usr/share/bench/" 2>/dev/null || true
cp -a "$T/tree" "$T/plain" && rm -r "$T/plain/DEBIAN"
echo "# tree: $(du -sh "$T/plain" | cut -f1), $(find "$T/plain" -type f | wc -l) files"
measure() { # measure NAME CMD...: prints "wall cpu" of CMD
	local s e
	shift
	s=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$T/time" "$@" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
	e=$(date +%s.%N)
	echo "$(echo "$e - $s" | bc) $(awk '{print $1 + $2}' "$T/time")"
}
sum_w=0 sum_d=0 cpu_w=0 cpu_d=0
for i in $(seq 1 "$ROUNDS"); do
	read -r ww wc < <(measure wazofs build/deb_write_bench "$T/plain" "$T/w.deb")
	read -r dw dc < <(measure dpkg-deb dpkg-deb -Zxz --root-owner-group --build "$T/tree" "$T/d.deb")
	printf 'round %d: wazofs %.2f s wall %.2f s cpu %d KB | dpkg-deb %.2f s wall %.2f s cpu %d KB\n' \
		"$i" "$ww" "$wc" "$(($(stat -c %s "$T/w.deb") / 1024))" "$dw" "$dc" "$(($(stat -c %s "$T/d.deb") / 1024))"
	sum_w=$(echo "$sum_w + $ww" | bc) sum_d=$(echo "$sum_d + $dw" | bc)
	cpu_w=$(echo "$cpu_w + $wc" | bc) cpu_d=$(echo "$cpu_d + $dc" | bc)
done
printf 'P5 ratio (wazofs / dpkg-deb): wall %.2f, cpu %.2f, size %.3f\n' \
	"$(echo "$sum_w / $sum_d" | bc -l)" "$(echo "$cpu_w / $cpu_d" | bc -l)" \
	"$(echo "$(stat -c %s "$T/w.deb") / $(stat -c %s "$T/d.deb")" | bc -l)"
