#!/bin/bash
# A fault in the state dir's history file: it blocks (a FIFO nobody reads). File I/O is
# never done with the daemon's lock held, so the mount answers all along.
. "$(dirname "$0")/lib.sh"
# state/history that blocks (a FIFO nobody reads yet): writing the history line
# of a job that ends waits, but never with the daemon's lock held: the mount answers
start_daemon
make_plugin "$T/src/probe" probe demo 1.0.0
timeout 20 cp -r "$T/src/probe" "$MNT/incoming/probe"
wait_for 60 timeout 5 test ! -e "$MNT/incoming/probe" # the worker is idle now
rm -f "$STATE/history"
mkfifo "$STATE/history"
make_plugin "$T/src/fifo" fifo demo 1.0.0
timeout 20 cp -r "$T/src/fifo" "$MNT/incoming/fifo"
check "the job installs while its history line waits" \
	wait_for 60 timeout 5 grep -q '^state: installed' "$MNT/incoming/fifo.status"
sleep 0.5
check "... MOUNT/status is read" timeout 5 grep -q '^jobs:' "$MNT/status"
check "... the plugin's status too" timeout 5 grep -q '^state: installed' "$MNT/demo/fifo/status"
check "... and incoming/ is listed" timeout 5 ls "$MNT/incoming"
for _ in $(seq 10); do
	timeout 3 cat "$STATE/history" >>"$T/history.fifo"
	grep -q 'demo/fifo' "$T/history.fifo" && break
done
check_contains "the line is written once read" "$T/history.fifo" 'install demo/fifo - -> 1.0.0 ok'
check "... and the job then ends" wait_for 20 timeout 5 test ! -e "$MNT/incoming/fifo"
# a look at MOUNT/history while the file behind it is a FIFO answers (an error) at once:
# it used to open the FIFO, which waits for a writer
check "a stat of MOUNT/history answers while state/history is a FIFO" \
	sh -c "timeout 5 stat '$MNT/history' >/dev/null 2>&1; [ \$? -ne 124 ]"
rm -f "$STATE/history"
stop_daemon
finish
