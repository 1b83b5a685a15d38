#!/usr/bin/env bash
# The integration suites with every daemon under valgrind. Judged on
# valgrind's own reports (memory errors, definite leaks); the suites'
# timing assertions may miss under valgrind's slowdown and are shown for
# information only.
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
VG_DIR=$(mktemp -d /tmp/hwm-valgrind.XXXXXX)
export HWM_WRAP="valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --trace-children=no --log-file=$VG_DIR/vg.%p.log"
for t in hostwd mtc pmonhook seed; do
	echo "=== $t (under valgrind)"
	BUILD=$BUILD timeout 900 bash "$ROOT/tests/integration/$t.sh" 2>&1 | tail -1
done
logs=$(ls "$VG_DIR"/vg.*.log 2>/dev/null | wc -l)
bad=0
for f in "$VG_DIR"/vg.*.log; do
	[ -s "$f" ] || continue
	if grep -qE 'Invalid|uninitialised|definitely lost|Mismatched|overlap' "$f"; then
		echo "--- $f"; cat "$f"; bad=$((bad + 1))
	fi
done
echo "valgrind: $logs daemon runs checked, $bad with errors or definite leaks"
rm -rf "$VG_DIR"
if [ "$bad" -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; exit 1; fi
