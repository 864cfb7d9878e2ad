#!/bin/bash
# The performance figures of issue 11, each against its baseline, measured in one run
# (the two sides of a figure interleaved, ROUNDS times, medians):
#   P1 `cp -r` examples/helloworld into incoming/ -> installed -> `rm -r` done, against
#      the same work by hand (rules build, fakeroot rules package, dpkg-deb, dpkg -i,
#      dpkg -r), each into a throwaway root (`asterisk` is a stub that does nothing),
#      and the floor (rules build and package, dpkg -i and dpkg --purge of wazofs's own
#      package, whose maintainer scripts the contract fixes);
#   P2 `cp -r` of 200 MiB in 2000 files into incoming/, against a minimal libfuse
#      passthrough mount of the same disk (scripts/passthrough_bench.c), and a plain
#      `cp -r` for reference; FUSE requests per file counted in a run with -d;
#   P3, P4 scripts/bench-tree.sh (1000 installed plugins);
#   P5 scripts/bench-deb.sh (the .deb of a 100 MB tree against dpkg-deb);
#   P9 an upgrade whose `rules install` fails and is undone (back to the version before
#      it, from the kept package), against a plain install of that version;
#   P10 a rebuild of all of 20 small plugins from their kept sources ({method: rebuild,
#      options: {all: true}}), time per plugin, against a fresh `cp -r` install of each.
# Prints the figures, the ratio last on each line; judges nothing (tests never fail on
# timing). Usage (root): scripts/bench.sh [ROUNDS]   (default 5; ONLY=P1, ONLY=P9 or
# ONLY=P10: that figure alone)
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
make -s all build/passthrough_bench build/deb_write_bench
T=$(mktemp -d /tmp/wazofs-bench.XXXXXX)
chmod 0711 "$T" # the build user crosses it to reach the state dir
PIDS=()
cleanup() {
	for m in "$T"/mnt*; do fusermount3 -uz "$m" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
. scripts/bench-lib.sh
wait_for() { # wait_for SECONDS CMD...: polls CMD every 5 ms
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || { echo "timed out: $*" >&2; exit 1; }
		sleep 0.005
	done
}
mkdir -p "$T/stub"
printf '#!/bin/sh\nexit 0\n' >"$T/stub/asterisk"
chmod +x "$T/stub/asterisk"
export PATH="$T/stub:$PATH"

# --- P9: the undo of a failed upgrade, against a plain install of the old version
p9() {
	mkroot "$T/root9"
	mkdir -p "$T/mnt9"
	build/wazofs -o "root=$T/root9,state=$T/state9,build_user=root,checks_dir=" "$T/mnt9"
	local v
	for v in 1.0.0 2.0.0; do
		mkdir -p "$T/p9-$v/wazo"
		printf 'name: undo\nnamespace: bench\nversion: %s\nplugin_format_version: 0\n' "$v" >"$T/p9-$v/wazo/plugin.yml"
		printf '#!/bin/sh\ncase "$1" in package) mkdir -p "$pkgdir/usr/share/undo" ;; install) [ %s = 1.0.0 ] ;; esac\n' "$v" >"$T/p9-$v/wazo/rules"
		chmod +x "$T/p9-$v/wazo/rules"
	done
	p9_end() { [ ! -e "$T/mnt9/incoming/$1" ] || grep -q '^state: error' "$T/mnt9/incoming/$1.status" 2>/dev/null; }
	local r a b c
	for r in $(seq "$ROUNDS"); do
		a=$(now)
		cp -r "$T/p9-1.0.0" "$T/mnt9/incoming/one"
		wait_for 60 p9_end one
		b=$(now)
		cp -r "$T/p9-2.0.0" "$T/mnt9/incoming/two"
		wait_for 60 p9_end two
		c=$(now)
		grep -q '^rolled_back_to: 1.0.0$' "$T/mnt9/incoming/two.status" || { echo "P9: not undone" >&2; exit 1; }
		rm -rf "$T/mnt9/incoming/two"
		rm -r "$T/mnt9/bench/undo"
		wait_for 60 test ! -e "$T/mnt9/bench/undo"
		echo "$(ms "$a" "$b") $(ms "$b" "$c")" >>"$T/p9"
	done
	fusermount3 -u "$T/mnt9"
	local inst undo
	inst=$(cut -d' ' -f1 "$T/p9" | median) undo=$(cut -d' ' -f2 "$T/p9" | median)
	printf 'P9 an upgrade that fails and is undone: %d ms | a plain install of the old version %d ms | ratio %s\n' \
		"$undo" "$inst" "$(ratio "$undo" "$inst")"
}
if [ "${ONLY:-}" = P9 ]; then
	p9
	exit 0
fi

# --- P10: rebuilding all of 20 plugins, per plugin, against a fresh install of each
p10() {
	mkroot "$T/root10"
	mkdir -p "$T/mnt10"
	build/wazofs -o "root=$T/root10,state=$T/state10,build_user=root,checks_dir=" "$T/mnt10"
	local i r a b c
	for i in $(seq 20); do
		mkdir -p "$T/p10/r$i/wazo"
		printf 'name: r%s\nnamespace: bench\nversion: 1.0.0\nplugin_format_version: 0\n' "$i" >"$T/p10/r$i/wazo/plugin.yml"
		printf '#!/bin/sh\ncase "$1" in package) mkdir -p "$pkgdir/usr/share/r%s"; echo r > "$pkgdir/usr/share/r%s/f" ;; esac\n' "$i" "$i" >"$T/p10/r$i/wazo/rules"
		chmod +x "$T/p10/r$i/wazo/rules"
	done
	echo '{method: rebuild, options: {all: true}}' >"$T/p10/all.yml"
	rebuilt() { [ "$(grep -c ' reinstall bench/' "$T/state10/history" 2>/dev/null)" -ge "$1" ]; }
	for r in $(seq "$ROUNDS"); do
		for i in $(seq 20); do # fresh installs, one after the other
			a=$(now)
			cp -r "$T/p10/r$i" "$T/mnt10/incoming/r$i"
			wait_for 60 test ! -e "$T/mnt10/incoming/r$i"
			b=$(now)
			echo "$(ms "$a" "$b")" >>"$T/p10-install"
		done
		a=$(now)
		cp "$T/p10/all.yml" "$T/mnt10/incoming/all.yml"
		wait_for 300 rebuilt $((r * 20))
		b=$(now)
		echo $(($(ms "$a" "$b") / 20)) >>"$T/p10-rebuild"
		for i in $(seq 20); do rm -r "$T/mnt10/bench/r$i"; done
		wait_for 60 test ! -e "$T/mnt10/bench"
	done
	fusermount3 -u "$T/mnt10"
	local inst rb
	inst=$(median <"$T/p10-install") rb=$(median <"$T/p10-rebuild")
	printf 'P10 rebuild all of 20 plugins: %d ms per plugin | a fresh cp -r install of one %d ms | ratio %s\n' \
		"$rb" "$inst" "$(ratio "$rb" "$inst")"
}
if [ "${ONLY:-}" = P10 ]; then
	p10
	exit 0
fi

# --- P1
mkroot "$T/root1"
mkdir -p "$T/mnt1"
build/wazofs -o "root=$T/root1,state=$T/state1,build_user=root" "$T/mnt1"
installed() { grep -q '^state: installed' "$T/mnt1/demo/helloworld/status" 2>/dev/null; }
gone() { [ ! -e "$T/mnt1/demo/helloworld" ]; }
mkroot "$T/root1h"
hand_cycle() {
	local w=$T/hand
	rm -rf "$w" && cp -r examples/helloworld "$w"
	mkdir -p "$w/pkg/DEBIAN" "$w/pkg/usr/lib/wazo-plugind/plugins/demo/helloworld"
	(cd "$w" && ./wazo/rules build && pkgdir=$w/pkg fakeroot ./wazo/rules package)
	cp -r "$w/wazo" "$w/pkg/usr/lib/wazo-plugind/plugins/demo/helloworld/"
	printf 'Package: wazo-plugind-helloworld-demo\nVersion: 0.0.1\nArchitecture: all\nMaintainer: b <b@example.org>\nSection: wazo-plugind-plugin\nDescription: bench\n' >"$w/pkg/DEBIAN/control"
	# postrm runs after the files are gone: helloworld's postrm action, inline
	printf '#!/bin/sh\n[ "$1" = remove ] || exit 0\nasterisk -rx "dialplan reload"\n' >"$w/pkg/DEBIAN/postrm"
	chmod 0755 "$w/pkg/DEBIAN/postrm"
	for s in postinst:configure:install prerm:remove:uninstall; do
		printf '#!/bin/sh\nset -e\n[ "$1" = %s ] || exit 0\ncd "${DPKG_ROOT:-}/usr/lib/wazo-plugind/plugins/demo/helloworld"\n./wazo/rules %s\n' \
			"$(echo "$s" | cut -d: -f2)" "$(echo "$s" | cut -d: -f3)" >"$w/pkg/DEBIAN/${s%%:*}"
		chmod 0755 "$w/pkg/DEBIAN/${s%%:*}"
	done
	dpkg-deb --root-owner-group -Zxz -b "$w/pkg" "$w.deb" >/dev/null
	dpkg --root="$T/root1h" --force-script-chrootless -i "$w.deb" >/dev/null
	dpkg --root="$T/root1h" --force-script-chrootless -r wazo-plugind-helloworld-demo >/dev/null
}
# the floor: what no way of installing this plugin avoids, on wazofs's own package
# (rules build, rules package under fakeroot, dpkg -i of the .deb wazofs wrote, dpkg
# --purge: its prerm keeps the rules for postrm, as the contract says)
mkroot "$T/root1f"
floor_cycle() {
	local w=$T/floor
	rm -rf "$w" && cp -r examples/helloworld "$w" && mkdir -p "$w/pkg"
	(cd "$w" && ./wazo/rules build && pkgdir=$w/pkg fakeroot ./wazo/rules package)
	dpkg --root="$T/root1f" --force-script-chrootless -i "$T/ours.deb" >/dev/null
	dpkg --root="$T/root1f" --force-script-chrootless --purge wazo-plugind-helloworld-demo >/dev/null
}
for r in $(seq "$ROUNDS"); do
	# the end is read from MOUNT/events (opened before the copy: a blocking read, no
	# polling delay); rm -r returns when the removal is done
	exec 3<"$T/mnt1/events"
	a=$(now)
	cp -r examples/helloworld "$T/mnt1/incoming/"
	timeout 60 grep -q -m1 '"state": "installed", "step": "completed"' <&3
	exec 3<&-
	installed || { echo "the end event came before the status said installed" >&2; exit 1; }
	x=$(now) # the copy of the package for the floor is not timed
	[ "$r" != 1 ] || cp "$T/mnt1/demo/helloworld/wazo-plugind-helloworld-demo_0.0.1_all.deb" "$T/ours.deb"
	skip=$(ms "$x" "$(now)")
	rm -r "$T/mnt1/demo/helloworld"
	wait_for 60 gone
	b=$(now)
	hand_cycle
	c=$(now)
	floor_cycle
	d=$(now)
	echo "$(($(ms "$a" "$b") - skip)) $(ms "$b" "$c") $(ms "$c" "$d")" >>"$T/p1"
done
fusermount3 -u "$T/mnt1"
p1w=$(cut -d' ' -f1 "$T/p1" | median) p1h=$(cut -d' ' -f2 "$T/p1" | median)
p1f=$(cut -d' ' -f3 "$T/p1" | median)
p1_line() {
	printf 'P1 helloworld cp -r -> installed -> rm -r done: wazofs %d ms | by hand %d ms | floor %d ms (%s of by hand) | ratio %s (vs floor %s)\n' \
		"$p1w" "$p1h" "$p1f" "$(ratio "$p1f" "$p1h")" "$(ratio "$p1w" "$p1h")" "$(ratio "$p1w" "$p1f")"
}
if [ "${ONLY:-}" = P1 ]; then
	p1_line
	exit 0
fi
p9
p10

# --- P2
mkdir -p "$T/src2"
for d in $(seq 20); do
	mkdir "$T/src2/d$d"
	for f in $(seq 100); do head -c 104857 /dev/urandom >"$T/src2/d$d/f$f"; done
done
mount_p2() { # mount_p2 wazofs|passthrough [-d]: mounts on $T/mnt2, stderr to $T/p2.err
	rm -rf "$T/mnt2" "$T/state2" "$T/pt" && mkdir -p "$T/mnt2" "$T/pt"
	if [ "$1" = wazofs ]; then
		mkroot "$T/root2"
		build/wazofs -f ${2:-} -o "root=$T/root2,state=$T/state2,build_user=root" "$T/mnt2" 2>"$T/p2.err" &
	else
		build/passthrough_bench ${2:-} "$T/pt" "$T/mnt2" 2>"$T/p2.err" &
	fi
	PIDS+=($!)
	wait_for 10 mountpoint -q "$T/mnt2"
}
umount_p2() {
	fusermount3 -u "$T/mnt2"
	wait "${PIDS[-1]}" || true
	unset 'PIDS[-1]'
}
dest2() { [ "$1" = wazofs ] && echo "$T/mnt2/incoming/big" || echo "$T/mnt2/big"; }
for side in wazofs passthrough; do
	mount_p2 "$side" -d
	cp -r "$T/src2" "$(dest2 "$side")"
	umount_p2
	echo "$(grep -c 'opcode:' "$T/p2.err") $side" >>"$T/p2req"
done
for _ in $(seq "$ROUNDS"); do
	line=
	for side in wazofs passthrough; do
		mount_p2 "$side"
		sync
		a=$(now)
		cp -r "$T/src2" "$(dest2 "$side")"
		b=$(now)
		umount_p2
		line="$line $(ms "$a" "$b")"
	done
	rm -rf "$T/direct" && sync
	a=$(now)
	cp -r "$T/src2" "$T/direct"
	b=$(now)
	echo "$line $(ms "$a" "$b")" >>"$T/p2"
done
p2w=$(awk '{ print $1 }' "$T/p2" | median) p2p=$(awk '{ print $2 }' "$T/p2" | median)
p2d=$(awk '{ print $3 }' "$T/p2" | median)
p2rw=$(awk '$2 == "wazofs" { printf "%.1f", $1 / 2000 }' "$T/p2req")
p2rp=$(awk '$2 == "passthrough" { printf "%.1f", $1 / 2000 }' "$T/p2req")
rm -rf "$T/src2" "$T/direct" "$T/pt"

# --- P3, P4, P5
scripts/bench-tree.sh 1000 "$ROUNDS" >"$T/p34"
scripts/bench-deb.sh "$((ROUNDS < 3 ? ROUNDS : 3))" >"$T/p5"

echo "# $(nproc) cores, $(uname -r), $ROUNDS rounds, medians"
p1_line
printf 'P2 cp -r 200 MiB / 2000 files: wazofs %d ms (%s req/file) | passthrough %d ms (%s req/file) | direct %d ms | speed vs passthrough %s, vs direct %s\n' \
	"$p2w" "$p2rw" "$p2p" "$p2rp" "$p2d" "$(ratio "$p2p" "$p2w")" "$(ratio "$p2d" "$p2w")"
grep -E '^(P3|P4|# FUSE)' "$T/p34"
grep -E '^P5|^round' "$T/p5"
