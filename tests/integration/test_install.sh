#!/bin/bash
# The end-to-end path through the mount: cp -r installs a real .deb into the sandbox
# root, status says so, rm -r uninstalls, plugins installed by plain dpkg are listed,
# failing builds are reported, writes outside incoming/ are refused, remount keeps state.
. "$(dirname "$0")/lib.sh"

# dpkg-query, recorded: the daemon reads dpkg's database itself, never through it
make_sandbox
cat >"$STUB/dpkg-query" <<STUBEOF
#!/bin/sh
echo "\$*" >> "$T/dpkg-query.log"
exec /usr/bin/dpkg-query "\$@"
STUBEOF
chmod +x "$STUB/dpkg-query"

start_daemon || { finish; exit 1; }

# --- install hello world with cp -r
cp -r "$TOP/examples/helloworld" "$MNT/incoming/"
check "cp -r helloworld completes: incoming/helloworld goes away" wait_job helloworld
check "incoming/helloworld.status is gone after success" test ! -e "$MNT/incoming/helloworld.status"
S=$MNT/demo/helloworld/status
check_eq "status: state" "$(status_field "$S" state)" installed
check_eq "status: namespace" "$(status_field "$S" namespace)" demo
check_eq "status: name" "$(status_field "$S" name)" helloworld
check_eq "status: version" "$(status_field "$S" version)" 0.0.1
check_eq "status: step" "$(status_field "$S" step)" completed
check_eq "status: package" "$(status_field "$S" package)" wazo-plugind-helloworld-demo
check_eq "dpkg database has the package with section wazo-plugind-plugin" \
	"$(dpkg_q -W -f '${db:Status-Abbrev}${Package} ${Version} ${Section}' wazo-plugind-helloworld-demo)" \
	"ii wazo-plugind-helloworld-demo 0.0.1 wazo-plugind-plugin"
check "the dialplan file lands under the root" \
	test -f "$ROOT/etc/asterisk/extensions_extra.d/helloworld.conf"
check_contains "the dialplan has ***42" "$ROOT/etc/asterisk/extensions_extra.d/helloworld.conf" '\*\*\*42'
check_contains "rules install reloaded the dialplan (stub asterisk)" "$T/asterisk.log" '^-rx dialplan reload$'
check "the plugin metadata is installed where wazo-plugind puts it" \
	cmp "$TOP/examples/helloworld/wazo/plugin.yml" \
	"$ROOT/usr/lib/wazo-plugind/plugins/demo/helloworld/wazo/plugin.yml"
check "plugin.yml reads back through the mount" \
	cmp "$TOP/examples/helloworld/wazo/plugin.yml" "$MNT/demo/helloworld/plugin.yml"
check_contains "log has the steps as headings" "$MNT/demo/helloworld/log" '^== packaging'
check_contains "log has dpkg's output" "$MNT/demo/helloworld/log" 'Setting up wazo-plugind-helloworld-demo'
DEB=$MNT/demo/helloworld/wazo-plugind-helloworld-demo_0.0.1_all.deb
check "the package is readable from the plugin directory" dpkg-deb --info "$DEB"
check_eq "the package's Section" "$(dpkg-deb -f "$DEB" Section)" wazo-plugind-plugin
check "the package marks the dialplan file as a conffile" \
	sh -c "dpkg-deb --info '$DEB' conffiles | grep -qx /etc/asterisk/extensions_extra.d/helloworld.conf"
check "the package has a copyright file" \
	sh -c "dpkg-deb --contents '$DEB' | grep -q './usr/share/doc/wazo-plugind-helloworld-demo/copyright'"
check "every file of the package is owned by root" \
	sh -c "! dpkg-deb --contents '$DEB' | grep -v ' root/root '"

# --- refused writes
check_fails "writing a status file fails" sh -c "echo x > '$S'"
check_eq "... with EROFS" "$(sh -c "echo x > '$S'" 2>&1 | grep -o 'Read-only file system')" "Read-only file system"
check_fails "creating a file in a plugin directory fails" touch "$MNT/demo/helloworld/new"
check_fails "creating a file at the top fails" touch "$MNT/new"
check_fails "renaming a plugin directory fails" mv "$MNT/demo/helloworld" "$MNT/demo/other"
check_eq "status is unchanged after the refused writes" "$(status_field "$S" state)" installed

# --- plugin format 1: postrm runs once, on rm -r
make_plugin "$T/src/fmt1" fmtone demo 1.0.0 1
cp -r "$T/src/fmt1" "$MNT/incoming/"
check "format-1 plugin installs" wait_job fmt1
check_eq "its install action ran" "$(cat "$ROOT/var/log/wazofs-test/fmtone.actions")" install
check "rm -r uninstalls the format-1 plugin" rm -r "$MNT/demo/fmtone"
check_eq "uninstall then postrm ran, postrm exactly once" \
	"$(tr '\n' ' ' <"$ROOT/var/log/wazofs-test/fmtone.actions")" "install uninstall postrm "
check_eq "the package is purged from the dpkg database" \
	"$(dpkg_q -W -f '${db:Status-Abbrev}' wazo-plugind-fmtone-demo 2>/dev/null)" ""
check "the saved rules copy is gone" test ! -e "$ROOT/var/lib/wazo-plugind/rules/rules.fmtone.demo"
check "the plugin directory is gone" test ! -e "$MNT/demo/fmtone"
check "the package's files are gone" test ! -e "$ROOT/usr/share/fmtone/data"

