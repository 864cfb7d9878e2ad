#!/bin/bash
# Dependencies, the market and git: a dependency chain installed from a market of
# file:// git repositories, a satisfied dependency left alone, a missing one, a cycle,
# cascade removal, the market tree, mkdir and incoming/NAME.yml installs, and
# debian_depends resolved by apt from a local repository (no network).
. "$(dirname "$0")/lib.sh"
make_sandbox
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t

# git_plugin NAME VERSION DEPENDS...: a git repository at $T/git/NAME holding the plugin,
# with DEPENDS as `ns/name` strings
git_plugin() {
	local name=$1 version=$2
	shift 2
	rm -rf "$T/git/$name"
	make_plugin "$T/git/$name" "$name" demo "$version"
	if [ $# -gt 0 ]; then
		echo "depends:" >>"$T/git/$name/wazo/plugin.yml"
		for d in "$@"; do
			printf '  - namespace: %s\n    name: %s\n' "${d%/*}" "${d#*/}" >>"$T/git/$name/wazo/plugin.yml"
		done
	fi
	git -C "$T/git/$name" init -q -b main
	git -C "$T/git/$name" add -A
	git -C "$T/git/$name" commit -qm "$name $version"
}

# market ENTRY...: writes the market index; ENTRY is name:version[:min_wazo]
market() {
	{
		echo '{"items": ['
		local first=1
		for e in "$@"; do
			IFS=: read -r name version min <<<"$e"
			[ $first = 1 ] || echo ','
			first=0
			printf '{"namespace": "demo", "name": "%s", "display_name": "The %s plugin", "tags": ["test", "demo"], "versions": [' "$name" "$name"
			printf '{"version": "%s", "method": "git", "options": {"url": "file://%s/git/%s", "ref": "main"}, "min_wazo_version": "%s"}' \
				"$version" "$T" "$name" "${min:-17.10}"
			if [ -n "${min:-}" ]; then
				printf ', {"version": "0.9.0", "method": "git", "options": {"url": "file://%s/git/%s", "ref": "main"}}' "$T" "$name"
			fi
			printf ']}'
		done
		echo ']}'
	} >"$T/market.json.tmp"
	mv "$T/market.json.tmp" "$T/market.json"
}

git_plugin two 1.0.0
git_plugin four 1.0.0
git_plugin three 1.0.0 demo/four
git_plugin one 1.0.0 demo/two demo/three
market one:1.0.0 two:1.0.0 three:1.0.0 four:1.0.0
EXTRA_OPTS=",market=$T/market.json"
start_daemon || { finish; exit 1; }

# --- the market tree
check_eq "market/ lists the namespaces" "$(ls "$MNT/market")" demo
check_eq "market/demo lists the entries" "$(ls "$MNT/market/demo" | tr '\n' ' ')" "four one three two "
I=$MNT/market/demo/two/info
check_eq "info: namespace" "$(status_field "$I" namespace)" demo
check_eq "info: other fields of the entry" "$(status_field "$I" display_name)" "The two plugin"
check_contains "info: installed_version null when not installed" "$I" '^installed_version: null$'
check_contains "info: a version" "$I" '^  - version: 1.0.0$'
check_contains "info: installable" "$I" '^    installable: true$'
check_contains "info: upgradable" "$I" '^    upgradable: true$'
check_fails "market/ is read-only" touch "$MNT/market/demo/two/new"

# --- a dependency chain: one needs two and three, three needs four
make_plugin "$T/src/one" one demo 1.0.0
cp "$T/git/one/wazo/plugin.yml" "$T/src/one/wazo/plugin.yml"
cp -r "$T/src/one" "$MNT/incoming/"
check "the plugin with dependencies installs" wait_job one 120
for n in one two three four; do
	check_eq "demo/$n is installed" "$(dpkg_q -W -f '${db:Status-Abbrev}' "wazo-plugind-$n-demo" 2>/dev/null)" "ii "
done
check_eq "one's package depends on two and three" \
	"$(dpkg_q -W -f '${Depends}' wazo-plugind-one-demo)" "wazo-plugind-two-demo, wazo-plugind-three-demo"
check_eq "three's package depends on four" "$(dpkg_q -W -f '${Depends}' wazo-plugind-three-demo)" "wazo-plugind-four-demo"
check_contains "one's log: dependencies installed first" "$MNT/demo/one/log" 'dependency demo/three installed'
check_contains "three's own log: it installed four first" "$MNT/demo/three/log" 'dependency demo/four installed'
check_contains "three's own log shows the git download" "$MNT/demo/three/log" '^== downloading'
check_eq "install order: four before three, two and three before one" \
	"$(grep -h 'installed$' "$DAEMON_LOG" | grep -oE 'demo/(one|two|three|four)' | tr '\n' ' ')" \
	"demo/two demo/four demo/three demo/one "
check_contains "market info now has installed_version" "$MNT/market/demo/two/info" '^installed_version: 1.0.0$'
check_contains "... and the same version is not upgradable" "$MNT/market/demo/two/info" '^    upgradable: false$'

# --- a satisfied dependency is not upgraded
git_plugin four 2.0.0
market one:1.0.0 two:1.0.0 three:1.0.0 four:2.0.0 five:1.0.0
git_plugin five 1.0.0 demo/four
check "market reloads when its file changes" wait_for 10 test -d "$MNT/market/demo/five"
check "mkdir -p demo/five installs it from the market" mkdir -p "$MNT/demo/five"
check "... status shows the job, then installed" wait_for 60 grep -qx 'state: installed' "$MNT/demo/five/status"
check_eq "its installed dependency four stays at 1.0.0" "$(dpkg_q -W -f '${Version}' wazo-plugind-four-demo)" 1.0.0
check_contains "four's market info: 2.0.0 upgradable" "$MNT/market/demo/four/info" '^    upgradable: true$'
check_eq "mkdir of a plugin the market does not have: ENOENT" \
	"$(mkdir "$MNT/demo/ghost" 2>&1 | sed 's/.*: //')" "No such file or directory"

# --- a missing dependency
make_plugin "$T/src/needy" needy demo 1.0.0
printf 'depends:\n  - namespace: demo\n    name: ghost\n' >>"$T/src/needy/wazo/plugin.yml"
cp -r "$T/src/needy" "$MNT/incoming/"
wait_job needy
S=$MNT/incoming/needy.status
check_eq "a missing dependency fails the job" "$(status_field "$S" state)" error
check_eq "... at installing dependencies" "$(status_field "$S" step)" "installing dependencies"
check_contains "... naming it" "$S" "^reason: .*demo/ghost.*market does not have it"

# --- a cycle
git_plugin cyca 1.0.0 demo/cycb
git_plugin cycb 1.0.0 demo/cyca
market one:1.0.0 two:1.0.0 three:1.0.0 four:2.0.0 five:1.0.0 cyca:1.0.0 cycb:1.0.0
wait_for 10 test -d "$MNT/market/demo/cyca"
mkdir "$MNT/demo/cyca"
check "a dependency cycle ends the job" wait_for 60 grep -qx 'state: error' "$MNT/demo/cyca/status"
check_contains "... and is reported as a cycle" "$MNT/demo/cyca/status" \
	'reason: .*dependency cycle: demo/cyca -> demo/cycb -> demo/cyca'
check_eq "nothing of the cycle is installed" "$(dpkg_q -W 'wazo-plugind-cyc*' 2>/dev/null)" ""
rmdir "$MNT/demo/cyca" "$MNT/demo/cycb"

# --- cascade removal: removing four removes three, one and five (which need it)
check "rm -r demo/four succeeds" rm -r "$MNT/demo/four"
for n in four three one five; do
	check_eq "demo/$n is gone from dpkg" "$(dpkg_q -W "wazo-plugind-$n-demo" 2>/dev/null)" ""
	check "demo/$n is gone from the tree" test ! -e "$MNT/demo/$n"
done
check_eq "each removed plugin ran its uninstall" \
	"$(for n in four three one five; do tail -1 "$ROOT/var/log/wazofs-test/$n.actions"; done | sort -u)" uninstall
check_eq "demo/two, which nothing removed needed, stays" \
	"$(dpkg_q -W -f '${db:Status-Abbrev}' wazo-plugind-two-demo)" "ii "
check_contains "the removal's log lists what went with it" "$STATE/logs/plugins/demo.four.log" \
	'demo/three depends on demo/four'
check_contains "... all of it" "$STATE/logs/plugins/demo.four.log" 'demo/one depends on'

# --- install requests as files
printf 'method: git\noptions:\n  url: file://%s/git/three\n  ref: main\n' "$T" >"$T/req-git.yml"
printf 'method: market\noptions:\n  namespace: demo\n  name: four\n' >"$T/req-market.yml"
cp "$T/req-market.yml" "$MNT/incoming/"
check "incoming/NAME.yml with method market installs" wait_job req-market.yml 60
check_eq "... the newest installable version" "$(dpkg_q -W -f '${Version}' wazo-plugind-four-demo)" 2.0.0
cp "$T/req-git.yml" "$MNT/incoming/"
check "incoming/NAME.yml with method git installs" wait_job req-git.yml 60
check_eq "... demo/three" "$(dpkg_q -W -f '${db:Status-Abbrev}' wazo-plugind-three-demo)" "ii "
printf 'method: git\noptions:\n  url: file://%s/git/nothing-here\n' "$T" >"$T/req-bad.yml"
cp "$T/req-bad.yml" "$MNT/incoming/"
wait_job req-bad.yml
check_eq "a failed clone is an error" "$(status_field "$MNT/incoming/req-bad.yml.status" state)" error
check_eq "... at step downloading" "$(status_field "$MNT/incoming/req-bad.yml.status" step)" downloading
check_contains "... with git's message in the log" "$MNT/incoming/req-bad.yml.log" 'does not appear to be a git repository|not found'
printf 'method: ftp\n' >"$T/req-nonsense.yml"
cp "$T/req-nonsense.yml" "$MNT/incoming/"
wait_job req-nonsense.yml
check_eq "an install request with an unknown method: validation-error" \
	"$(status_field "$MNT/incoming/req-nonsense.yml.status" error_id)" validation-error

# --- git subdirectory
mkdir -p "$T/git/mono"
make_plugin "$T/git/mono/plugins/six" six demo 1.0.0
make_plugin "$T/git/mono/plugins/seven" seven demo 1.0.0
git -C "$T/git/mono" init -q -b main && git -C "$T/git/mono" add -A && git -C "$T/git/mono" commit -qm mono
printf 'method: git\noptions:\n  url: file://%s/git/mono\n  ref: main\n  subdirectory: plugins/seven\n' "$T" >"$T/req-sub.yml"
cp "$T/req-sub.yml" "$MNT/incoming/"
check "a git install honours subdirectory" wait_job req-sub.yml 60
check_eq "... it installed seven" "$(dpkg_q -W -f '${db:Status-Abbrev}' wazo-plugind-seven-demo)" "ii "

# --- debian_depends, resolved by apt from a local repository
local_apt_repo
make_plugin "$T/src/withdeb" withdeb demo 1.0.0
printf 'debian_depends:\n  - wazofs-test-dep\n' >>"$T/src/withdeb/wazo/plugin.yml"
cp -r "$T/src/withdeb" "$MNT/incoming/"
check "a plugin with debian_depends installs" wait_job withdeb 120
check_eq "... its Debian dependency was installed by apt" \
	"$(dpkg_q -W -f '${db:Status-Abbrev}' wazofs-test-dep 2>/dev/null)" "ii "
check_eq "... and the plugin" "$(dpkg_q -W -f '${db:Status-Abbrev}' wazo-plugind-withdeb-demo)" "ii "
check_contains "... after an apt-get update in the updating step" "$MNT/demo/withdeb/log" '== updating'
check_contains "... which read the local repository" "$MNT/demo/withdeb/log" "file:$T/repo"
make_plugin "$T/src/baddeb" baddeb demo 1.0.0
printf 'debian_depends: [wazofs-no-such-package]\n' >>"$T/src/baddeb/wazo/plugin.yml"
cp -r "$T/src/baddeb" "$MNT/incoming/"
wait_job baddeb 120
check_eq "an unresolvable debian_depends fails" "$(status_field "$MNT/incoming/baddeb.status" state)" error
check_eq "... at installing" "$(status_field "$MNT/incoming/baddeb.status" step)" installing
check_contains "... with apt's message in the log" "$MNT/incoming/baddeb.log" 'wazofs-no-such-package'
check_eq "... and nothing half-installed" "$(dpkg_q -W wazo-plugind-baddeb-demo 2>/dev/null)" ""

# --- a job whose own install fails after it installed a dependency from the market: the
# dependency stays (a plugin in its own right, as apt would leave it), the status says so
git_plugin eight 1.0.0
market one:1.0.0 two:1.0.0 three:1.0.0 four:1.0.0 eight:1.0.0
check "the market gains eight" wait_for 10 test -d "$MNT/market/demo/eight"
make_plugin "$T/src/needs8" needs8 demo 1.0.0
printf 'depends:\n  - namespace: demo\n    name: eight\n' >>"$T/src/needs8/wazo/plugin.yml"
sed -i 's|^    install\|uninstall\|postrm)$|&\n        [ "$1" = install ] \&\& exit 3|' "$T/src/needs8/wazo/rules"
cp -r "$T/src/needs8" "$MNT/incoming/"
wait_job needs8 120
check_eq "a job whose install fails after installing a dependency: error" \
	"$(status_field "$MNT/incoming/needs8.status" state)" error
check_eq "... it is purged (a first install)" "$(status_field "$MNT/incoming/needs8.status" rolled_back_to)" none
check_eq "... the status says which dependencies it added" \
	"$(status_field "$MNT/incoming/needs8.status" dependencies_added)" demo/eight
check_eq "... and they stay installed" "$(dpkg_q -W -f '${db:Status-Abbrev}' wazo-plugind-eight-demo)" "ii "
stop_daemon
finish
