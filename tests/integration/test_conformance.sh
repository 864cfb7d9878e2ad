#!/bin/bash
# wazo-plugind conformance through the mount: validation errors with their details,
# install twice, upgrade, reinstall, the subdirectory case, archives (and hostile ones),
# and lintian on the package.
. "$(dirname "$0")/lib.sh"
EXTRA_OPTS=",archive_max_entries=200,job_timeout=5"
start_daemon || { finish; exit 1; }

# drop SRC_DIR_NAME: cp -r $T/src/NAME into incoming and wait for its job
drop() {
	cp -r "$T/src/$1" "$MNT/incoming/"
	wait_job "$1"
}

# expect_validation ENTRY FIELD CONSTRAINT_ID: the job failed validation on FIELD
expect_validation() {
	local s="$MNT/incoming/$1.status"
	check_eq "$1: state error" "$(status_field "$s" state)" error
	check_eq "$1: error_id validation-error" "$(status_field "$s" error_id)" validation-error
	check_eq "$1: message" "$(status_field "$s" message)" "Validation error"
	check_eq "$1: step validating" "$(status_field "$s" step)" validating
	check_contains "$1: details name $2" "$s" "^  '?$2'?:\$"
	check_contains "$1: constraint_id $3" "$s" "^    constraint_id: $3\$"
	check_eq "$1: every detail names its constraint" "$(grep -c '^    constraint_id: ' "$s")" "$(grep -c '^    constraint: ' "$s")"
	check "$1: the copy stays in incoming/" test -e "$MNT/incoming/$1"
}

yml() { # yml NAME CONTENT: a plugin whose plugin.yml is CONTENT
	make_plugin "$T/src/$1" x demo 1.0.0
	printf '%b' "$2" >"$T/src/$1/wazo/plugin.yml"
}

# --- validation, as wazo-plugind
yml badname 'name: Hello_World\nnamespace: demo\nversion: 1.0.0\n'
drop badname
expect_validation badname name regex
check_contains "badname: constraint is the name regex" "$MNT/incoming/badname.status" "^    constraint: '\^\[a-z0-9-\]\+\\$'\$"
check "badname: the namespace/name directory does not exist" test ! -e "$MNT/demo/Hello_World"

yml badns 'name: hello\nnamespace: de-mo\nversion: 1.0.0\n'
drop badns
expect_validation badns namespace regex

yml fmt3 'name: hello\nnamespace: demo\nversion: 1.0.0\nplugin_format_version: 3\n'
drop fmt3
expect_validation fmt3 plugin_format_version range
check "fmt3: once the metadata names the plugin... it does not here" test ! -e "$MNT/demo/hello"

yml minver 'name: hello\nnamespace: demo\nversion: 1.0.0\nmin_wazo_version: 26.01\n'
drop minver
expect_validation minver min_wazo_version range
yml maxver 'name: hello\nnamespace: demo\nversion: 1.0.0\nmax_wazo_version: "25.2"\n'
drop maxver
expect_validation maxver max_wazo_version range
yml okver 'name: okver\nnamespace: demo\nversion: 1.0.0\nmin_wazo_version: "25.2"\nmax_wazo_version: "25.17"\n'
drop okver
check "25.2 <= 25.17 <= 25.17 compares as versions: installed" test -d "$MNT/demo/okver"

yml noversion 'name: hello\nnamespace: demo\n'
drop noversion
expect_validation noversion version required
yml notmap '- name: hello\n'
drop notmap
expect_validation notmap _schema schema
yml empty ''
drop empty
expect_validation empty _schema schema
yml badyaml 'name: hello\n\tnamespace: demo\n'
drop badyaml
expect_validation badyaml _yaml yaml
check_contains "badyaml: the message gives the line" "$MNT/incoming/badyaml.status" 'line 2'
{
	echo 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]'
	for i in $(seq 1 40); do echo "a$i: &a$i [*a$((i - 1)), *a$((i - 1)), *a$((i - 1)), *a$((i - 1)), *a$((i - 1)), *a$((i - 1)), *a$((i - 1)), *a$((i - 1)), *a$((i - 1))]"; done
	echo 'name: [*a40]'
	echo 'namespace: demo'
	echo 'version: 1.0.0'
} >"$T/bomb.yml"
yml bomb "$(cat "$T/bomb.yml")\n"
drop bomb
expect_validation bomb _yaml yaml
check_contains "bomb: refused for what its aliases expand to (PyYAML would copy them)" "$MNT/incoming/bomb.status" 'aliases expand the document past'
# 5,000 aliases of a 200 KB scalar in debian_depends: a 200 KB file, 1 GB once copied
python3 -c '
import sys
sys.stdout.write("name: aliasbomb\nnamespace: demo\nversion: 1.0.0\nx: &a " + "a" * 200000 + "\ndebian_depends: [" + ", ".join(["*a"] * 5000) + "]\n")' >"$T/aliasbomb.yml"
make_plugin "$T/src/aliasbomb" aliasbomb demo 1.0.0
cp "$T/aliasbomb.yml" "$T/src/aliasbomb/wazo/plugin.yml"
drop aliasbomb
expect_validation aliasbomb _yaml yaml
check "the daemon stays small after it (RSS under 100 MB)" sh -c "[ \$(ps -o rss= -p $DAEMON_PID) -lt 100000 ]"
yml huge ''
head -c 2000000 /dev/zero | tr '\0' '#' >"$T/src/huge/wazo/plugin.yml"
drop huge
expect_validation huge _yaml size
make_plugin "$T/src/norules" norules demo 1.0.0
rm "$T/src/norules/wazo/rules"
drop norules
expect_validation norules wazo/rules required
make_plugin "$T/src/noexec" noexec demo 1.0.0
chmod -x "$T/src/noexec/wazo/rules"
drop noexec
expect_validation noexec wazo/rules type
check_contains "noexec: the rules detail's constraint" "$MNT/incoming/noexec.status" "^    constraint: an executable file\$"
make_plugin "$T/src/rulesdir" rulesdir demo 1.0.0
rm "$T/src/rulesdir/wazo/rules" && mkdir "$T/src/rulesdir/wazo/rules"
drop rulesdir
expect_validation rulesdir wazo/rules type
check_contains "rulesdir: a wazo/rules that is a directory is said to be one, not missing" "$MNT/incoming/rulesdir.status" "wazo/rules is not a regular file"
check "a copy with wazo/rules not executable names the plugin" test -e "$MNT/demo/noexec/status"

