# Stress mode (STRESS=1): a machine made slow on purpose, so readiness races
# show up here and not on a fresh CI machine: STRESS_HOGS busy loops
# (default 2, each ending by itself after STRESS_MAX_S, default 3600, and
# killed when the caller exits) and a python3 that sleeps STRESS_PY_DELAY s
# (default 1) before it starts, put first on PATH (tests call python3
# through PATH, never by absolute path).
# Sourced by run-all.sh; one suite under stress:
#   bash tests/stress.sh bash tests/integration/mtc.sh
STRESS_PIDS=()
STRESS_DIR=

stress_stop() {
	local p
	for p in "${STRESS_PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null; done
	for p in "${STRESS_PIDS[@]:-}"; do [ -n "$p" ] && wait "$p" 2>/dev/null; done
	STRESS_PIDS=()
	[ -z "$STRESS_DIR" ] || rm -rf "$STRESS_DIR"
	STRESS_DIR=
}

stress_start() {
	local real_python _
	STRESS_DIR=$(mktemp -d /tmp/hwm-stress.XXXXXX)
	trap stress_stop EXIT
	trap 'exit 130' INT TERM
	real_python=$(command -v python3)
	cat >"$STRESS_DIR/python3" <<SH
#!/bin/sh
# stress mode: a python3 that starts late, as on a fresh or loaded machine
sleep ${STRESS_PY_DELAY:-1}
exec $real_python "\$@"
SH
	chmod 755 "$STRESS_DIR/python3"
	export PATH=$STRESS_DIR:$PATH
	for _ in $(seq 1 "${STRESS_HOGS:-2}"); do
		# The subshell's loop is the hog itself: killing its pid stops it.
		( end=$((SECONDS + ${STRESS_MAX_S:-3600})); while [ "$SECONDS" -lt "$end" ]; do :; done ) &
		STRESS_PIDS+=($!)
	done
	echo "stress mode: ON (${STRESS_HOGS:-2} CPU hogs for at most ${STRESS_MAX_S:-3600} s, python3 starts ${STRESS_PY_DELAY:-1} s late)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	[ $# -gt 0 ] || { echo "usage: bash tests/stress.sh COMMAND [ARG...]" >&2; exit 2; }
	stress_start
	"$@"
	exit $?
fi
