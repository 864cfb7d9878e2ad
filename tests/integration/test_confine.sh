#!/bin/bash
# The build-user boundary (issue 24), each attack run by a real build account (useradd)
# against a mount with allow_other: a build step's processes never outlive the step (a
# `setsid` survivor that would trojan the next job), build steps run with no_new_privs.
. "$(dirname "$0")/lib.sh"
P=wzc$$
useradd --system --no-create-home --shell /usr/sbin/nologin "${P}build" >/dev/null 2>&1 ||
	{ not_ok "cannot create the build user"; finish; exit 1; }
trap 'cleanup; pkill -KILL -u "${P}build" 2>/dev/null; userdel "${P}build" 2>/dev/null' EXIT
BUILD_UID=$(id -u "${P}build")
EXTRA_OPTS=",allow_other,build_user=${P}build"
make_sandbox
start_daemon || { finish; exit 1; }
build_procs() { ps -o pid=,ppid=,stat=,args= -u "$BUILD_UID" 2>/dev/null; }
# what an earlier account with this uid left (faked killed by SIGKILL leaked its IPC)
IPC_BEFORE=$({ awk -v u="$BUILD_UID" 'NR > 1 && $8 == u' /proc/sysvipc/msg
	awk -v u="$BUILD_UID" 'NR > 1 && $5 == u' /proc/sysvipc/sem; } | wc -l)

# --- 1. a build that leaves a process behind: setsid, a double fork, a daemon
make_plugin "$T/src/survivor" survivor demo 1.0.0 0 \
	"setsid sh -c 'sleep 4; echo trojan > $W/survivor-was-here' </dev/null >/dev/null 2>&1 & (sh -c 'sleep 5; echo x > $W/double-fork' &) ; exit 1"
timeout 20 cp -r "$T/src/survivor" "$MNT/incoming/"
wait_job survivor
check_eq "the build that leaves processes behind fails (exit 1)" "$(status_field "$MNT/incoming/survivor.status" state)" error
check_contains "... as rules build itself ended (status 1, not a kill)" "$MNT/incoming/survivor.status" "exited with status 1 "
check_eq "no process of the build user is left once the step ended" "$(build_procs)" ""
sleep 6
check_fails "... the setsid survivor never ran on" test -e "$W/survivor-was-here"
check_fails "... nor the double fork" test -e "$W/double-fork"
check_contains "the log says which confinement the step had" "$MNT/incoming/survivor.log" "confinement: .*own PID namespace"

# --- a process of the build user started some other way is killed before the next build
setpriv --reuid="${P}build" --regid="${P}build" --clear-groups sleep 300 &
LEFT_PID=$!
sleep 0.2
make_plugin "$T/src/next" next demo 1.0.0
timeout 20 cp -r "$T/src/next" "$MNT/incoming/"
wait_job next
check_eq "the next plugin installs" "$(status_field "$MNT/demo/next/status" state)" installed
check_contains "... its log says a process of the build user was left, and killed" "$MNT/demo/next/log" "1 process\(es\) of the build user \(uid $BUILD_UID\) were running: killed"
check_fails "... it is gone" kill -0 "$LEFT_PID"
wait "$LEFT_PID" 2>/dev/null
# faked (the fakeroot daemon of `rules package`, PID 1 of its namespace) ends on its
# SIGTERM and removes its System V message queues and semaphore: none is left
ipc_of_build() { # the message queues and semaphore sets whose owner is the build user
	{ awk -v u="$BUILD_UID" 'NR > 1 && $8 == u' /proc/sysvipc/msg
	  awk -v u="$BUILD_UID" 'NR > 1 && $5 == u' /proc/sysvipc/sem; } | wc -l
}
check_eq "packaging leaves no IPC object of the build user (faked ends cleanly)" "$(ipc_of_build)" "$IPC_BEFORE"

