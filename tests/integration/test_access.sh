#!/bin/bash
# Who may do what (issue 9): a mount with allow_other, group=ADMINS and a build user.
# The whole matrix (read, read a log, copy in, request file, mkdir, rename, rm -r, read a
# copy) as root, as a member of the admin group and as a stranger, each a real user
# (useradd, setpriv); which user each rules step ran as; modes; metadata that would
# inject a control field; credentials in a git URL; builds without network.
. "$(dirname "$0")/lib.sh"
P=wzt$$
ADM_GROUP=${P}adm
useradd_quiet() { useradd --system --no-create-home --shell /usr/sbin/nologin "$@" >/dev/null 2>&1; }
WEB_GROUP=${P}web
groupadd "$ADM_GROUP" && useradd_quiet -G "$ADM_GROUP" "${P}admin" &&
	useradd_quiet "${P}stranger" && useradd_quiet "${P}build" &&
	groupadd "$WEB_GROUP" && useradd_quiet -G "$WEB_GROUP" "${P}www" ||
	{ not_ok "cannot create the test users"; finish; exit 1; }
remove_users() {
	for u in "${P}admin" "${P}stranger" "${P}build" "${P}www"; do userdel "$u" 2>/dev/null; done
	groupdel "$ADM_GROUP" 2>/dev/null
	groupdel "$WEB_GROUP" 2>/dev/null
}
trap 'cleanup; remove_users' EXIT
BUILD_UID=$(id -u "${P}build")

# as WHO CMD...: run as root, admin (groups from /etc/group) or stranger (no groups)
as() {
	local who=$1
	shift
	case $who in
	root) timeout 60 "$@" ;;
	admin) timeout 60 setpriv --reuid="${P}admin" --regid="${P}admin" --init-groups "$@" ;;
	stranger) timeout 60 setpriv --reuid="${P}stranger" --regid="${P}stranger" --clear-groups "$@" ;;
	web) timeout 60 setpriv --reuid="${P}www" --regid="${P}www" --init-groups "$@" ;;
	esac
}

EXTRA_OPTS=",allow_other,group=$ADM_GROUP,build_user=${P}build,repo_group=$WEB_GROUP"
make_sandbox
start_daemon || { finish; exit 1; }

# a plugin whose steps say which user they run as, and in which directory owner
who_plugin() {
	make_plugin "$1" "$2" demo 1.0.0
	sed -i 's|^    build) true ;;|    build) echo "build: uid=$(id -u) dir=$(stat -c %u .) net=$(grep -c : /proc/net/dev)" ;;|' "$1/wazo/rules"
	sed -i 's|^    package)|    package)\n        echo "package: realuid=$(awk "/^Uid:/{print \\$2}" /proc/self/status) fakeuid=$(id -u)"|' "$1/wazo/rules"
	sed -i 's|^    install\|uninstall\|postrm)|    install\|uninstall\|postrm)\n        echo "$1: uid=$(id -u)"|' "$1/wazo/rules"
	chmod -R a+rX "$1"
}
who_plugin "$T/src/base" base
cp -r "$T/src/base" "$MNT/incoming/"
check "a plugin installs through a mount with allow_other" wait_job base
LOG=$STATE/logs/plugins/demo.base.log
check_contains "rules build ran as the build user" "$LOG" "^build: uid=$BUILD_UID "
check_contains "... in a build dir it owns" "$LOG" "^build: .* dir=$BUILD_UID "
check_contains "rules package ran as the build user, under fakeroot" "$LOG" "^package: realuid=$BUILD_UID fakeuid=0$"
check_contains "rules install ran as root (through dpkg)" "$LOG" '^install: uid=0$'
check_contains "builds have network by default" "$LOG" '^build: .* net=([2-9]|[1-9][0-9])'

