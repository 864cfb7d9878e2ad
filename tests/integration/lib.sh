# lib.sh: helpers for the mount tests. Each test file sources this, calls `start_daemon`,
# acts as a user would (cp -r, tar, rm -r, cat) and checks with `check`/`check_eq`.
# Everything lives in one temp dir; an EXIT trap unmounts lazily, kills the daemon and
# removes it. A missing /dev/fuse or a daemon that dies makes the test fail, never skip.
set -u
TESTS_PASSED=0
TESTS_FAILED=0
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WAZOFS=${WAZOFS:-$TOP/build/wazofs}
T=$(mktemp -d /tmp/wazofs-test.XXXXXX)
chmod 0711 "$T" # the build user crosses it to reach state/work
W=$T/w # where a test's rules build (run as the build user) may write its records
mkdir -m 1777 "$W"
MNT=$T/mnt
ROOT=$T/root
STATE=$T/state
STUB=$T/stub
DAEMON_PID=
DAEMON_LOG=$T/daemon.log
EXTRA_OPTS=
WAZO_OPT=,wazo_version=25.17 # empty: the daemon reads WAZO-VERSION under root

cleanup() {
	if [ -n "$DAEMON_PID" ]; then
		fusermount3 -uz "$MNT" 2>/dev/null
		kill "$DAEMON_PID" 2>/dev/null
		wait "$DAEMON_PID" 2>/dev/null
	fi
	mountpoint -q "$STATE" 2>/dev/null && umount -l "$STATE"
	if [ -n "${WAZOFS_KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT

ok() { TESTS_PASSED=$((TESTS_PASSED + 1)); echo "ok - $*"; }
not_ok() { TESTS_FAILED=$((TESTS_FAILED + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: passes when the command succeeds
check() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then ok "$desc"; else
		not_ok "$desc"
		echo "#   command: $*"
		sed 's/^/#   /' "$T/check.out" | head -20
	fi
}

# check_fails DESCRIPTION COMMAND...: passes when the command fails
check_fails() {
	local desc=$1
	shift
	if "$@" >"$T/check.out" 2>&1; then
		not_ok "$desc"
		echo "#   command succeeded but should have failed: $*"
	else ok "$desc"; fi
}

# check_eq DESCRIPTION GOT WANT
check_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else
		not_ok "$1"
		echo "#   got:  $(printf '%q' "$2")"
		echo "#   want: $(printf '%q' "$3")"
	fi
}

# check_contains DESCRIPTION FILE PATTERN (grep -E)
check_contains() {
	if grep -qE -- "$3" "$2" 2>/dev/null; then ok "$1"; else
		not_ok "$1"
		echo "#   no line matching /$3/ in $2:"
		sed 's/^/#   /' "$2" 2>/dev/null | head -30
	fi
}

# wait_for SECONDS COMMAND...: polls until the command succeeds; returns 1 on timeout
wait_for() {
	local limit=$(($1 * 10))
	shift
	for ((i = 0; i < limit; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# The sandbox root: an empty dpkg database, plus a stub `asterisk` (the one program
# that cannot exist here) that records what it was asked in $T/asterisk.log.
make_sandbox() {
	mkdir -p "$MNT" "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$STUB"
	touch "$ROOT/var/lib/dpkg/status"
	cat >"$STUB/asterisk" <<STUBEOF
#!/bin/sh
echo "\$*" >> "$T/asterisk.log"
STUBEOF
	chmod +x "$STUB/asterisk"
}

start_daemon() {
	[ -c /dev/fuse ] || { not_ok "/dev/fuse is missing"; return 1; }
	[ -d "$ROOT" ] || make_sandbox
	# builds may write $W besides their work dir (build_write: Landlock bounds the rest)
	PATH="$STUB:$PATH" "$WAZOFS" -f ${WAZOFS_FLAGS:-} -o "root=$ROOT,state=$STATE$WAZO_OPT,settle_ms=200,build_write=$W$EXTRA_OPTS" \
		"$MNT" 2>>"$DAEMON_LOG" &
	DAEMON_PID=$!
	for ((i = 0; i < 100; i++)); do
		mountpoint -q "$MNT" && return 0
		if ! kill -0 "$DAEMON_PID" 2>/dev/null; then
			not_ok "daemon died at start"
			sed 's/^/#   /' "$DAEMON_LOG"
			DAEMON_PID=
			return 1
		fi
		sleep 0.05
	done
	not_ok "mount did not appear"
	return 1
}

# stop_daemon: unmounts and requires a clean exit
stop_daemon() {
	fusermount3 -u "$MNT"
	wait "$DAEMON_PID"
	local rc=$?
	DAEMON_PID=
	check_eq "daemon exits cleanly after unmount" "$rc" "0"
}

# wait_job ENTRY: until incoming/ENTRY is gone (success) or ENTRY.status says error
job_done() {
	[ ! -e "$MNT/incoming/$1" ] || grep -q '^state: error' "$MNT/incoming/$1.status" 2>/dev/null
}
wait_job() {
	wait_for "${2:-60}" job_done "$1" || { echo "# job $1 did not finish"; return 1; }
}

# status_field FILE KEY: the value of a top-level key (quotes removed)
status_field() {
	sed -n "s/^$2: //p" "$1" | sed "s/^'\(.*\)'\$/\1/"
}

dpkg_q() {
	dpkg-query --admindir="$ROOT/var/lib/dpkg" "$@"
}

# make_plugin DIR NAME NAMESPACE VERSION [FORMAT] [BUILD_COMMAND]: a plugin tree whose
# rules record each action in $DPKG_ROOT/var/log/wazofs-test/<name>.actions and install
# one file under /usr/share/<name>.
make_plugin() {
	local dir=$1 name=$2 ns=$3 version=$4 format=${5:-0} build=${6:-true}
	mkdir -p "$dir/wazo"
	cat >"$dir/wazo/plugin.yml" <<YML
name: $name
namespace: $ns
version: $version
plugin_format_version: $format
YML
	cat >"$dir/wazo/rules" <<RULES
#!/bin/sh
log="\${DPKG_ROOT:-}/var/log/wazofs-test/$name.actions"
case "\$1" in
    build) $build ;;
    package)
        mkdir -p "\$pkgdir/usr/share/$name"
        echo "$name $version" > "\$pkgdir/usr/share/$name/data"
        ;;
    install|uninstall|postrm)
        mkdir -p "\$(dirname "\$log")"
        echo "\$1" >> "\$log"
        ;;
    *) echo "unknown action \$1" >&2; exit 1 ;;
esac
RULES
	chmod +x "$dir/wazo/rules"
}

# local_apt_repo: a local APT repository holding wazofs-test-dep 1.0, as the sandbox
# root's only source (no network)
local_apt_repo() {
	mkdir -p "$T/repo" "$T/dummy/DEBIAN" "$ROOT/etc/apt"
	printf 'Package: wazofs-test-dep\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: dummy\n' >"$T/dummy/DEBIAN/control"
	dpkg-deb -b "$T/dummy" "$T/repo/wazofs-test-dep_1.0_all.deb" >/dev/null
	(cd "$T/repo" && dpkg-scanpackages . >Packages 2>/dev/null)
	echo "deb [trusted=yes] file:$T/repo ./" >"$ROOT/etc/apt/sources.list"
}

# stranger_account NAME: a real unprivileged account for this test, killed and removed
# at exit; `stranger CMD...` runs CMD as it (no group but its own)
stranger_account() {
	STRANGER=$1
	useradd --system --no-create-home --shell /usr/sbin/nologin "$STRANGER" >/dev/null 2>&1 ||
		return 1
	trap 'cleanup; pkill -KILL -u "$STRANGER" 2>/dev/null; userdel "$STRANGER" 2>/dev/null' EXIT
}
stranger() { setpriv --reuid="$STRANGER" --regid="$STRANGER" --clear-groups "$@"; }

finish() {
	echo "$TESTS_PASSED passed, $TESTS_FAILED failed"
	[ "$TESTS_FAILED" -eq 0 ]
}