# removing ENTRY.status discards the failed job and its copy
check "rm incoming/badns.status" rm "$MNT/incoming/badns.status"
check "... discards the copy" test ! -e "$MNT/incoming/badns"

# --- install twice, upgrade, reinstall
BUILDS=$W/builds.log
make_plugin "$T/src/up1" upg demo 1.0.0 0 "echo build >> $BUILDS"
drop up1
check_eq "v1 installed" "$(status_field "$MNT/demo/upg/status" version)" 1.0.0
make_plugin "$T/src/up1again" upg demo 1.0.0 0 "echo build >> $BUILDS"
drop up1again
check_eq "the same version again completes without building" "$(wc -l <"$BUILDS")" 1
check_contains "... and the log says so" "$MNT/demo/upg/log" 'already installed: nothing to do'
check_contains "... having stopped at validating" "$MNT/demo/upg/log" '^== validating'
check_fails "... before building" grep -q '^== building' "$MNT/demo/upg/log"
make_plugin "$T/src/up2" upg demo 2.0.0 0 "echo build >> $BUILDS"
printf 'conffile\n' >"$T/src/up2/conf"
sed -i 's|^    package)|    package)\n        mkdir -p "$pkgdir/etc/upg"; cp conf "$pkgdir/etc/upg/upg.conf"|' "$T/src/up2/wazo/rules"
drop up2
check_eq "another version upgrades: dpkg has 2.0.0" \
	"$(dpkg_q -W -f '${db:Status-Abbrev}${Version}' wazo-plugind-upg-demo)" "ii 2.0.0"
check_eq "... status shows 2.0.0" "$(status_field "$MNT/demo/upg/status" version)" 2.0.0
check_eq "... rules install ran for each version, uninstall never" \
	"$(tr '\n' ' ' <"$ROOT/var/log/wazofs-test/upg.actions")" "install install "
check_eq "... the package of v2 is the one kept" "$(ls "$MNT/demo/upg" | grep deb)" wazo-plugind-upg-demo_2.0.0_all.deb
# an admin edits the conffile; a reinstall keeps the edit and never prompts
echo "edited" >"$ROOT/etc/upg/upg.conf"
make_plugin "$T/src/up2.reinstall" upg demo 2.0.0 0 "echo build >> $BUILDS"
cp "$T/src/up2/conf" "$T/src/up2.reinstall/"
cp "$T/src/up2/wazo/rules" "$T/src/up2.reinstall/wazo/rules"
drop up2.reinstall
check_eq "NAME.reinstall rebuilds the same version" "$(wc -l <"$BUILDS")" 3
check_eq "... and reinstalls it (rules install ran again)" \
	"$(tr '\n' ' ' <"$ROOT/var/log/wazofs-test/upg.actions")" "install install install "
check_eq "... keeping the edited conffile" "$(cat "$ROOT/etc/upg/upg.conf")" edited

# --- the subdirectory case
mkdir -p "$T/src/repo"
make_plugin "$T/src/repo/plugin" subdir demo 1.0.0
echo "readme" >"$T/src/repo/README"
drop repo
check "a copy whose single subdirectory holds wazo/plugin.yml installs" test -d "$MNT/demo/subdir"
mkdir -p "$T/src/two"
make_plugin "$T/src/two/a" twoa demo 1.0.0
make_plugin "$T/src/two/b" twob demo 1.0.0
drop two
expect_validation two wazo/plugin.yml required
check_contains "two candidates: the message says so" "$MNT/incoming/two.status" 'directories hold a wazo/plugin.yml'

