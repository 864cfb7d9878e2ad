#!/bin/bash
# The Debian package of wazofs (issue 10): built from the repository with
# dpkg-buildpackage -us -uc -b, lintian without an E: line, installed with the real dpkg
# into a sandbox root (its postinst creates the build user there, not on this host),
# with the binary, unit, man page and config where they belong.
. "$(dirname "$0")/lib.sh"
SRC=$T/pkg/wazofs
mkdir -p "$SRC"
(cd "$TOP" && git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$SRC")
check "dpkg-buildpackage -us -uc -b builds the package" sh -c "cd '$SRC' && timeout 600 dpkg-buildpackage -us -uc -b >'$T/build.log' 2>&1"
tail -5 "$T/build.log" | sed 's/^/# /'
DEB=$(ls "$T"/pkg/wazofs_*.deb 2>/dev/null | head -1)
check "... a wazofs_*.deb" test -f "$DEB"
check "lintian finds no error" lintian --no-cfg --fail-on error "$DEB"
dpkg-deb -c "$DEB" | awk '{print $6}' >"$T/contents"
for f in ./usr/bin/wazofs ./usr/lib/wazofs/wazofs-archive ./usr/share/man/man8/wazofs.8.gz ./lib/systemd/system/wazofs.service \
	./etc/wazofs/config.yml ./etc/wazofs/conf.d/ ./etc/wazofs/checks.d/ ./etc/wazofs/checks.d/README; do
	check "the package holds $f" grep -qx "$f" "$T/contents"
done
# the packaged daemon looks for its helper where the package puts it
check "the packaged daemon knows /usr/lib/wazofs/wazofs-archive" \
	sh -c "dpkg-deb --fsys-tarfile '$DEB' | tar -xO ./usr/bin/wazofs | grep -aq /usr/lib/wazofs"
check "config.yml is a conffile" sh -c "dpkg-deb -I '$DEB' conffiles | grep -qx /etc/wazofs/config.yml"

# a sandbox root with a user database of its own (and no dependencies installed)
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/etc"
touch "$ROOT/var/lib/dpkg/status"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$ROOT/etc/passwd"
printf 'root:x:0:\n' >"$ROOT/etc/group"
printf 'root:*:19000:0:99999:7:::\n' >"$ROOT/etc/shadow"
printf 'root:*::\n' >"$ROOT/etc/gshadow"
cp /etc/passwd "$T/host.passwd"
check "dpkg installs it into the sandbox root" dpkg --root="$ROOT" --force-script-chrootless \
	--log="$ROOT/var/log/dpkg.log" --force-depends -i "$DEB"
check_eq "... dpkg has it installed" "$(dpkg_q -f '${db:Status-Abbrev}' -W wazofs | tr -d ' ')" ii
check "... the binary runs" sh -c "'$ROOT/usr/bin/wazofs' --version | grep -q '^wazofs 0'"
check "... man wazofs reads" sh -c "man -l '$ROOT/usr/share/man/man8/wazofs.8.gz' | grep -q 'Wazo plugins as a filesystem'"
check_contains "... the unit mounts /mnt/wazo with the installed binary" "$ROOT/lib/systemd/system/wazofs.service" '^ExecStart=/usr/bin/wazofs -f -o allow_other /mnt/wazo$'
sed "s|/usr/bin/wazofs|$ROOT/usr/bin/wazofs|" "$ROOT/lib/systemd/system/wazofs.service" >"$T/wazofs.service"
check "... systemd-analyze verify finds nothing wrong with the unit" sh -c "MANPATH='$ROOT/usr/share/man' systemd-analyze verify '$T/wazofs.service' 2>&1 | tee '$T/verify.out' | grep . && exit 1 || exit 0"
check_contains "... the postinst made the build user in the sandbox" "$ROOT/etc/passwd" '^wazofs:'
check "... and not on this host" cmp -s /etc/passwd "$T/host.passwd"
check "it is removed cleanly" dpkg --root="$ROOT" --force-script-chrootless --log="$ROOT/var/log/dpkg.log" --purge wazofs
finish
