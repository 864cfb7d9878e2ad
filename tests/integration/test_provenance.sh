#!/bin/bash
# Provenance and verification (the contract's section): the same source gives the same
# .deb whatever the clock, the state dir, the build user, the umask, TZ and the locale;
# packages hold DEBIAN/md5sums (dpkg --verify works); MOUNT/<ns>/<name>/verify; the build
# info each package carries, and the source's SHA-256 in the status.
. "$(dirname "$0")/lib.sh"
P=wazo-plugind-rep-demo
deb_of() { echo "$1/packages/${P}_1.0_all.deb"; }
field() { timeout 5 cat "$MNT/demo/rep/status" | sed -n "s/^$1: //p" | sed "s/^'\(.*\)'\$/\1/"; }
verify() { timeout 10 cat "$MNT/demo/rep/verify"; }
# the plugin: its build and package write SOURCE_DATE_EPOCH where the test reads it, and
# the package holds a file under /etc (a conffile), a link and a nested file
make_plugin "$T/src/rep" rep demo 1.0 0 'echo "$SOURCE_DATE_EPOCH" > '"$W"'/sde-build'
sed -i 's|        echo "rep 1.0" > "\$pkgdir/usr/share/rep/data"|        echo "rep 1.0" > "$pkgdir/usr/share/rep/data"; mkdir -p "$pkgdir/etc/rep" "$pkgdir/usr/share/rep/deep/er"; echo "k = v" > "$pkgdir/etc/rep/rep.conf"; echo deep > "$pkgdir/usr/share/rep/deep/er/file"; ln -s data "$pkgdir/usr/share/rep/link"; echo "$SOURCE_DATE_EPOCH" > '"$W"'/sde-package|' "$T/src/rep/wazo/rules"
grep -q sde-package "$T/src/rep/wazo/rules" || not_ok "the test plugin's rules were not written"
touch -h -d '2021-03-04 05:06:07' $(find "$T/src/rep")
touch -d '2022-01-01 00:00:00 UTC' "$T/src/rep/wazo/plugin.yml" # the newest: the source's date
SDE=$(date -d '2022-01-01 00:00:00 UTC' +%s)

# ---- build 1: state1, the default build user, umask 022, UTC, C ----
STATE=$T/state1 ROOT=$T/root1
start_daemon || { finish; exit 1; }
timeout 10 cp -a "$T/src/rep" "$MNT/incoming/rep"
wait_job rep
check_eq "built and installed" "$(field state)" "installed"
check_eq "rules build got SOURCE_DATE_EPOCH, the newest mtime of the source" "$(cat "$W/sde-build")" "$SDE"
check_eq "rules package got it too" "$(cat "$W/sde-package")" "$SDE"
SHA1=$(sha256sum <"$(deb_of "$STATE")")
cp "$(deb_of "$STATE")" "$T/one.deb"
dpkg-deb -x "$T/one.deb" "$T/x1"
dpkg-deb -e "$T/one.deb" "$T/c1"

# md5sums: every regular file, each sum right
check "the package holds DEBIAN/md5sums" test -s "$T/c1/md5sums"
(cd "$T/x1" && find . -type f | sed 's|^\./||' | sort) >"$T/files"
sed 's/^[0-9a-f]*  //' "$T/c1/md5sums" | sort >"$T/listed"
check "md5sums lists every regular file of the payload" diff "$T/files" "$T/listed"
check "and every sum matches the payload" bash -c "cd '$T/x1' && md5sum --quiet -c '$T/c1/md5sums'"
check "dpkg keeps them (info/PKG.md5sums)" test -s "$ROOT/var/lib/dpkg/info/$P.md5sums"
check_eq "every time in the package is the source's date" "$(dpkg-deb --fsys-tarfile "$T/one.deb" | TZ=UTC tar -tv --full-time | awk '{print $4" "$5}' | sort -u)" "$(date -u -d @"$SDE" '+%Y-%m-%d %H:%M:%S')"
check_eq "the data.tar entries are in name order" "$(dpkg-deb --fsys-tarfile "$T/one.deb" | tar -t | sed 's|/$||' | LC_ALL=C sort -c 2>&1 && echo sorted)" "sorted"
check_eq "no host user or group name: root, else numbers" "$(dpkg-deb --fsys-tarfile "$T/one.deb" | tar -tv | awk '{print $2}' | sort -u)" "root/root"
check_eq "the ar members are dated with it too" "$(TZ=UTC LC_ALL=C ar tv "$T/one.deb" | awk '{print $4" "$5" "$6" "$7}' | sort -u)" "$(LC_ALL=C date -u -d @"$SDE" '+%b %-d %H:%M %Y')"

# build info
BI=usr/share/doc/$P/wazofs-buildinfo
check "the package carries its build info" test -s "$T/x1/$BI"
check_contains "build info: the origin" "$T/x1/$BI" "^Origin: copy rep$"
check_contains "build info: the source's SHA-256" "$T/x1/$BI" "^Source-SHA256: [0-9a-f]{64}$"
check_contains "build info: the source's date" "$T/x1/$BI" "^Source-Date: 2022-01-01T00:00:00Z \($SDE\)$"
check_contains "build info: the wazofs version" "$T/x1/$BI" "^Built-By: wazofs [0-9]"
check_fails "build info: nothing of the host (its name, the state dir, the build user)" grep -E "$(hostname)|$T|nobody|uid" "$T/x1/$BI"
check "the status shows the source's SHA-256" grep -qE '^[0-9a-f]{64}$' <(field source_sha256)
check_eq "... the one of its build info" "$(field source_sha256)" "$(sed -n 's/^Source-SHA256: //p' "$T/x1/$BI")"

