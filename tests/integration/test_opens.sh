#!/bin/bash
# What one local user may hold open (issue 25): a stranger keeping thousands of views,
# packages and events readers open must change neither what admins can do nor the
# daemon's memory by more than a few MiB, nor keep the tree from answering.
. "$(dirname "$0")/lib.sh"
stranger_account "wzo$$stranger" || { not_ok "cannot create the test user"; finish; exit 1; }
EXTRA_OPTS=",allow_other,repo_group=$STRANGER"
# under make asan, freed memory is held in ASan's quarantine (256 MiB by default) and
# would count as growth: keep it small so the RSS figure means what it does elsewhere
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:quarantine_size_mb=1"
start_daemon || { finish; exit 1; }
make_plugin "$T/src/held" held demo 1.0.0
timeout 20 cp -r "$T/src/held" "$MNT/incoming/"
wait_job held
DEB=$MNT/repo/pool/main/wazo-plugind-held-demo_1.0.0_all.deb
rss() { awk '/^VmRSS/ {print $2}' "/proc/$DAEMON_PID/status"; }
fds() { ls "/proc/$DAEMON_PID/fd" | wc -l; }
# the bound on the daemon's growth; under make asan each allocation carries ASan's
# redzones and shadow (hundreds of bytes a handle): doubled there
RSS_MAX=5120
ldd "$WAZOFS" | grep -q libasan && RSS_MAX=10240
RSS0=$(rss)
FDS0=$(fds)
# the stranger opens the repo's package 10,000 times and repo/'s Packages 10,000 times
# (20,000 opens), and holds them
cat >"$T/hold.py" <<'PY'
import os, resource, sys, time
hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
paths, n, out = sys.argv[1:-2], int(sys.argv[-2]), sys.argv[-1]
report = open(out, "w")
held, refused = [], 0
for p in paths:
    for _ in range(n):
        try:
            fd = os.open(p, os.O_RDONLY)
            os.read(fd, 1)
            held.append(fd)
        except OSError:
            refused += 1
report.write("%d %d\n" % (len(held), refused))
report.close()
time.sleep(60)
PY
stranger timeout 120 python3 "$T/hold.py" "$DEB" "$MNT/repo/dists/wazofs/main/binary-all/Packages" 10000 "$W/hold.out" &
HOLD=$!
wait_for 100 test -s "$W/hold.out"
read -r held refused <"$W/hold.out"
check "the stranger got some of its opens" test "${held:-0}" -gt 0
check "... and was refused the rest" test "${refused:-0}" -gt 0
check "while it holds them, root opens and reads the package" sh -c "timeout 10 cat '$DEB' >/dev/null"
check "... and a status" timeout 10 cat "$MNT/demo/held/status"
check "... the daemon's RSS grew by less than $((RSS_MAX / 1024)) MiB ($(( ($(rss) - RSS0) / 1024 )) MiB)" test $(($(rss) - RSS0)) -lt "$RSS_MAX"
check "... and it holds no more than a few more descriptors ($(($(fds) - FDS0)): one per package)" test $(($(fds) - FDS0)) -lt 10
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null
# root (no bound) opens repo/'s Packages 10,000 times: each open shares the one rendered
# text (it was a copy per open: 10,000 copies of the index, 9 MiB)
RSS1=$(rss)
timeout 120 python3 "$T/hold.py" "$MNT/repo/dists/wazofs/main/binary-all/Packages" 10000 "$T/hold-root.out" &
HOLD=$!
wait_for 100 test -s "$T/hold-root.out"
read -r held refused <"$T/hold-root.out"
check_eq "root holds its 10,000 opens of Packages" "${held:-0} ${refused:-0}" "10000 0"
check "... and the daemon's RSS grew by less than $((RSS_MAX / 1024)) MiB ($(( ($(rss) - RSS1) / 1024 )) MiB for $(stat -c %s "$MNT/repo/dists/wazofs/main/binary-all/Packages") bytes a copy)" \
	test $(($(rss) - RSS1)) -lt "$RSS_MAX"
kill "$HOLD" 2>/dev/null; wait "$HOLD" 2>/dev/null
# 40 readers of events by the stranger: the tree keeps answering everyone
for i in $(seq 1 40); do stranger timeout 60 cat "$MNT/events" >/dev/null 2>&1 & done
sleep 2
check "with 40 stranger readers of events, ls of the mount answers" timeout 5 ls "$MNT"
check "... cat of a status too" timeout 5 cat "$MNT/demo/held/status"
check "... and root reads events" sh -c "timeout 2 cat '$MNT/events'; [ \$? -eq 124 ]"
pkill -KILL -u "$STRANGER" 2>/dev/null
no_reader() { ! pgrep -u "$STRANGER" >/dev/null; }
check "SIGKILL ends the stranger's readers of events" wait_for 10 no_reader
stop_daemon
finish
