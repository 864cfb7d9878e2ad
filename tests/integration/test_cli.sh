#!/bin/bash
# The command line: bad options and unusable paths fail before mounting with one line
# on stderr; without -f the daemon goes to the background; fusermount3 -u, SIGTERM and
# SIGINT unmount cleanly.
. "$(dirname "$0")/lib.sh"
make_sandbox

# one_line_error DESCRIPTION ARGS...: exit status 1, one line on stderr, nothing mounted
one_line_error() {
	local desc=$1
	shift
	"$WAZOFS" "$@" >"$T/out" 2>"$T/err"
	local rc=$?
	check_eq "$desc: exit status 1" "$rc" 1
	check_eq "$desc: one line on stderr" "$(wc -l <"$T/err")" 1
	check_fails "$desc: nothing is mounted" mountpoint -q "$MNT"
}
one_line_error "unknown option" -f -o "root=$ROOT,state=$STATE,bogus=1" "$MNT"
one_line_error "bad job_timeout" -f -o "root=$ROOT,state=$STATE,job_timeout=soon" "$MNT"
one_line_error "missing mountpoint" -f -o "root=$ROOT,state=$STATE" "$T/nowhere"
check_contains "... which it says is missing" "$T/err" "nowhere'?: No such file or directory"
touch "$T/a-file"
one_line_error "a regular file as mountpoint" -f -o "root=$ROOT,state=$STATE" "$T/a-file"
check_contains "... which it says is not a directory" "$T/err" "a-file: not a directory$"
one_line_error "no mountpoint" -f -o "root=$ROOT,state=$STATE"
one_line_error "root is not a directory" -f -o "root=$T/none,state=$STATE" "$MNT"
one_line_error "state cannot be created" -f -o "root=$ROOT,state=/proc/wazofs" "$MNT"
one_line_error "state inside the mountpoint" -f -o "root=$ROOT,state=$MNT/state" "$MNT"
printf 'root: [not, a, path]\n' >"$T/bad.yml"
one_line_error "bad config file" -f -o "config=$T/bad.yml,state=$STATE" "$MNT"
one_line_error "missing config file" -f -o "config=$T/none.yml,state=$STATE" "$MNT"

# the config file fills the options; the command line wins
printf 'root: %s\nstate: %s/from-config\nwazo_version: "25.17"\n' "$ROOT" "$T" >"$T/good.yml"
"$WAZOFS" -f -o "config=$T/good.yml,state=$STATE" "$MNT" 2>>"$DAEMON_LOG" &
DAEMON_PID=$!
check "mounts with a config file" wait_for 5 mountpoint -q "$MNT"
check "the command line's state wins over the config file's" test -d "$STATE/incoming"
check "the config file's state was not used" test ! -e "$T/from-config"
kill -TERM "$DAEMON_PID"
wait "$DAEMON_PID"
check_eq "SIGTERM: clean exit" "$?" 0
DAEMON_PID=
check_fails "SIGTERM: unmounted" mountpoint -q "$MNT"

# a read of MOUNT/events waits for the next event: it holds up no other request, and
# SIGTERM still ends the daemon (the waiting read then ends)
"$WAZOFS" -f -o "root=$ROOT,state=$STATE" "$MNT" 2>>"$DAEMON_LOG" &
DAEMON_PID=$!
wait_for 5 mountpoint -q "$MNT"
timeout 60 cat "$MNT/events" >/dev/null 2>&1 &
EVENTS1=$!
timeout 60 cat "$MNT/events" >/dev/null 2>&1 &
EVENTS2=$!
sleep 0.5
check "two reads of MOUNT/events wait" kill -0 "$EVENTS1" "$EVENTS2"
check "... while a listing answers" timeout 5 ls "$MNT/incoming"
check "... and MOUNT/status is read" timeout 5 grep -q '^jobs:' "$MNT/status"
kill -TERM "$DAEMON_PID"
check "SIGTERM ends the daemon while reads of MOUNT/events wait" \
	wait_for 10 sh -c "! kill -0 $DAEMON_PID 2>/dev/null"