# --- Landlock: a build writes its work dir, its TMPDIR, its home and build_write only
mkdir -m 0777 "$T/lldir"
make_plugin "$T/src/ll" ll demo 1.0.0 0 "touch \"\$TMPDIR/ok\" || exit 11; touch $T/lldir/x 2>/dev/null \&\& exit 12; touch /tmp/wazofs-ll-\$\$ 2>/dev/null \&\& exit 13; touch $W/ll-ok || exit 14; true"
sed -i 's/\\&\\&/\&\&/g' "$T/src/ll/wazo/rules"
timeout 20 cp -r "$T/src/ll" "$MNT/incoming/"
wait_job ll
check_eq "a build that writes only where it may installs" "$(status_field "$MNT/demo/ll/status" state)" installed
check_fails "... a world-writable directory elsewhere was not written" test -e "$T/lldir/x"
check "... build_write's directory was" test -e "$W/ll-ok"
check_contains "... its log says Landlock bounds its writes" "$MNT/demo/ll/log" "confinement: .*Landlock \(writes: work dir, home, build_write\)"

# --- a build step cannot gain privileges (no_new_privs): a set-uid program stays the user
make_plugin "$T/src/nnp" nnp demo 1.0.0 0 "grep NoNewPrivs /proc/self/status; id -u"
timeout 20 cp -r "$T/src/nnp" "$MNT/incoming/"
wait_job nnp
check_contains "rules build runs with no_new_privs" "$MNT/demo/nnp/log" "^NoNewPrivs:[[:space:]]+1$"

# --- 2. a set-uid shell through a link in pkgdir: root's copy of wazo/ followed it
mkdir -m 0777 "$W/target"
make_plugin "$T/src/suid" suid demo 1.0.0 0 "cp /bin/sh wazo/rootsh; chmod 4755 wazo/rootsh"
sed -i "s|^        mkdir -p \"\$pkgdir/usr/share/suid\"|        mkdir -p \"\$pkgdir/usr/lib/wazo-plugind/plugins/demo\"; ln -s $W/target \"\$pkgdir/usr/lib/wazo-plugind/plugins/demo/suid\"; mkdir -p \"\$pkgdir/usr/share/suid\"|" "$T/src/suid/wazo/rules"
timeout 20 cp -r "$T/src/suid" "$MNT/incoming/"
wait_job suid
check_eq "a package whose plugin directory is a link is refused" "$(status_field "$MNT/incoming/suid.status" state)" error
check_contains "... saying where" "$MNT/incoming/suid.status" "usr/lib/wazo-plugind/plugins/demo/suid"
check_eq "nothing was written through the link" "$(ls -A "$W/target")" ""
check_eq "no set-id file exists outside the work dir and the state dir" \
	"$(find "$T" -path "$STATE" -prune -o -path "$MNT" -prune -o -perm /6000 -type f -print)" ""

# --- every trick at once: links in the work dir and in pkgdir, set-id files, a setsid
# survivor that swaps a directory for a link; then nothing outside the work dir and
# the state dir changed, no set-id file is left outside them, no process of the build
# user runs
mkdir -p "$W/victim-dir" && echo keep >"$W/victim-dir/file" && echo keep >"$T/victim2"
chmod 0777 "$W/victim-dir"
outside() { # what a build must never change: every file of $T but the state dir and the mount
	find "$T" \( -path "$STATE" -o -path "$MNT" -o -path "$T/daemon.log" -o -path "$T/check.out" \) -prune -o \
		-printf '%p %m %u %s\n' 2>/dev/null | sort
}
make_plugin "$T/src/tricks" tricks demo 1.0.0 0 \
	"cp /bin/sh wazo/rootsh; chmod 4755 wazo/rootsh; ln -s $W/victim-dir wazo/away; setsid sh -c 'sleep 2; mv wazo wazo.gone; ln -s $W/victim-dir wazo; touch $W/survivor-swapped' </dev/null >/dev/null 2>&1 &"
sed -i "s|^    package)|    package)\n        d=\"\$pkgdir/usr/share/doc/wazo-plugind-tricks-demo\"; mkdir -p \"\$d\" \"\$pkgdir/usr/lib/wazo-plugind/plugins/demo\"; ln -s $T/victim2 \"\$d/copyright.tmp\"; ln -s $W/victim-dir \"\$pkgdir/usr/lib/wazo-plugind/plugins/demo/tricks\"; cp /bin/sh \"\$pkgdir/rootsh2\"; chmod 4755 \"\$pkgdir/rootsh2\"|" "$T/src/tricks/wazo/rules"
outside >"$T/outside.before"
timeout 20 cp -r "$T/src/tricks" "$MNT/incoming/"
wait_job tricks
sleep 3
outside >"$T/outside.after"
check_eq "every trick at once: the job is refused" "$(status_field "$MNT/incoming/tricks.status" state)" error
check_eq "... nothing outside the work dir and the state dir changed" "$(comm -3 "$T/outside.before" "$T/outside.after" | grep -v "$T/outside\.")" ""
check_eq "... no set-id file is left outside them" \
	"$(find "$T" -path "$STATE" -prune -o -path "$MNT" -prune -o -path "$T/src" -prune -o -perm /6000 -type f -print)" ""
