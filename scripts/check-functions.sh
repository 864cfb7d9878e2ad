#!/bin/bash
# `make check-functions`: no function of core/ or fs/ is longer than 60 lines (from the
# line that opens its definition to its closing brace), so each says one thing.
# Prints each one that is and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX=60
bad=$(awk -v max="$MAX" '
	FNR == 1 { start = 0 }
	/^[a-z].*\(/ && !/;[[:space:]]*$/ { name = $0; start = FNR }
	/^}/ && start { if (FNR - start > max) printf "%s:%d: %d lines: %s\n", FILENAME, start, FNR - start, name; start = 0 }
' core/*/*.c fs/*.c)
if [ -n "$bad" ]; then
	echo "$bad" | sed 's/^/check-functions: /'
	exit 1
fi
echo "check-functions: no function of core/ or fs/ is over $MAX lines"
