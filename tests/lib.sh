# Shared helpers for integration tests: counters, waits, cleanup.
# Each script sources this, calls t_ok/t_fail/t_skip, and ends with t_done.
set -u
# The daemons write only in directories neither group nor others can write
# (issue 20): a login umask of 002 (Debian's usergroups) would make every
# directory a test creates group-writable, and refused.
umask 022
BUILD=${BUILD:-build}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/$BUILD/bin
TBIN=$ROOT/$BUILD/tests
export HWM_LOG_TARGET=stderr
T_PASS=0 T_FAIL=0 T_SKIP=0
T_PIDS=()
T_CLEANUP=()

t_ok()   { T_PASS=$((T_PASS + 1)); echo "ok   - $*"; }
t_fail() { T_FAIL=$((T_FAIL + 1)); echo "FAIL - $*"; }
t_skip() { T_SKIP=$((T_SKIP + 1)); echo "skip - $*"; }
t_check() { local what=$1; shift; if "$@"; then t_ok "$what"; else t_fail "$what"; fi; }

t_tmpdir() {
	T_DIR=$(mktemp -d /tmp/hwm-test.XXXXXX)
	T_CLEANUP+=("rm -rf $T_DIR")
	# Safety net, run before the removal: whatever still runs with a path
	# in this test's dir (every daemon here takes -c $T_DIR/...) is ended.
	T_CLEANUP+=("t_reap $T_DIR/")
}

t_reap() {
	pkill -TERM -f -- "$1" 2>/dev/null || return 0
	# Up to 5 s to exit on their own (a sanitizer build writes its leak
	# report at exit), then SIGKILL.
	wait_for 5 t_none_running "$1" || pkill -KILL -f -- "$1" 2>/dev/null
	return 0
}
t_none_running() { ! pgrep -f -- "$1" >/dev/null; }

# HWM_WRAP (e.g. valgrind ...) prefixes every daemon the tests start.
HWM_WRAP=${HWM_WRAP:-}

# Start a background process, remember it for cleanup.
t_spawn() {
	local log=$1; shift
	$HWM_WRAP "$@" >>"$log" 2>&1 &
	T_PIDS+=($!)
	T_LAST_PID=$!
}

t_stop_all() {
	local p
	for p in "${T_PIDS[@]:-}"; do [ -n "$p" ] && kill -TERM "$p" 2>/dev/null; done
	for p in "${T_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
	T_PIDS=()
}

t_cleanup() {
	t_stop_all
	local i
	# Last registered, first run: kill what lives in a dir before removing it.
	for ((i = ${#T_CLEANUP[@]} - 1; i >= 0; i--)); do eval "${T_CLEANUP[$i]}"; done
	T_CLEANUP=()
}
# The EXIT trap cleans up in the test's own shell only: a child killed
# with SIGTERM before its exec is still a copy of this shell, trap and
# all, and would remove the test's dir under it (pmonhook.sh's pid-reuse
# loop did, once, under load). A subshell with a cleanup list of its own
# sets T_MAIN as below (tests/bench/run.sh). The pid is the kernel's
# (/proc/self/stat, read by a builtin): in a child killed that early,
# $BASHPID can still give the parent's.
read -r T_MAIN _ </proc/self/stat
trap 'read -r T_SELF _ </proc/self/stat; [ "$T_SELF" != "$T_MAIN" ] || t_cleanup' EXIT

# wait_for SECONDS CMD...: poll CMD every 50 ms until it succeeds.
wait_for() {
	local limit=$1; shift
	local end=$(( $(now_ms) + limit * 1000 ))
	while [ "$(now_ms)" -lt $end ]; do
		"$@" && return 0
		sleep 0.05
	done
	"$@"
}

# Waits. A test waits for the condition it needs, never for a fixed time:
# a loaded machine (or a slow python3 start) stretches every start-up.
# wait_for above is silent: use it right before a t_check of the same
# condition, which reports. t_wait_for is for readiness (a socket bound, a
# daemon's "started" line, a helper's ready file) with no check of its own:
# when it never comes, that is a failure, named.
# t_wait_for SECONDS WHAT CMD...
t_wait_for() {
	local limit=$1 what=$2
	shift 2
	wait_for "$limit" "$@" && return 0
	t_fail "gave up after ${limit} s waiting for $what"
	return 1
}

# t_wait_line FILE REGEX [FROM [SECONDS]]: a line matching REGEX (grep -E)
# appears in FILE below its first FROM lines (take FROM with t_lines before
# the action, so an older line does not count); SECONDS defaults to 10.
t_wait_line() {
	t_wait_for "${4:-10}" "/$2/ in ${1##*/}${3:+ below line $3}" t_has_line "$1" "$2" "${3:-0}"
}
t_has_line() { tail -n +"$(( ${3:-0} + 1 ))" -- "$1" 2>/dev/null | grep -qE -- "$2"; }
t_lines() { local n; n=$({ wc -l <"$1"; } 2>/dev/null); echo "${n:-0}"; }

# t_gone PID: the process has exited (no longer exists, or is a zombie).
t_gone() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
	st=${st##*) }
	[ "${st%% *}" = Z ]
}

# t_match WHAT PATTERN TEXT: TEXT contains PATTERN (grep -E).
t_match() { if grep -qE -- "$2" <<<"$3"; then t_ok "$1"; else t_fail "$1"; echo "     wanted /$2/ in: $3"; return 1; fi; }

# t_json EXPR CMD...: CMD prints one JSON document, which must parse, and
# the Python expression EXPR over it (as d) is true. Tests read JSON with a
# parser, never with grep: a match in broken JSON proves nothing.
t_json() { local e=$1; shift; "$@" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if eval(sys.argv[1]) else 1)' "$e" 2>/dev/null; }

count_lines() { local n; n=$(grep -c -- "$1" "$2" 2>/dev/null); echo "${n:-0}"; }
# bash's own clock: no fork of date(1), which a loaded machine once failed
# (an empty $(date) broke the arithmetic of wait_for).
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo $(( 10#$t / 1000 )); }

t_done() {
	t_cleanup
	trap - EXIT
	echo "$T_PASS passed, $T_FAIL failed, $T_SKIP skipped"
	[ "$T_FAIL" -eq 0 ]
}
