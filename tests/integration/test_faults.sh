#!/bin/bash
# Faults a Wazo server meets every week (issue 8): packages wazo-plugind made, apt and
# PATH, rules that hang under dpkg, a second daemon, another program holding dpkg's lock,
# dpkg's log, an overlayfs state dir, long names, editors and empty dirs in incoming/,
# a removal during a build, a bad market, hostile plugin.yml files.
. "$(dirname "$0")/lib.sh"
make_sandbox
HOST_LOG_LINES=$(wc -l </var/log/dpkg.log 2>/dev/null || echo 0)
EXTRA_OPTS=",job_timeout=4,dpkg_lock_timeout=30"
start_daemon || { finish; exit 1; }

# --- 1. a format-1 plugin package made as wazo-plugind makes it: prerm saves the rules,
# postrm (set -e) runs them for remove|purge and deletes them; dpkg --purge would run it
# twice and fail the second time
P=$T/wpd
mkdir -p "$P/DEBIAN" "$P/usr/lib/wazo-plugind/plugins/demo/wpd/wazo"
printf 'name: wpd\nnamespace: demo\nversion: 1.0.0\nplugin_format_version: 1\n' \
	>"$P/usr/lib/wazo-plugind/plugins/demo/wpd/wazo/plugin.yml"
cat >"$P/usr/lib/wazo-plugind/plugins/demo/wpd/wazo/rules" <<'RULES'
#!/bin/sh
mkdir -p "${DPKG_ROOT:-}/var/log/wazofs-test"
echo "$1" >> "${DPKG_ROOT:-}/var/log/wazofs-test/wpd.actions"
RULES
chmod +x "$P/usr/lib/wazo-plugind/plugins/demo/wpd/wazo/rules"
printf 'Package: wazo-plugind-wpd-demo\nVersion: 1.0.0\nArchitecture: all\nSection: wazo-plugind-plugin\nMaintainer: wazo-plugind\nDescription: made as wazo-plugind makes it\n' >"$P/DEBIAN/control"
cat >"$P/DEBIAN/prerm" <<'S'
#!/bin/sh
set -e
RULES="$DPKG_ROOT/var/lib/wazo-plugind/rules/rules.wpd.demo"
case "$1" in
    remove)
        mkdir -p "$(dirname "$RULES")"
        cp "$DPKG_ROOT/usr/lib/wazo-plugind/plugins/demo/wpd/wazo/rules" "$RULES"
        "$RULES" uninstall
        ;;
esac
S
cat >"$P/DEBIAN/postrm" <<'S'
#!/bin/sh
set -e
RULES="$DPKG_ROOT/var/lib/wazo-plugind/rules/rules.wpd.demo"
case "$1" in
    remove|purge)
        "$RULES" postrm
        rm -f "$RULES"
        ;;
esac
S
chmod 755 "$P/DEBIAN/prerm" "$P/DEBIAN/postrm"
dpkg-deb -b "$P" "$T/wpd.deb" >/dev/null
mkdir -p "$ROOT/var/log"
dpkg --root="$ROOT" --force-script-chrootless --log="$ROOT/var/log/dpkg.log" -i "$T/wpd.deb" >/dev/null
check "a plugin installed by wazo-plugind's packaging is listed" wait_for 10 test -f "$MNT/demo/wpd/status"
check "rm -r of it succeeds" timeout 60 rm -r "$MNT/demo/wpd"
check_eq "... dpkg no longer has it installed" \
	"$(dpkg_q -W -f '${db:Status-Status}' wazo-plugind-wpd-demo 2>/dev/null | sed 's/config-files/not-installed/')" not-installed
check_eq "... its rules ran uninstall then postrm once" \
	"$(tr '\n' ' ' <"$ROOT/var/log/wazofs-test/wpd.actions")" "uninstall postrm "
check "... and the plugin is gone from the mount" test ! -e "$MNT/demo/wpd"

