#!/bin/bash
# After a Wazo upgrade (the contract's section of that name): the running version read
# from WAZO-VERSION under root= and watched without a remount, each plugin's
# compatibility with it, the kept sources (source/, origin:), and rebuilds from them:
# of one plugin, of all (dependencies first, one failing), by themselves after an
# upgrade (rebuild_on_wazo_upgrade), with the network and the git repository gone.
. "$(dirname "$0")/lib.sh"
WAZO_OPT= # the version comes from the file under root
VFILE=$ROOT/usr/share/wazo/WAZO-VERSION
make_sandbox
mkdir -p "$(dirname "$VFILE")"
echo 25.10 >"$VFILE"
# the file is replaced by a rename, as a package upgrade does
set_version() { printf '%s' "$1" >"$VFILE.new" && mv "$VFILE.new" "$VFILE"; }
overview() { timeout 5 cat "$MNT/status"; }
field() { timeout 5 cat "$MNT/demo/$1/status" | sed -n "s/^$2: //p" | sed "s/^'\(.*\)'\$/\1/"; }
overview_field() { overview | sed -n "s/^$1: //p" | sed "s/^'\(.*\)'\$/\1/"; }
incompatible() { overview | sed -n '/^incompatible:/,/^[a-z_]*:/p' | sed -n 's/^  - //p' | tr '\n' ' '; }
without_source() { overview | sed -n '/^without_source:/,/^[a-z_]*:/p' | sed -n 's/^  - //p' | tr '\n' ' '; }
builds() { grep -c "^$1\$" "$W/builds" 2>/dev/null; }
installed_version() { dpkg_q -W -f '${Version} ${db:Status-Abbrev}' "wazo-plugind-$1-demo" 2>/dev/null; }
# plugin NAME VERSION [YAML LINES]: a tree whose build records its name in $W/builds,
# writes a file into the tree (which the kept source must not have), and fails while
# $W/fail-NAME exists
plugin() {
	local name=$1 version=$2 extra=${3:-}
	rm -rf "$T/src/$name"
	make_plugin "$T/src/$name" "$name" demo "$version" 0 \
		"echo $name >> $W/builds; touch built-by-rules; test ! -e $W/fail-$name"
	[ -z "$extra" ] || printf '%s\n' "$extra" >>"$T/src/$name/wazo/plugin.yml"
}
install() { # install NAME: cp -r of its tree, waits for the job
	timeout 10 cp -r "$T/src/$1" "$MNT/incoming/$1"
	wait_job "$1"
}
request() { # request NAME YAML: an install request, waits for its job
	printf '%s\n' "$2" >"$T/$1.yml"
	timeout 10 cp "$T/$1.yml" "$MNT/incoming/$1.yml"
	wait_job "$1.yml"
}

# a stranger, and an admin by the admin group (group=)
ADMG=wzupg$$
ADMIN=wzupga$$
stranger_account wzupgs$$ || not_ok "cannot create a stranger account"
groupadd "$ADMG" && useradd --system --no-create-home --shell /usr/sbin/nologin -G "$ADMG" "$ADMIN" ||
	not_ok "cannot create the admin account"
trap 'cleanup; pkill -KILL -u "$STRANGER" 2>/dev/null; userdel "$STRANGER" 2>/dev/null; userdel "$ADMIN" 2>/dev/null; groupdel "$ADMG" 2>/dev/null' EXIT
admin() { setpriv --reuid="$ADMIN" --regid="$ADMIN" --init-groups "$@"; }
EXTRA_OPTS=",allow_other,group=$ADMG"
start_daemon || { finish; exit 1; }

# ---- the running version, from the file under root ----
check_eq "the version is read from WAZO-VERSION under root" "$(overview_field wazo_version)" "25.10"
check_eq "MOUNT/status says where it comes from" "$(overview_field wazo_version_from)" "file"

