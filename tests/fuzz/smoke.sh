#!/usr/bin/env bash
# Run every libFuzzer target for FUZZ_SECONDS (default 5) from its corpus.
# New inputs go to a temp dir so the committed corpus stays reviewable.
. "$(dirname "$0")/../lib.sh"
SECS=${FUZZ_SECONDS:-5}
FB=$ROOT/build/fuzz
if ! command -v clang >/dev/null; then
	t_skip "fuzz: skipped: clang not installed"
	t_done; exit 0
fi
make -s -C "$ROOT" fuzz-build >/dev/null || { t_fail "fuzz targets do not build"; t_done; exit 1; }
t_tmpdir
for t in mtc_decode health conf; do
	mkdir -p "$T_DIR/$t"
	if "$FB/fuzz_$t" -max_total_time="$SECS" -timeout=5 -rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$T_DIR/crash-$t-" "$T_DIR/$t" "$ROOT/tests/fuzz/corpus/$t" >"$T_DIR/$t.log" 2>&1; then
		t_ok "fuzz_$t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$T_DIR/$t.log" | grep -o '[0-9]*$') runs in ${SECS}s, no finding"
	else
		t_fail "fuzz_$t found a problem:"
		tail -30 "$T_DIR/$t.log"
		ls "$T_DIR"/crash-* 2>/dev/null
	fi
done
t_done