# dpkg --verify and MOUNT/.../verify
check_eq "dpkg --verify is silent on an untouched plugin" "$(dpkg --root="$ROOT" --verify $P 2>&1)" ""
check_eq "verify is empty on an untouched plugin" "$(verify)" ""
check "verify is listed in the plugin's directory" grep -qx verify <(timeout 5 ls "$MNT/demo/rep")
echo changed >"$ROOT/usr/share/rep/deep/er/file"
check_contains "dpkg --verify names a changed file" <(dpkg --root="$ROOT" --verify $P 2>&1) "/usr/share/rep/deep/er/file"
check_eq "verify, read anew: the changed file" "$(verify)" "changed /usr/share/rep/deep/er/file"
echo "k = edited" >"$ROOT/etc/rep/rep.conf"
rm "$ROOT/usr/share/rep/data"
check_eq "verify: an edited conffile is changed, a removed file missing" "$(verify)" "changed /etc/rep/rep.conf
missing /usr/share/rep/data
changed /usr/share/rep/deep/er/file"
ln -s /etc/shadow "$ROOT/usr/share/rep/data"
check_eq "a link in place of a file is changed, and not followed" "$(verify | grep data)" "changed /usr/share/rep/data"
rm "$ROOT/usr/share/rep/data" && mkfifo "$ROOT/usr/share/rep/data"
check_eq "a FIFO in place of a file is changed, and not waited on" "$(verify | grep data)" "changed /usr/share/rep/data"
stranger_account wzprov$$ || not_ok "cannot create a stranger account"
mv "$ROOT/var/lib/dpkg/info/$P.md5sums" "$T/md5sums.saved"
check_contains "a package without checksums gets one line saying so" <(verify) "^no checksums: $P"
mv "$T/md5sums.saved" "$ROOT/var/lib/dpkg/info/$P.md5sums"
stop_daemon

# ---- build 2, later: another state dir, root, build as root, umask 077, TZ, locale ----
sleep 1.1
STATE=$T/state2 ROOT=$T/root2
EXTRA_OPTS=",build_user=root,allow_other"
umask 077
TZ=Asia/Tokyo LC_ALL=C.UTF-8 LANG=fr_FR.UTF-8 start_daemon || { finish; exit 1; }
umask 022
timeout 10 cp -a "$T/src/rep" "$MNT/incoming/rep"
wait_job rep
check_eq "the second build installed" "$(field state)" "installed"
check_eq "the same source gives a bit-identical package" "$(sha256sum <"$(deb_of "$STATE")")" "$SHA1"
cmp -s "$T/one.deb" "$(deb_of "$STATE")" || (command -v diffoscope >/dev/null && diffoscope "$T/one.deb" "$(deb_of "$STATE")" | head -40)
check_eq "the same build info" "$(dpkg-deb --fsys-tarfile "$(deb_of "$STATE")" | tar -xO ./$BI)" "$(cat "$T/x1/$BI")"
check_eq "verify is readable by everyone who reads status" "$(stranger timeout 10 cat "$MNT/demo/rep/verify"; echo rc=$?)" "rc=0"

# ---- git: the commit's date, the same package from two clones ----
rm -rf "$T/git" && cp -a "$T/src/rep" "$T/git"
git -C "$T/git" init -q && git -C "$T/git" add -A &&
	GIT_COMMITTER_DATE='2023-05-06T07:08:09Z' git -C "$T/git" -c user.email=t@t -c user.name=t commit -qm one --date='2023-05-06T07:08:09Z'
sed -i 's/^version: 1.0$/version: 2.0/' "$T/git/wazo/plugin.yml"
GIT_COMMITTER_DATE='2023-05-06T07:08:09Z' git -C "$T/git" -c user.email=t@t -c user.name=t commit -qam two --date='2023-05-06T07:08:09Z'
printf '%s\n' "{method: git, options: {url: 'file://$T/git'}}" >"$T/g.yml"
timeout 10 cp "$T/g.yml" "$MNT/incoming/g.yml"
wait_job g.yml
check_eq "the git plugin upgraded to 2.0" "$(field version)" "2.0"
check_eq "rules build got the commit's time" "$(cat "$W/sde-build")" "$(git -C "$T/git" log -1 --format=%ct)"
GSHA=$(sha256sum <"$STATE/packages/${P}_2.0_all.deb")
stop_daemon
STATE=$T/state3 ROOT=$T/root3
EXTRA_OPTS=
sleep 1.1
start_daemon || { finish; exit 1; }
timeout 10 cp "$T/g.yml" "$MNT/incoming/g.yml"
wait_job g.yml
check_eq "a second clone, later, elsewhere: the same package" "$(sha256sum <"$STATE/packages/${P}_2.0_all.deb")" "$GSHA"
stop_daemon
finish