# --- the matrix
mkdir "$MNT/incoming/held" # an empty dir: starts no job
for who in root admin stranger; do
	case $who in stranger) may=no ;; *) may=yes ;; esac
	exp() { if [ "$may" = yes ]; then check "$who: $1" "${@:2}"; else check_fails "$who: $1 is refused" "${@:2}"; fi; }
	check "$who: ls -lR of the plugins" as "$who" ls -lR "$MNT/demo"
	check "$who: ls -l of incoming/" as "$who" ls -l "$MNT/incoming"
	check "$who: cat of a status" as "$who" cat "$MNT/demo/base/status"
	check "$who: cat of a plugin.yml" as "$who" cat "$MNT/demo/base/plugin.yml"
	exp "cat of a plugin's log" as "$who" cat "$MNT/demo/base/log"
	who_plugin "$T/src/by$who" "by$who"
	exp "cp -r of a plugin into incoming/" as "$who" cp -r "$T/src/by$who" "$MNT/incoming/"
	printf 'method: git\noptions:\n  url: file:///root/private-repo\n' >"$T/req-$who.yml"
	chmod 644 "$T/req-$who.yml"
	exp "a request file in incoming/" as "$who" cp "$T/req-$who.yml" "$MNT/incoming/"
	exp "mkdir of a namespace" as "$who" mkdir "$MNT/ns$who"
	exp "rmdir of that namespace" as "$who" rmdir "$MNT/ns$who"
	exp "rename in incoming/" as "$who" mv "$MNT/incoming/held" "$MNT/incoming/held2"
	[ "$may" = yes ] && mv "$MNT/incoming/held2" "$MNT/incoming/held"
	if [ "$may" = yes ]; then wait_job "by$who"; wait_job "req-$who.yml"; rm -f "$MNT/incoming/req-$who.yml"*; fi
done
rmdir "$MNT/incoming/held"
check_eq "what the stranger copied never reached the state" \
	"$(ls "$STATE/incoming" | grep -c -e bystranger -e req-stranger)" 0
check "the admin's copy installed" test -d "$MNT/demo/byadmin"
check_fails "stranger: rm -r of a plugin is refused" as stranger rm -r "$MNT/demo/byadmin"
check "... and the plugin is still installed" test -d "$MNT/demo/byadmin"
check "admin: rm -r of a plugin" as admin rm -r "$MNT/demo/byadmin"
check_eq "... gone from dpkg" "$(dpkg_q -W wazo-plugind-byadmin-demo 2>/dev/null)" ""

# --- a failed copy: private, and never group/other-writable in the backing store
who_plugin "$T/src/ww" ww
sed -i 's|^    build) echo|    build) exit 1; echo|' "$T/src/ww/wazo/rules"
chmod -R 777 "$T/src/ww"
cp -a "$T/src/ww" "$MNT/incoming/"
wait_job ww
check_eq "a failed copy stays" "$(status_field "$MNT/incoming/ww.status" state)" error
check_eq "its world-writable wazo/ is stored 0775 (others never write a copy)" "$(stat -c %a "$STATE/incoming/ww/wazo")" 775
check_eq "... its rules 0775, root and the admin group" "$(stat -c '%a %U %G' "$STATE/incoming/ww/wazo/rules")" "775 root $ADM_GROUP"
check_eq "the drop zone itself is root's only" "$(stat -c '%a %U' "$STATE/incoming")" "700 root"
check "stranger: cat of the copy's status" as stranger cat "$MNT/incoming/ww.status"
check_fails "stranger: cat of the copy's files is refused" as stranger cat "$MNT/incoming/ww/wazo/rules"
check_fails "stranger: ls of the copy is refused" as stranger ls "$MNT/incoming/ww"
sync; echo 2 >/proc/sys/vm/drop_caches # what the kernel kept of an admin's lookups
check_fails "stranger: stat of a guessed name in the copy is refused" as stranger stat "$MNT/incoming/ww/wazo/rules"
check_fails "stranger: ... nor of a directory in it" as stranger stat "$MNT/incoming/ww/wazo"
check "stranger: the copy's own name stays visible" as stranger stat "$MNT/incoming/ww"
check "admin: stat of a name in the copy" as admin stat "$MNT/incoming/ww/wazo/rules"
check_fails "stranger: cat of the copy's log is refused" as stranger cat "$MNT/incoming/ww.log"
check "admin: cat of the copy's log" as admin cat "$MNT/incoming/ww.log"
check "admin: cat of the copy's files" as admin cat "$MNT/incoming/ww/wazo/plugin.yml"
check_fails "stranger: swapping wazo/rules of the failed copy is refused" as stranger cp /bin/true "$MNT/incoming/ww/wazo/rules"
check_eq "modes shown: log 0440, status 0444" \
	"$(stat -c %a "$MNT/incoming/ww.log") $(stat -c %a "$MNT/incoming/ww.status")" "440 444"
rm -r "$MNT/incoming/ww"

