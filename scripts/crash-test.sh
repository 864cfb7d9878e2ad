#!/bin/bash
# crash-test.sh [ROUNDS]: kills the daemon with SIGKILL at a random point of an install, a
# removal or an upgrade (its install, its health check, or its undo when the check fails;
# in every third round its children too: rules, dpkg, the check: a power loss), mounts
# again on the same state and checks what the contract promises after a crash:
#   - the copy of an interrupted install is kept (or the plugin is installed);
#   - an interrupted upgrade ends at the version before it or at the new one with its
#     health check passed; never half-configured, unpacked or unchecked (dpkg --audit
#     says nothing);
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
		# installed, or a failed job undone back to a version that dpkg has
		[ -f "$s" ] && { [ "$(status_field "$s" state)" = installed ] ||
			{ [ -n "$(status_field "$s" rolled_back_to)" ] && [ "$(status_field "$s" rolled_back_to)" != none ]; }; } &&
			echo "wazo-plugind-$(basename "$(dirname "$s")")-demo"
	done | sort
}
idle() { ! grep -qsE '^state: (installing|uninstalling)' "$MNT"/incoming/*.status "$MNT"/demo/*/status; }

# the plugin upgraded in every fourth round: its install and its wazo/health take a
# random time, and its health check fails in one upgrade of three (the upgrade is undone)
upgrade_src() { # upgrade_src VERSION FAILS
	make_plugin "$T/src/up-$1" up demo "$1"
	sed -i 's|^    install|    install) sleep 0.$((RANDOM % 6)); mkdir -p "${DPKG_ROOT:-}/var/log/wazofs-test"; echo install >> "${DPKG_ROOT:-}/var/log/wazofs-test/up.actions" ;;\n    never|' "$T/src/up-$1/wazo/rules"
	printf '#!/bin/sh\nsleep 0.%d\n[ %s = 0 ] || exit 1\necho "checked $3" >>%s/up.checks\n' $((RANDOM % 6)) "$2" "$W" >"$T/src/up-$1/wazo/health"
	chmod +x "$T/src/up-$1/wazo/health"
}
up_state() { dpkg_q -W -f '${Version} ${db:Status-Abbrev}' wazo-plugind-up-demo 2>/dev/null; }

start_daemon || exit 1
upgrade_src 1 0
cp -r "$T/src/up-1" "$MNT/incoming/"
wait_job up-1 60 >/dev/null
up_before=1
for ((r = 1; r <= ROUNDS; r++)); do
	fail=
	name=p$r
	make_plugin "$T/src/$name" "$name" demo 1.0.0 0 "sleep 0.$((RANDOM % 4))"
	sed -i 's|^    install|    install) sleep 0.$((RANDOM % 5)); echo install >> "${DPKG_ROOT:-}/var/log/wazofs-test/'"$name"'.actions" ;;\n    never|' "$T/src/$name/wazo/rules"
	victim=$(ls "$MNT/demo" 2>/dev/null | grep -v "^$name$" | shuf -n 1)
	if [ $((r % 4)) -eq 1 ]; then
		upgrade_src "$((r + 1))" $((RANDOM % 3 == 0))
		cp -r "$T/src/up-$((r + 1))" "$MNT/incoming/"
		what="upgrade up $up_before -> $((r + 1))"
	elif [ $((r % 2)) -eq 0 ] && [ -n "$victim" ] && [ "$victim" != up ]; then
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
	if [ "${what%% *}" = upgrade ]; then
		now=$(up_state)
		case $now in
		"$up_before ii ") ;;
		"$((r + 1)) ii ")
			grep -qx "checked $((r + 1))" "$W/up.checks" 2>/dev/null ||
				fail="$fail; up $((r + 1)) is installed but its check never passed"
			up_before=$((r + 1)) ;;
		*) fail="$fail; up is at '$now', neither $up_before nor $((r + 1)) installed" ;;
		esac
		[ -z "$(dpkg --root="$ROOT" --audit 2>&1)" ] || fail="$fail; dpkg --audit: $(dpkg --root="$ROOT" --audit 2>&1 | tr '\n' ' ')"
		rm -rf "$MNT/incoming/up-$((r + 1))"
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