# --- a failing build
make_plugin "$T/src/broken" broken demo 1.0.0 0 'echo "compiler says no" >&2; exit 3'
cp -r "$T/src/broken" "$MNT/incoming/"
check "failing job ends" wait_job broken
ES=$MNT/incoming/broken.status
check_eq "failed job: state" "$(status_field "$ES" state)" error
check_eq "failed job: step" "$(status_field "$ES" step)" building
check_eq "failed job: error_id" "$(status_field "$ES" error_id)" install-error
check_eq "failed job: message" "$(status_field "$ES" message)" "Installation error"
check_contains "failed job: details.step" "$ES" '^  step: building$'
check_contains "failed job: reason names the rules action and exit status" "$ES" '^reason: .*rules build.*status 3'
check "the plugin's own status shows the failure too" \
	cmp "$ES" "$MNT/demo/broken/status"
check_contains "the build output is in log" "$MNT/demo/broken/log" 'compiler says no'
check "the copied tree stays in incoming/" test -x "$MNT/incoming/broken/wazo/rules"
check_eq "nothing was installed" "$(dpkg_q -W wazo-plugind-broken-demo 2>/dev/null)" ""
# fixing the tree starts the job again
sed -i 's/echo "compiler says no" >&2; exit 3/true/' "$MNT/incoming/broken/wazo/rules"
check "changing the failed copy starts the job again, which succeeds" wait_for 30 test ! -e "$MNT/incoming/broken"
check_eq "the fixed plugin is installed" "$(status_field "$MNT/demo/broken/status" state)" installed

# --- rm -r of hello world
check "rm -r demo/helloworld succeeds" rm -r "$MNT/demo/helloworld"
check "the directory is gone" test ! -e "$MNT/demo/helloworld"
check "the dialplan file is gone" test ! -e "$ROOT/etc/asterisk/extensions_extra.d/helloworld.conf"
check_eq "dpkg no longer knows the package" "$(dpkg_q -W wazo-plugind-helloworld-demo 2>/dev/null)" ""
check_fails "rmdir of a plugin that is not there fails" rmdir "$MNT/demo/helloworld"
check_eq "an install and a removal ran no dpkg-query" "$(cat "$T/dpkg-query.log" 2>/dev/null)" ""

# --- a plugin installed with plain dpkg in wazo-plugind's layout is listed
P=$T/plain
mkdir -p "$P/DEBIAN" "$P/usr/lib/wazo-plugind/plugins/acme/plain/wazo"
printf 'name: plain\nnamespace: acme\nversion: 2.0.0\n' >"$P/usr/lib/wazo-plugind/plugins/acme/plain/wazo/plugin.yml"
printf 'Package: wazo-plugind-plain-acme\nVersion: 2.0.0\nArchitecture: all\nMaintainer: t <t@t>\nSection: wazo-plugind-plugin\nDescription: plain\n' >"$P/DEBIAN/control"
dpkg-deb -b "$P" "$T/plain.deb" >/dev/null
dpkg --root="$ROOT" --force-script-chrootless -i "$T/plain.deb" >/dev/null
check "a plugin installed by plain dpkg appears, state installed" \
	wait_for 10 grep -qx 'state: installed' "$MNT/acme/plain/status"
check_eq "... and its dpkg version" "$(status_field "$MNT/acme/plain/status" version)" 2.0.0
check "... and its plugin.yml" grep -q 'namespace: acme' "$MNT/acme/plain/plugin.yml"

# --- a package dpkg left half-installed is an error, unless a dpkg run is under way
sed -i 's/plain/halfway/g' "$P/DEBIAN/control"
mv "$P/usr/lib/wazo-plugind/plugins/acme/plain" "$P/usr/lib/wazo-plugind/plugins/acme/halfway"
dpkg-deb -b "$P" "$T/halfway.deb" >/dev/null
dpkg --root="$ROOT" --force-script-chrootless --unpack "$T/halfway.deb" >/dev/null
HS=$MNT/acme/halfway/status
check "an unpacked, unconfigured package is listed" wait_for 10 test -e "$HS"
check_eq "... as an error" "$(status_field "$HS" state)" error
check_contains "... saying what dpkg reports" "$HS" "^reason: .*'iU'"
# hold dpkg's lock as a running dpkg would (fcntl lock on var/lib/dpkg/lock)
python3 -c 'import fcntl,sys,time; f=open(sys.argv[1],"w"); fcntl.lockf(f, fcntl.LOCK_EX); print("locked", flush=True); time.sleep(30)' \
	"$ROOT/var/lib/dpkg/lock" >"$T/locker.out" &
LOCKER=$!
wait_for 10 grep -q locked "$T/locker.out"
check_eq "... but as installing while dpkg holds its lock" "$(status_field "$HS" state)" installing
kill $LOCKER
wait $LOCKER 2>/dev/null
dpkg --root="$ROOT" --force-script-chrootless --purge wazo-plugind-halfway-acme >/dev/null
check "purged by hand, it leaves the listing" wait_for 10 test ! -e "$MNT/acme/halfway"

# --- unmount and mount again: the listing and the failed job stay
make_plugin "$T/src/bad2" bad2 demo 1.0.0 0 'exit 1'
cp -r "$T/src/bad2" "$MNT/incoming/"
wait_job bad2
stop_daemon
start_daemon
check "after remount, plugins installed before are listed" test -d "$MNT/demo/broken"
check "after remount, the plain dpkg plugin is listed" test -d "$MNT/acme/plain"
check_eq "after remount, the failed job's status is kept" \
	"$(status_field "$MNT/incoming/bad2.status" step)" building
check "after remount, the failed copy is still in incoming/" test -d "$MNT/incoming/bad2/wazo"
check "rm -r incoming/bad2 discards it" rm -r "$MNT/incoming/bad2"
check "... and its status" test ! -e "$MNT/incoming/bad2.status"
check "... and its plugin directory" test ! -e "$MNT/demo/bad2"
stop_daemon
finish