# ---- compatibility, on both sides of both bounds ----
plugin low 1.0 "max_wazo_version: '25.12'"
plugin high 1.0 "min_wazo_version: '25.05'"
plugin free 1.0
mkdir -p "$T/src/free/sub" && ln -s /etc/shadow "$T/src/free/sub/link"
for p in low high free; do install $p; done
check_eq "the three are installed" "$(installed_version low)/$(installed_version high)/$(installed_version free)" "1.0 ii /1.0 ii /1.0 ii "
check_eq "low is compatible with 25.10" "$(field low compatible)" "true"
check_eq "high is compatible with 25.10" "$(field high compatible)" "true"
check_eq "a compatible plugin has no incompatible_reason" "$(field low incompatible_reason)" ""
check_eq "nothing is incompatible" "$(overview | grep '^incompatible:')" "incompatible: []"

set_version 26.01
check "a change of the file is seen without a remount (within 2 s)" wait_for 2 test "$(overview_field wazo_version)" = 26.01
check_eq "above max_wazo_version: low is not compatible" "$(field low compatible)" "false"
check_eq "its reason names the field, its value and the running version" "$(field low incompatible_reason)" "max_wazo_version 25.12 is older than the running Wazo 26.01"
check_eq "high is compatible with 26.01" "$(field high compatible)" "true"
check_eq "MOUNT/status lists the incompatible plugins" "$(incompatible)" "demo/low "
set_version 25.12
check "the next change is seen too" wait_for 2 test "$(overview_field wazo_version)" = 25.12
check_eq "at max_wazo_version itself: low is compatible" "$(field low compatible)" "true"
set_version 25.05
check "25.05 is seen" wait_for 2 test "$(overview_field wazo_version)" = 25.05
check_eq "at min_wazo_version itself: high is compatible" "$(field high compatible)" "true"
check_eq "nothing is incompatible at 25.05" "$(incompatible)" ""
set_version 25.01
check "25.01 is seen" wait_for 2 test "$(overview_field wazo_version)" = 25.01
check_eq "below min_wazo_version: high is not compatible" "$(field high compatible)" "false"
check_eq "its reason" "$(field high incompatible_reason)" "min_wazo_version 25.05 is newer than the running Wazo 25.01"
check_eq "MOUNT/status lists high only" "$(incompatible)" "demo/high "
check_eq "a plugin with no bound is compatible" "$(field free compatible)" "true"
set_version 25.10
wait_for 2 test "$(overview_field wazo_version)" = 25.10
timeout 5 bash -c "cat '$MNT/events' > '$T/events.log'" &
EVPID=$!
sleep 0.5 # the reader's open: events are read from then on
set_version 26.02
wait_for 2 test "$(overview_field wazo_version)" = 26.02
sleep 0.5
kill $EVPID 2>/dev/null; wait $EVPID 2>/dev/null
check_contains "events: the version change" "$T/events.log" '"event": "wazo_version_changed", "old_version": "25.10", "version": "26.02"'
check_contains "events: low's compatibility changed" "$T/events.log" '"event": "plugin_compatibility_changed", "namespace": "demo", "name": "low", "version": "1.0", "compatible": false'
set_version 25.10
wait_for 2 test "$(overview_field wazo_version)" = 25.10

# ---- bad WAZO-VERSION files keep the last good version ----
bad_version() { # bad_version DESCRIPTION PATTERN: the file now holds something bad
	check "$1: the last good version stays" wait_for 2 test -n "$(overview_field wazo_version_error)"
	check_eq "$1: still 25.10" "$(overview_field wazo_version)" "25.10"
	check_contains "$1: MOUNT/status says why" <(overview) "^wazo_version_error: .*$2"
	check_eq "$1: low is judged against 25.10" "$(field low compatible)" "true"
}
set_version ""
bad_version "an empty file" "empty"
set_version 25.10 && wait_for 2 test -z "$(overview_field wazo_version_error)"
check_eq "a good file again: the error is gone" "$(overview_field wazo_version_error)" ""
printf '25\0\001\002' >"$VFILE.new" && mv "$VFILE.new" "$VFILE"
bad_version "a binary file" "binary"
set_version 25.10 && wait_for 2 test -z "$(overview_field wazo_version_error)"
head -c 100000 /dev/zero | tr '\0' '9' >"$VFILE.new" && mv "$VFILE.new" "$VFILE"
bad_version "a huge file" "bytes"
set_version 25.10 && wait_for 2 test -z "$(overview_field wazo_version_error)"
set_version "not a version"
bad_version "a line that is not a version" "not a Wazo version"
check_contains "the daemon's log says it too" "$DAEMON_LOG" "not a Wazo version"
set_version 25.10 && wait_for 2 test -z "$(overview_field wazo_version_error)"

