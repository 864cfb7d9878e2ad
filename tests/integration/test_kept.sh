#!/bin/bash
# A package that fails to install is never kept (issue 23): after a failed reinstall,
# upgrade, rollback, package drop and apt install or reinstall, versions/, repo/ and
# STATE/packages hold the same packages, byte for byte (SHA-256 before and after), so a
# rollback from versions/ gives back the good build.
. "$(dirname "$0")/lib.sh"
EXTRA_OPTS=",keep_versions=5"
make_sandbox
start_daemon || { finish; exit 1; }
PKG=wazo-plugind-keep-demo
deb() { echo "${PKG}_$1_all.deb"; }
FLAG=$ROOT/fail-install # while it exists, `rules install` (the postinst) exits 3
installed() { dpkg_q -W -f '${Version} ${db:Status-Abbrev}' $PKG 2>&1; }
data() { cat "$ROOT/usr/share/keep/data" 2>&1; }
# snap: every kept package as versions/, repo/ and the state dir show it, with its SHA-256
snap() {
	for d in "$MNT/demo/keep/versions" "$MNT/repo/pool/main" "$STATE/packages"; do
		echo "$d:"
		(cd "$d" && timeout 20 sha256sum -- *.deb) 2>&1
	done
}
# keep_src DIR VERSION TAG: the plugin at VERSION whose payload says TAG
keep_src() {
	rm -rf "$1"
	make_plugin "$1" keep demo "$2"
	sed -i "s|echo \"keep $2\" >|echo \"keep $2 $3\" >|" "$1/wazo/rules"
	sed -i '2a if [ "$1" = install ] \&\& [ -e "${DPKG_ROOT:-}/fail-install" ]; then echo "rules install fails (test)" >\&2; exit 3; fi' "$1/wazo/rules"
}
# job ENTRY: waits for incoming/ENTRY's job; prints installed or error
job() {
	wait_job "$1" 120
	if [ -e "$MNT/incoming/$1" ]; then status_field "$MNT/incoming/$1.status" state; else echo installed; fi
}
copy() { # copy SRC ENTRY: cp -r (or cp) into incoming/, then job
	timeout 20 cp -r "$1" "$MNT/incoming/$2"
	job "$2"
}
discard() { timeout 20 rm -rf "$MNT/incoming/$1" "$MNT/incoming/$1.status"; }

keep_src "$T/src/k1" 1.0 good
keep_src "$T/src/k2" 2.0 good
check_eq "1.0 installs" "$(copy "$T/src/k1" k1)" installed
sleep 0.05
check_eq "2.0 installs" "$(copy "$T/src/k2" k2)" installed
check_eq "... dpkg has 2.0" "$(installed)" "2.0 ii "
snap >"$T/before"
check_eq "versions/ keeps 1.0 and 2.0" "$(grep -c '\.deb$' "$T/before")" 6
GOOD2=$(sha256sum <"$STATE/packages/$(deb 2.0)")

# --- reinstall: a .reinstall copy of 2.0, another build, whose install fails
touch "$FLAG"
keep_src "$T/src/k2b" 2.0 broken
check_eq "a failed .reinstall ends in error" "$(copy "$T/src/k2b" k2b.reinstall)" error
snap >"$T/after"
check_eq "... versions/, repo/ and the state dir keep the same packages" "$(cat "$T/after")" "$(cat "$T/before")"
check_eq "... the kept 2.0 is the good build" "$(sha256sum <"$STATE/packages/$(deb 2.0)")" "$GOOD2"
rm -f "$FLAG"
discard k2b.reinstall
check_eq "a rollback from versions/ to 2.0 then installs" "$(copy "$MNT/demo/keep/versions/$(deb 2.0)" k2.deb.reinstall)" installed
check_eq "... the good build: dpkg has 2.0" "$(installed)" "2.0 ii "
check_eq "... with the good payload" "$(data)" "keep 2.0 good"

# --- upgrade: 3.0 whose install fails
touch "$FLAG"
keep_src "$T/src/k3" 3.0 good
check_eq "a failed upgrade to 3.0 ends in error" "$(copy "$T/src/k3" k3)" error
check_eq "... the packages kept are the same" "$(snap)" "$(cat "$T/before")"
rm -f "$FLAG"
discard k3
check_eq "a rollback to 2.0 from versions/ installs" "$(copy "$MNT/demo/keep/versions/$(deb 2.0)" back.deb)" installed
check_eq "... dpkg has 2.0" "$(installed)" "2.0 ii "

