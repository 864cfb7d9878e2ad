#!/bin/bash
# Reproducible packages, checked as reprotest varies a build: examples/helloworld built
# twice through two mounts, the second one later, over another state dir and install
# root, with the build as root instead of the build user, umask 077, another TZ and
# locale; then diffoscope compares the two packages (it prints nothing and exits 0 when
# they are the same bytes). Usage (root): scripts/reproducible.sh
set -euo pipefail
cd "$(dirname "$0")/.."
make -s build/wazofs build/wazofs-archive
command -v diffoscope >/dev/null || { echo "diffoscope is missing: apt-get install diffoscope-minimal" >&2; exit 2; }
T=$(mktemp -d /tmp/wazofs-repro.XXXXXX)
chmod 0711 "$T" # the build user crosses it to reach the state dir
cleanup() {
	for m in "$T"/mnt*; do fusermount3 -uz "$m" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
mkdir -p "$T/bin"
printf '#!/bin/sh\nexit 0\n' >"$T/bin/asterisk" # the one program that cannot exist here
chmod +x "$T/bin/asterisk"
cp -a examples/helloworld "$T/helloworld" # the same tree, mtimes and all, both times
# build N OPTIONS: a mount over its own root and state dir; the package it built
build() {
	local n=$1 opts=$2
	mkdir -p "$T/mnt$n" "$T/root$n/var/lib/dpkg/info" "$T/root$n/var/lib/dpkg/updates"
	touch "$T/root$n/var/lib/dpkg/status"
	PATH="$T/bin:$PATH" build/wazofs -o "root=$T/root$n,state=$T/state$n,wazo_version=25.17$opts" "$T/mnt$n"
	cp -a "$T/helloworld" "$T/mnt$n/incoming/helloworld"
	for _ in $(seq 300); do
		[ -e "$T/mnt$n/incoming/helloworld" ] || break
		if grep -q '^state: error' "$T/mnt$n/incoming/helloworld.status" 2>/dev/null; then
			cat "$T/mnt$n/incoming/helloworld.status" >&2
			exit 1
		fi
		sleep 0.1
	done
	cp "$T/state$n"/packages/wazo-plugind-helloworld-demo_*.deb "$T/$n.deb"
	fusermount3 -u "$T/mnt$n"
}
build 1 ""
sleep 2 # a later clock
(umask 077 && TZ=Pacific/Auckland LC_ALL=C.UTF-8 LANG=fr_FR.UTF-8 build 2 ",build_user=root")
echo "first:  $(sha256sum <"$T/1.deb" | cut -d' ' -f1)"
echo "second: $(sha256sum <"$T/2.deb" | cut -d' ' -f1)"
diffoscope "$T/1.deb" "$T/2.deb"
echo "reproducible: the two packages are identical"