# ---- the kept source ----
check "source/ is listed in the plugin's directory" grep -qx source <(timeout 5 ls "$MNT/demo/free")
check "source/ is what was copied" diff -r --no-dereference "$T/src/free" "$MNT/demo/free/source"
check_fails "and not what rules build wrote" test -e "$MNT/demo/free/source/built-by-rules"
check_eq "a link in the source is shown as a link" "$(timeout 5 readlink "$MNT/demo/free/source/sub/link")" "/etc/shadow"
check "the kept copy is the link itself, not its target" test -L "$STATE/sources/wazo-plugind-free-demo_1.0/tree/sub/link"
check_eq "source/ is read-only to root and the admin group" "$(stat -c '%a %U' "$MNT/demo/free/source" "$MNT/demo/free/source/wazo/plugin.yml" "$MNT/demo/free/source/wazo/rules" | tr '\n' ' ')" "550 root 440 root 550 root "
check_fails "nothing can be written in source/" touch "$MNT/demo/free/source/new"
check_eq "origin: copy ENTRY" "$(field free origin)" "copy free"
check "an admin lists source/" admin timeout 5 ls "$MNT/demo/free/source/wazo"
check_eq "an admin reads a file of it" "$(admin timeout 5 cat "$MNT/demo/free/source/wazo/plugin.yml" | head -1)" "name: free"
check_fails "a stranger cannot list source/" stranger timeout 5 ls "$MNT/demo/free/source"
check_eq "a stranger does not see it in the plugin's directory" "$(stranger timeout 5 ls "$MNT/demo/free" | grep -c source)" "0"
check "... whose ls -lR still works" stranger timeout 5 ls -lR "$MNT/demo/free"
check_fails "a stranger cannot stat source/ itself" stranger timeout 5 stat "$MNT/demo/free/source"
check_fails "a stranger cannot read a file of it" stranger timeout 5 cat "$MNT/demo/free/source/wazo/plugin.yml"
check_fails "a stranger cannot look it up" stranger timeout 5 stat "$MNT/demo/free/source/wazo"
check_eq "a stranger still reads status" "$(stranger timeout 5 cat "$MNT/demo/free/status" | sed -n 's/^state: //p')" "installed"

# ---- rebuild of one plugin ----
check_eq "low was built once" "$(builds low)" "1"
LOWSUM=$(sha256sum <"$STATE/packages/wazo-plugind-low-demo_1.0_all.deb")
request rb-low "{method: rebuild, options: {namespace: demo, name: low}}"
check_eq "the rebuild request ended" "$(ls "$MNT/incoming" | grep -c rb-low)" "0"
check_eq "low was built again, from its kept source" "$(builds low)" "2"
check_eq "low is still installed at 1.0" "$(installed_version low)" "1.0 ii "
check_eq "its origin is still its copy" "$(field low origin)" "copy low"
check "history has the reinstall" grep -q "reinstall demo/low 1.0 -> 1.0 ok" "$STATE/history"
check "source/ is still what was copied" diff -r "$T/src/low" "$MNT/demo/low/source"
check_eq "the rebuild gave the same package, byte for byte (nothing changed)" "$(sha256sum <"$STATE/packages/wazo-plugind-low-demo_1.0_all.deb")" "$LOWSUM"

