#!/bin/bash
# Runs every test: the C unit tests of core/ (build/tests/test_*) and the mount tests
# (tests/integration/test_*.sh, or those named as arguments), then prints the sum as
# "N passed, N failed".
cd "$(dirname "$0")/.."
export WAZOFS_CORPUS=${WAZOFS_CORPUS:-$(pwd)/tests/data/plugin-yml}
BUILD=${BUILD:-build}
export WAZOFS=${WAZOFS:-$(pwd)/$BUILD/wazofs}
# sanitizer builds: any report fails the program that made it
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}
passed=0
failed=0
# arguments: the mount tests to run (default: every one); the unit tests always run
[ $# -gt 0 ] || set -- tests/integration/test_*.sh
for t in "$BUILD"/tests/test_* "$@"; do
	[ -x "$t" ] || [ "${t%.sh}" != "$t" ] || continue
	echo "# $t"
	out=$(if [ "${t%.sh}" != "$t" ]; then timeout 900 bash "$t"; else timeout 900 "$t"; fi 2>&1)
	rc=$?
	echo "$out"
	line=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1)
	if [ -z "$line" ]; then
		echo "# $t ended without a summary (exit $rc)"
		failed=$((failed + 1))
		continue
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed}
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { echo "# $t exited $rc"; failed=$((failed + 1)); }
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