# --- rollback: 1.0 from versions/, whose install fails
touch "$FLAG"
check_eq "a failed rollback to 1.0 ends in error" "$(copy "$MNT/demo/keep/versions/$(deb 1.0)" k1.deb)" error
check_eq "... the packages kept are the same" "$(snap)" "$(cat "$T/before")"
rm -f "$FLAG"
discard k1.deb
check_eq "2.0 from versions/ installs again" "$(copy "$MNT/demo/keep/versions/$(deb 2.0)" again.deb)" installed

# --- package drop: another build of 2.0 (dpkg-deb), reinstalled, whose install fails
dpkg-deb -R "$STATE/packages/$(deb 2.0)" "$T/other"
echo "keep 2.0 other" >"$T/other/usr/share/keep/data"
dpkg-deb -b "$T/other" "$T/other.deb" >/dev/null
touch "$FLAG"
check_eq "a failed drop of another 2.0 package ends in error" "$(copy "$T/other.deb" other.deb.reinstall)" error
check_eq "... the packages kept are the same" "$(snap)" "$(cat "$T/before")"
rm -f "$FLAG"
discard other.deb.reinstall
check_eq "2.0 from versions/ installs again" "$(copy "$MNT/demo/keep/versions/$(deb 2.0)" again2.deb.reinstall)" installed
check_eq "... the good payload" "$(data)" "keep 2.0 good"

# --- apt: the host's sources offer 3.0 (2.0 comes later)
mkdir -p "$T/aptrepo" "$ROOT/etc/apt"
dpkg-deb -R "$STATE/packages/$(deb 2.0)" "$T/three"
sed -i 's/^Version: 2.0$/Version: 3.0/' "$T/three/DEBIAN/control"
sed -i 's/^version: 2.0$/version: 3.0/' "$T/three/usr/lib/wazo-plugind/plugins/demo/keep/wazo/plugin.yml"
dpkg-deb -b "$T/three" "$T/aptrepo/$(deb 3.0)" >/dev/null
(cd "$T/aptrepo" && dpkg-scanpackages -m . >Packages 2>/dev/null)
echo "deb [trusted=yes] file:$T/aptrepo ./" >"$ROOT/etc/apt/sources.list"
touch "$FLAG"
printf 'method: apt\noptions:\n  namespace: demo\n  name: keep\n  version: "3.0"\n' >"$T/apt3.yml"
check_eq "a failed apt upgrade to 3.0 ends in error" "$(copy "$T/apt3.yml" apt3.yml)" error
check_eq "... the packages kept are the same" "$(snap)" "$(cat "$T/before")"
rm -f "$FLAG"
discard apt3.yml
check_eq "2.0 from versions/ installs again" "$(copy "$MNT/demo/keep/versions/$(deb 2.0)" again3.deb)" installed
printf 'method: apt\noptions:\n  namespace: demo\n  name: keep\n  version: "2.0"\nreinstall: true\n' >"$T/apt2.yml"
timeout 20 cp "$T/apt2.yml" "$MNT/incoming/apt2a.yml"
job apt2a.yml >/dev/null
check_contains "an apt reinstall of 2.0 that apt cannot do (the sources have no 2.0)" "$STATE/logs/plugins/demo.keep.log" "Reinstallation of $PKG is not possible"
check_eq "... leaves the kept packages as they were" "$(snap)" "$(cat "$T/before")"
discard apt2a.yml
cp "$STATE/packages/$(deb 2.0)" "$T/aptrepo/$(deb 2.0)" # now the sources have the good build
(cd "$T/aptrepo" && dpkg-scanpackages -m . >Packages 2>/dev/null)
touch "$FLAG"
check_eq "a failed apt reinstall of 2.0 ends in error" "$(copy "$T/apt2.yml" apt2.yml)" error
check_contains "... apt did reinstall it (rules install failed)" "$MNT/incoming/apt2.yml.log" "rules install fails \(test\)"
check_eq "... the packages kept are the same" "$(snap)" "$(cat "$T/before")"
rm -f "$FLAG"
discard apt2.yml

stop_daemon
finish
