#!/bin/bash
# The figures of issue 25, against their baselines (tests never fail on timing):
#   P6 1,000 readers of MOUNT/events: how long after the first reader each of the others
#      gets each line of an install (the spread of one change over every reader), and
#      `ls MOUNT` / `cat status` / `cp -r` into incoming/ with the readers against without;
#   P7 20 installs at once (cp -r of 20 plugins, 4 readers listing the tree meanwhile)
#      against the same 20 one after another;
#   P8 the daemon's idle wakeups over 10 s (every thread's context switches).
# Usage (root): scripts/bench-events.sh [READERS]   (default 1000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000}
make -s all
T=$(mktemp -d /tmp/wazofs-bench.XXXXXX)
chmod 0711 "$T"
DPID=
cleanup() {
	pkill -KILL -f "cat $T/mnt/events" 2>/dev/null || true
	fusermount3 -uz "$T/mnt" 2>/dev/null || true
	[ -z "$DPID" ] || kill "$DPID" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
. scripts/bench-lib.sh
mkdir -p "$T/mnt" "$T/stub"
mkroot "$T/root"
printf '#!/bin/sh\nexit 0\n' >"$T/stub/asterisk"
chmod +x "$T/stub/asterisk"
PATH="$T/stub:$PATH" build/wazofs -f -o "root=$T/root,state=$T/state,settle_ms=100" "$T/mnt" 2>"$T/log" &
DPID=$!
until mountpoint -q "$T/mnt"; do sleep 0.05; done
plugin() { # plugin DIR NAME
	mkdir -p "$1/wazo"
	printf 'name: %s\nnamespace: bench\nversion: 1.0.0\nplugin_format_version: 0\n' "$2" >"$1/wazo/plugin.yml"
	printf '#!/bin/sh\ncase "$1" in package) mkdir -p "$pkgdir/usr/share/%s" ;; esac\n' "$2" >"$1/wazo/rules"
	chmod +x "$1/wazo/rules"
}
installed() { [ ! -e "$T/mnt/incoming/$1" ] && [ -d "$T/mnt/bench/$1" ]; }
wait_installed() { until installed "$1"; do sleep 0.01; done; }
timed() { local a b; a=$(now); "$@" >/dev/null; b=$(now); ms "$a" "$b"; }
# the same three actions, 5 rounds: ls of the mount, cat of a status, cp -r of a plugin
actions() { # actions LABEL
	local r
	for r in 1 2 3 4 5; do
		plugin "$T/src/$1$r" "$1$r"
		echo "$(timed ls "$T/mnt") $(timed cat "$T/mnt/status") $(timed cp -r "$T/src/$1$r" "$T/mnt/incoming/")"
		wait_installed "$1$r"
	done >"$T/$1.times"
}
actions alone

# --- P6: N readers, one python process polling them all, a timestamp per line
cat >"$T/readers.py" <<'PY'
import os, select, sys, time
n, path, out, ready = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
fds = [os.open(path, os.O_RDONLY) for _ in range(n)]
open(ready, "w").close()
poller = select.poll()
for fd in fds:
    poller.register(fd, select.POLLIN)
got = {fd: b"" for fd in fds}
arrivals = {fd: [] for fd in fds}
end = time.time() + float(sys.argv[5])
while time.time() < end:
    for fd, ev in poller.poll(100):
        data = os.read(fd, 65536)
        t = time.monotonic()
        got[fd] += data
        arrivals[fd] += [t] * data.count(b"\n")
with open(out, "w") as f:
    for fd in fds:
        f.write(" ".join("%.6f" % t for t in arrivals[fd]) + "\n")
PY
ulimit -n "$(ulimit -Hn)" # a descriptor per reader
python3 "$T/readers.py" "$N" "$T/mnt/events" "$T/arrivals" "$T/ready" 20 &
RP=$!
until [ -e "$T/ready" ]; do sleep 0.05; done
actions readers
wait "$RP"
# the spread of each line: its arrival at each reader minus its first arrival anywhere
spread=$(python3 - "$T/arrivals" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
lines = min(len(r) for r in rows)
d = sorted((r[i] - min(x[i] for x in rows)) * 1000 for r in rows for i in range(lines))
print("%d %d %.1f %.1f %.1f" % (len(rows), lines, d[len(d) // 2], d[int(len(d) * 0.99)], d[-1]))
PY
)
read -r readers lines med p99 max <<<"$spread"
col() { awk -v c="$2" '{ print $c }' "$T/$1.times" | median; }
echo "# $(nproc) cores, $(uname -r)"
printf 'P6 %d readers of events, %d lines each: spread after the first reader median %s ms, p99 %s ms, max %s ms\n' \
	"$readers" "$lines" "$med" "$p99" "$max"
printf 'P6 with them / without: ls %d / %d ms, cat status %d / %d ms, cp -r %d / %d ms (medians of 5)\n' \
	"$(col readers 1)" "$(col alone 1)" "$(col readers 2)" "$(col alone 2)" "$(col readers 3)" "$(col alone 3)"

# --- P7: 20 installs one after another, then 20 at once with 4 readers listing the tree
for i in $(seq 1 20); do plugin "$T/src/seq$i" "seq$i"; plugin "$T/src/par$i" "par$i"; done
a=$(now)
for i in $(seq 1 20); do cp -r "$T/src/seq$i" "$T/mnt/incoming/"; wait_installed "seq$i"; done
b=$(now)
seq_ms=$(ms "$a" "$b")
lister() { while [ ! -e "$T/stop" ]; do ls -lR "$T/mnt/bench" >/dev/null 2>&1; done; }
LISTERS=()
for i in 1 2 3 4; do
	lister &
	LISTERS+=($!)
done
a=$(now)
COPIES=()
for i in $(seq 1 20); do
	cp -r "$T/src/par$i" "$T/mnt/incoming/" &
	COPIES+=($!)
done
wait_all() { for i in $(seq 1 20); do installed "par$i" || return 1; done; }
until wait_all; do sleep 0.02; done
b=$(now)
touch "$T/stop"
wait "${LISTERS[@]}" "${COPIES[@]}" # not the daemon's
printf 'P7 20 installs at once with 4 readers listing: %d ms | one after another: %d ms | ratio %s\n' \
	"$(ms "$a" "$b")" "$seq_ms" "$(ratio "$(ms "$a" "$b")" "$seq_ms")"

# --- P8: idle wakeups
sleep 2
wakeups() { cat /proc/"$DPID"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
w0=$(wakeups)
sleep 10
printf 'P8 idle 10 s: %d wakeups of the daemon'"'"'s %d threads\n' "$(($(wakeups) - w0))" "$(ls /proc/"$DPID"/task | wc -l)"
