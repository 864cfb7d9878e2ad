#!/bin/bash
# Kept versions, package drops and rollback, and MOUNT/repo/ (the APT repository of the
# kept packages), as an administrator uses them: cp of a .deb into incoming/, versions/
# listed, an older version copied back, repo/ compared with dpkg-scanpackages's output.
. "$(dirname "$0")/lib.sh"
EXTRA_OPTS=",keep_versions=2"
start_daemon || { finish; exit 1; }
P=wazo-plugind-vers-demo
deb() { echo "${P}_$1_all.deb"; }
versions() { timeout 5 ls "$MNT/demo/vers/versions" | tr '\n' ' '; }
installed_version() { dpkg_q -W -f '${Version} ${db:Status-Abbrev}' "$1" 2>/dev/null; }
drop() { # drop FILE [NAME]: copies a package into incoming/ and waits for its job
	local name=${2:-$(basename "$1")}
	timeout 10 cp "$1" "$MNT/incoming/$name"
	wait_job "$name"
}
install_src() { # install_src VERSION [FORMAT] [BUILD]
	rm -rf "$T/src/vers"
	make_plugin "$T/src/vers" vers demo "$1" "${2:-0}" "${3:-true}"
	timeout 10 cp -r "$T/src/vers" "$MNT/incoming/vers-$1"
	wait_job "vers-$1"
}

install_src 1.0
check_eq "1.0 installed from source" "$(installed_version $P)" "1.0 ii "
check_eq "versions/ lists the installed package" "$(versions)" "$(deb 1.0) "
sleep 0.05
install_src 2.0
check_eq "2.0 installed" "$(installed_version $P)" "2.0 ii "
check_eq "versions/ keeps the earlier package" "$(versions)" "$(deb 1.0) $(deb 2.0) "
check "a kept version is the package itself" cmp "$MNT/demo/vers/versions/$(deb 2.0)" "$STATE/packages/$(deb 2.0)"
check "the plugin dir lists versions/ as a directory" test -d "$MNT/demo/vers/versions"

# rollback: an earlier version copied from versions/ into incoming/
: >"$ROOT/var/log/wazofs-test/vers.actions"
drop "$MNT/demo/vers/versions/$(deb 1.0)"
check_eq "the copy of 1.0 is gone once installed" "$(ls "$MNT/incoming")" ""
check_eq "rollback: dpkg has 1.0 again" "$(installed_version $P)" "1.0 ii "
check_eq "status says 1.0 installed" "$(status_field "$MNT/demo/vers/status" version) $(status_field "$MNT/demo/vers/status" state)" "1.0 installed"
check_eq "rules install ran (postinst of 1.0)" "$(cat "$ROOT/var/log/wazofs-test/vers.actions")" "install"
check_contains "history records the rollback" "$MNT/history" "rollback demo/vers 2.0 -> 1.0 ok"
check_contains "no build for a package drop" "$MNT/demo/vers/log" "== validating"
if grep -q '== building' "$MNT/demo/vers/log"; then not_ok "a package drop is not built"; else ok "a package drop is not built"; fi

# keep_versions=2: the installed package and the two others most recently installed
sleep 0.05
install_src 3.0
check_eq "3.0 installed, 1.0 and 2.0 kept" "$(versions)" "$(deb 1.0) $(deb 2.0) $(deb 3.0) "
sleep 0.05
install_src 4.0
check_eq "4.0: 2.0 (least recently installed) pruned, 1.0 (rolled back to) kept" "$(versions)" "$(deb 1.0) $(deb 3.0) $(deb 4.0) "
check_eq "state/packages holds the same" "$(ls "$STATE/packages" | tr '\n' ' ')" "$(deb 1.0) $(deb 3.0) $(deb 4.0) "

