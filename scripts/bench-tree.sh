#!/bin/bash
# P3 and P4: reading a tree of N installed plugins (default 1000, in 10 namespaces).
# The dpkg database of a throwaway root is written the way `dpkg -i` leaves it (a status
# stanza, a file list and the plugin's metadata per package; writing it directly takes
# seconds where 1000 dpkg runs take minutes). Then, interleaved ROUNDS times (default 5):
#   P3 `ls -l MOUNT/*/` + `cat MOUNT/*/*/status` through wazofs, against the same commands
#      over a plain directory holding the same files (copied from the mount); for
#      reference, the same commands through a minimal FUSE passthrough of that directory
#      (scripts/passthrough_bench.c: the floor of any FUSE filesystem that opens each
#      file, as MOUNT/events needs) and `dpkg-query -W` of every plugin package;
#   P4 the daemon's resident memory after the listings.
# Also counts the FUSE requests of one listing (a run with -d). Prints medians, judges
# nothing. PROFILE=1: only a perf profile of the daemon during 3 listings. MEMMAP=1: also
# the daemon's resident memory by mapping. BUILD=DIR: the wazofs of DIR (default build).
# Usage (root): scripts/bench-tree.sh [N] [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
N=${1:-1000}
ROUNDS=${2:-5}
BUILD=${BUILD:-build}
make -s BUILD="$BUILD" "$BUILD/wazofs" "$BUILD/passthrough_bench"
T=$(mktemp -d /tmp/wazofs-bench-tree.XXXXXX)
chmod 0711 "$T"
PID=
PT=
cleanup() {
	fusermount3 -uz "$T/mnt" 2>/dev/null || true
	fusermount3 -uz "$T/mnt2" 2>/dev/null || true
	[ -z "$PT" ] || kill "$PT" 2>/dev/null || true
	[ -z "$PID" ] || kill "$PID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT

R=$T/root
mkroot "$R"
mkdir -p "$T/mnt"
for i in $(seq "$N"); do
	ns=ns$((i % 10)) name=p$i pkg=wazo-plugind-p$i-ns$((i % 10))
	d=$R/usr/lib/wazo-plugind/plugins/$ns/$name/wazo
	mkdir -p "$d"
	printf 'name: %s\nnamespace: %s\nversion: 1.0.0\n' "$name" "$ns" >"$d/plugin.yml"
	printf '/usr/lib/wazo-plugind/plugins/%s/%s/wazo/plugin.yml\n' "$ns" "$name" \
		>"$R/var/lib/dpkg/info/$pkg.list"
	(cd "$R" && md5sum "${d#"$R"/}/plugin.yml") >"$R/var/lib/dpkg/info/$pkg.md5sums"
	printf 'Package: %s\nStatus: install ok installed\nPriority: optional\nSection: wazo-plugind-plugin\nMaintainer: b <b@example.org>\nArchitecture: all\nVersion: 1.0.0\nDescription: bench plugin\n\n' \
		"$pkg" >>"$R/var/lib/dpkg/status"
done
echo "# $N plugins installed in $R ($(dpkg-query --admindir="$R/var/lib/dpkg" -W 'wazo-plugind-*' | wc -l) known to dpkg-query)"

mount_wazofs() { # mount_wazofs [extra -o]
	"$BUILD/wazofs" -f ${WAZOFS_FLAGS:-} -o "root=$R,state=$T/state,build_user=root${1:+,$1}" "$T/mnt" 2>"$T/daemon.err" &
	PID=$!
	for _ in $(seq 100); do [ -d "$T/mnt/ns1" ] && return 0; sleep 0.05; done
	echo "wazofs did not mount" >&2
	cat "$T/daemon.err" >&2
	exit 1
}
unmount_wazofs() {
	fusermount3 -u "$T/mnt"
	wait "$PID" || true
	PID=
}
listing() { # listing DIR: the P3 commands
	ls -l "$1"/*/ >/dev/null
	cat "$1"/*/*/status >/dev/null
}

if [ "${PROFILE:-}" = 1 ]; then
	mount_wazofs ""
	listing "$T/mnt"
	perf record -g -p "$PID" -o "$T/perf.data" -- sleep 1000 2>/dev/null &
	perf_pid=$!
	sleep 0.5
	for _ in 1 2 3; do listing "$T/mnt"; done
	kill -INT "$perf_pid"
	wait "$perf_pid" || true
	perf report -i "$T/perf.data" --no-children --sort symbol 2>/dev/null | grep '%' | grep -v '^#' | head -30
	unmount_wazofs
	exit 0
fi

# requests per listing (one cold and one warm run under -d)
mount_wazofs "debug"
listing "$T/mnt"
cold=$(grep -c 'opcode:' "$T/daemon.err" || true)
listing "$T/mnt"
warm=$(($(grep -c 'opcode:' "$T/daemon.err" || true) - cold))
grep -o 'opcode: [A-Z_]*' "$T/daemon.err" | sort | uniq -c | sort -rn | head -8 |
	awk '{ printf "%s %s  ", $3, $1 } END { print "" }' >"$T/ops"
unmount_wazofs
echo "# FUSE requests per plugin: first listing $(awk -v a="$cold" -v n="$N" 'BEGIN { printf "%.1f", a / n }'), next $(awk -v a="$warm" -v n="$N" 'BEGIN { printf "%.1f", a / n }')"
echo "# most frequent (both listings): $(cat "$T/ops")"

mount_wazofs ""
mkdir "$T/plain"
(cd "$T/mnt" && for ns in ns*; do cp -r "$ns" "$T/plain/"; done)
mkdir "$T/plain/incoming" "$T/mnt2"
"$BUILD/passthrough_bench" -n "$T/plain" "$T/mnt2" &
PT=$!
for _ in $(seq 100); do [ -d "$T/mnt2/ns1" ] && break; sleep 0.05; done
for d in "$T/mnt" "$T/plain" "$T/mnt2"; do listing "$d"; listing "$d"; done # warm all
for r in $(seq "$ROUNDS"); do
	a=$(now)
	listing "$T/mnt"
	b=$(now)
	listing "$T/plain"
	c=$(now)
	dpkg-query --admindir="$R/var/lib/dpkg" -W 'wazo-plugind-*' >/dev/null
	d=$(now)
	listing "$T/mnt2"
	e=$(now)
	echo "$(ms "$a" "$b") $(ms "$b" "$c") $(ms "$c" "$d") $(ms "$d" "$e")" >>"$T/p3"
done
fusermount3 -u "$T/mnt2"
wait "$PT" || true
PT=
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$PID/status")
# the daemon's own pages: RSS less the pages of shared libraries it shares with others
uss=$(awk '/^Private_(Clean|Dirty):/ { k += $2 } END { print k }' "/proc/$PID/smaps_rollup")
if [ -n "${MEMMAP:-}" ]; then # where P4's resident KiB are, by mapping
	awk '/^[0-9a-f]+-/ { name = ($6 == "" ? "[anon]" : $6) } /^Rss:/ { r[name] += $2 }
		END { for (n in r) if (r[n] >= 64) printf "#   %6d KiB %s\n", r[n], n }' \
		"/proc/$PID/smaps" | sort -k2 -rn
	echo "#   $(ls "/proc/$PID/task" | wc -l) threads"
fi
unmount_wazofs
w=$(cut -d' ' -f1 "$T/p3" | median)
e=$(cut -d' ' -f2 "$T/p3" | median)
q=$(cut -d' ' -f3 "$T/p3" | median)
f=$(cut -d' ' -f4 "$T/p3" | median)
printf 'P3 ls -l + cat status, %d plugins: wazofs %d ms | plain dir %d ms | FUSE passthrough of it %d ms (%.1f) | dpkg-query -W %d ms | ratio %.1f (vs the passthrough %.1f, vs dpkg-query %.1f)\n' \
	"$N" "$w" "$e" "$f" "$(ratio "$f" "$e")" "$q" "$(ratio "$w" "$e")" "$(ratio "$w" "$f")" "$(ratio "$w" "$q")"
printf 'P4 daemon RSS after the listings, %d plugins: %.1f MiB (private: %.1f MiB)\n' "$N" \
	"$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(awk -v k="$uss" 'BEGIN { print k / 1024 }')"
