#!/bin/bash
# One build, many servers, on one machine and on loopback only: host A (a mount over
# root A) builds plugins from source and signs its repo/ with a throwaway gpg key;
# repo/ is served over HTTP on 127.0.0.1; host B (a second sandbox root with its own apt
# sources pointing at that URL) installs a plugin with apt-get, a second wazofs mounted
# over root B lists it, and `method: apt` requests on B install and upgrade others.
. "$(dirname "$0")/lib.sh"
ROOT_B=$T/root-b
STATE_B=$T/state-b
MNT_B=$T/mnt-b
PID_B=
HTTP_PID=
export GNUPGHOME=$T/gnupg
fleet_cleanup() {
	[ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
	if [ -n "$PID_B" ]; then
		fusermount3 -uz "$MNT_B" 2>/dev/null
		kill "$PID_B" 2>/dev/null
		wait "$PID_B" 2>/dev/null
	fi
	gpgconf --kill gpg-agent 2>/dev/null
	cleanup
}
trap fleet_cleanup EXIT

# a signing key of its own (no passphrase), in the daemon's GNUPGHOME
mkdir -m 700 "$GNUPGHOME"
check "a throwaway signing key is made" timeout 60 gpg --batch --passphrase '' \
	--quick-gen-key 'wazofs fleet test <fleet@wazofs.invalid>' ed25519 sign never
EXTRA_OPTS=",sign_key=fleet@wazofs.invalid"
start_daemon || { finish; exit 1; }

# host A builds two plugins from source
for p in alpha beta; do
	make_plugin "$T/src/$p" "$p" demo 1.0
	timeout 10 cp -r "$T/src/$p" "$MNT/incoming/"
	wait_job "$p"
done
check_eq "A: alpha and beta installed from source" "$(dpkg_q -W -f '${Package} ' 2>/dev/null)" "wazo-plugind-alpha-demo wazo-plugind-beta-demo "
check "A: repo/ is signed (InRelease)" test -s "$MNT/repo/dists/wazofs/InRelease"
check_eq "A: MOUNT/status says so" "$(status_field "$MNT/status" repo_signed) $(status_field "$MNT/status" repo_packages)" "true 2"
timeout 5 cat "$MNT/repo/key.gpg" >"$T/key.gpg"
check "A: InRelease verifies with the exported key (gpgv)" timeout 10 gpgv --keyring "$T/key.gpg" "$MNT/repo/dists/wazofs/InRelease"
check "A: InRelease signs the Release text" sh -c "timeout 5 cat '$MNT/repo/dists/wazofs/InRelease' | grep -qF \"\$(timeout 5 head -1 '$MNT/repo/dists/wazofs/Release')\""

# repo/ served over HTTP on loopback
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
/usr/bin/python3 -m http.server --bind 127.0.0.1 --directory "$MNT/repo" "$PORT" >"$T/http.log" 2>&1 &
HTTP_PID=$!
up() { /usr/bin/python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/dists/wazofs/Release', timeout=2)"; }
check "the repository answers over HTTP" wait_for 10 up

# host B: its own root, apt sources pointing at A's repository, signed-by A's key
mkdir -p "$ROOT_B/var/lib/dpkg/info" "$ROOT_B/var/lib/dpkg/updates" "$ROOT_B/etc/apt/sources.list.d" "$MNT_B"
touch "$ROOT_B/var/lib/dpkg/status"
chmod 644 "$T/key.gpg"
echo "deb [signed-by=$T/key.gpg] http://127.0.0.1:$PORT wazofs main" >"$ROOT_B/etc/apt/sources.list.d/wazofs.list"
apt_b() {
	PATH="$STUB:$PATH" timeout 120 apt-get -y -o "Dir=$ROOT_B" \
		-o "Dpkg::Options::=--root=$ROOT_B" -o "Dpkg::Options::=--force-script-chrootless" \
		-o "Dpkg::Options::=--log=$ROOT_B/var/log/dpkg.log" "$@"
}
mkdir -p "$ROOT_B/var/log/apt" "$ROOT_B/var/lib/apt/lists/partial" "$ROOT_B/var/cache/apt/archives/partial"
check "B: apt-get update verifies A's signed repository" apt_b update
check "B: apt-get install of alpha from A's repository" apt_b install wazo-plugind-alpha-demo
dpkg_b() { dpkg-query --admindir="$ROOT_B/var/lib/dpkg" -W -f '${Version} ${db:Status-Abbrev}' "$1" 2>/dev/null; }
check_eq "B: dpkg has alpha 1.0" "$(dpkg_b wazo-plugind-alpha-demo)" "1.0 ii "
check_eq "B: its postinst ran rules install" "$(cat "$ROOT_B/var/log/wazofs-test/alpha.actions")" "install"

# wazofs on B lists it like any installed plugin
PATH="$STUB:$PATH" "$WAZOFS" -f -o "root=$ROOT_B,state=$STATE_B,wazo_version=25.17,settle_ms=200,sign_key=missing@wazofs.invalid" "$MNT_B" 2>>"$T/daemon-b.log" &
PID_B=$!
check "B: a second wazofs mounts over root B" wait_for 10 mountpoint -q "$MNT_B"
check_eq "B: the mount lists alpha installed" "$(status_field "$MNT_B/demo/alpha/status" state) $(status_field "$MNT_B/demo/alpha/status" version)" "installed 1.0"

# method: apt on B installs beta from A's repository (the host's APT sources)
printf 'method: apt\noptions:\n  namespace: demo\n  name: beta\n' >"$T/beta.yml"
timeout 10 cp "$T/beta.yml" "$MNT_B/incoming/beta.yml"
beta_done() { [ ! -e "$MNT_B/incoming/beta.yml" ] || grep -q '^state: error' "$MNT_B/incoming/beta.yml.status"; }
wait_for 120 beta_done
check_eq "B: a method: apt request installs beta" "$(dpkg_b wazo-plugind-beta-demo)" "1.0 ii "
check_eq "B: its status says installed" "$(status_field "$MNT_B/demo/beta/status" state) $(status_field "$MNT_B/demo/beta/status" step)" "installed completed"
check_eq "B: the job's steps in the contract's order" "$(sed -n 's/^== \(.*\) (.*/\1/p' "$MNT_B/demo/beta/log" | uniq | tr '\n' ,)" "starting,validating,updating,installing,checking,cleaning,completed,"
check_eq "B: the package apt fetched is kept (versions/)" "$(timeout 5 ls "$MNT_B/demo/beta/versions")" "wazo-plugind-beta-demo_1.0_all.deb"
check_contains "B: history records the install" "$MNT_B/history" "install demo/beta - -> 1.0 ok"

# an upgrade built on A reaches B through a versioned request
rm -rf "$T/src/alpha" && make_plugin "$T/src/alpha" alpha demo 2.0
timeout 10 cp -r "$T/src/alpha" "$MNT/incoming/alpha2"
wait_job alpha2
check "A: alpha 2.0 is in the repository" grep -q '^Version: 2.0$' "$MNT/repo/dists/wazofs/main/binary-all/Packages"
printf 'method: apt\noptions:\n  namespace: demo\n  name: alpha\n  version: "2.0"\n' >"$T/alpha.yml"
timeout 10 cp "$T/alpha.yml" "$MNT_B/incoming/alpha.yml"
alpha_done() { [ ! -e "$MNT_B/incoming/alpha.yml" ] || grep -q '^state: error' "$MNT_B/incoming/alpha.yml.status"; }
wait_for 120 alpha_done
check_eq "B: method: apt with version 2.0 upgrades alpha" "$(dpkg_b wazo-plugind-alpha-demo)" "2.0 ii "
check_contains "B: history records the upgrade" "$MNT_B/history" "upgrade demo/alpha 1.0 -> 2.0 ok"

# a package the sources do not have: a clear status, nothing installed
printf 'method: apt\noptions:\n  namespace: demo\n  name: nosuch\n' >"$T/nosuch.yml"
timeout 10 cp "$T/nosuch.yml" "$MNT_B/incoming/nosuch.yml"
nosuch_done() { grep -q '^state: error' "$MNT_B/incoming/nosuch.yml.status"; }
wait_for 120 nosuch_done
S=$MNT_B/incoming/nosuch.yml.status
check_eq "B: an apt package that does not exist fails at installing, before apt-get install" "$(status_field "$S" error_id) $(status_field "$S" step)" "install-error installing"
check_contains "... naming the package" "$S" "no package wazo-plugind-nosuch-demo"
check_eq "... and nothing is installed" "$(dpkg_b wazo-plugind-nosuch-demo)" ""
printf 'method: apt\noptions:\n  namespace: demo\n  name: beta\n  version: "9.9"\n' >"$T/beta9.yml"
timeout 10 cp "$T/beta9.yml" "$MNT_B/incoming/beta9.yml"
beta9_done() { grep -q '^state: error' "$MNT_B/incoming/beta9.yml.status"; }
wait_for 120 beta9_done
check_contains "B: a version the sources do not have fails, naming it" "$MNT_B/incoming/beta9.yml.status" "of version 9.9"
check_eq "... and beta 1.0 stays" "$(dpkg_b wazo-plugind-beta-demo)" "1.0 ii "
printf 'method: apt\noptions:\n  namespace: demo\n  name: beta\n  version: "--allow-unauthenticated"\n' >"$T/inject.yml"
timeout 10 cp "$T/inject.yml" "$MNT_B/incoming/inject.yml"
inject_done() { grep -q '^state: error' "$MNT_B/incoming/inject.yml.status"; }
wait_for 30 inject_done
check_contains "B: a version that would read as an option is refused" "$MNT_B/incoming/inject.yml.status" "is not a Debian version"
printf 'method: apt\noptions:\n  namespace: Demo\n  name: beta\n' >"$T/upper.yml"
timeout 10 cp "$T/upper.yml" "$MNT_B/incoming/upper.yml"
upper_done() { grep -q '^state: error' "$MNT_B/incoming/upper.yml.status"; }
wait_for 30 upper_done
check_contains "B: a namespace outside ^[a-z0-9]+$ is refused" "$MNT_B/incoming/upper.yml.status" "does not match"

check_eq "B: with a sign_key gpg cannot use, repo/ stays unsigned" "$(status_field "$MNT_B/status" repo_signed) $(status_field "$MNT_B/status" repo_packages)" "false 2"
check_fails "... with no InRelease" test -e "$MNT_B/repo/dists/wazofs/InRelease"
check "... and a Release all the same" test -s "$MNT_B/repo/dists/wazofs/Release"
fusermount3 -u "$MNT_B"
wait "$PID_B"
check_eq "B: the second daemon exits cleanly" "$?" "0"
PID_B=
stop_daemon
finish
