#!/bin/bash
# The main job, end to end: installs the build dependencies, builds wazofs, mounts it
# in a temp dir over a throwaway install root, installs examples/helloworld with cp -r,
# prints its status, lists the plugin directory, then unmounts and cleans up.
# Run as root: sudo scripts/demo.sh   (set SKIP_DEPS=1 to skip apt-get)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${SKIP_DEPS:-}" ] || scripts/install-deps.sh
make -s
T=$(mktemp -d /tmp/wazofs-demo.XXXXXX)
chmod 0711 "$T" # the build user crosses it to reach the state dir
mkdir -p "$T/mnt" "$T/root/var/lib/dpkg/info" "$T/root/var/lib/dpkg/updates" "$T/bin"
touch "$T/root/var/lib/dpkg/status"
# asterisk is not installed here: a stand-in records what the plugin asks of it
printf '#!/bin/sh\necho "asterisk $*" >> %s/asterisk.log\n' "$T" >"$T/bin/asterisk"
chmod +x "$T/bin/asterisk"
cleanup() {
	fusermount3 -uz "$T/mnt" 2>/dev/null || true
	rm -rf "$T"
}
trap cleanup EXIT
PATH="$T/bin:$PATH" build/wazofs -o "root=$T/root,state=$T/state,wazo_version=25.17" "$T/mnt"
echo "\$ cp -r examples/helloworld $T/mnt/incoming/"
cp -r examples/helloworld "$T/mnt/incoming/"
for _ in $(seq 100); do
	[ -e "$T/mnt/incoming/helloworld" ] || break
	grep -q '^state: error' "$T/mnt/incoming/helloworld.status" 2>/dev/null && break
	sleep 0.2
done
echo "\$ cat $T/mnt/demo/helloworld/status"
cat "$T/mnt/demo/helloworld/status" 2>/dev/null || cat "$T/mnt/incoming/helloworld.status"
echo "\$ ls $T/mnt/demo/helloworld"
ls "$T/mnt/demo/helloworld"
echo "\$ dpkg-query --root=<root> -W wazo-plugind-helloworld-demo"
dpkg-query --admindir="$T/root/var/lib/dpkg" -W wazo-plugind-helloworld-demo
echo "asterisk was asked: $(cat "$T/asterisk.log" 2>/dev/null)"
fusermount3 -u "$T/mnt"