kill -KILL "$DAEMON_PID" 2>/dev/null # (if it did not: the checks go on)
wait "$DAEMON_PID"
check_eq "... with a clean exit" "$?" 0
DAEMON_PID=
check "... and the waiting reads end" wait_for 10 sh -c "! kill -0 $EVENTS1 $EVENTS2 2>/dev/null"
check_fails "... unmounted" mountpoint -q "$MNT"

# config.yml, then conf.d/*.yml in name order (the last wins), then the command line;
# debug and log_level are settings; an unknown key in a file warns, on the command line fails
mkdir -p "$T/etc/conf.d"
printf 'root: %s\nstate: %s/s-main\ndebug: true\n' "$ROOT" "$T" >"$T/etc/config.yml"
printf 'state: %s/s-10\nlog_level: info\n' "$T" >"$T/etc/conf.d/10-first.yml"
printf 'state: %s/s-20\nsome_future_key: 1\n' "$T" >"$T/etc/conf.d/20-second.yml"
printf 'state: %s/s-ignored\n' "$T" >"$T/etc/conf.d/30-not-yaml.txt"
"$WAZOFS" -f -o "config=$T/etc/config.yml" "$MNT" 2>"$T/confd.err" &
DAEMON_PID=$!
check "mounts with config.yml and conf.d" wait_for 5 mountpoint -q "$MNT"
check "conf.d files are read in name order, the last one winning" test -d "$T/s-20/incoming"
check_fails "... the main file's state was overridden" test -e "$T/s-main"
check_fails "... files not named *.yml are not read" test -e "$T/s-ignored"
check_contains "an unknown key in conf.d is a warning naming file and line" "$T/confd.err" '20-second.yml:2: unknown option .some_future_key. \(ignored\)'
fusermount3 -u "$MNT"
wait "$DAEMON_PID"
DAEMON_PID=
one_line_error "log_level that does not exist" -f -o "root=$ROOT,state=$STATE,log_level=loud" "$MNT"
one_line_error "debug that is not a boolean" -f -o "root=$ROOT,state=$STATE,debug=maybe" "$MNT"

# without -f: the daemon goes to the background and returns 0
"$WAZOFS" -o "root=$ROOT,state=$STATE,settle_ms=200" "$MNT" 2>>"$DAEMON_LOG"
check_eq "without -f wazofs returns at once with status 0" "$?" 0
check "... and the filesystem is mounted" mountpoint -q "$MNT"
check "... and serves" test -d "$MNT/incoming"
PID=$(pgrep -f "wazofs -o root=$ROOT" | head -1)
check "... by a background process" test -n "$PID"
check "fusermount3 -u unmounts the daemonized wazofs" fusermount3 -u "$MNT"
check "the background process exits" wait_for 5 sh -c "! kill -0 $PID 2>/dev/null"

# SIGINT too (with job control on, or bash starts background jobs with SIGINT ignored)
set -m
start_daemon
set +m
kill -INT "$DAEMON_PID"
wait "$DAEMON_PID"
check_eq "SIGINT: clean exit" "$?" 0
DAEMON_PID=
check_fails "SIGINT: unmounted" mountpoint -q "$MNT"

# mount -t fuse.wazofs and fstab: mount.fuse3 runs `wazofs SOURCE MOUNTPOINT -o OPTS`
# (mount runs helpers with a PATH of its own: wazofs must be in /usr/local/sbin or the
# like, as `make install` puts it; the test links it there and removes the link)
HELPER=
if ! command -v wazofs >/dev/null 2>&1 || [ "$(readlink /usr/local/sbin/wazofs)" = "$WAZOFS" ]; then
	HELPER=/usr/local/sbin/wazofs
	mkdir -p /usr/local/sbin && ln -sfn "$WAZOFS" "$HELPER"
	trap 'cleanup; rm -f "$HELPER"' EXIT