# --- 2. debian_depends: apt runs dpkg, and `rules install` still sees the daemon's PATH
local_apt_repo
make_plugin "$T/src/aptpath" aptpath demo 1.0.0
printf 'debian_depends: [wazofs-test-dep]\n' >>"$T/src/aptpath/wazo/plugin.yml"
sed -i 's|^    install|    install) asterisk -rx "module reload" ;;\n    never|' "$T/src/aptpath/wazo/rules"
cp -r "$T/src/aptpath" "$MNT/incoming/"
check "a plugin with debian_depends whose install runs a program of the daemon's PATH installs" \
	wait_job aptpath 120
check_eq "... installed" "$(status_field "$MNT/demo/aptpath/status" state)" installed
check_contains "... and the program was found (through apt)" "$T/asterisk.log" 'module reload'

# --- 6. dpkg's log stays under root
check_contains "dpkg logs into ROOT/var/log/dpkg.log" "$ROOT/var/log/dpkg.log" 'wazo-plugind-aptpath-demo'
if [ -f /var/log/dpkg.log ]; then
	check_fails "... and not into the host's /var/log/dpkg.log" \
		sh -c "tail -n +$((HOST_LOG_LINES + 1)) /var/log/dpkg.log | grep -q wazo-plugind-aptpath-demo"
fi

# --- 3. job_timeout bounds rules that dpkg runs; the tree keeps answering meanwhile
make_plugin "$T/src/hangs" hangs demo 1.0.0
sed -i 's|^    install|    install) sleep 1000 ;;\n    never|' "$T/src/hangs/wazo/rules"
cp -r "$T/src/hangs" "$MNT/incoming/"
wait_for 20 grep -qx 'step: installing' "$MNT/incoming/hangs.status"
check "while rules install hangs, other status files answer" timeout 2 cat "$MNT/demo/aptpath/status"
check "... and the root lists" timeout 2 ls "$MNT"
check "a rules install that hangs is killed after job_timeout" wait_job hangs 40
check_contains "... the status says so" "$MNT/incoming/hangs.status" 'did not finish within 4 seconds'
check_eq "... nothing half-installed" "$(dpkg_q -W wazo-plugind-hangs-demo 2>/dev/null)" ""
rm -r "$MNT/incoming/hangs"
make_plugin "$T/src/slowrm" slowrm demo 1.0.0
sed -i 's|^    install|    uninstall) sleep 1000 ;;\n    install|' "$T/src/slowrm/wazo/rules"
cp -r "$T/src/slowrm" "$MNT/incoming/"
wait_job slowrm
start=$(date +%s)
check_fails "rm -r of a plugin whose uninstall hangs fails" timeout 60 rm -r "$MNT/demo/slowrm"
check "... within the job timeout (not after 60 s)" test $(($(date +%s) - start)) -lt 40
check_contains "... its status says why" "$MNT/demo/slowrm/status" 'did not finish within 4 seconds'
pkill -f 'sleep 1000' 2>/dev/null

# --- 4. one daemon per state dir
mkdir -p "$T/mnt2"
out=$(timeout 10 "$WAZOFS" -f -o "root=$ROOT,state=$STATE" "$T/mnt2" 2>&1)
rc=$?
check "a second daemon on the same state dir fails at once" test "$rc" -ne 0 -a "$rc" -ne 124
check_eq "... with a one-line error" "$(echo "$out" | wc -l)" 1
check "... that names the state dir" grep -q "in use by another wazofs" <<<"$out"
check "... and the first one still serves" timeout 2 cat "$MNT/demo/aptpath/status"

# --- 5. another program holds dpkg's lock: the job waits (status says so), then installs
/usr/bin/python3 -c '
import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.lockf(f, fcntl.LOCK_EX); open(sys.argv[2], "w").close(); time.sleep(6)
' "$ROOT/var/lib/dpkg/lock" "$T/locked" &
LOCKER=$!
wait_for 5 test -e "$T/locked"
make_plugin "$T/src/waits" waits demo 1.0.0
cp -r "$T/src/waits" "$MNT/incoming/"
check "while dpkg's lock is held, the status says the job waits for it" \
	wait_for 20 grep -q '^waiting: for the dpkg lock' "$MNT/incoming/waits.status"
