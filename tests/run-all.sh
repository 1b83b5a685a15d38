#!/usr/bin/env bash
# Run every test: cmocka unit binaries, then integration scripts. Prints
# each test's output and ends with one total "N passed, N failed" line.
set -u
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
pass=0 fail=0 skip=0
failed_suites=()
# Sanitizer reports from any process (daemons included) land here; any
# report fails the run even if the process that hit it carried on.
SAN_DIR=$ROOT/$BUILD/san-reports
rm -rf "$SAN_DIR"; mkdir -p "$SAN_DIR"
export ASAN_OPTIONS="log_path=$SAN_DIR/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$SAN_DIR/ubsan:print_stacktrace=1"

# STRESS=1: the suite under CPU hogs and a slow python3 start (tests/stress.sh).
STRESS=${STRESS:-0}
if [ "$STRESS" = 1 ]; then
	. tests/stress.sh
	stress_start
else
	echo "stress mode: off (STRESS=1 turns it on)"
fi

add_counts() { # suite-name output-file rc
	local p f s
	if grep -q '^\[==========\]' "$2"; then
		p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$2" | awk '{s+=$1} END {print s+0}')
		f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$2" | awk '{s+=$1} END {print s+0}')
		s=$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$2" | awk '{s+=$1} END {print s+0}')
	else
		read -r p f s < <(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed, \([0-9]*\) skipped$/\1 \2 \3/p' "$2" | tail -1)
		p=${p:-0} f=${f:-0} s=${s:-0}
	fi
	# A suite that crashed or exited non-zero without counting a failure
	# still fails.
	if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	[ "$f" -eq 0 ] || failed_suites+=("$1")
}

run_suite() { # name command...
	local name=$1 out rc
	shift
	out=$(mktemp)
	echo "=== $name"
	"$@" >"$out" 2>&1
	rc=$?
	cat "$out"
	add_counts "$name" "$out" "$rc"
	rm -f "$out"
}

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run_suite "unit/$(basename "$t")" "$t"
done
for t in tests/integration/*.sh; do
	[ -f "$t" ] || continue
	run_suite "integration/$(basename "$t" .sh)" timeout 600 bash "$t"
done
run_suite "fault/crash_atomicity" timeout 600 env CYCLES=1000 bash tests/fault/crash_atomicity.sh
run_suite "fault/matrix-subset" timeout 900 bash tests/fault/matrix.sh
run_suite "fault/matrix-etcd" timeout 600 env STORE=etcd bash tests/fault/matrix.sh
run_suite "bench/smoke" timeout 600 env SMOKE=1 bash tests/bench/run.sh
run_suite "vm" timeout 360 bash tests/vm/vm.sh
run_suite "vm-crash" timeout 600 env VM_SCENARIOS="crashdump crashcut" bash tests/vm/vm.sh
run_suite "system" timeout 300 bash tests/system/system.sh
if [ -z "${SKIP_FUZZ_SMOKE:-}" ] && [ -f tests/fuzz/smoke.sh ]; then
	run_suite "fuzz/smoke" timeout 300 bash tests/fuzz/smoke.sh
fi

if compgen -G "$SAN_DIR/*" >/dev/null; then
	echo "=== sanitizer reports"
	cat "$SAN_DIR"/*
	fail=$((fail + 1))
	failed_suites+=("sanitizer-reports")
fi

echo
[ "${#failed_suites[@]}" -eq 0 ] || echo "failed suites: ${failed_suites[*]}"
echo "stress mode: $([ "$STRESS" = 1 ] && echo ON || echo off)"
echo "total: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