check_eq "... no process of the build user runs" "$(build_procs)" ""
check_fails "... the survivor never swapped anything" test -e "$W/survivor-swapped"

# --- 3. root writes nothing into pkgdir: links planted where the doc files go
echo "secret" >"$T/victim"
chmod 600 "$T/victim"
make_plugin "$T/src/doc" doc demo 1.0.0
sed -i "s|^    package)|    package)\n        d=\"\$pkgdir/usr/share/doc/wazo-plugind-doc-demo\"; mkdir -p \"\$d\"; ln -s $T/victim \"\$d/copyright.tmp\"; ln -s $T/victim \"\$d/changelog.gz\"; ln -s $T/victim \"\$d/copyright\"|" "$T/src/doc/wazo/rules"
timeout 20 cp -r "$T/src/doc" "$MNT/incoming/"
wait_job doc
check_eq "a plugin whose pkgdir has links where the doc files go installs" "$(status_field "$MNT/demo/doc/status" state)" installed
check_eq "... and the file they point to is untouched" "$(cat "$T/victim")" secret
check_eq "... still root's, 0600" "$(stat -c '%U %a' "$T/victim")" "root 600"
check_eq "... the doc files are wazofs's own" "$(head -c 33 "$ROOT/usr/share/doc/wazo-plugind-doc-demo/copyright")" "This package was built by wazofs "

# --- 5. owners set under fakeroot are kept, as dpkg-deb under fakeroot keeps them
make_plugin "$T/src/owner" owner demo 1.0.0
sed -i 's|^        echo "owner 1.0.0" > "$pkgdir/usr/share/owner/data"|&; cp /bin/true "$pkgdir/usr/share/owner/helper"; chown nobody:nogroup "$pkgdir/usr/share/owner/helper"; chmod 6755 "$pkgdir/usr/share/owner/helper"|' "$T/src/owner/wazo/rules"
timeout 20 cp -r "$T/src/owner" "$MNT/incoming/"
wait_job owner
check_eq "a plugin that chowns in rules package installs" "$(status_field "$MNT/demo/owner/status" state)" installed
dpkg-deb -c "$STATE/packages/wazo-plugind-owner-demo_1.0.0_all.deb" >"$T/owner.list"
check_contains "the package records the owner fakeroot recorded, with the set-id bits asked for" "$T/owner.list" '^-rwsr-sr-x (nobody|65534)/(nogroup|65534) .* ./usr/share/owner/helper$'
check_eq "... installed as such" "$(stat -c '%u:%g %a' "$ROOT/usr/share/owner/helper")" "65534:65534 6755"
check_contains "... and the rest root's" "$T/owner.list" '^-rw-r--r-- root/root .* ./usr/share/owner/data$'

# --- 13. a dropped package marked Protected (or Essential): refused, as rm -r could
# never remove it
dpkg-deb -R "$STATE/packages/wazo-plugind-owner-demo_1.0.0_all.deb" "$T/prot"
sed -i 's/^Version: 1.0.0$/Version: 1.0.0\nProtected: yes/' "$T/prot/DEBIAN/control"
dpkg-deb -b "$T/prot" "$T/prot.deb" >/dev/null
timeout 20 cp "$T/prot.deb" "$MNT/incoming/prot.deb.reinstall"
wait_job prot.deb.reinstall
check_eq "a dropped package marked Protected: yes is refused" "$(status_field "$MNT/incoming/prot.deb.reinstall.status" error_id)" validation-error
check_contains "... naming the field" "$MNT/incoming/prot.deb.reinstall.status" "^  Protected:"
check "... and the plugin is still removable" timeout 60 rm -r "$MNT/demo/owner"