# --- packages may hold files only root reads (a 0600 file under /etc): their views
# are for root and admins; repo/pool/ also for repo_group (a web server serving repo/)
make_plugin "$T/src/creds" creds demo 1.0.0
sed -i 's|^        echo "creds 1.0.0" > "$pkgdir/usr/share/creds/data"|&; mkdir -p "$pkgdir/etc/creds"; echo password > "$pkgdir/etc/creds/secret"; chmod 600 "$pkgdir/etc/creds/secret"|' "$T/src/creds/wazo/rules"
cp -r "$T/src/creds" "$MNT/incoming/"
wait_job creds
CDEB=wazo-plugind-creds-demo_1.0.0_all.deb
check_eq "a plugin with a 0600 file installs" "$(stat -c %a "$ROOT/etc/creds/secret")" 600
check_fails "stranger: cat of the plugin's .deb is refused" as stranger cat "$MNT/demo/creds/$CDEB"
check_fails "stranger: cat of it in versions/ is refused" as stranger cat "$MNT/demo/creds/versions/$CDEB"
check_fails "stranger: cat of it in repo/pool/ is refused" as stranger cat "$MNT/repo/pool/main/$CDEB"
check "stranger: repo/'s Packages stays readable" as stranger cat "$MNT/repo/dists/wazofs/main/binary-all/Packages"
check "admin: cat of the plugin's .deb" as admin cat "$MNT/demo/creds/$CDEB"
check "admin: cat of it in versions/" as admin cat "$MNT/demo/creds/versions/$CDEB"
check "repo_group: cat of it in repo/pool/" as web cat "$MNT/repo/pool/main/$CDEB"
check_fails "repo_group: ... but not in versions/" as web cat "$MNT/demo/creds/versions/$CDEB"
check_eq "modes shown: the .deb 0440, in repo/pool/ 0440 with repo_group's group" \
	"$(stat -c %a "$MNT/demo/creds/$CDEB") $(stat -c '%a %G' "$MNT/repo/pool/main/$CDEB")" "440 440 $WEB_GROUP"

# --- metadata that would inject a control field: a validation error, nothing runs
make_plugin "$T/src/inj" inj demo 1.0.0 0 'touch /tmp/never'
printf 'debian_depends: ["x\\nProtected: yes"]\n' >>"$T/src/inj/wazo/plugin.yml"
cp -r "$T/src/inj" "$MNT/incoming/"
wait_job inj
S=$MNT/incoming/inj.status
check_eq "debian_depends with a newline: validation error" "$(status_field "$S" error_id)" validation-error
check_contains "... naming the field" "$S" 'debian_depends'
check_eq "... nothing installed" "$(dpkg_q -W wazo-plugind-inj-demo 2>/dev/null)" ""
rm -r "$MNT/incoming/inj"
make_plugin "$T/src/inj2" inj2 demo 1.0.0
printf 'depends:\n  - name: "x\\nEssential: yes"\n    namespace: demo\n' >>"$T/src/inj2/wazo/plugin.yml"
cp -r "$T/src/inj2" "$MNT/incoming/"
wait_job inj2
check_contains "depends[].name with a newline: refused naming depends" "$MNT/incoming/inj2.status" 'depends\[0\]\.name'
rm -r "$MNT/incoming/inj2"

# --- credentials in a git URL never reach the log or the status
printf 'method: git\noptions:\n  url: https://SECRET-TOKEN-42@127.0.0.1:9/x.git\n' >"$T/cred.yml"
cp "$T/cred.yml" "$MNT/incoming/"
wait_job cred.yml 60
check_eq "a git URL that fails: error" "$(status_field "$MNT/incoming/cred.yml.status" state)" error
check_fails "... its status holds no token" grep -q SECRET-TOKEN "$MNT/incoming/cred.yml.status"
check_fails "... nor its log" grep -q SECRET-TOKEN "$MNT/incoming/cred.yml.log"
check_contains "... which shows the URL redacted" "$MNT/incoming/cred.yml.log" 'https://\*\*\*@127.0.0.1:9/x.git'
rm -f "$MNT/incoming/cred.yml"

# --- git runs as the build user: a repository only root may read is not cloned
make_plugin "$T/private/repo" secret demo 1.0.0
(cd "$T/private/repo" && git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm x)
chmod 0700 "$T/private"
printf 'method: git\noptions:\n  url: file://%s/private/repo\n' "$T" >"$T/priv.yml"
cp "$T/priv.yml" "$MNT/incoming/"
wait_job priv.yml 60
check_contains "a git URL to a repository only root may read fails" "$MNT/incoming/priv.yml.status" 'git clone of file://.* failed'
check_eq "... nothing installed" "$(dpkg_q -W wazo-plugind-secret-demo 2>/dev/null)" ""
rm -f "$MNT/incoming/priv.yml"
stop_daemon

