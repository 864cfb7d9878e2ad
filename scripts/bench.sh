#!/bin/bash
# Benchmark: installs N small plugins through wazofs (cp -r into incoming/, wait for the
# job) and, as the baseline, the same plugins by hand the way an admin would without it
# (rules build, fakeroot rules package, dpkg-deb --build, dpkg --install), each into its
# own throwaway root. Then the cost of reading state: `cat status` of every plugin
# through the mount against one `dpkg-query --show` per plugin. Prints figures; judges
# nothing. Usage (root): scripts/bench.sh [N]   (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-10}
make -s
T=$(mktemp -d /tmp/wazofs-bench.XXXXXX)
chmod 0711 "$T" # the build user crosses it to reach the state dir
cleanup() {
	fusermount3 -uz "$T/mnt" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
mkroot() {
	mkdir -p "$1/var/lib/dpkg/info" "$1/var/lib/dpkg/updates"
	touch "$1/var/lib/dpkg/status"
}
plugin() { # plugin DIR NAME
	mkdir -p "$1/wazo"
	printf 'name: %s\nnamespace: bench\nversion: 1.0.0\n' "$2" >"$1/wazo/plugin.yml"
	cat >"$1/wazo/rules" <<'RULES'
#!/bin/sh
case "$1" in
    build) ;;
    package) name=$(sed -n 's/^name: //p' wazo/plugin.yml)
             mkdir -p "$pkgdir/usr/share/bench/$name"; cp -r wazo "$pkgdir/usr/share/bench/$name/" ;;
    install|uninstall|postrm) ;;
esac
RULES
	chmod +x "$1/wazo/rules"
}
for i in $(seq "$N"); do plugin "$T/src/p$i" "p$i"; done

# --- wazofs
mkroot "$T/root"
mkdir -p "$T/mnt"
build/wazofs -o "root=$T/root,state=$T/state,settle_ms=${SETTLE_MS:-100}" "$T/mnt"
t0=$(now)
for i in $(seq "$N"); do
	cp -r "$T/src/p$i" "$T/mnt/incoming/"
	while [ -e "$T/mnt/incoming/p$i" ]; do
		if grep -q '^state: error' "$T/mnt/incoming/p$i.status" 2>/dev/null; then
			cat "$T/mnt/incoming/p$i.status" >&2
			exit 1
		fi
		sleep 0.02
	done
done
t1=$(now)
ok=$(ls "$T/mnt/bench" | wc -l)
WAZOFS_INSTALL=$(elapsed "$t0" "$t1")

# --- baseline: by hand
mkroot "$T/root2"
mkdir -p "$T/hand"
t0=$(now)
for i in $(seq "$N"); do
	w=$T/hand/p$i
	cp -r "$T/src/p$i" "$w"
	pkg=$w/pkg
	mkdir -p "$pkg/DEBIAN" "$pkg/usr/lib/wazo-plugind/plugins/bench/p$i"
	(cd "$w" && ./wazo/rules build && pkgdir=$pkg fakeroot ./wazo/rules package)
	cp -r "$w/wazo" "$pkg/usr/lib/wazo-plugind/plugins/bench/p$i/"
	printf 'Package: wazo-plugind-p%s-bench\nVersion: 1.0.0\nArchitecture: all\nMaintainer: b <b@b>\nSection: wazo-plugind-plugin\nDescription: bench\n' "$i" >"$pkg/DEBIAN/control"
	dpkg-deb --root-owner-group -b "$pkg" "$w.deb" >/dev/null
	dpkg --root="$T/root2" --force-script-chrootless -i "$w.deb" >/dev/null
done
t1=$(now)
HAND_INSTALL=$(elapsed "$t0" "$t1")

# --- reading state
t0=$(now)
for r in 1 2 3 4 5; do for i in $(seq "$N"); do cat "$T/mnt/bench/p$i/status" >/dev/null; done; done
t1=$(now)
WAZOFS_READ=$(elapsed "$t0" "$t1")
t0=$(now)
for r in 1 2 3 4 5; do for i in $(seq "$N"); do
	dpkg-query --admindir="$T/root2/var/lib/dpkg" -W "wazo-plugind-p$i-bench" >/dev/null
done; done
t1=$(now)
DPKG_READ=$(elapsed "$t0" "$t1")

echo "plugins: $N (wazofs listed $ok)"
printf '%-44s %10s %10s\n' "" "wazofs" "by hand"
printf '%-44s %9ss %9ss\n' "install all (build, package, dpkg -i)" "$WAZOFS_INSTALL" "$HAND_INSTALL"
printf '%-44s %9ss %9ss\n' "per plugin" \
	"$(awk -v t="$WAZOFS_INSTALL" -v n="$N" 'BEGIN{printf "%.3f", t/n}')" \
	"$(awk -v t="$HAND_INSTALL" -v n="$N" 'BEGIN{printf "%.3f", t/n}')"
printf '%-44s %9ss %9ss\n' "read state x$((5 * N)) (cat status | dpkg-query)" "$WAZOFS_READ" "$DPKG_READ"
