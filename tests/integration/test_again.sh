#!/bin/bash
# A plugin author's everyday loop (issue 25): install a plugin, `rm -r` it, `cp -r` it
# again at once, 20 times in a row. The daemon removes the copy from incoming/ once it
# is installed; the kernel must not keep that name (a positive dentry would make the
# next `cp -r` copy into incoming/NAME/NAME).
. "$(dirname "$0")/lib.sh"
start_daemon || { finish; exit 1; }
make_plugin "$T/src/again" again demo 1.0.0
ok_rounds=0
for round in $(seq 1 20); do
	timeout 20 cp -r "$T/src/again" "$MNT/incoming/" || { echo "# round $round: cp -r failed"; break; }
	# as a user would: wait on the plugin's status, never looking at incoming/ (a look
	# there would make the kernel ask again)
	installed_again() { [ ! -e "$STATE/incoming/again" ] && grep -q '^state: installed' "$MNT/demo/again/status"; }
	wait_for 60 installed_again || { echo "# round $round: the job did not end"; break; }
	[ "$(status_field "$MNT/demo/again/status" state)" = installed ] || { echo "# round $round: not installed"; break; }
	timeout 60 rm -r "$MNT/demo/again" || { echo "# round $round: rm -r failed"; break; }
	ok_rounds=$round
done
check_eq "install, rm -r, cp -r again at once: 20 rounds in a row" "$ok_rounds" 20
check_fails "... nothing was ever copied into incoming/again/again" test -e "$STATE/incoming/again/again"
stop_daemon
finish
