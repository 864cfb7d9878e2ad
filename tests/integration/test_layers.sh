#!/bin/bash
# `make check-layers` (scripts/check-layers.sh) on a copy of the sources: the tree as it
# is passes, and each kind of breach is caught and named: an include that goes up a
# layer, a FUSE header in core/, a bare include of another folder, an unknown folder.
. "$(dirname "$0")/lib.sh"
S=$T/src
copy_sources() {
	rm -rf "$S"
	mkdir -p "$S/scripts"
	cp -r "$TOP/core" "$TOP/fs" "$S/"
	cp "$TOP/scripts/check-layers.sh" "$S/scripts/"
}
layers() { bash "$S/scripts/check-layers.sh" >"$T/layers.out" 2>&1; }

copy_sources
check "the tree as it is passes" layers
check_contains "... and says which layers it checked" "$T/layers.out" "base yaml plugin config jobs daemon fs"

copy_sources
sed -i '0,/^#include "/s//#include "daemon\/daemon.h"\n&/' "$S/core/base/strbuf.c"
check "base including the daemon fails" bash -c "! bash '$S/scripts/check-layers.sh' >'$T/layers.out' 2>&1"
check_contains "... naming the file and the include" "$T/layers.out" 'core/base/strbuf.c: includes "daemon/daemon.h" \(daemon is above base\)'

copy_sources
sed -i '0,/^#include </s//#include <fuse.h>\n&/' "$S/core/plugin/dpkg.c"
check "a FUSE header in core/ fails" bash -c "! bash '$S/scripts/check-layers.sh' >'$T/layers.out' 2>&1"
check_contains "... naming it" "$T/layers.out" "core/plugin/dpkg.c: includes a FUSE header"

copy_sources
sed -i 's|#include "base/strbuf.h"|#include "strbuf.h"|' "$S/core/plugin/dpkg.h"
check "a bare include of another folder fails" bash -c "! bash '$S/scripts/check-layers.sh' >'$T/layers.out' 2>&1"
check_contains "... naming it" "$T/layers.out" 'core/plugin/dpkg.h: includes "strbuf.h", which is not in core/plugin/'

copy_sources
mkdir "$S/core/misc" && echo 'int x;' >"$S/core/misc/x.c"
check "a folder that is not a layer fails" bash -c "! bash '$S/scripts/check-layers.sh' >'$T/layers.out' 2>&1"
check_contains "... naming it" "$T/layers.out" "core/misc: not a known layer"

# the daemon loads no archive library (wazofs-archive does the archive work), so
# neither libarchive's chain (libxml2, ICU, libstdc++) nor its parsers are in it
readelf -d "$WAZOFS" >"$T/needed" 2>&1
check_contains "the daemon is a dynamic program whose libraries readelf lists" "$T/needed" 'NEEDED.*libfuse3'
check "... and none of them is libarchive or its chain" \
	bash -c "! grep -E 'NEEDED.*(libarchive|libxml2|libicu|libstdc)' '$T/needed'"
check_contains "wazofs-archive is the one that links libarchive" \
	<(readelf -d "$(dirname "$WAZOFS")/wazofs-archive" 2>&1) 'NEEDED.*libarchive'

finish
