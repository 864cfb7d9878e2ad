#!/bin/bash
# incoming/ as users fill it: rsync and cp -a, a writer that stays alive (quiet period),
# a job cancelled by rm -r of its plugin, and the errno of each refused operation.
. "$(dirname "$0")/lib.sh"
EXTRA_OPTS=",quiet_ms=1500"
start_daemon || { finish; exit 1; }

make_plugin "$T/src/rs" viarsync demo 1.0.0
rsync -a "$T/src/rs/" "$MNT/incoming/rs/"
check "rsync -a into incoming/ installs" wait_job rs
check_eq "... the plugin is installed" "$(status_field "$MNT/demo/viarsync/status" state)" installed

make_plugin "$T/src/ca" viacpa demo 1.0.0
cp -a "$T/src/ca" "$MNT/incoming/"
check "cp -a into incoming/ installs" wait_job ca
check_eq "... the plugin is installed" "$(status_field "$MNT/demo/viacpa/status" state)" installed

# symlinks in the tree are copied as symlinks and packaged as symlinks
make_plugin "$T/src/links" links demo 1.0.0
ln -s plugin.yml "$T/src/links/wazo/metadata.yml"
cp -a "$T/src/links" "$MNT/incoming/"
check "a tree with a symlink installs" wait_job links
check_eq "... the package holds the symlink" \
	"$(readlink "$ROOT/usr/lib/wazo-plugind/plugins/demo/links/wazo/metadata.yml")" plugin.yml

# entries whose name starts with a dot never start a job (editors' and rsync's temp files)
ln -s some/target "$MNT/incoming/.scratch"
check_eq "a symlink in incoming/ reads back as one" "$(readlink "$MNT/incoming/.scratch")" some/target
sleep 0.5
check_fails "a dot-entry starts no job" test -e "$MNT/incoming/.scratch.status"
check "... and stays" test -L "$MNT/incoming/.scratch"
rm "$MNT/incoming/.scratch"

# a writer that stays alive: this shell writes with builtins and keeps running
make_plugin "$T/src/live" live demo 1.0.0
mkdir "$MNT/incoming/live" "$MNT/incoming/live/wazo"
printf '%s' "$(cat "$T/src/live/wazo/plugin.yml")" >"$MNT/incoming/live/wazo/plugin.yml"
sleep 0.7
check "a live writer's copy is not taken before the quiet period" test -e "$MNT/incoming/live"
check_fails "... and has no job yet" test -e "$MNT/incoming/live.status"
printf '%s\n' "$(cat "$T/src/live/wazo/rules")" >"$MNT/incoming/live/wazo/rules"
chmod +x "$MNT/incoming/live/wazo/rules"
check "after the quiet period with no change, the job runs and installs" wait_job live 30
check_eq "... the plugin is installed" "$(status_field "$MNT/demo/live/status" state)" installed

# rm -r of a plugin whose job is running cancels the job first
make_plugin "$T/src/slow" slow demo 1.0.0 0 "sleep 60"
cp -r "$T/src/slow" "$MNT/incoming/"
check "the slow job reaches building" wait_for 20 grep -qx 'step: building' "$MNT/incoming/slow.status"
check "unlinking the status of a running job fails (EBUSY)" \
	sh -c "rm -f '$MNT/incoming/slow.status' 2>&1 | grep -q 'busy'"
START=$(date +%s)
check "rm -r of the plugin with a running job succeeds" rm -r "$MNT/demo/slow"
check "... well before the build would have ended" test $(($(date +%s) - START)) -lt 30
check "... the plugin directory is gone" test ! -e "$MNT/demo/slow"
# issue 8, defect 14: a copy left without a status ran again at the next mount
check_contains "... the job's status says it was cancelled" "$MNT/incoming/slow.status" 'reason: .*cancelled: demo/slow was removed'
check "... and no longer names the plugin" sh -c "! grep -q '^name: slow' '$MNT/incoming/slow.status'"
check "... the build process is gone" wait_for 5 sh -c "! pgrep -fx 'sleep 60' >/dev/null"
check "... the user's copy stays in incoming/" test -d "$MNT/incoming/slow/wazo"
check_eq "... nothing was installed" "$(dpkg_q -W wazo-plugind-slow-demo 2>/dev/null)" ""
rm -r "$MNT/incoming/slow"

# errno of refused or odd operations
err() { "$@" 2>&1 | sed 's/.*: //' | tail -1; }
check_eq "mkdir -p ns/name without a market: ENOENT" "$(err mkdir "$MNT/demo/nothere")" "No such file or directory"
check_eq "mkdir of an invalid namespace: EINVAL" "$(err mkdir "$MNT/Not_Valid")" "Invalid argument"
check "mkdir of a valid namespace succeeds" mkdir "$MNT/acme"
check "... and it is listed" sh -c "ls '$MNT' | grep -qx acme"
check "... rmdir removes it" rmdir "$MNT/acme"
check_eq "rmdir of a namespace with plugins: ENOTEMPTY" "$(err rmdir "$MNT/demo")" "Directory not empty"
check_eq "rmdir incoming: EBUSY" "$(err rmdir "$MNT/incoming")" "Device or resource busy"
check_eq "mknod a fifo in incoming/: EPERM" "$(err mkfifo "$MNT/incoming/fifo")" "Operation not permitted"
check_eq "truncating a status file: EROFS" "$(err truncate -s 0 "$MNT/demo/live/status")" "Read-only file system"
check_eq "chmod of a status file: EROFS" "$(err chmod 777 "$MNT/demo/live/status")" "Read-only file system"
check_eq "moving a file out of incoming/: EXDEV is handled by mv (copy), but the copy is refused" \
	"$(err mv "$MNT/incoming/../demo/live/status" "$MNT/demo/x")" "Read-only file system"