# ---- a rebuild asked while the plugin has a job waits behind it ----
plugin slow 1.0
install slow
plugin slow 2.0
sed -i "s|echo slow >> $W/builds|sleep 2; echo slow >> $W/builds|" "$T/src/slow/wazo/rules"
timeout 10 cp -r "$T/src/slow" "$MNT/incoming/slow2"
check "the upgrade of slow is building" wait_for 10 grep -q '^step: building' "$MNT/incoming/slow2.status"
printf '%s\n' "{method: rebuild, options: {namespace: demo, name: slow}}" >"$T/rb-slow.yml"
timeout 10 cp "$T/rb-slow.yml" "$MNT/incoming/rb-slow.yml"
check "the rebuild request waits behind it" wait_for 5 grep -q '^state: queued' "$MNT/incoming/rb-slow.yml.status"
check "... while the upgrade still builds" grep -q '^step: building' "$MNT/incoming/slow2.status"
wait_job slow2
wait_job rb-slow.yml
check_eq "then the rebuild ran, of the version installed by then" "$(builds slow)" "3"
check "history: the upgrade, then the reinstall of 2.0" grep -q "reinstall demo/slow 2.0 -> 2.0 ok" "$STATE/history"
check_eq "slow is at 2.0" "$(installed_version slow)" "2.0 ii "
timeout 30 rm -r "$MNT/demo/slow"

# ---- a plugin without a kept source is refused by name ----
# its package, built once, removed, then dropped as a package: no source to keep
plugin nosrc 1.0
install nosrc
cp "$STATE/packages/wazo-plugind-nosrc-demo_1.0_all.deb" "$T/nosrc.deb"
timeout 30 rm -r "$MNT/demo/nosrc"
timeout 10 cp "$T/nosrc.deb" "$MNT/incoming/nosrc.deb"
wait_job nosrc.deb
check_eq "nosrc is installed from its package" "$(installed_version nosrc)" "1.0 ii "
check_eq "a package's origin" "$(field nosrc origin)" "package"
check_fails "it has no source/" test -e "$MNT/demo/nosrc/source"
request rb-nosrc "{method: rebuild, options: {namespace: demo, name: nosrc, }}"
check_eq "a rebuild without a kept source fails" "$(status_field "$MNT/incoming/rb-nosrc.yml.status" state)" "error"
check_eq "as a validation error" "$(status_field "$MNT/incoming/rb-nosrc.yml.status" error_id)" "validation-error"
check "naming _source" grep -q '^  _source:' "$MNT/incoming/rb-nosrc.yml.status"
check_eq "MOUNT/status lists what has no kept source" "$(without_source)" "demo/nosrc "
# the failed request's job is what nosrc's status shows now; the plugin is still installed
check_eq "behind a failed job, the status still shows the error" "$(field nosrc state)" "error"
check_eq "... and the installed plugin's compatible:" "$(field nosrc compatible)" "true"
timeout 5 rm -f "$MNT/incoming/rb-nosrc.yml"

# ---- rebuild of all: dependencies first, one failing ----
plugin top 1.0 "depends:
  - name: low
    namespace: demo"
install top
: >"$W/builds"
touch "$W/fail-high"
request rb-all "{method: rebuild, options: {all: true}}"
check "every rebuild job ends" wait_for 60 bash -c "[ \$(wc -l < '$W/builds') -ge 4 ] && ! timeout 5 cat '$MNT/status' | grep -q 'state: installing\|state: queued'"
check_eq "each plugin with a kept source was built once" "$(sort "$W/builds" | tr '\n' ' ')" "free high low top "
check "low (a dependency) before top" test "$(grep -n '^low$' "$W/builds" | cut -d: -f1)" -lt "$(grep -n '^top$' "$W/builds" | cut -d: -f1)"
check_eq "the failing one says so" "$(field high state)" "error"
check_eq "at its build step" "$(field high step)" "building"
check_eq "and stays installed at its version" "$(installed_version high)" "1.0 ii "
check_eq "the others are installed" "$(field low state)/$(field top state)/$(field free state)" "installed/installed/installed"
check_eq "nosrc was not rebuilt (no source)" "$(builds nosrc)" "0"
: >"$W/builds"
rm -f "$W/fail-high"

# ---- removing a plugin removes its kept source ----
timeout 30 rm -r "$MNT/demo/free"
check_eq "free's kept sources are gone" "$(ls "$STATE/sources" | grep -c wazo-plugind-free-demo)" "0"

# ---- git: the commit, and a rebuild with the repository and the network gone ----
rm -rf "$T/gitrepo" && cp -r "$T/src/free" "$T/gitrepo" && rm -f "$T/gitrepo/sub/link"
git -C "$T/gitrepo" init -q && git -C "$T/gitrepo" add -A &&
	git -C "$T/gitrepo" -c user.email=t@t -c user.name=t commit -qm one
