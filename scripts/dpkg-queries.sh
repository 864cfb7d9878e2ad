#!/bin/bash
# Counts the dpkg and dpkg-query runs of the daemon over one install and one removal
# (strace on the daemon). The goal: no dpkg-query at all (core/plugin/dpkg_db reads the
# database in process), one dpkg run each.
. "$(dirname "$0")/../tests/integration/lib.sh"
make_sandbox
start_daemon >/dev/null
sleep 1
strace -f -qq -e trace=execve -p "$DAEMON_PID" -o "$T/strace" 2>/dev/null &
SP=$!
sleep 1
make_plugin "$T/src/q" q demo 1.0.0
cp -r "$T/src/q" "$MNT/incoming/"
wait_job q
rm -r "$MNT/demo/q"
sleep 1.5
kill $SP; wait $SP 2>/dev/null
echo "dpkg-query runs: $(grep -c 'execve(.*dpkg-query' "$T/strace")  dpkg runs: $(grep -c 'execve("[^"]*/dpkg"' "$T/strace")"
stop_daemon >/dev/null
cleanup; trap - EXIT
