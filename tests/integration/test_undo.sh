#!/bin/bash
# Upgrades that cannot break the server (issue 26): an install whose `installing` or
# `checking` step fails is undone. After an upgrade, a rollback or a reinstall the
# package installed before is installed again from the kept packages; after a first
# install the package is purged. Each case checks dpkg's status and version,
# `dpkg --audit`, the installed files, the status fields and the history line.
. "$(dirname "$0")/lib.sh"
CHECKS=$T/checks.d
mkdir -p "$CHECKS"
EXTRA_OPTS=",checks_dir=$CHECKS,job_timeout=6"
start_daemon || { finish; exit 1; }

# plugin NAME VERSION [HEALTH]: a plugin whose `rules install` fails (exit 3) while
# $W/fail-NAME-VERSION exists, and hangs while $W/hang-NAME-VERSION does; HEALTH, when
# given, is the body of its wazo/health
plugin() {
	local dir=$T/src/$1-$2
	rm -rf "$dir"
	make_plugin "$dir" "$1" demo "$2"
	sed -i "s|^    install\|uninstall\|postrm)\$|    install\|uninstall\|postrm)\\n        [ \"\$1\" = install ] \&\& [ -e $W/fail-$1-$2 ] \&\& { echo 'install of $1 $2 fails' >\&2; exit 3; }\\n        [ \"\$1\" = install ] \&\& [ -e $W/hang-$1-$2 ] \&\& sleep 60|" "$dir/wazo/rules"
	if [ -n "${3:-}" ]; then
		printf '#!/bin/sh\n%s\n' "$3" >"$dir/wazo/health"
		chmod +x "$dir/wazo/health"
	fi
}
install() { # install NAME VERSION: copies the plugin and waits for its job
	timeout 20 cp -r "$T/src/$1-$2" "$MNT/incoming/$1-$2"
	wait_job "$1-$2" 60
}
pkg() { echo "wazo-plugind-$1-demo"; }
dpkg_state() { dpkg_q -W -f '${Version} ${db:Status-Abbrev}' "$(pkg "$1")" 2>/dev/null; }
audit() { dpkg --root="$ROOT" --audit 2>&1; }
data() { cat "$ROOT/usr/share/$1/data" 2>/dev/null; }
st() { status_field "$MNT/incoming/$1.status" "$2"; }
last_history() { grep " demo/$1 " "$MNT/history" | tail -1; }

# --- an upgrade whose `rules install` fails
plugin up 1.0.0
install up 1.0.0
check_eq "up 1.0.0 installs" "$(dpkg_state up)" "1.0.0 ii "
plugin up 2.0.0
touch "$W/fail-up-2.0.0"
install up 2.0.0
check_eq "an upgrade whose rules install fails: state error" "$(st up-2.0.0 state)" error
check_eq "... at the installing step" "$(st up-2.0.0 step)" installing
check_eq "... rolled back to 1.0.0" "$(st up-2.0.0 rolled_back_to)" 1.0.0
check_contains "... the reason says why" "$MNT/incoming/up-2.0.0.status" '^reason: .*exit'
check_eq "... dpkg has 1.0.0 installed again" "$(dpkg_state up)" "1.0.0 ii "
check_eq "... dpkg --audit says nothing" "$(audit)" ""
check_eq "... the installed files are 1.0.0's" "$(data up)" "up 1.0.0"
check_contains "... history: the error and the undo" <(last_history up) \
	' upgrade demo/up 1.0.0 -> 2.0.0 error: .*; rolled back to 1.0.0$'
check "... the copy stays in incoming/" test -d "$MNT/incoming/up-2.0.0/wazo"
check_contains "... the log has the failure and the undo" "$MNT/incoming/up-2.0.0.log" 'install of up 2.0.0 fails'
check_contains "... (the undo's heading)" "$MNT/incoming/up-2.0.0.log" '^== undo ==$'
check_eq "... the plugin's own status says so too" \
	"$(status_field "$MNT/demo/up/status" state) $(status_field "$MNT/demo/up/status" rolled_back_to)" "error 1.0.0"
rm -rf "$MNT/incoming/up-2.0.0"

# --- an upgrade whose `rules install` hangs past job_timeout
plugin slow 1.0.0
install slow 1.0.0
plugin slow 2.0.0
touch "$W/hang-slow-2.0.0"
install slow 2.0.0
check_eq "an upgrade that hangs past job_timeout: rolled back to 1.0.0" "$(st slow-2.0.0 rolled_back_to)" 1.0.0
check_contains "... the reason names the timeout" "$MNT/incoming/slow-2.0.0.status" '^reason: .*within 6 seconds'
check_eq "... dpkg has 1.0.0 installed again" "$(dpkg_state slow)" "1.0.0 ii "
check_eq "... dpkg --audit says nothing" "$(audit)" ""
check_eq "... the installed files are 1.0.0's" "$(data slow)" "slow 1.0.0"
check_contains "... history" <(last_history slow) ' upgrade demo/slow 1.0.0 -> 2.0.0 error: .*; rolled back to 1.0.0$'
rm -rf "$MNT/incoming/slow-2.0.0"