COMMIT=$(git -C "$T/gitrepo" rev-parse HEAD)
request viagit "{method: git, options: {url: 'file://$T/gitrepo'}}"
check_eq "the git plugin is installed" "$(installed_version free)" "1.0 ii "
check_eq "origin: git URL REF COMMIT" "$(field free origin)" "git file://$T/gitrepo HEAD $COMMIT"
check_fails "the clone's .git is not kept" test -e "$MNT/demo/free/source/.git"
stop_daemon
rm -rf "$T/gitrepo"

# ---- rebuild_on_wazo_upgrade, with no network at all ----
EXTRA_OPTS=",rebuild_on_wazo_upgrade=yes"
: >"$W/builds"
WAZOFS_REAL=$WAZOFS
WAZOFS="$T/nonet"
printf '#!/bin/sh\nexec unshare --net "%s" "$@"\n' "$WAZOFS_REAL" >"$WAZOFS" && chmod +x "$WAZOFS"
start_daemon || { finish; exit 1; }
check_eq "no rebuild at a mount without a change" "$(wc -l <"$W/builds")" "0"
set_version 26.01
check "an upgrade rebuilds every plugin with a kept source, by itself" wait_for 60 bash -c "[ \$(wc -l < '$W/builds') -ge 3 ]"
check "... and they end" wait_for 60 bash -c "! timeout 5 cat '$MNT/status' | grep -q 'state: installing\|state: queued'"
check_eq "rebuilt without network or repository: free (from git), high, top" "$(sort "$W/builds" | tr '\n' ' ')" "free high top "
check_eq "the git plugin was rebuilt and is installed" "$(field free state)" "installed"
check_eq "low does not fit 26.01: its rebuild is refused at validating" "$(field low step) $(field low error_id)" "validating validation-error"
check "... naming max_wazo_version" grep -q "^  max_wazo_version:" <(timeout 5 cat "$MNT/demo/low/status")
check_eq "low stays installed as it was" "$(installed_version low)" "1.0 ii "
check_eq "MOUNT/status lists it as incompatible" "$(incompatible)" "demo/low "
stop_daemon

# ---- WAZO_VERSION in the environment, and the option over it ----
WAZOFS=$WAZOFS_REAL
EXTRA_OPTS=
WAZO_VERSION=24.01 start_daemon || { finish; exit 1; }
check_eq "WAZO_VERSION beats the file" "$(overview_field wazo_version) $(overview_field wazo_version_from)" "24.01 environment"
stop_daemon
WAZO_OPT=,wazo_version=23.05
WAZO_VERSION=24.01 start_daemon || { finish; exit 1; }
check_eq "the option beats WAZO_VERSION" "$(overview_field wazo_version) $(overview_field wazo_version_from)" "23.05 option"
stop_daemon

# ---- source_max_bytes, and kept sources pruned with the packages (keep_versions) ----
WAZO_OPT=
EXTRA_OPTS=",source_max_bytes=1048576,keep_versions=1"
start_daemon || { finish; exit 1; }
for v in 1.0 2.0 3.0; do
	plugin pv "$v"
	install pv
done
check_eq "sources kept: the installed version and keep_versions=1 earlier" "$(ls "$STATE/sources" | grep pv | tr '\n' ' ')" "wazo-plugind-pv-demo_2.0 wazo-plugind-pv-demo_3.0 "
check_eq "as the packages" "$(ls "$STATE/packages" | grep pv | tr '\n' ' ')" "wazo-plugind-pv-demo_2.0_all.deb wazo-plugind-pv-demo_3.0_all.deb "
plugin big 1.0
head -c 2000000 /dev/urandom >"$T/src/big/blob"
install big
check_eq "a plugin past source_max_bytes installs" "$(installed_version big)" "1.0 ii "
check_fails "its source is not kept" test -e "$MNT/demo/big/source"
check_contains "its log says why" "$MNT/demo/big/log" "source_max_bytes"
check "MOUNT/status lists it without source" grep -q "demo/big" <(without_source)
stop_daemon
finish
