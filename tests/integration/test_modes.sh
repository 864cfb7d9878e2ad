#!/bin/bash
# File modes (issue 23, the contract's Packaging: "Files keep the modes the plugin gave
# them"): examples/helloworld and a tree with files 0600, 0640, 0644, 0700, 0750, 0755
# and 0751 installed through every way in (cp -r, cp -a, rsync -a, a tar archive, a zip,
# a git request, the market); each installed file's mode is the source's, the .deb's
# tar listing says the same, `nobody` reads the installed 0644 files; a copy waiting in
# incoming/ stays private all the same (a real stranger account under allow_other).
. "$(dirname "$0")/lib.sh"
umask 022
P=wzm$$
useradd --system --no-create-home --shell /usr/sbin/nologin "${P}stranger" >/dev/null 2>&1 ||
	{ not_ok "cannot create the test user"; finish; exit 1; }
trap 'cleanup; userdel "${P}stranger" 2>/dev/null' EXIT
stranger() { timeout 20 setpriv --reuid="${P}stranger" --regid="${P}stranger" --clear-groups "$@"; }
nobody() { timeout 20 setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
MODES="600 640 644 700 750 755 751"
PKG=wazo-plugind-modes-demo
PLUGDIR=usr/lib/wazo-plugind/plugins/demo/modes

# the modes plugin: wazo/m/fMODE (packaged by wazofs with wazo/) and files/fMODE
# (packaged by `rules package` with cp -a), one of each mode
SRC=$T/src/modes
make_plugin "$SRC" modes demo 1.0.0
sed -i 's|^        mkdir -p "$pkgdir/usr/share/modes"|        mkdir -p "$pkgdir/usr/share"; cp -a files "$pkgdir/usr/share/modes"|' "$SRC/wazo/rules"
mkdir -p "$SRC/wazo/m" "$SRC/files"
for m in $MODES; do
	echo "$m" >"$SRC/wazo/m/f$m"
	echo "$m" >"$SRC/files/f$m"
	chmod "$m" "$SRC/wazo/m/f$m" "$SRC/files/f$m"
done

# git: a repository of the same tree (git keeps 0644 or 0755 only)
mkdir -p "$T/git"
cp -a "$SRC" "$T/git/modes"
git -C "$T/git/modes" init -q -b main && git -C "$T/git/modes" add -A &&
	git -C "$T/git/modes" commit -qm modes || not_ok "git repository made"
chmod -R a+rX "$T/git"
git clone -q "file://$T/git/modes" "$T/git-clone" # what git leaves: the modes expected
printf '{"items": [{"namespace": "demo", "name": "modes", "versions": [{"version": "1.0.0", "method": "git", "options": {"url": "file://%s/git/modes", "ref": "main"}}]}]}\n' "$T" >"$T/market.json"
printf 'method: git\noptions:\n  url: file://%s/git/modes\n  ref: main\n' "$T" >"$T/modes-git.yml"
(cd "$T/src" && tar -czf "$T/modes.tar.gz" modes && zip -qr "$T/modes.zip" modes)

EXTRA_OPTS=",allow_other,market=$T/market.json"
make_sandbox
umask 077 # the daemon's own umask changes no mode of a copy, a build or a package
start_daemon || { finish; exit 1; }
umask 022

mode_of() { stat -c %a "$1" 2>/dev/null || echo missing; }
# deb_modes DEB: "MODE PATH" per file of the package's data, as tar lists them
deb_modes() {
	dpkg-deb --fsys-tarfile "$1" | python3 -c '
import sys, tarfile
for m in tarfile.open(fileobj=sys.stdin.buffer, mode="r|"):
    if m.isfile(): print("%o %s" % (m.mode & 0o7777, m.name.lstrip("./")))'
}

# check_modes HOW EXPECTED_TREE: the installed modes plugin against the tree it came from
check_modes() {
	local how=$1 from=$2 deb="$STATE/packages/${PKG}_1.0.0_all.deb" want got_inst got_deb
	check_eq "$how: installed" "$(dpkg_q -W -f '${Version} ${db:Status-Abbrev}' $PKG 2>&1)" "1.0.0 ii "
	deb_modes "$deb" >"$T/deb-modes" 2>&1
	want= got_inst= got_deb=
	for f in wazo/plugin.yml wazo/rules $(for m in $MODES; do echo wazo/m/f$m files/f$m; done); do
		local src=$from/$f inst=$ROOT/$PLUGDIR/$f path=$PLUGDIR/$f
		case $f in files/*) inst=$ROOT/usr/share/modes/${f#files/} path=usr/share/modes/${f#files/} ;; esac
		want+="$f=$(mode_of "$src") "
		got_inst+="$f=$(mode_of "$inst") "
		got_deb+="$f=$(sed -n "s| $path\$||p" "$T/deb-modes") "
	done
	check_eq "$how: every installed file has the source's mode" "$got_inst" "$want"
	check_eq "$how: the .deb's tar listing has the source's modes" "$got_deb" "$want"
	check "$how: nobody reads the installed 0644 file" nobody cat "$ROOT/$PLUGDIR/wazo/plugin.yml"
	check "$how: nobody may run the installed 0755 rules" nobody test -x "$ROOT/$PLUGDIR/wazo/rules"
	check "$how: rm -r removes it" timeout 60 rm -r "$MNT/demo/modes"
}

# --- helloworld, as the README shows it
timeout 20 cp -r "$TOP/examples/helloworld" "$MNT/incoming/"
check "helloworld installs" wait_job helloworld
CONF=$ROOT/etc/asterisk/extensions_extra.d/helloworld.conf
check_eq "the dialplan file keeps the source's mode" "$(mode_of "$CONF")" "$(mode_of "$TOP/examples/helloworld/helloworld.conf")"
check_eq "... which is 0644, root's" "$(stat -c '%a %U' "$CONF")" "644 root"
check_eq "the installed plugin.yml keeps the source's mode (644)" "$(mode_of "$ROOT/usr/lib/wazo-plugind/plugins/demo/helloworld/wazo/plugin.yml")" "644"
check_eq "the installed rules keep the source's mode (755)" "$(mode_of "$ROOT/usr/lib/wazo-plugind/plugins/demo/helloworld/wazo/rules")" "755"
check "nobody (as Asterisk would) reads the dialplan file" nobody cat "$CONF"
check "nobody (as wazo-plugind's user would) reads the installed plugin.yml" nobody cat "$ROOT/usr/lib/wazo-plugind/plugins/demo/helloworld/wazo/plugin.yml"

# --- every way in
timeout 20 cp -r "$SRC" "$MNT/incoming/modes-cpr"
check "cp -r: the job ends" wait_job modes-cpr
check_modes "cp -r" "$SRC"

timeout 20 cp -a "$SRC" "$MNT/incoming/modes-cpa"
check "cp -a: the job ends" wait_job modes-cpa
check_modes "cp -a" "$SRC"

timeout 20 rsync -a "$SRC/" "$MNT/incoming/modes-rsync/"
check "rsync -a: the job ends" wait_job modes-rsync
check_modes "rsync -a" "$SRC"

timeout 20 cp "$T/modes.tar.gz" "$MNT/incoming/"
check "tar archive: the job ends" wait_job modes.tar.gz
check_modes "tar archive" "$SRC"

timeout 20 cp "$T/modes.zip" "$MNT/incoming/"
check "zip: the job ends" wait_job modes.zip
check_modes "zip" "$SRC"

timeout 20 cp "$T/modes-git.yml" "$MNT/incoming/"
check "git request: the job ends" wait_job modes-git.yml
check_modes "git request" "$T/git-clone"

timeout 60 mkdir -p "$MNT/demo/modes"
installed() { [ "$(status_field "$MNT/demo/modes/status" state)" = installed ]; }
check "market (mkdir -p): the job ends" wait_for 60 installed
check_modes "market" "$T/git-clone"

# --- a copy waiting in incoming/ keeps its modes and stays private
cp -a "$SRC" "$T/src/waiting"
sed -i 's|^    build) true ;;|    build) exit 3 ;;|' "$T/src/waiting/wazo/rules"
timeout 20 cp -r "$T/src/waiting" "$MNT/incoming/"
check "a copy whose build fails waits in incoming/" wait_job waiting
check_eq "... failed" "$(status_field "$MNT/incoming/waiting.status" state)" error
check_eq "the waiting copy keeps its modes (seen through the mount)" \
	"$(for m in $MODES; do stat -c %a "$MNT/incoming/waiting/files/f$m"; done | tr '\n' ' ')" "${MODES// / } "
check_fails "a stranger cannot read a 0644 file of the waiting copy" stranger cat "$MNT/incoming/waiting/files/f644"
check_fails "... nor list the copy" stranger ls "$MNT/incoming/waiting"
check_fails "... nor read it where the daemon keeps it" stranger cat "$STATE/incoming/waiting/files/f644"
check_fails "... nor list it there" stranger ls "$STATE/incoming/waiting"
check "root still reads it through the mount" timeout 5 cat "$MNT/incoming/waiting/files/f600"

stop_daemon
finish
