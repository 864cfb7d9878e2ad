#!/bin/bash
# When things go wrong: an uninstall that fails, a full disk, a daemon killed in the
# middle of a job. The status says what and where, the daemon keeps serving, nothing of
# the user's is lost.
. "$(dirname "$0")/lib.sh"
make_sandbox

# --- a full disk: the state dir on a small tmpfs
mkdir -p "$STATE"
mount -t tmpfs -o size=3m wazofs-test "$STATE" || not_ok "cannot mount a tmpfs for the state dir"
start_daemon || { umount "$STATE"; finish; exit 1; }
make_plugin "$T/src/fat" fat demo 1.0.0 0 'head -c 2500000 /dev/urandom > blob'
sed -i 's|^    package)|    package)\n        cp blob "$pkgdir/usr/share/blob" 2>/dev/null \|\| { mkdir -p "$pkgdir/usr/share"; cp blob "$pkgdir/usr/share/blob"; }|' "$T/src/fat/wazo/rules"
cp -r "$T/src/fat" "$MNT/incoming/"
check "a job that fills the disk ends" wait_job fat
check_eq "... in error" "$(status_field "$MNT/incoming/fat.status" state)" error
check_contains "... saying the disk is full" "$MNT/incoming/fat.log" 'No space left on device'
check "... the user's copy stays" test -x "$MNT/incoming/fat/wazo/rules"
check "... the work dir was cleaned" sh -c "[ -z \"\$(ls '$STATE/work')\" ]"
rm -r "$MNT/incoming/fat"
make_plugin "$T/src/thin" thin demo 1.0.0
cp -r "$T/src/thin" "$MNT/incoming/"
check "the daemon keeps serving: the next plugin installs" wait_job thin
check_eq "... installed" "$(status_field "$MNT/demo/thin/status" state)" installed
stop_daemon
umount "$STATE"

# --- an uninstall that fails: rmdir fails, status says why, the plugin stays
start_daemon || { finish; exit 1; }
make_plugin "$T/src/sticky" sticky demo 1.0.0
sed -i 's|^    install\|uninstall\|postrm)|    uninstall) echo "cannot let go" >\&2; exit 4 ;;\n    install\|postrm)|' "$T/src/sticky/wazo/rules"
cp -r "$T/src/sticky" "$MNT/incoming/"
wait_job sticky
check_eq "sticky installs" "$(status_field "$MNT/demo/sticky/status" state)" installed
check_fails "rm -r of a plugin whose uninstall fails fails" rm -r "$MNT/demo/sticky"
check_eq "... rmdir reports EIO" "$(rmdir "$MNT/demo/sticky" 2>&1 | sed 's/.*: //')" "Input/output error"
S=$MNT/demo/sticky/status
check_eq "... status: error" "$(status_field "$S" state)" error
check_eq "... error_id" "$(status_field "$S" error_id)" uninstall-error
check_eq "... at step removing" "$(status_field "$S" step)" removing
check_contains "... the log has the rules' message" "$MNT/demo/sticky/log" 'cannot let go'
check_eq "... the package is still installed" "$(dpkg_q -W -f '${db:Status-Status}' wazo-plugind-sticky-demo)" installed
stop_daemon
start_daemon
check_eq "after a remount, a plugin whose purge failed (dpkg: pi) reads as installed" \
	"$(status_field "$S" state)" installed

# --- killed in the middle of a job: the copy is taken again at the next mount
make_plugin "$T/src/slow" slow demo 1.0.0 0 "sleep 3"
cp -r "$T/src/slow" "$MNT/incoming/"
wait_for 20 grep -qx 'step: building' "$MNT/incoming/slow.status"
{ kill -KILL "$DAEMON_PID" && wait "$DAEMON_PID"; } 2>/dev/null
DAEMON_PID=
fusermount3 -uz "$MNT"
pkill -KILL -fx 'sleep 3'
start_daemon
check "after a SIGKILL and a new mount, the interrupted job runs again and installs" wait_job slow 60
check_eq "... installed" "$(status_field "$MNT/demo/slow/status" state)" installed
check "... the earlier plugins are still listed" test -d "$MNT/demo/sticky"
stop_daemon
finish
