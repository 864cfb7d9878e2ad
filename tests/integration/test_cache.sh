#!/bin/bash
# The kernel's cache of the tree (issue 11): names and attributes are kept (a second
# look does not reach the daemon), and every change drops them at once: an upgrade, a
# removal, a copy taken from incoming/, dpkg run by someone else. Requests are counted
# in the daemon's FUSE debug output (-d).
. "$(dirname "$0")/lib.sh"
WAZOFS_FLAGS=-d
start_daemon || { finish; exit 1; }
requests() { grep -c 'opcode: \(LOOKUP\|GETATTR\)' "$DAEMON_LOG"; }
size_matches() { # the size stat gives is the length read
	[ "$(stat -c %s "$1")" = "$(cat "$1" | wc -c)" ]
}

make_plugin "$T/src/v1" cached demo 1.0.0 0 "sleep 1"
cp -r "$T/src/v1" "$MNT/incoming/v1"
check "a nested file of a copy is there while its job runs" \
	wait_for 10 grep -qx 'step: building' "$MNT/incoming/v1.status"
check "... stat sees it" timeout 5 stat "$MNT/incoming/v1/wazo/rules"
check "the plugin installs" wait_job v1
check "... the taken copy's nested file is gone at once" timeout 5 test ! -e "$MNT/incoming/v1/wazo/rules"
check "... and its directory" timeout 5 test ! -e "$MNT/incoming/v1/wazo"

S=$MNT/demo/cached/status
leaves() { timeout 5 stat "$MNT/demo" "$MNT/demo/cached" "$S" "$MNT/demo/cached/log" >/dev/null; }
leaves
before=$(requests)
leaves
check_eq "a second stat of a plugin, its namespace and leaves does not reach the daemon" \
	"$(($(requests) - before)) lookups or getattrs" "0 lookups or getattrs"
check "... and its size is what a read gives" size_matches "$S"
reads() { grep -c 'opcode: READ ' "$DAEMON_LOG"; }
timeout 5 cat "$S" "$MNT/demo/cached/plugin.yml" >/dev/null
before=$(reads)
first=$(timeout 5 cat "$S")
check_eq "a second read of a status and plugin.yml does not reach the daemon" \
	"$(timeout 5 cat "$S" "$MNT/demo/cached/plugin.yml" >/dev/null; echo $(($(reads) - before)) reads)" "0 reads"
check_eq "... and gives the same text" "$(timeout 5 cat "$S")" "$first"

OLD_DEB=$MNT/demo/cached/wazo-plugind-cached-demo_1.0.0_all.deb
check "the package of 1.0.0 is shown" timeout 5 test -f "$OLD_DEB"
make_plugin "$T/src/v2" cached demo 2.0.0-with-a-longer-version
cp -r "$T/src/v2" "$MNT/incoming/v2"
check "the upgrade installs" wait_job v2
check_eq "... the status says the new version at once" "$(status_field "$S" version)" 2.0.0-with-a-longer-version
check "... with the size of the new text" size_matches "$S"
check "... the old package is gone at once" timeout 5 test ! -e "$OLD_DEB"
check "... the new one is there" timeout 5 test -f "$MNT/demo/cached/wazo-plugind-cached-demo_2.0.0-with-a-longer-version_all.deb"

check "rm -r of the plugin succeeds" timeout 60 rm -r "$MNT/demo/cached"
check "... its directory is gone at once" timeout 5 test ! -e "$MNT/demo/cached"
check "... and its status" timeout 5 test ! -e "$S"

# dpkg run by someone else: the monitor reads the database again and drops the names
make_plugin "$T/src/other" other demo 1.0.0
cp -r "$T/src/other" "$MNT/incoming/other"
check "another plugin installs" wait_job other
check "... its status is looked at (and cached)" timeout 5 test -f "$MNT/demo/other/status"
check_eq "... and read (its text is kept)" "$(status_field "$MNT/demo/other/status" version)" 1.0.0
# an upgrade by hand of the package wazofs built: the kept text is replaced with the list
rm -rf "$T/x"
dpkg-deb -R "$MNT/demo/other/wazo-plugind-other-demo_1.0.0_all.deb" "$T/x"
sed -i 's/^Version: .*/Version: 1.1.0/' "$T/x/DEBIAN/control"
dpkg-deb -b "$T/x" "$T/other-1.1.0.deb" >/dev/null
dpkg --root="$ROOT" --force-script-chrootless -i "$T/other-1.1.0.deb" >/dev/null 2>&1
check "an upgrade by hand shows in the status within 3 s" \
	wait_for 3 sh -c '[ "$(timeout 2 grep "^version:" "$1")" = "version: 1.1.0" ]' - "$MNT/demo/other/status"
check "... with the size of the new text" size_matches "$MNT/demo/other/status"
dpkg --root="$ROOT" --force-script-chrootless --purge wazo-plugind-other-demo >/dev/null 2>&1
# well under the cache's 10 s: only a dropped name can be gone this soon
check "a purge by hand makes it disappear from the mount within 3 s" \
	wait_for 3 test ! -e "$MNT/demo/other/status"
stop_daemon
finish
