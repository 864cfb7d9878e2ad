#!/bin/bash
# crash-test.sh [ROUNDS]: kills the daemon with SIGKILL at a random point of an install or
# a removal (in every third round its children too: rules, dpkg), mounts again on the same
# state and checks what the contract promises after a crash:
#   - the copy of an interrupted install is kept (or the plugin is installed);
#   - every plugin the mount shows installed is installed in dpkg, and the reverse;
#   - the next install works.
# Prints "survived N/ROUNDS"; exits non-zero unless every round survived. Needs root and
# /dev/fuse; everything lives in one temp dir (the mount tests' lib.sh).
ROUNDS=${1:-50}
. "$(dirname "$0")/../tests/integration/lib.sh"
make_sandbox
EXTRA_OPTS=",job_timeout=20"
survived=0

installed_in_dpkg() { dpkg_q -W -f '${db:Status-Abbrev} ${Package}\n' 2>/dev/null | awk '$1 == "ii" && $2 ~ /^wazo-plugind-/ {print $2}' | sort; }
installed_in_mount() {
	for s in "$MNT"/demo/*/status; do
		[ -f "$s" ] && [ "$(status_field "$s" state)" = installed ] && echo "wazo-plugind-$(basename "$(dirname "$s")")-demo"
	done | sort
}
idle() { ! grep -qsE '^state: (installing|uninstalling)' "$MNT"/incoming/*.status "$MNT"/demo/*/status; }

start_daemon || exit 1
for ((r = 1; r <= ROUNDS; r++)); do
	fail=
	name=p$r
	make_plugin "$T/src/$name" "$name" demo 1.0.0 0 "sleep 0.$((RANDOM % 4))"
	sed -i 's|^    install|    install) sleep 0.$((RANDOM % 5)); echo install >> "${DPKG_ROOT:-}/var/log/wazofs-test/'"$name"'.actions" ;;\n    never|' "$T/src/$name/wazo/rules"
	victim=$(ls "$MNT/demo" 2>/dev/null | grep -v "^$name$" | shuf -n 1)
	if [ $((r % 2)) -eq 0 ] && [ -n "$victim" ]; then
		(timeout 30 rm -r "$MNT/demo/$victim" 2>/dev/null &)
		what="remove $victim"
	else
		cp -r "$T/src/$name" "$MNT/incoming/"
		what="install $name"
	fi
	sleep "0.$((RANDOM % 9))"
	kill -KILL "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	[ $((r % 3)) -eq 0 ] && pkill -KILL -f "$T/" 2>/dev/null
	DAEMON_PID=
	fusermount3 -uz "$MNT" 2>/dev/null
	start_daemon >/dev/null || { echo "round $r ($what): the mount did not come back"; break; }
	wait_for 60 idle || fail="$fail; jobs still running after 60 s"
	# an interrupted install: installed, or its copy is still there
	if [ "$what" = "install $name" ] && ! [ -d "$MNT/incoming/$name/wazo" ] &&
		! [ "$(status_field "$MNT/demo/$name/status" state 2>/dev/null)" = installed ]; then
		fail="$fail; the copy of $name is lost and it is not installed"
	fi
	d=$(installed_in_dpkg)
	m=$(installed_in_mount)
	[ "$d" = "$m" ] || fail="$fail; dpkg has [$(echo $d)] installed, the mount shows [$(echo $m)]"
	probe=probe$r
	make_plugin "$T/src/$probe" "$probe" other 1.0.0
	cp -r "$T/src/$probe" "$MNT/incoming/"
	if wait_job "$probe" 60 >/dev/null && [ "$(status_field "$MNT/other/$probe/status" state)" = installed ]; then
		timeout 30 rm -r "$MNT/other/$probe" || fail="$fail; the probe could not be removed"
	else
		fail="$fail; the next install did not work"
	fi
	if [ -z "$fail" ]; then survived=$((survived + 1)); else echo "round $r ($what):${fail#;}"; fi
done
stop_daemon >/dev/null
echo "survived $survived/$ROUNDS"
[ "$survived" -eq "$ROUNDS" ]
