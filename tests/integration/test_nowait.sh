#!/bin/bash
# No request parks a thread (issue 25): a thousand readers of MOUNT/events (half of them
# a stranger's) each get every line while the tree answers everyone and a copy installs;
# SIGKILL ends them at once. An `rm -r` whose uninstall takes a while blocks only that
# rm, and a SIGKILL of it leaves the removal to finish. Hard links and files whose name
# is gone behave in incoming/ as on the disk behind it.
. "$(dirname "$0")/lib.sh"
stranger_account "wzn$$stranger" || { not_ok "cannot create the test user"; finish; exit 1; }
EXTRA_OPTS=",allow_other"
start_daemon || { finish; exit 1; }

# --- a thousand readers of events
mkdir -m 1777 "$W/ev"
# (started in subshells: not jobs of this shell, whose kill notices would fill the log)
for n in $(seq 1 500); do
	(timeout 120 cat "$MNT/events" >"$W/ev/root.$n" 2>&1 &)
	(stranger timeout 120 cat "$MNT/events" >"$W/ev/stranger.$n" 2>&1 &)
done
# every reader has its file open and a read parked
parked() { [ "$(ls -l /proc/[0-9]*/fd 2>/dev/null | grep -c " -> $MNT/events\$")" -ge 1000 ]; }
check "1,000 readers of events have it open" wait_for 60 parked
check "with them, ls of the mount answers" timeout 5 ls "$MNT"
check "... a stranger's ls too" stranger timeout 5 ls "$MNT"
check "... and MOUNT/status" timeout 5 cat "$MNT/status"
make_plugin "$T/src/evplug" evplug demo 1.0.0
check "... and a cp -r into incoming/" timeout 10 cp -r "$T/src/evplug" "$MNT/incoming/"
check "... which installs" wait_job evplug
check "... and whose status reads" timeout 5 grep -qx 'state: installed' "$MNT/demo/evplug/status"
# each reader got every line of the job: the same lines as every other reader
last_seen() { for f in "$W"/ev/*; do grep -q '"state": "installed"' "$f" || return 1; done; }
check "every reader got the job's last line" wait_for 20 last_seen
REF=$W/ev/root.1
check "... the job's lines are there ($(wc -l <"$REF") lines)" test "$(wc -l <"$REF")" -ge 3
differ=0
for f in "$W"/ev/*; do cmp -s "$REF" "$f" || differ=$((differ + 1)); done
check_eq "... and every reader, root or stranger, got the same lines" "$differ" 0
pkill -KILL -f "cat $MNT/events" 2>/dev/null
no_reader() { ! pgrep -f "cat $MNT/events" >/dev/null; }
check "SIGKILL ends the 1,000 readers at once" wait_for 5 no_reader
check "after them, the mount answers" timeout 5 ls "$MNT/demo"

# --- an rm -r whose uninstall takes a while
make_plugin "$T/src/slowrm" slowrm demo 1.0.0
sed -i 's/^    install|uninstall|postrm)$/    uninstall) sleep 8 ;;\n    install|postrm)/' "$T/src/slowrm/wazo/rules"
timeout 20 cp -r "$T/src/slowrm" "$MNT/incoming/"
wait_job slowrm
check "a plugin whose uninstall takes 8 s installs" test -d "$MNT/demo/slowrm"
START=$(date +%s%N)
rm -r "$MNT/demo/slowrm" 2>"$T/rm.err" &
RM=$!
# (the plugin's own directory is the kernel's for the rmdir: its names wait for it)
removing() { timeout 2 cat "$MNT/status" | grep -A2 -x '    plugin: demo/slowrm' | grep -qx '    state: uninstalling'; }
check "while its rm -r runs, MOUNT/status shows it uninstalling" wait_for 5 removing
check "... ls of the mount answers" timeout 2 ls "$MNT"
check "... a status too" timeout 2 cat "$MNT/demo/evplug/status"
check "... and another copy installs" sh -c "timeout 10 cp -r '$T/src/evplug' '$MNT/incoming/again' && true"
kill -KILL "$RM"
rm_gone() { ! kill -0 "$RM" 2>/dev/null; }
check "SIGKILL ends the rm at once" wait_for 2 rm_gone
ELAPSED=$((($(date +%s%N) - START) / 1000000))
check "... before the uninstall is over (${ELAPSED} ms)" test "$ELAPSED" -lt 8000
wait "$RM" 2>/dev/null
gone() { [ ! -e "$MNT/demo/slowrm" ] && ! dpkg_q -W wazo-plugind-slowrm-demo; }
check "the removal finishes in the background" wait_for 30 gone
check_contains "... and the history says it was removed" "$MNT/history" ' remove demo/slowrm 1.0.0 -> - ok$'
wait_job again

# --- hard links and files whose name is gone, in incoming/ (a dot entry: no job)
D=$MNT/incoming/.links
mkdir "$D"
echo a >"$D/f"
ln "$D/f" "$D/g"
check_eq "two names of a file: one inode, two links" "$(stat -c '%h %i' "$D/f" "$D/g" | sort -u)" \
	"2 $(stat -c %i "$STATE/incoming/.links/f")"
echo b >>"$D/g"
check_eq "... a write through one is read through the other" "$(cat "$D/f")" "a
b"
chmod 0600 "$D/g"
check_eq "... a chmod of one shows on the other at once" "$(stat -c %a "$D/f")" 600
rm -rf "$T/out"
cp -a "$D" "$T/out"
check_eq "cp -a out of incoming/ keeps the link" "$(stat -c %i "$T/out/f")" "$(stat -c %i "$T/out/g")"
tar -C "$MNT/incoming" -cf "$T/links.tar" .links
check "... tar stores it as a link" sh -c "tar -tvf '$T/links.tar' | grep -q '^h.* link to '"
echo c >"$D/h"
mv "$D/h" "$D/g"
check_eq "mv over a linked name: the other name has one link left" "$(stat -c %h "$D/f")" 1
check_eq "... and keeps its text" "$(cat "$D/f")" "a
b"
check_eq "... the moved name has the new one" "$(cat "$D/g")" c
exec 3<>"$D/u"
echo data >&3
rm "$D/u"
check "an open file whose name is gone: fstat" stat -L /dev/fd/3
check "... fchmod" chmod 0640 /dev/fd/3
check_eq "... which shows" "$(stat -L -c %a /dev/fd/3)" 640
check "... futimens" touch -d @1000000000 /dev/fd/3
check_eq "... which shows" "$(stat -L -c %Y /dev/fd/3)" 1000000000
check "... ftruncate" truncate -s 2 /dev/fd/3
check_eq "... which shows" "$(stat -L -c %s /dev/fd/3)" 2
exec 3>&-
check "the name stays gone" test ! -e "$D/u"
rm -r "$D"

# --- nothing wakes the daemon while nothing happens (no timer: every thread waits on
# an event, a descriptor or a deadline of a copy); a stray request from elsewhere on
# the machine may wake it once or twice
sleep 2
wakeups() { cat /proc/"$DAEMON_PID"/task/*/status | awk '/ctxt_switches/ {s += $2} END {print s}'; }
w0=$(wakeups)
sleep 3
w1=$(wakeups)
check "idle for 3 s, the daemon's threads woke $((w1 - w0)) times (a 250 ms timer: 12 or more)" \
	test $((w1 - w0)) -lt 3
stop_daemon
finish
