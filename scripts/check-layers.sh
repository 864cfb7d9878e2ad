#!/bin/bash
# `make check-layers`: the layers of core/ (ARCHITECTURE.md), lowest first, then fs/:
#   base yaml plugin config jobs daemon | fs
# A file may include headers of its own folder (by bare name) and of lower layers (as
# "layer/name.h"), never of a higher layer; nothing in core/ includes a FUSE header.
# Inside core/daemon (registry.h): the leaves (event_log, incoming_tracker) include no
# sibling; the registry (registry*.c) includes registry.h, daemon.h and the leaves; every
# other file includes registry.h, daemon.h and its own header only, so no runner or view
# calls another: daemon.c, the life cycle and the loop, alone includes them all.
# Prints each breach and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
LAYERS=(base yaml plugin config jobs daemon)
rank() { # rank LAYER: its position, fs above every core layer
	local i
	for i in "${!LAYERS[@]}"; do
		[ "${LAYERS[$i]}" = "$1" ] && { echo "$i"; return; }
	done
	[ "$1" = fs ] && echo "${#LAYERS[@]}" || echo -1
}
bad=0
breach() {
	echo "check-layers: $*"
	bad=1
}
for dir in core/* fs; do
	[ -d "$dir" ] || continue
	layer=${dir#core/}
	mine=$(rank "$layer")
	[ "$mine" -ge 0 ] || { breach "$dir: not a known layer (${LAYERS[*]} fs)"; continue; }
	for f in "$dir"/*.[ch]; do
		[ -e "$f" ] || continue
		if [ "$layer" != fs ] && grep -qE '^#include[[:space:]]*<fuse' "$f"; then
			breach "$f: includes a FUSE header (core/ has no FUSE)"
		fi
		while IFS= read -r line; do
			inc=$(sed -E 's/^#include[[:space:]]*"([^"]+)".*/\1/' <<<"$line")
			case $inc in
			*/*)
				target=$(rank "${inc%%/*}")
				if [ "$target" -lt 0 ] || [ ! -e "core/$inc" ]; then
					breach "$f: includes \"$inc\", which is not a header of a core layer"
				elif [ "$target" -gt "$mine" ]; then
					breach "$f: includes \"$inc\" (${inc%%/*} is above $layer)"
				elif [ "$target" -eq "$mine" ]; then
					breach "$f: includes \"$inc\" of its own layer by path (use \"${inc#*/}\")"
				fi
				;;
			*)
				[ -e "$dir/$inc" ] ||
					breach "$f: includes \"$inc\", which is not in $dir/ (use \"layer/$inc\")"
				;;
			esac
		done < <(grep -E '^#include[[:space:]]*"' "$f" || true)
	done
done
daemon_allowed() { # daemon_allowed FILE: the bare includes FILE may have
	local base
	base=$(basename "$1")
	case $base in
	daemon.c) echo '*' ;;
	event_log.[ch] | incoming_tracker.[ch]) echo "${base%.*}.h" ;;
	registry*) echo "registry.h daemon.h event_log.h incoming_tracker.h" ;;
	*) echo "registry.h daemon.h ${base%.*}.h" ;;
	esac
}
for f in core/daemon/*.[ch]; do
	allowed=$(daemon_allowed "$f")
	[ "$allowed" = '*' ] && continue
	while IFS= read -r inc; do
		case $inc in */*) continue ;; esac
		[ "$inc" = "$(basename "$f")" ] && continue
		case " $allowed " in *" $inc "*) ;; *) breach "$f: includes \"$inc\" (core/daemon: only $allowed)" ;; esac
	done < <(grep -E '^#include[[:space:]]*"' "$f" | sed -E 's/^#include[[:space:]]*"([^"]+)".*/\1/' || true)
done
[ "$bad" -eq 0 ] && echo "check-layers: ${LAYERS[*]} fs: no include goes up; core/daemon: no sibling includes another" || exit 1