check "... and installs once it is released" wait_job waits 60
check_eq "... installed" "$(status_field "$MNT/demo/waits/status" state)" installed
wait "$LOCKER"

# --- 12. names the mount cannot show are refused before anything runs
make_plugin "$T/src/longname" "$(printf 'n%.0s' {1..200})" demo 1.0.0
cp -r "$T/src/longname" "$MNT/incoming/"
wait_job longname
check_eq "a 200-character name is a validation error" "$(status_field "$MNT/incoming/longname.status" error_id)" validation-error
check_contains "... naming the field" "$MNT/incoming/longname.status" '^  name:'
check_eq "... nothing installed" "$(dpkg_q -W -f '${Package}\n' | grep -c nnnnnnnn)" 0
rm -r "$MNT/incoming/longname"

# --- 10. long entry names, empty dirs and editors in incoming/
long=$(printf 'e%.0s' {1..250})
check_fails "an entry whose ENTRY.status could not be shown is refused" cp -r "$T/src/waits" "$MNT/incoming/$long"
check_eq "... with ENAMETOOLONG" "$(mkdir "$MNT/incoming/$long" 2>&1 | sed 's/.*: //')" "File name too long"
mkdir "$MNT/incoming/later"
sleep 1.5
check "an empty dir made before the copy starts no job" test ! -e "$MNT/incoming/later.status"
make_plugin "$T/src/later" later demo 1.0.0
cp -r "$T/src/later/." "$MNT/incoming/later/"
check "... the copy into it installs" wait_job later
make_plugin "$T/src/edited" edited demo 1.0.0
sed -i 's/^    build) true/    build) exit 3/' "$T/src/edited/wazo/rules"
cp -r "$T/src/edited" "$MNT/incoming/"
wait_job edited
exec 7>"$MNT/incoming/edited/wazo/.rules.swp" # an editor keeps its swap file open
sed -i 's/^    build) exit 3/    build) true/' "$MNT/incoming/edited/wazo/rules"
check "a fixed copy installs while an editor still has its swap file open" wait_job edited 30
exec 7>&-
rm -f "$MNT/incoming/edited/wazo/.rules.swp" 2>/dev/null

# --- 14. rm -r of a plugin while its job builds: the copy stays, saying it was cancelled
make_plugin "$T/src/busy" busy demo 1.0.0 0 "sleep 3"
cp -r "$T/src/busy" "$MNT/incoming/"
wait_for 20 grep -qx 'step: building' "$MNT/incoming/busy.status"
check "rm -r of a plugin whose job builds succeeds" timeout 30 rm -r "$MNT/demo/busy"
check "... the plugin's directory is gone" test ! -e "$MNT/demo/busy"
check "... the copy stays in incoming/" test -x "$MNT/incoming/busy/wazo/rules"
check_contains "... with a status saying it was cancelled" "$MNT/incoming/busy.status" 'cancelled'
stop_daemon
start_daemon
sleep 1
check_contains "after a remount it is still cancelled, not run again" "$MNT/incoming/busy.status" 'cancelled'
check_eq "... and not installed" "$(dpkg_q -W wazo-plugind-busy-demo 2>/dev/null)" ""
stop_daemon

# --- at start, plugin packages that dpkg has half done (a crash, or dpkg run by hand) are
# repaired: unpacked -> configured, half-installed -> installed again from the kept
# package, an interrupted removal -> finished
start_daemon
for n in unpacked halfinst halfgone; do
	make_plugin "$T/src/$n" "$n" demo 1.0.0 1
done
sed -i "s|^case \"\$1\" in|&\n    postrm) if [ -e '$T/postrm-fails' ]; then exit 1; fi ;;|" "$T/src/halfgone/wazo/rules"
for n in unpacked halfinst halfgone; do
	cp -r "$T/src/$n" "$MNT/incoming/"
	wait_job "$n"