check "unlinking a view file succeeds and changes nothing" rm -f "$MNT/demo/live/status"
check_eq "... status is still there" "$(status_field "$MNT/demo/live/status" state)" installed
# extended attributes and ACLs pass through in incoming/: cp -a and rsync -aAX exit 0
make_plugin "$T/src/acl" aclplug demo 1.0.0
setfacl -m u:nobody:r "$T/src/acl/wazo/plugin.yml"
setfattr -n user.origin -v test "$T/src/acl/wazo/rules"
check "cp -a of a tree with a POSIX ACL exits 0" timeout 60 cp -a "$T/src/acl" "$MNT/incoming/"
check "... and installs" wait_job acl
make_plugin "$T/src/rs" rsplug demo 1.0.0
setfacl -m u:nobody:r "$T/src/rs/wazo/plugin.yml"
check "rsync -aAX of such a tree exits 0" timeout 60 rsync -aAX "$T/src/rs" "$MNT/incoming/"
check "... and installs" wait_job rs
mkdir -p "$MNT/incoming/held"
check "an xattr set in incoming/ reads back" sh -c "setfattr -n user.k -v v '$MNT/incoming/held' && getfattr --only-values -n user.k '$MNT/incoming/held' | grep -qx v"
rmdir "$MNT/incoming/held"
# a file of incoming/ still open once its name is gone acts as on the disk behind it
# (issue 25): fstat, fchmod and futimens reach its node, which holds the object itself
# (they got ESTALE from libfuse's path API), ftruncate and write its open file; the
# daemon keeps serving (it died of SIGSEGV at ftruncate once).
out=$(timeout 20 python3 -c '
import os, sys
p = sys.argv[1]
fd = os.open(p, os.O_WRONLY | os.O_CREAT, 0o640)
os.write(fd, b"0123456789")
os.unlink(p)
def run(name, f):
    try:
        f()
        print(name, "ok")
    except OSError as e:
        print(name, "error", e.strerror)
run("fstat", lambda: os.fstat(fd))
run("truncate", lambda: os.ftruncate(fd, 3))
print("size", os.fstat(fd).st_size)
run("fchmod", lambda: os.fchmod(fd, 0o600))
run("futimens", lambda: os.utime(fd, (1000000000, 1000000000)))
run("write", lambda: os.write(fd, b"x"))
' "$MNT/incoming/orphan" 2>&1)
check_eq "an open file of incoming/ whose name is gone is stat'ed, changed, truncated and written" \
	"$(echo $out)" "fstat ok truncate ok size 3 fchmod ok futimens ok write ok"
check "... and the daemon still serves" timeout 2 ls "$MNT"
stop_daemon
# completion without a blind wait: with a settle period of a minute, a whole plugin
# tree starts as soon as its writer (cp) exits; a partial one waits for the rest
EXTRA_OPTS=",settle_ms=60000"
start_daemon
make_plugin "$T/src/fast" fast demo 1.0.0
cp -r "$T/src/fast" "$MNT/incoming/"
check "a whole tree starts when cp exits, not after settle_ms (60 s)" wait_job fast 30
check_eq "... installed" "$(status_field "$MNT/demo/fast/status" state)" installed
make_plugin "$T/src/part" part demo 1.0.0
mkdir -p "$MNT/incoming/part/wazo"
cp "$T/src/part/wazo/plugin.yml" "$MNT/incoming/part/wazo/"
sleep 3
check "a partial copy (no wazo/rules yet) does not start when its writer exits" test ! -e "$MNT/incoming/part.status"
cp -p "$T/src/part/wazo/rules" "$MNT/incoming/part/wazo/"
check "... and starts once the rest arrives" wait_job part 30
check_eq "... installed" "$(status_field "$MNT/demo/part/status" state)" installed
# --- an access ACL sets the mode bits (cp -a sets a file's final mode so): the mode the
# mount shows is the new one at once, not 10 s later
mkdir "$MNT/incoming/acl"
echo x >"$MNT/incoming/acl/f"
chmod 600 "$MNT/incoming/acl/f"
stat -c %a "$MNT/incoming/acl/f" >/dev/null # the kernel keeps these attributes
setfacl -m u::rwx,g::r-x,o::r-x "$MNT/incoming/acl/f"
check_eq "setfacl's mode shows at once" "$(stat -c %a "$MNT/incoming/acl/f")" 755
mkdir -p "$T/aclsrc" && echo y >"$T/aclsrc/g" && chmod 640 "$T/aclsrc/g"
cp -a "$T/aclsrc" "$MNT/incoming/acl/copy"
check_eq "cp -a: the copied file's mode shows at once" "$(stat -c %a "$MNT/incoming/acl/copy/g")" 640
check_fails "a fifo in incoming/ is refused (mkfifo)" mkfifo "$MNT/incoming/acl/fifo"
mkfifo "$T/aclsrc/fifo"
check_fails "... so cp -r of a tree holding one exits non-zero" cp -r "$T/aclsrc" "$MNT/incoming/acl/withfifo"
check "... having copied the rest" test -f "$MNT/incoming/acl/withfifo/g"
rm -r "$MNT/incoming/acl"

stop_daemon
finish