# --- the plugin's own wazo/health fails
plugin hl 1.0.0 'exit 0'
install hl 1.0.0
check_eq "a plugin whose wazo/health passes installs" "$(dpkg_state hl)" "1.0.0 ii "
check_contains "... its log shows the checking step" "$STATE/logs/plugins/demo.hl.log" '^== checking '
plugin hl 2.0.0 'echo "health: not ready" >&2; exit 1'
install hl 2.0.0
check_eq "an upgrade whose wazo/health fails: step checking" "$(st hl-2.0.0 step)" checking
check_contains "... the reason names the check" "$MNT/incoming/hl-2.0.0.status" '^reason: health check wazo/health failed'
check_eq "... rolled back to 1.0.0" "$(st hl-2.0.0 rolled_back_to)" 1.0.0
check_eq "... dpkg has 1.0.0 installed again" "$(dpkg_state hl)" "1.0.0 ii "
check_eq "... dpkg --audit says nothing" "$(audit)" ""
check_eq "... the installed files are 1.0.0's" "$(data hl)" "hl 1.0.0"
check_contains "... the check's output is in the log" "$MNT/incoming/hl-2.0.0.log" 'health: not ready'
check_contains "... history" <(last_history hl) ' upgrade demo/hl 1.0.0 -> 2.0.0 error: health check wazo/health failed.*; rolled back to 1.0.0$'
rm -rf "$MNT/incoming/hl-2.0.0"

# --- a checks.d script refuses; every install runs the checks with NS NAME VERSION
cat >"$CHECKS/10-record" <<EOF
#!/bin/sh
echo "\$* DPKG_ROOT=\$DPKG_ROOT uid=\$(id -u)" >>$T/checks.log
EOF
cat >"$CHECKS/20-refuse" <<EOF
#!/bin/sh
[ "\$2 \$3" = "chk 2.0.0" ] && { echo "chk 2.0.0 is refused here" >&2; exit 1; }
exit 0
EOF
printf 'not run: not executable\n' >"$CHECKS/30-plain"
chmod +x "$CHECKS/10-record" "$CHECKS/20-refuse"
plugin chk 1.0.0
install chk 1.0.0
check_eq "checks.d: chk 1.0.0 installs" "$(dpkg_state chk)" "1.0.0 ii "
check_eq "... each check got NAMESPACE NAME VERSION, DPKG_ROOT, as root" "$(cat "$T/checks.log")" \
	"demo chk 1.0.0 DPKG_ROOT=$ROOT uid=0"
plugin chk 2.0.0
install chk 2.0.0
check_eq "an upgrade a checks.d script refuses: step checking" "$(st chk-2.0.0 step)" checking
check_contains "... the reason names the script" "$MNT/incoming/chk-2.0.0.status" "^reason: health check $CHECKS/20-refuse failed"
check_eq "... rolled back to 1.0.0" "$(st chk-2.0.0 rolled_back_to)" 1.0.0
check_eq "... dpkg has 1.0.0 installed again" "$(dpkg_state chk)" "1.0.0 ii "
check_eq "... dpkg --audit says nothing" "$(audit)" ""
check_eq "... the installed files are 1.0.0's" "$(data chk)" "chk 1.0.0"
check_contains "... history" <(last_history chk) ' upgrade demo/chk 1.0.0 -> 2.0.0 error: .*20-refuse.*; rolled back to 1.0.0$'
rm -rf "$MNT/incoming/chk-2.0.0"
rm -f "$CHECKS/10-record" "$CHECKS/20-refuse"

# --- a first install that fails is purged
plugin first 1.0.0
touch "$W/fail-first-1.0.0"
install first 1.0.0
check_eq "a first install that fails: rolled_back_to none" "$(st first-1.0.0 rolled_back_to)" none
check_eq "... dpkg holds nothing of it" "$(dpkg_q -W "$(pkg first)" 2>&1 | grep -c '^wazo-plugind')" 0
check_eq "... dpkg --audit says nothing" "$(audit)" ""
check "... its files are gone" test ! -e "$ROOT/usr/share/first/data"
check_contains "... history" <(last_history first) ' install demo/first - -> 1.0.0 error: .*; rolled back to none$'
rm -rf "$MNT/incoming/first-1.0.0"