# --- 12. a failed job whose entry name is 248 bytes stays failed across a remount
LONG=$(printf 'l%.0s' $(seq 1 248))
make_plugin "$T/src/longname" longname demo 1.0.0 0 "exit 3"
timeout 20 cp -r "$T/src/longname" "$MNT/incoming/$LONG"
wait_job "$LONG"
check_eq "a copy named with 248 bytes fails (its build exits 3)" "$(status_field "$MNT/incoming/$LONG.status" state)" error
stop_daemon
start_daemon
sleep 1
check_eq "... after a remount it is still failed" "$(status_field "$MNT/incoming/$LONG.status" state)" error
check_eq "... and was not run again" "$(grep -c "incoming/$LONG: job started" "$DAEMON_LOG")" 1
timeout 20 rm -rf "$MNT/incoming/$LONG"

# --- 12. an archive whose entries lie below a path longer than PATH_MAX
SEG=$(printf 'd%.0s' $(seq 1 200))
DEEP=$T/arch/deep
make_plugin "$DEEP" deep demo 1.0.0
(cd "$DEEP" && for i in $(seq 1 25); do mkdir "$SEG" && cd "$SEG" || exit 1; done && head -c 1048576 /dev/zero >zeros) ||
	not_ok "a tree deeper than PATH_MAX is made"
tar -C "$T/arch" -czf "$T/deep.tar.gz" deep
timeout 20 cp "$T/deep.tar.gz" "$MNT/incoming/"
wait_job deep.tar.gz 120
check_eq "a plugin archive holding a path longer than PATH_MAX installs" "$(status_field "$MNT/demo/deep/status" state)" installed
check_eq "... and its work dir is gone" "$(ls -A "$STATE/work")" ""

# --- 11. the work dir is bounded too: work_max_bytes, checked after each rules step
stop_daemon
EXTRA_OPTS=",allow_other,build_user=${P}build,work_max_bytes=2097152"
start_daemon
make_plugin "$T/src/fat" fat demo 1.0.0 0 "head -c 4000000 /dev/zero >big"
timeout 20 cp -r "$T/src/fat" "$MNT/incoming/"
wait_job fat
check_contains "a build that fills its work dir past work_max_bytes fails, saying so" "$MNT/incoming/fat.status" "the work dir holds [0-9]+ bytes, more than work_max_bytes \(2097152\)"
check_eq "... and its work dir is gone" "$(ls -A "$STATE/work")" ""
stop_daemon
EXTRA_OPTS=",allow_other,build_user=${P}build"
start_daemon

# --- a git subdirectory (or a wazo/) that is a link leading out of the clone: refused
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
mkdir -p "$T/git/linky/plugins" "$T/outside-plugin"
make_plugin "$T/outside-plugin/p" escaped demo 1.0.0
ln -s "$T/outside-plugin/p" "$T/git/linky/plugins/p"
make_plugin "$T/git/linky/plugins/q" q demo 1.0.0
mv "$T/git/linky/plugins/q/wazo" "$T/outside-plugin/qwazo"
ln -s "$T/outside-plugin/qwazo" "$T/git/linky/plugins/q/wazo"
git -C "$T/git/linky" init -q -b main && git -C "$T/git/linky" add -A && git -C "$T/git/linky" commit -qm linky
chmod -R a+rX "$T/git" "$T/outside-plugin"
printf 'method: git\noptions:\n  url: file://%s/git/linky\n  ref: main\n  subdirectory: plugins/p\n' "$T" >"$T/linky.yml"
timeout 20 cp "$T/linky.yml" "$MNT/incoming/"
wait_job linky.yml 60
check_eq "a git subdirectory that is a link leading out: validation error" "$(status_field "$MNT/incoming/linky.yml.status" error_id)" validation-error
check_contains "... naming subdirectory" "$MNT/incoming/linky.yml.status" "^  subdirectory:"
printf 'method: git\noptions:\n  url: file://%s/git/linky\n  ref: main\n  subdirectory: plugins/q\n' "$T" >"$T/linkq.yml"
timeout 20 cp "$T/linkq.yml" "$MNT/incoming/"
wait_job linkq.yml 60
check_eq "a wazo/ that is a link leading out: validation error" "$(status_field "$MNT/incoming/linkq.yml.status" error_id)" validation-error
check_contains "... naming wazo" "$MNT/incoming/linkq.yml.status" "^  wazo:"
check_eq "... nothing of either is installed" "$(dpkg_q -W wazo-plugind-escaped-demo wazo-plugind-q-demo 2>/dev/null)" ""