fi
OPTS="root=$ROOT,state=$STATE,settle_ms=200"
check "mount -t fuse.wazofs wazofs MNT -o ... mounts" timeout 20 mount -t fuse.wazofs wazofs "$MNT" -o "$OPTS"
check "... and serves" timeout 5 test -d "$MNT/incoming"
PID=$(pgrep -f "^wazofs wazofs $MNT " | head -1)
check "... by a daemon named in ps as mount ran it" test -n "$PID"
check "... umount unmounts it" timeout 20 umount "$MNT"
check "... the daemon is gone" wait_for 5 sh -c "! kill -0 ${PID:-0} 2>/dev/null"
printf 'wazofs %s fuse.wazofs %s,noauto,nofail,_netdev 0 0\n' "$MNT" "$OPTS" >"$T/fstab"
check "an fstab line mounts (mount --fstab FILE MNT)" timeout 20 mount --fstab "$T/fstab" "$MNT"
check "... and serves" timeout 5 test -d "$MNT/incoming"
check "... umount" timeout 20 umount "$MNT"
check_fails "a third word is still refused" timeout 5 "$WAZOFS" -f wazofs "$MNT" extra -o "$OPTS"

# any number of -o settings: none is dropped or refused (the last one here sets the
# state dir); a FUSE option among them still goes to libfuse
MANY=$(for i in $(seq 1 100); do printf 'settle_ms=%s,' "$i"; done)
"$WAZOFS" -f -o "${MANY}default_permissions,root=$ROOT,state=$T/s-many" "$MNT" 2>>"$DAEMON_LOG" &
DAEMON_PID=$!
check "102 -o settings: mounts" wait_for 5 mountpoint -q "$MNT"
check "... and the last (state) was applied" test -d "$T/s-many/incoming"
check "... the FUSE option too" grep -q "$MNT .*default_permissions" /proc/mounts
fusermount3 -u "$MNT"
wait "$DAEMON_PID"
DAEMON_PID=

# Type=notify: READY=1 only once the mount answers; STOPPING=1 at unmount
cat >"$T/notify.py" <<'PY'
import os, socket, subprocess, sys, time
wazofs, mnt, opts, out = sys.argv[1:5]
path = os.path.join(os.path.dirname(out), "notify.sock")
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(20)
env = dict(os.environ, NOTIFY_SOCKET=path)
d = subprocess.Popen([wazofs, "-f", "-o", opts, mnt], env=env, stderr=subprocess.DEVNULL)
msgs = []
try:
    msgs.append(s.recv(4096).decode())
    mounted = os.path.ismount(mnt) and os.path.isdir(os.path.join(mnt, "incoming"))
    subprocess.run(["fusermount3", "-u", mnt])
    msgs.append(s.recv(4096).decode())
except socket.timeout:
    mounted = False
d.wait(20)
open(out, "w").write("%s mounted=%s rc=%s\n" % (" ".join(msgs), mounted, d.returncode))
PY
/usr/bin/python3 "$T/notify.py" "$WAZOFS" "$MNT" "root=$ROOT,state=$STATE" "$T/notify.out"
check_contains "sd_notify: READY=1 once the mount serves, STOPPING=1 at unmount" "$T/notify.out" '^READY=1 STOPPING=1 mounted=True rc=0$'

check "--help prints the options" sh -c "'$WAZOFS' --help | grep -q 'root=DIR'"
check "--help explains -f, -d and -s" sh -c "'$WAZOFS' --help | grep -q -- '-f .*foreground' && '$WAZOFS' --help | grep -q -- '-d .*debug' && '$WAZOFS' --help | grep -q -- '-s .*single'"
check "--version" sh -c "'$WAZOFS' --version | grep -q '^wazofs '"
# --- mount, list, unmount 40 times: every exit clean (in `make asan`, a thread's libfuse
# context still allocated at exit is a leak report and exit 99)
cycles_ok=0
for n in $(seq 1 40); do
	start_daemon || break
	timeout 10 ls "$MNT" >/dev/null && timeout 10 cat "$MNT/status" >/dev/null || break
	fusermount3 -u "$MNT"
	wait "$DAEMON_PID"
	rc=$?
	DAEMON_PID=
	[ "$rc" -eq 0 ] || { echo "# cycle $n: the daemon exited $rc"; sed -n '/Sanitizer/,$p' "$DAEMON_LOG" | head -12 | sed 's/^/#   /'; break; }
	cycles_ok=$n
done
check_eq "40 mounts, listings and unmounts each end with exit 0" "$cycles_ok" 40
finish