# --- build_network=no: rules build and package see no network; with default_permissions
# the kernel's checks agree with the daemon's; without group= only root may change
EXTRA_OPTS=",allow_other,default_permissions,build_user=${P}build,build_network=no"
start_daemon
# a UNIX socket of the host in a world-writable directory (as D-Bus's or PostgreSQL's
# under /run): with build_network=no a build reaches it not
mkdir -m 1777 "$T/sockdir"
python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o777); s.listen(4)
while True:
    c, _ = s.accept(); open(sys.argv[2], "a").write("connected\n")' "$T/sockdir/host.sock" "$T/sock.log" &
SOCK_PID=$!
wait_for 5 test -S "$T/sockdir/host.sock"
who_plugin "$T/src/nonet" nonet
sed -i "s|^    build) echo|    build) python3 -c 'import socket; socket.socket(socket.AF_UNIX).connect(\"$T/sockdir/host.sock\")' 2>/dev/null \&\& echo 'sock: reached' \|\| echo 'sock: unreachable'; echo|" "$T/src/nonet/wazo/rules"
cp -r "$T/src/nonet" "$MNT/incoming/"
check "with build_network=no a plugin installs" wait_job nonet
check_contains "... its build saw only loopback" "$STATE/logs/plugins/demo.nonet.log" '^build: .* net=1$'
check_contains "... and could not reach a UNIX socket of the host" "$STATE/logs/plugins/demo.nonet.log" '^sock: unreachable$'
check_fails "... which received nothing" test -s "$T/sock.log"
kill "$SOCK_PID" 2>/dev/null
check_fails "without group=, an admin-group member is refused too" as admin mkdir "$MNT/nsx"
check_fails "with default_permissions, a stranger cannot read a log" as stranger cat "$MNT/demo/nonet/log"
check "... and reads a status" as stranger cat "$MNT/demo/nonet/status"
stop_daemon

# --- an archive is read by wazofs-archive as the build user, with no network (a parser
# of hostile input runs with no more than the build has). The daemon runs from a copy
# beside a wrapper that records who runs it, then runs the real helper.
mkdir -p "$T/bin"
cp "$WAZOFS" "$T/bin/wazofs"
cp "$(dirname "$WAZOFS")/wazofs-archive" "$T/bin/wazofs-archive.real"
printf '#!/bin/sh\necho "$1 uid=$(id -u) net=$(grep -c : /proc/net/dev)" >>%s/helper.log\nexec %s/bin/wazofs-archive.real "$@"\n' \
	"$W" "$T" >"$T/bin/wazofs-archive"
chmod 0755 "$T/bin/wazofs-archive"
install -m 0666 /dev/null "$W/helper.log" # root and the build user append to it
EXTRA_OPTS=",allow_other,build_user=${P}build"
WAZOFS=$T/bin/wazofs start_daemon
make_plugin "$T/src/arch" arch demo 1.0.0
tar -czf "$T/arch.tar.gz" -C "$T/src" arch
cp "$T/arch.tar.gz" "$MNT/incoming/"
check "a plugin dropped as an archive installs" wait_job arch.tar.gz
check_contains "... wazofs-archive extracted it as the build user, with no network" \
	"$W/helper.log" "^import uid=$BUILD_UID net=1$"
check_contains "... and wrote the package as root" "$W/helper.log" '^deb-write uid=0 '
stop_daemon

# --- a caller whose groups cannot be read gets EAGAIN, never a silent "not an admin".
# The daemon runs in a PID namespace of its own: the kernel then reports the callers
# outside it as pid 0, and their groups (/proc/PID/status) cannot be read. An admin by
# its primary group needs none of that.
printf '#!/bin/sh\nexec unshare --pid --fork %s "$@"\n' "$WAZOFS" >"$T/bin/wazofs-pidns"
chmod 0755 "$T/bin/wazofs-pidns"
EXTRA_OPTS=",allow_other,group=$ADM_GROUP"
WAZOFS=$T/bin/wazofs-pidns start_daemon
out=$(as admin ls "$MNT/incoming" 2>&1)
check_contains "an admin by a supplementary group whose groups cannot be read: EAGAIN" \
	<(echo "$out") "Resource temporarily unavailable"
check "... and by its primary group, it is an admin" \
	timeout 60 setpriv --reuid="${P}admin" --regid="$ADM_GROUP" --clear-groups ls "$MNT/incoming"
stop_daemon
finish