# repo/: the APT repository of the kept packages
R=$MNT/repo
check_eq "repo/ lists dists and pool" "$(timeout 5 ls "$R" | tr '\n' ' ')" "dists pool "
check_eq "repo/pool/main holds the kept packages" "$(timeout 5 ls "$R/pool/main" | tr '\n' ' ')" "$(deb 1.0) $(deb 3.0) $(deb 4.0) "
(cd "$R" && timeout 20 dpkg-scanpackages -m pool 2>/dev/null) >"$T/scan"
timeout 5 cat "$R/dists/wazofs/main/binary-all/Packages" >"$T/ours"
check_eq "Packages is what dpkg-scanpackages -m writes for repo/pool" "$(sort "$T/ours" | md5sum)" "$(sort "$T/scan" | md5sum)"
check_eq "... field for field, in dpkg's order" "$(grep -v '^$' "$T/ours" | cut -d: -f1 | head -13 | tr '\n' ' ')" "$(grep -v '^$' "$T/scan" | cut -d: -f1 | head -13 | tr '\n' ' ')"
check_eq "Packages.gz unpacks to Packages" "$(timeout 5 zcat "$R/dists/wazofs/main/binary-all/Packages.gz" | md5sum)" "$(md5sum <"$T/ours")"
timeout 5 cat "$R/dists/wazofs/Release" >"$T/Release"
for f in Packages Packages.gz; do
	sum=$(timeout 5 sha256sum <"$R/dists/wazofs/main/binary-all/$f" | cut -d' ' -f1)
	size=$(stat -c %s "$R/dists/wazofs/main/binary-all/$f")
	check_contains "Release has the SHA256 and size of $f" "$T/Release" "^ $sum +$size main/binary-all/$f\$"
	sum=$(md5sum <"$R/dists/wazofs/main/binary-all/$f" | cut -d' ' -f1)
	check_contains "Release has the MD5Sum of $f" "$T/Release" "^ $sum +$size main/binary-all/$f\$"
done
check_contains "Release names suite, codename, component and architecture" "$T/Release" "^Codename: wazofs$"
check_eq "... as apt-ftparchive release would (same fields)" "$(grep -E '^(Suite|Codename|Architectures|Components):' "$T/Release" | tr '\n' ' ')" "Suite: wazofs Codename: wazofs Architectures: all Components: main "
check_fails "no InRelease without sign_key" test -e "$R/dists/wazofs/InRelease"
check_eq "MOUNT/status: repo_packages and repo_signed" "$(status_field "$MNT/status" repo_packages) $(status_field "$MNT/status" repo_signed)" "3 false"
check_fails "repo/ is read-only (create)" timeout 5 touch "$R/dists/x"
check_fails "repo/ is read-only (unlink)" timeout 5 rm -f "$R/pool/main/$(deb 1.0)"
check "... and the package is still there" test -f "$STATE/packages/$(deb 1.0)"
check_fails "versions/ is read-only" timeout 5 cp /etc/hostname "$MNT/demo/vers/versions/x.deb"

# packages that are refused: each a clear status, nothing installed, nothing kept
mkdir -p "$T/plain/DEBIAN"
printf 'Package: plain\nVersion: 1.0\nArchitecture: all\nMaintainer: t <t@t>\nDescription: plain\n' >"$T/plain/DEBIAN/control"
dpkg-deb -b "$T/plain" "$T/plain_1.0_all.deb" >/dev/null
drop "$T/plain_1.0_all.deb"
S=$MNT/incoming/plain_1.0_all.deb.status
check_eq "a .deb that is not a plugin package fails validation" "$(status_field "$S" error_id)" "validation-error"
check_contains "... naming its section" "$S" "^  Section:"
check_eq "... and nothing installed" "$(installed_version plain)" ""
check "... the dropped file stays for the user" test -f "$MNT/incoming/plain_1.0_all.deb"
rm -f "$MNT/incoming/plain_1.0_all.deb"