# --- archives
for kind in tar tar.gz tgz tar.xz tar.zst zip; do
	n=arch$(echo "$kind" | tr -d .)
	make_plugin "$T/arch/$n" "$n" demo 1.0.0
	case $kind in
	zip) (cd "$T/arch" && zip -qr "$T/$n.$kind" "$n") ;;
	*) tar -C "$T/arch" -caf "$T/$n.$kind" "$n" ;;
	esac
	cp "$T/$n.$kind" "$MNT/incoming/"
	wait_job "$n.$kind"
	check_eq "a .$kind archive installs" "$(status_field "$MNT/demo/$n/status" state)" installed
	check "... and disappears from incoming/" test ! -e "$MNT/incoming/$n.$kind"
done
tar -C "$T/arch" -cf - archtar | (cd "$MNT/incoming" && tar -xf -)
# (the tree extracted by tar is the same plugin, already installed: completes at validating)
check "tar -x into incoming/ works as a copy" wait_job archtar

python3 - "$T" <<'PY'
import io, sys, tarfile, zipfile
t = sys.argv[1]
def tar(name, entries):
    with tarfile.open(f"{t}/{name}.tar.gz", "w:gz") as a:
        for path, kind, extra in entries:
            ti = tarfile.TarInfo(path)
            data = b""
            if kind == "file":
                data = extra.encode()
            elif kind == "sym":
                ti.type, ti.linkname = tarfile.SYMTYPE, extra
            elif kind == "hard":
                ti.type, ti.linkname = tarfile.LNKTYPE, extra
            elif kind == "dev":
                ti.type, ti.devmajor, ti.devminor = tarfile.CHRTYPE, 1, 3
            ti.size = len(data)
            ti.mode = 0o755
            a.addfile(ti, io.BytesIO(data))
ok = [("p/wazo/plugin.yml", "file", "name: evil\nnamespace: demo\nversion: 1.0.0\n"),
      ("p/wazo/rules", "file", "#!/bin/sh\nexit 0\n")]
tar("abs", ok + [("/tmp/wazofs-evil-abs", "file", "x")])
tar("dotdot", ok + [("p/../../../evil-dotdot", "file", "x")])
tar("symlink", ok + [("p/link", "sym", "../../../../etc")])
tar("abslink", ok + [("p/link", "sym", "/etc/passwd")])
tar("hardlink", ok + [("p/hard", "hard", "../../../etc/passwd")])
tar("device", ok + [("p/null", "dev", "")])
tar("many", ok + [(f"p/f{i}", "file", "x") for i in range(300)])
with zipfile.ZipFile(f"{t}/zipslip.zip", "w") as z:
    for path, _, data in ok:
        z.writestr(path, data)
    z.writestr("../../evil-zip", "x")
PY
for a in abs.tar.gz dotdot.tar.gz symlink.tar.gz abslink.tar.gz hardlink.tar.gz device.tar.gz zipslip.zip; do
	cp "$T/$a" "$MNT/incoming/"
	wait_job "$a"
	s=$MNT/incoming/$a.status
	check_eq "hostile $a: refused as a validation error" "$(status_field "$s" error_id)" validation-error
	check_eq "hostile $a: at step validating" "$(status_field "$s" step)" validating
	check_contains "hostile $a: the log says where extraction stopped" "$MNT/incoming/$a.log" '^extraction stopped: ' 
	check_contains "hostile $a: the message names the entry" "$s" "message: .*archive entry '.*(evil|link|hard|null)"
done
cp "$T/many.tar.gz" "$MNT/incoming/"
wait_job many.tar.gz
check_contains "an archive over archive_max_entries is refused" "$MNT/incoming/many.tar.gz.status" 'more than 200 entries'
check "nothing escaped the work dir" sh -c "! find '$T' -xdev \( -name 'evil-*' -o -name 'wazofs-evil-abs' \) 2>/dev/null | grep -q ."
check "... nor reached /tmp (the names the archives aim at, looked up, not walked)" \
	sh -c "! ls -d /tmp/wazofs-evil-abs /tmp/evil-dotdot /tmp/evil-zip 2>/dev/null | grep -q ."
check "nothing was installed from a hostile archive" test ! -e "$MNT/demo/evil"
check "the daemon still serves after all that" test -d "$MNT/demo/okver"

# --- a rules script that hangs is killed at job_timeout
make_plugin "$T/src/hang" hang demo 1.0.0 0 'sleep 300'
drop hang
check_contains "a hanging build is killed and reported" "$MNT/incoming/hang.status" 'did not finish within 5 seconds'

# --- lintian: no E: line on the packages wazofs makes
cp "$MNT/demo/upg/wazo-plugind-upg-demo_2.0.0_all.deb" "$T/upg.deb"
check "lintian finds no error in the package" lintian --no-cfg --fail-on error "$T/upg.deb"
cp -r "$TOP/examples/helloworld" "$MNT/incoming/"
wait_job helloworld
cp "$MNT/demo/helloworld/wazo-plugind-helloworld-demo_0.0.1_all.deb" "$T/hello.deb"
check "lintian finds no error in the hello world package" lintian --no-cfg --fail-on error "$T/hello.deb"
stop_daemon
finish