# --- a rollback (a versions/ copy) whose install fails goes back to the version before it
plugin rb 1.0.0
install rb 1.0.0
sleep 0.05
plugin rb 2.0.0
install rb 2.0.0
check_eq "rb 2.0.0 installed over 1.0.0" "$(dpkg_state rb)" "2.0.0 ii "
touch "$W/fail-rb-1.0.0"
timeout 10 cp "$MNT/demo/rb/versions/$(pkg rb)_1.0.0_all.deb" "$MNT/incoming/rb-back.deb"
wait_job rb-back.deb 60
check_eq "a rollback whose install fails: rolled back to 2.0.0" "$(st rb-back.deb rolled_back_to)" 2.0.0
check_eq "... dpkg has 2.0.0 installed again" "$(dpkg_state rb)" "2.0.0 ii "
check_eq "... dpkg --audit says nothing" "$(audit)" ""
check_eq "... the installed files are 2.0.0's" "$(data rb)" "rb 2.0.0"
check_contains "... history" <(last_history rb) ' rollback demo/rb 2.0.0 -> 1.0.0 error: .*; rolled back to 2.0.0$'
rm -f "$MNT/incoming/rb-back.deb"

# --- a method apt upgrade whose postinst fails: back to the version before it
plugin ap 1.0.0
install ap 1.0.0
sleep 0.05
plugin ap 2.0.0
install ap 2.0.0
mkdir -p "$T/aptrepo" "$ROOT/etc/apt"
cp "$STATE/packages/$(pkg ap)_2.0.0_all.deb" "$T/aptrepo/"
(cd "$T/aptrepo" && dpkg-scanpackages -m . >Packages 2>/dev/null)
echo "deb [trusted=yes] file:$T/aptrepo ./" >"$ROOT/etc/apt/sources.list"
timeout 10 cp "$MNT/demo/ap/versions/$(pkg ap)_1.0.0_all.deb" "$MNT/incoming/ap-back.deb"
wait_job ap-back.deb 60
check_eq "ap is back at 1.0.0 (a versions/ rollback)" "$(dpkg_state ap)" "1.0.0 ii "
touch "$W/fail-ap-2.0.0"
printf 'method: apt\noptions:\n  namespace: demo\n  name: ap\n  version: "2.0.0"\n' >"$T/ap.yml"
timeout 10 cp "$T/ap.yml" "$MNT/incoming/ap.yml"
wait_job ap.yml 120
check_eq "a method apt upgrade whose postinst fails: rolled back to 1.0.0" "$(st ap.yml rolled_back_to)" 1.0.0
check_eq "... at the installing step" "$(st ap.yml step)" installing
check_eq "... dpkg has 1.0.0 installed again" "$(dpkg_state ap)" "1.0.0 ii "
check_eq "... dpkg --audit says nothing" "$(audit)" ""
check_eq "... the installed files are 1.0.0's" "$(data ap)" "ap 1.0.0"
check_contains "... history" <(last_history ap) ' upgrade demo/ap 1.0.0 -> 2.0.0 error: .*; rolled back to 1.0.0$'
rm -f "$MNT/incoming/ap.yml" "$ROOT/etc/apt/sources.list"

# --- an undo that fails too: rollback_error, and nothing loops
plugin both 1.0.0
install both 1.0.0
plugin both 2.0.0
touch "$W/fail-both-2.0.0" "$W/fail-both-1.0.0"
install both 2.0.0
check_eq "an undo that fails too: state error" "$(st both-2.0.0 state)" error
check_contains "... rollback_error says why" "$MNT/incoming/both-2.0.0.status" '^rollback_error: dpkg --install of the kept package failed'
check_eq "... no rolled_back_to" "$(st both-2.0.0 rolled_back_to)" ""
check_contains "... the log has both outputs" "$MNT/incoming/both-2.0.0.log" 'install of both 2.0.0 fails'
check_contains "... (the undo's)" "$MNT/incoming/both-2.0.0.log" 'install of both 1.0.0 fails'
check_contains "... history says the undo failed" <(last_history both) ' upgrade demo/both 1.0.0 -> 2.0.0 error: .*; the undo failed: '
sleep 2
check_eq "... one history line, no job ran again" "$(grep -c ' demo/both 1.0.0 -> 2.0.0 ' "$MNT/history")" 1
check_eq "... and no job is running" "$(grep -c '^state: installing' "$MNT/incoming/both-2.0.0.status")" 0
rm -f "$W/fail-both-1.0.0" "$W/fail-both-2.0.0"
rm -rf "$MNT/incoming/both-2.0.0"

stop_daemon