head -c 1500 "$STATE/packages/$(deb 3.0)" >"$T/truncated.deb"
drop "$T/truncated.deb"
S=$MNT/incoming/truncated.deb.status
check_eq "a truncated package fails validation" "$(status_field "$S" error_id)" "validation-error"
check_contains "... saying it is not a valid package" "$S" "not (a valid|an installable)"
check_eq "... and 4.0 stays installed" "$(installed_version $P)" "4.0 ii "
rm -f "$MNT/incoming/truncated.deb"

cp "$STATE/packages/$(deb 3.0)" "$T/corrupt.deb"
size=$(stat -c %s "$T/corrupt.deb")
printf '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff' | dd of="$T/corrupt.deb" bs=1 seek=$((size - 200)) conv=notrunc 2>/dev/null
drop "$T/corrupt.deb"
check_eq "a corrupt package fails validation" "$(status_field "$MNT/incoming/corrupt.deb.status" error_id)" "validation-error"
check_eq "... and 4.0 stays installed" "$(installed_version $P)" "4.0 ii "
rm -f "$MNT/incoming/corrupt.deb"

# plugin.yml that disagrees with the control file (a Version edited by hand)
rm -rf "$T/x" && dpkg-deb -R "$STATE/packages/$(deb 3.0)" "$T/x"
sed -i 's/^Version: 3.0$/Version: 5.0/' "$T/x/DEBIAN/control"
dpkg-deb -b "$T/x" "$T/mismatch.deb" >/dev/null
drop "$T/mismatch.deb"
S=$MNT/incoming/mismatch.deb.status
check_eq "a package whose control file disagrees with plugin.yml fails" "$(status_field "$S" error_id)" "validation-error"
check_contains "... naming Version" "$S" "^  Version:"
check_eq "... and 4.0 stays installed" "$(installed_version $P)" "4.0 ii "
check_fails "... and no 5.0 package is kept" test -e "$STATE/packages/$(deb 5.0)"
rm -f "$MNT/incoming/mismatch.deb"

# a package whose install fails is not kept (nor shown, nor served)
install_src 6.0 0 true
sed -i 's/^    install|uninstall|postrm)$/    install) exit 3 ;;\n    uninstall|postrm)/' "$T/src/vers/wazo/rules"
sed -i 's/^version: .*/version: 7.0/' "$T/src/vers/wazo/plugin.yml"
timeout 10 cp -r "$T/src/vers" "$MNT/incoming/vers-bad"
wait_job vers-bad
check_eq "an install that fails (rules install exits 3)" "$(status_field "$MNT/incoming/vers-bad.status" state)" "error"
check_fails "... leaves no 7.0 package in state" test -e "$STATE/packages/$(deb 7.0)"
check_eq "... nor in versions/" "$(versions | grep -c 7.0)" "0"
rm -rf "$MNT/incoming/vers-bad"

# a package of a plugin not installed here: installed from the .deb, no build
cp "$STATE/packages/$(deb 6.0)" "$T/vers6.deb"
timeout 60 rm -r "$MNT/demo/vers"
check_eq "rm -r removes the plugin (through versions/)" "$(installed_version $P)" ""
check_fails "its kept packages go with it" test -e "$STATE/packages/$(deb 6.0)"
check_eq "repo/pool/main is empty again" "$(timeout 5 ls "$R/pool/main")" ""
check_eq "Packages is empty" "$(timeout 5 cat "$R/dists/wazofs/main/binary-all/Packages")" ""
drop "$T/vers6.deb"
check_eq "a package dropped on a host without the plugin installs it" "$(installed_version $P)" "6.0 ii "
check_eq "... and keeps it as wazofs names it" "$(versions)" "$(deb 6.0) "
check_eq "... served in repo/" "$(timeout 5 ls "$R/pool/main")" "$(deb 6.0)"

# the new options are checked before anything is mounted
check_fails "keep_versions must be a number" "$WAZOFS" -f -o "root=$ROOT,state=$T/other,keep_versions=lots" "$T/nowhere"
check_fails "sign_key must be a key id, not an option" "$WAZOFS" -f -o "root=$ROOT,state=$T/other,sign_key=--homedir" "$T/nowhere"
stop_daemon
finish