# --- 10. a market request with names that are no tokens: refused, and never listed
printf 'method: market\noptions:\n  namespace: "../.."\n  name: x\n' >"$T/dots.yml"
timeout 20 cp "$T/dots.yml" "$MNT/incoming/"
wait_job dots.yml
check_eq "a market request for namespace ../.. fails" "$(status_field "$MNT/incoming/dots.yml.status" state)" error
check_contains "... as a validation error naming it" "$MNT/incoming/dots.yml.status" "namespace '../..' does not match"
check "ls of the mount still works" timeout 10 ls "$MNT"
check_fails "... and lists no such name" sh -c "timeout 10 ls -a '$MNT' | grep -qx '\.\./\.\.'"
stop_daemon
start_daemon
check "... also after a remount" timeout 10 ls "$MNT"

# --- 14. a git remote that stalls: bounded by download_timeout, and rm of the request
# cancels it at once
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
print(s.getsockname()[1], flush=True)
held = []
while True:
    held.append(s.accept())' >"$T/stall.port" &
STALL_PID=$!
wait_for 5 test -s "$T/stall.port"
PORT=$(cat "$T/stall.port")
printf 'method: git\noptions:\n  url: git://127.0.0.1:%s/x.git\n' "$PORT" >"$T/stall.yml"
stop_daemon
EXTRA_OPTS=",allow_other,build_user=${P}build,download_timeout=3"
start_daemon
START=$(date +%s)
timeout 20 cp "$T/stall.yml" "$MNT/incoming/"
wait_job stall.yml 60
check_contains "a clone that stalls fails at download_timeout" "$MNT/incoming/stall.yml.status" "did not finish within 3 seconds \(download_timeout\)"
check "... within seconds, not job_timeout" test $(($(date +%s) - START)) -lt 20
timeout 20 rm -f "$MNT/incoming/stall.yml"
stop_daemon
EXTRA_OPTS=",allow_other,build_user=${P}build,download_timeout=600,log_max_bytes=1048576"
start_daemon
timeout 20 cp "$T/stall.yml" "$MNT/incoming/stall2.yml"
cloning() { grep -q '^step: downloading' "$MNT/incoming/stall2.yml.status"; }
check "another clone that stalls is downloading" wait_for 20 cloning
START=$(date +%s)
timeout 20 rm -f "$MNT/incoming/stall2.yml"
gone() { [ ! -e "$MNT/incoming/stall2.yml.status" ]; }
check "rm of its request cancels it at once (its status goes)" wait_for 10 gone
check "... in seconds" test $(($(date +%s) - START)) -lt 10
make_plugin "$T/src/after" after demo 1.0.0
timeout 20 cp -r "$T/src/after" "$MNT/incoming/"
check "... and the worker takes the next copy" wait_job after 30
check_eq "... which installs" "$(status_field "$MNT/demo/after/status" state)" installed
kill "$STALL_PID" 2>/dev/null

# --- 11. a build that prints 30 MB: its log keeps its head and tail, within log_max_bytes
make_plugin "$T/src/noisy" noisy demo 1.0.0 0 "echo FIRST-LINE; head -c 30000000 /dev/zero | tr '\\\\0' x; echo; echo LAST-LINE; exit 2"
timeout 20 cp -r "$T/src/noisy" "$MNT/incoming/"
wait_job noisy 60
L=$STATE/logs/incoming/noisy.log
check "a 30 MB build log is cut to about log_max_bytes" test "$(stat -c %s "$L")" -lt 1200000
check_contains "... keeping its head" "$L" "FIRST-LINE"
check_contains "... and its tail" "$L" "LAST-LINE"
check_contains "... saying what was cut" "$L" "bytes of this log cut \(log_max_bytes 1048576\)"
check_contains "... and the failure after it" "$MNT/incoming/noisy.status" "exited with status 2"

stop_daemon
finish
