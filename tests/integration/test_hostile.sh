#!/bin/bash
# Hostile input through the mount: every plugin.yml of tests/data/hostile, a 160 KB
# nested one, rules that print 100 MB, fork a daemon or are missing, a fifo; each ends
# with a status that is valid YAML and names what was refused, and the daemon still
# installs the next plugin. Archives that escape by a chain of links, gzip and zip bombs
# (one whose headers lie about its size), an entry named with a newline. Then a state dir on an overlayfs over two filesystems, and a
# saved status that cannot be read.
. "$(dirname "$0")/lib.sh"
EXTRA_OPTS=",archive_max_bytes=50000000"
make_sandbox
start_daemon || { finish; exit 1; }
DATA=$TOP/tests/data/hostile

valid_yaml() { /usr/bin/python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1], "rb"))' "$1"; }

n=0
for f in "$DATA"/*.yml; do
	n=$((n + 1))
	e=hostile$n
	mkdir -p "$T/h/$e/wazo"
	cp "$f" "$T/h/$e/wazo/plugin.yml"
	printf '#!/bin/sh\ntouch "%s/%s"\nexit 0\n' "$W" "$e" >"$T/h/$e/wazo/rules"
	chmod +x "$T/h/$e/wazo/rules"
	cp -r "$T/h/$e" "$MNT/incoming/"
	if ! wait_job "$e" 30; then
		not_ok "$(basename "$f"): the job ends"
		continue
	fi
	S=$MNT/incoming/$e.status
	if [ -e "$MNT/incoming/$e" ]; then
		check_eq "$(basename "$f"): refused" "$(status_field "$S" state)" error
		check "... its status is valid YAML" valid_yaml "$S"
		check "... and names a field" grep -qE '^  [a-z_"]+.*:$' "$S"
		check "... no rules step ran" test ! -e "$W/$e"
		rm -r "$MNT/incoming/$e"
	else
		check "$(basename "$f"): read safely and installed (its rules ran)" test -e "$W/$e"
	fi
done

# a 160 KB plugin.yml nested 80,000 levels deep
mkdir -p "$T/h/deep/wazo"
/usr/bin/python3 -c 'print("name: deep\nnamespace: demo\nversion: 1\nd: " + "[" * 80000 + "]" * 80000)' >"$T/h/deep/wazo/plugin.yml"
cp "$T/h/hostile1/wazo/rules" "$T/h/deep/wazo/rules"
cp -r "$T/h/deep" "$MNT/incoming/"
check "a 160 KB plugin.yml nested 80,000 deep is refused quickly" wait_job deep 20
check_contains "... saying how deep it may be" "$MNT/incoming/deep.status" 'nested deeper than 64'
rm -r "$MNT/incoming/deep"

# rules that print 100 MB, leave a daemon behind, or are missing; a fifo in the copy
make_plugin "$T/src/loud" loud demo 1.0.0 0 'head -c 100000000 /dev/zero | tr "\0" x; echo'
cp -r "$T/src/loud" "$MNT/incoming/"
check "rules that print 100 MB finish" wait_job loud 120
check_eq "... installed" "$(status_field "$MNT/demo/loud/status" state)" installed
make_plugin "$T/src/forks" forks demo 1.0.0 0 '(setsid sleep 300 &) ; true'
cp -r "$T/src/forks" "$MNT/incoming/"
check "rules that leave a daemon behind do not stall the job" wait_job forks 60
pkill -f 'sleep 300' 2>/dev/null
make_plugin "$T/src/norules" norules demo 1.0.0
rm "$T/src/norules/wazo/rules"
cp -r "$T/src/norules" "$MNT/incoming/"
wait_job norules
check_contains "a copy without wazo/rules is refused naming it" "$MNT/incoming/norules.status" 'wazo/rules'
make_plugin "$T/src/fifo" fifo demo 1.0.0
check_fails "a fifo cannot be made in incoming/" mkfifo "$MNT/incoming/fifo/wazo/pipe"
# archives: a chain of links that leads out, and bombs of 300 MB (limit here: 50 MB)
mkdir -p "$T/arc"
/usr/bin/python3 "$DATA/archives.py" "$T/arc" || not_ok "cannot generate the hostile archives"
for a in chain.tar.gz gzip-bomb.tar.gz zip-bomb.zip lying-zip.zip; do
	cp "$T/arc/$a" "$MNT/incoming/"
	check "$a: the job ends" wait_job "$a" 60
	check_eq "$a: refused" "$(status_field "$MNT/incoming/$a.status" error_id)" validation-error
	check "... its status is valid YAML" valid_yaml "$MNT/incoming/$a.status"
	case $a in
	chain*) want="archive entry 'p/wazo/esc' is a symbolic link pointing outside the tree" ;;
	*) want='(more than 50000000 bytes|damaged archive)' ;;
	esac
	check_contains "... saying why" "$MNT/incoming/$a.status" "$want"
	check "... and the copy is kept" test -f "$MNT/incoming/$a"
	rm -f "$MNT/incoming/$a"
done
check_eq "nothing of a bomb is left in the work dir" "$(find "$STATE/work" -xdev -name zeros | wc -l)" 0
check_eq "... nor installed" "$(dpkg_q -W wazo-plugind-archbomb-demo 2>/dev/null)" ""

# an entry named with a newline installs, and its status is valid YAML
make_plugin "$T/src/nl" newline demo 1.0.0
NL=$'new\nline'
cp -r "$T/src/nl" "$MNT/incoming/$NL"
check "an entry named with a newline: the job ends" wait_job "$NL"
check_eq "... installed" "$(status_field "$MNT/demo/newline/status" state)" installed
check "... ls of incoming/ still works" timeout 10 ls -l "$MNT/incoming"

make_plugin "$T/src/next" next demo 1.0.0
cp -r "$T/src/next" "$MNT/incoming/"
check "after all that, the next plugin installs" wait_job next
check_eq "... installed" "$(status_field "$MNT/demo/next/status" state)" installed
stop_daemon

# --- a state dir on an overlayfs whose layers are two filesystems (files and dirs then
# report different st_dev): scratch dirs are emptied, packages never mix
mkdir -p "$T/ovl/lower" "$T/ovl/upper" "$T/ovl/work"
mount -t tmpfs wazofs-lower "$T/ovl/lower"
mkdir -p "$STATE.ovl"
mount -t overlay overlay -o "lowerdir=$T/ovl/lower,upperdir=$T/ovl/upper,workdir=$T/ovl/work" "$STATE.ovl"
STATE_SAVE=$STATE
STATE=$STATE.ovl
start_daemon
make_plugin "$T/src/ova" ova demo 1.0.0
cp -r "$T/src/ova" "$MNT/incoming/"
wait_job ova
stop_daemon
start_daemon
make_plugin "$T/src/ovb" ovb demo 1.0.0
cp -r "$T/src/ovb" "$MNT/incoming/"
wait_job ovb
check_eq "on overlayfs, the second plugin installs" "$(status_field "$MNT/demo/ovb/status" state)" installed
check "... its package holds none of the first one's files" \
	sh -c "! dpkg-deb -c '$STATE/packages/wazo-plugind-ovb-demo_1.0.0_all.deb' | grep -q ova"
check_eq "... and the scratch dirs are empty" "$(ls -A "$STATE/work" | wc -l)" 0
stop_daemon
umount "$STATE"
umount "$T/ovl/lower"
STATE=$STATE_SAVE

# --- a failed job whose saved status cannot be read is restored as failed, not re-run
start_daemon
make_plugin "$T/src/saved" saved demo 1.0.0 0 'echo built >> "'"$W"'/saved.builds"; exit 2'
cp -r "$T/src/saved" "$MNT/incoming/"
wait_job saved
stop_daemon
printf 'state: error\nreason: "\xff\xfe\x85 broken' >"$STATE/jobs/saved.status"
start_daemon
sleep 1
check_eq "a failed job with an unreadable saved status is shown failed" "$(status_field "$MNT/incoming/saved.status" state)" error
check "... that status is valid YAML" valid_yaml "$MNT/incoming/saved.status"
check_eq "... and its rules build did not run again" "$(wc -l <"$W/saved.builds")" 1
stop_daemon
finish
