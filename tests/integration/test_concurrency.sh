#!/bin/bash
# Concurrency: 20 copies into incoming/ and 10 removals at once, while three readers loop
# over `ls -lR` of the mount and `cat` of every status file. Every copy ends installed,
# every removed plugin is gone from the mount and from dpkg, no reader ever gets an error
# (other than a plugin vanishing between readdir and open), and nothing deadlocks: every
# access is bounded by a timeout, and a reader that hits one reports it.
. "$(dirname "$0")/lib.sh"
make_sandbox
start_daemon || { finish; exit 1; }

for i in $(seq 1 10); do
	make_plugin "$T/src/old$i" "old$i" conc 1.0.0
	cp -r "$T/src/old$i" "$MNT/incoming/"
done
check "10 plugins installed first" wait_for 120 sh -c "[ \$(ls '$MNT/conc' 2>/dev/null | wc -l) -eq 10 ] && [ -z \"\$(ls '$MNT/incoming')\" ]"
for i in $(seq 1 20); do
	make_plugin "$T/src/new$i" "new$i" conc 1.0.0
done

# A plugin vanishing under a reader: ENOENT, or ESTALE for a name looked up from a
# directory that was removed meanwhile (ls -lR walks with openat from each directory's
# fd, and libfuse's high-level API answers ESTALE once that directory's node is gone).
vanished() { grep -v 'No such file or directory' | grep -v "/conc/old[0-9]*[/'].*Stale file handle"; }
# reader N: loops until $T/stop exists; any other failure is an error
reader() {
	local n=$1 out
	while [ ! -e "$T/stop" ]; do
		out=$(timeout 20 ls -lR "$MNT" 2>&1)
		case $? in
		0) ;;
		124) echo "reader $n: ls -lR timed out" >>"$T/reader.errors" ;;
		*) echo "$out" | vanished | grep -q 'ls:' &&
			echo "reader $n: $(echo "$out" | grep 'ls:' | vanished | head -3)" >>"$T/reader.errors" ;;
		esac
		for s in "$MNT"/conc/*/status "$MNT"/incoming/*.status; do
			[ -e "$s" ] || continue
			out=$(timeout 10 cat "$s" 2>&1)
			case $? in
			0) grep -q '^state: ' <<<"$out" ||
				{ [ -e "$s" ] && echo "reader $n: $s has no state: $out" >>"$T/reader.errors"; } ;;
			124) echo "reader $n: cat $s timed out" >>"$T/reader.errors" ;;
			*) grep -q 'No such file' <<<"$out" || echo "reader $n: cat $s: $out" >>"$T/reader.errors" ;;
			esac
		done
	done
}
READERS=
for n in 1 2 3; do
	reader "$n" &
	READERS="$READERS $!"
done

start=$(date +%s)
WRITERS=
for i in $(seq 1 20); do
	timeout 120 cp -r "$T/src/new$i" "$MNT/incoming/" &
	WRITERS="$WRITERS $!"
done
for i in $(seq 1 10); do
	(timeout 120 rm -r "$MNT/conc/old$i" || echo "rm -r old$i: exit $?" >>"$T/rm.errors") &
	WRITERS="$WRITERS $!"
done
failed=0
for p in $WRITERS; do wait "$p" || failed=$((failed + 1)); done
check_eq "every cp -r and rm -r returned 0 (within 120 s each)" "$failed" 0
check "all copies are taken in (incoming/ empties)" wait_for 240 sh -c "[ -z \"\$(ls '$MNT/incoming')\" ]"
echo "# 20 copies and 10 removals took $(($(date +%s) - start)) s"
touch "$T/stop"
for p in $READERS; do wait "$p"; done
check_eq "no removal failed" "$(cat "$T/rm.errors" 2>/dev/null)" ""
check_eq "no reader saw an error or a hang" "$(cat "$T/reader.errors" 2>/dev/null)" ""
check_eq "the mount lists exactly the 20 new plugins" "$(timeout 10 ls "$MNT/conc" | tr '\n' ' ')" \
	"$(printf 'new%s ' $(seq 1 20) | tr ' ' '\n' | sort | tr '\n' ' ')"
bad=
for i in $(seq 1 20); do
	[ "$(status_field "$MNT/conc/new$i/status" state)" = installed ] || bad="$bad new$i"
done
check_eq "each new plugin's status says installed" "$bad" ""
check_eq "dpkg has exactly those 20 installed" \
	"$(dpkg_q -f '${db:Status-Abbrev} ${Package}\n' -W 'wazo-plugind-*' | grep -c '^ii  wazo-plugind-new[0-9]*-conc$')" 20
check_eq "... and none of the removed ones" "$(dpkg_q -W 'wazo-plugind-old*' 2>/dev/null)" ""
make_plugin "$T/src/after" after conc 1.0.0
cp -r "$T/src/after" "$MNT/incoming/"
check "the daemon still installs the next plugin" wait_job after

# While a removal runs, libfuse holds the plugin's path for it, so a request on that
# path (here stat asking the daemon, not the kernel's cache) waits until it ends: that
# request holds one FUSE thread, and the rest of the mount keeps answering. (The
# kernel itself holds the namespace directory for the rmdir: a name of conc/ it has not
# cached waits too, before it reaches wazofs.)
make_plugin "$T/src/apart" apart elsewhere 1.0.0
cp -r "$T/src/apart" "$MNT/incoming/"
check "a plugin of another namespace installs" wait_job apart
make_plugin "$T/src/slowrm" slowrm conc 1.0.0
sed -i 's|^    install|    uninstall) sleep 5 ;;\n    install|' "$T/src/slowrm/wazo/rules"
cp -r "$T/src/slowrm" "$MNT/incoming/"
check "a plugin whose uninstall takes 5 s installs" wait_job slowrm
(timeout 30 rm -r "$MNT/conc/slowrm" >/dev/null 2>&1) &
rm_pid=$!
sleep 1 # rm -r is in its rmdir (nothing under conc/slowrm is touched meanwhile)
(timeout 30 stat --cached=never "$MNT/conc/slowrm" >/dev/null 2>&1) &
stat_pid=$!
sleep 0.3
check "while a removal runs and a stat waits for it, the overview reads" timeout 2 cat "$MNT/status"
check "... the root lists" timeout 2 ls "$MNT"
check "... and another namespace's plugin status reads" timeout 2 cat "$MNT/elsewhere/apart/status"
wait "$rm_pid"
check "... the removal ends" timeout 5 test ! -e "$MNT/conc/slowrm"
wait "$stat_pid"
stop_daemon
finish
