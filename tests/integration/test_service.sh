#!/bin/bash
# Operating it as a service (issue 10): MOUNT/status (the daemon and every job, queued
# copies included), MOUNT/events (a JSON line per state change, blocking), MOUNT/history
# (one line per finished install, upgrade, rollback and removal, kept across restarts).
. "$(dirname "$0")/lib.sh"
make_sandbox
start_daemon || { finish; exit 1; }
json_lines_ok() { /usr/bin/python3 -c '
import json, sys
keys = {"time", "event", "namespace", "name", "version", "state", "step", "entry", "error"}
n = 0
for line in open(sys.argv[1]):
    e = json.loads(line)
    assert set(e) == keys, e
    n += 1
assert n > 0' "$1"; }
valid_yaml() { /usr/bin/python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1], "rb"))' "$1"; }

check "MOUNT/status, events and history are listed" sh -c "timeout 5 ls '$MNT' | grep -qx status && timeout 5 ls '$MNT' | grep -qx events && timeout 5 ls '$MNT' | grep -qx history"
timeout 5 cat "$MNT/status" >"$T/overview0"
check "MOUNT/status is valid YAML" valid_yaml "$T/overview0"
check_contains "... naming root and state" "$T/overview0" "^root: $ROOT\$"
check_contains "... with no job" "$T/overview0" '^jobs: \[\]$'

# a reader of MOUNT/events from now on, while a slow plugin and one behind it install
timeout 60 cat "$MNT/events" >"$T/events" &
READER=$!
sleep 0.5
make_plugin "$T/src/slow" slow demo 1.0.0 0 'sleep 3'
make_plugin "$T/src/behind" behind demo 1.0.0
cp -r "$T/src/slow" "$MNT/incoming/"
wait_for 20 grep -qx 'step: building' "$MNT/incoming/slow.status"
cp -r "$T/src/behind" "$MNT/incoming/"
check "a copy behind a running job says queued in its ENTRY.status" wait_for 5 grep -qx 'state: queued' "$MNT/incoming/behind.status"
timeout 5 cat "$MNT/status" >"$T/overview1"
check "MOUNT/status lists the jobs" grep -q -- '^  -$' "$T/overview1"
check_contains "... the running one installing at its step" "$T/overview1" '^    plugin: demo/slow$'
check_contains "... and the queued one" "$T/overview1" '^    state: queued$'
queued_at_start() { grep -A1 -x '    state: queued' "$T/overview1" | grep -qx '    step: starting'; }
check "... at its first step" queued_at_start
check "MOUNT/status stays valid YAML" valid_yaml "$T/overview1"
check "both install" wait_job behind 60
wait_job slow
sleep 0.5
kill "$READER" 2>/dev/null
wait "$READER" 2>/dev/null
timeout 5 cat "$MNT/status" >"$T/overview2"
check_contains "once both are installed, MOUNT/status lists no job (a finished job is none)" "$T/overview2" '^jobs: \[\]$'
check "MOUNT/events gave JSON lines with every key" json_lines_ok "$T/events"
check_contains "... install progress named as wazo-plugind's bus event" "$T/events" '"event": "plugin_install_progress"'
check_contains "... with each step of slow" "$T/events" '"name": "slow".*"step": "building"'
check_contains "... up to completed" "$T/events" '"name": "behind".*"state": "installed".*"step": "completed"'

# upgrade, rollback (an older version), removal: each a history line
make_plugin "$T/src/slow2" slow demo 2.0.0
cp -r "$T/src/slow2" "$MNT/incoming/"
wait_job slow2
make_plugin "$T/src/slow1" slow demo 1.0.0
cp -r "$T/src/slow1" "$MNT/incoming/"
wait_job slow1
timeout 60 cat "$MNT/events" >"$T/events2" &
READER=$!
sleep 0.3
check "rm -r of a plugin" timeout 60 rm -r "$MNT/demo/behind"
sleep 0.5
kill "$READER" 2>/dev/null
wait "$READER" 2>/dev/null
check_contains "the removal is in MOUNT/events" "$T/events2" '"event": "plugin_uninstall_progress".*"name": "behind".*"step": "completed"'
timeout 5 cat "$MNT/history" >"$T/history"
check_contains "history: the first install, by uid 0" "$T/history" '^[0-9T:.-]+Z uid=0 install demo/slow - -> 1.0.0 ok$'
check_contains "history: the upgrade" "$T/history" ' uid=0 upgrade demo/slow 1.0.0 -> 2.0.0 ok$'
check_contains "history: the rollback" "$T/history" ' uid=0 rollback demo/slow 2.0.0 -> 1.0.0 ok$'
check_contains "history: the removal" "$T/history" ' uid=0 remove demo/behind 1.0.0 -> - ok$'
make_plugin "$T/src/broken" broken demo 1.0.0 0 'exit 4'
cp -r "$T/src/broken" "$MNT/incoming/"
wait_job broken
check_contains "history: a failed install with its reason" "$MNT/history" ' install demo/broken - -> 1.0.0 error: `rules build` exited with status 4'
# real times and sizes: a view's mtime is when its content changed, not the clock
m1=$(stat -c %Y "$MNT/demo/slow/status") d1=$(stat -c %Y "$MNT/demo")
sleep 2
check_eq "a status's mtime stays put while nothing changes" "$(stat -c %Y "$MNT/demo/slow/status")" "$m1"
check_eq "... so does a namespace dir's" "$(stat -c %Y "$MNT/demo")" "$d1"
DEB=wazo-plugind-slow-demo_1.0.0_all.deb
check_eq "the .deb's mtime is the kept package's" "$(stat -c %Y "$MNT/demo/slow/$DEB")" "$(stat -c %Y "$STATE/packages/$DEB")"
check "du counts the .deb" test "$(du -k "$MNT/demo/slow/$DEB" | cut -f1)" -gt 0
check_eq "plugin.yml's mtime is the installed file's" "$(stat -c %Y "$MNT/demo/slow/plugin.yml")" "$(stat -c %Y "$ROOT/usr/lib/wazo-plugind/plugins/demo/slow/wazo/plugin.yml")"
# poll() on a status file: no wakeup while nothing changes, one when it does, and a
# read from the start then gives the new content
cat >"$T/poll.py" <<'PY'
import os, select, sys, time
path, ready, out = sys.argv[1:4]
fd = os.open(path, os.O_RDONLY)
first = os.pread(fd, 65536, 0)
p = select.poll()
p.register(fd, select.POLLIN)
quiet = p.poll(1500)
open(ready, "w").close()
t0 = time.time()
woke = p.poll(60000)
new = os.pread(fd, 65536, 0)
with open(out, "w") as f:
    f.write("quiet=%s woke=%s changed=%s after=%.1f\n" % (quiet == [], bool(woke), new != first, time.time() - t0))
PY
/usr/bin/python3 "$T/poll.py" "$MNT/demo/slow/status" "$T/poll.ready" "$T/poll.out" &
POLLER=$!
wait_for 10 test -e "$T/poll.ready"
make_plugin "$T/src/slow3" slow demo 3.0.0 0 'sleep 1'
cp -r "$T/src/slow3" "$MNT/incoming/"
wait_job slow3
timeout 70 tail --pid="$POLLER" -f /dev/null
check_contains "poll() on a status file: quiet while nothing changes, wakes when it does, rereads the new content" "$T/poll.out" '^quiet=True woke=True changed=True'
stop_daemon
start_daemon
check_eq "history is kept across a remount" "$(timeout 5 cat "$MNT/history" | wc -l)" "$(($(wc -l <"$T/history") + 2))"
stop_daemon
finish