# --- crash-safe: kill -9 in the middle of an upgrade, then a new mount on the same state
EXTRA_OPTS=",checks_dir=$CHECKS,job_timeout=60"
start_daemon || { finish; exit 1; }
crash() { # crash NAME VERSION FILE: once the job has made FILE, kill -9 of the daemon
	timeout 20 cp -r "$T/src/$1-$2" "$MNT/incoming/$1-$2"
	wait_for 30 test -e "$3"
	kill -9 "$DAEMON_PID"
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
	fusermount3 -uz "$MNT"
}
history_has() { grep -q " demo/$1 $2" "$STATE/history" 2>/dev/null; }
# everything dies (the daemon, dpkg, the maintainer scripts: a power loss) while the
# new version's rules install runs: the old version comes back
plugin pw 1.0.0
install pw 1.0.0
plugin pw 2.0.0
sed -i "s|^    install\|uninstall\|postrm)\$|&\n        [ \"\$1\" = install ] \&\& [ -e $W/slow-pw ] \&\& { touch $W/in-pw; sleep 30; }|" "$T/src/pw-2.0.0/wazo/rules"
touch "$W/slow-pw"
crash pw 2.0.0 "$W/in-pw"
pkill -9 -f "dpkg --root=$ROOT" 2>/dev/null
pkill -9 -f "$T/.*sleep 30|^sleep 30$" 2>/dev/null
rm -f "$W/slow-pw"
check_eq "power loss during an upgrade's postinst: dpkg has 2.0.0 half done" \
	"$(dpkg_state pw | cut -c1-8)" "2.0.0 iF"
start_daemon
check "... after a new mount, the history says it was rolled back" \
	wait_for 60 history_has pw "1.0.0 -> 2.0.0 error: interrupted by a restart.*; rolled back to 1.0.0$"
check_eq "... dpkg has 1.0.0 installed again" "$(dpkg_state pw)" "1.0.0 ii "
check_eq "... dpkg --audit says nothing" "$(audit)" ""
check_eq "... the installed files are 1.0.0's" "$(data pw)" "pw 1.0.0"
check_eq "... the plugin's status says so" "$(status_field "$MNT/demo/pw/status" rolled_back_to)" 1.0.0
check "... and the undo journal is empty" test -z "$(ls -A "$STATE/undo")"
rm -rf "$MNT/incoming/pw-2.0.0"
# the daemon alone dies while a check of the new version runs: dpkg has 2.0.0; after a
# new mount its checks run again, pass, and 2.0.0 stays
printf '#!/bin/sh\n[ -e %s/slow-check ] && { touch %s/in-check; sleep 30; }\nexit 0\n' "$W" "$W" >"$CHECKS/50-slow"
chmod +x "$CHECKS/50-slow"
plugin ck 1.0.0
install ck 1.0.0
plugin ck 2.0.0
touch "$W/slow-check"
crash ck 2.0.0 "$W/in-check"
pkill -9 -f "$CHECKS/50-slow" 2>/dev/null
rm -f "$W/slow-check"
check_eq "the daemon killed during a check: dpkg has 2.0.0 installed" "$(dpkg_state ck)" "2.0.0 ii "
start_daemon
check "... after a new mount the checks run again and pass" \
	wait_for 60 history_has ck "1.0.0 -> 2.0.0 ok$"
check_eq "... dpkg keeps 2.0.0" "$(dpkg_state ck)" "2.0.0 ii "
check_contains "... its log shows the checks that ran at start" \
	"$STATE/logs/plugins/demo.ck.log" "^== checking "
check_eq "... the plugin is installed" "$(status_field "$MNT/demo/ck/status" state)" installed
check "... and the undo journal is empty" test -z "$(ls -A "$STATE/undo")"
rm -f "$CHECKS/50-slow"
stop_daemon

# --- checks.d is found beside the config file when no setting names it
mkdir -p "$T/etc/checks.d"
: >"$T/etc/config.yml"
printf '#!/bin/sh\necho "$*" >>%s/beside.log\n' "$T" >"$T/etc/checks.d/10-beside"
chmod +x "$T/etc/checks.d/10-beside"
EXTRA_OPTS=",config=$T/etc/config.yml"
start_daemon || { finish; exit 1; }
plugin near 1.0.0
install near 1.0.0
check_eq "the checks.d beside the config file runs" "$(cat "$T/beside.log" 2>/dev/null)" "demo near 1.0.0"
stop_daemon

# --- a checks_dir that cannot be read fails the step (its checks would not run)
: >"$T/not-a-dir"
EXTRA_OPTS=",checks_dir=$T/not-a-dir"
start_daemon || { finish; exit 1; }
plugin unread 1.0.0
install unread 1.0.0
check_contains "a checks_dir that cannot be read fails the checking step" \
	"$MNT/incoming/unread-1.0.0.status" "^reason: 'cannot read the health checks in $T/not-a-dir: Not a directory'"
check_eq "... and the install is undone" "$(st unread-1.0.0 rolled_back_to)" none
stop_daemon
finish