done
stop_daemon
# the crash came while halfinst's job was installing it: its package is still pending
# (a package is kept only once dpkg has installed it); a stray pending package never
# installed
mkdir -p "$STATE/packages/.pending"
mv "$STATE/packages/wazo-plugind-halfinst-demo_1.0.0_all.deb" "$STATE/packages/.pending/"
cp "$STATE/packages/wazo-plugind-unpacked-demo_1.0.0_all.deb" "$STATE/packages/.pending/wazo-plugind-unpacked-demo_9.9_all.deb"
abbrev() { dpkg_q -f '${db:Status-Abbrev}' -W "wazo-plugind-$1-demo" 2>/dev/null | tr -d ' '; }
abbrev_is() { [ "$(abbrev "$1")" = "$2" ]; }
DPKG="dpkg --root=$ROOT --force-script-chrootless --log=$ROOT/var/log/dpkg.log"
$DPKG --unpack "$STATE/packages/wazo-plugind-unpacked-demo_1.0.0_all.deb" >/dev/null 2>&1
check_eq "dpkg --unpack by hand leaves a plugin unpacked" "$(abbrev unpacked)" iU
sed -i '/^Package: wazo-plugind-halfinst-demo$/,/^$/ s/^Status: .*/Status: install reinstreq half-installed/' "$ROOT/var/lib/dpkg/status"
check_eq "a crash while unpacking leaves one half-installed" "$(abbrev halfinst)" iHR
touch "$T/postrm-fails"
$DPKG --purge wazo-plugind-halfgone-demo >/dev/null 2>&1
check_eq "a removal whose postrm failed leaves one half-done" "$(abbrev halfgone)" pH
rm "$T/postrm-fails"
start_daemon
check "at start, the unpacked plugin is configured" wait_for 30 abbrev_is unpacked ii
check_eq "... its rules install ran again" "$(grep -c '^install$' "$ROOT/var/log/wazofs-test/unpacked.actions")" 2
check "... the half-installed one is installed again" wait_for 30 abbrev_is halfinst ii
check_contains "... from the package its job left pending" "$STATE/logs/plugins/demo.halfinst.log" "installing .*/packages/.pending/wazo-plugind-halfinst-demo_1.0.0_all.deb again"
pending_settled() { [ -z "$(ls -A "$STATE/packages/.pending" 2>/dev/null)" ]; }
check "... which is then kept, and a pending package that never installed is dropped" wait_for 30 pending_settled
check "... the kept one is listed in versions/" test -f "$MNT/demo/halfinst/versions/wazo-plugind-halfinst-demo_1.0.0_all.deb"
check_fails "... the stray one is nowhere" test -e "$STATE/packages/wazo-plugind-unpacked-demo_9.9_all.deb"
check "... the interrupted removal is finished" wait_for 30 abbrev_is halfgone ""
check_eq "... the mount shows the first two installed" \
	"$(status_field "$MNT/demo/unpacked/status" state) $(status_field "$MNT/demo/halfinst/status" state)" \
	"installed installed"
check "... and not the removed one" wait_for 10 test ! -e "$MNT/demo/halfgone"
check_contains "... dpkg --audit's findings were logged" "$DAEMON_LOG" 'dpkg --audit: '
stop_daemon

# --- 13. a bad market: the mount appears, with an empty market
/usr/bin/python3 -c 'print("[" * 500000)' >"$T/market.json"
EXTRA_OPTS=",market=$T/market.json"
start_daemon
check "with a market of 500,000 '[' the mount serves" timeout 5 ls "$MNT/incoming"
check "... with an empty market" timeout 5 test -d "$MNT/market"
check_eq "... that lists nothing" "$(timeout 5 ls "$MNT/market" | wc -l)" 0
check_contains "... and a warning" "$DAEMON_LOG" 'market .* not \(re\)loaded'
stop_daemon
finish
