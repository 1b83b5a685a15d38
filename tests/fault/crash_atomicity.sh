#!/usr/bin/env bash
# Lock/unlock cycles with the client killed by SIGKILL at random points.
# After every kill the flag and its backup must each be absent or complete;
# after the restart's recovery they must agree. CYCLES (default 1000).
# The recovery run is cut off from the agent (FIT drops both ways on every
# network), so what the check sees is the restore alone, not a correction
# the agent sent to it and the kill interrupted.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mtc-lib.sh"
CYCLES=${CYCLES:-1000}
t_tmpdir
mtc_world "$T_DIR" 1
want=$(printf 'node locked by mtcAgent\nhost=node-1\n')
start_agent

file_ok() { # absent, or exactly the expected content
	[ ! -e "$1" ] && return 0
	[ "$(cat "$1")" = "$want" ]
}

# started LOG PID: wait (at most 10 s, sanitizer builds on a busy machine
# start slowly) until the client PID has logged its start in LOG, which it
# does only after restoring the flag. The line must come from PID: a `>LOG`
# redirection is applied by the forked child, possibly after `&` returned,
# so LOG could still hold an earlier run's start line when the wait began;
# matching that one killed the recovery run before it had restored anything
# (a cycle killed between the two files then failed the agreement check).
# LOG is also emptied before the start, so it holds this run's lines only.
started() {
	local n
	for n in $(seq 1 1000); do
		grep -q "mtcclient\[$2\]: .*started as node-1 (boot" "$1" && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.01
	done
	grep -q "mtcclient\[$2\]: .*started as node-1 (boot" "$1"
}

torn=0 inconsistent=0 applied=0 between=0 nostart=0 start_ms=$(now_ms)
for i in $(seq 1 "$CYCLES"); do
	"$BIN/mtcclient" -c "$D/client.conf" >>"$D/client.log" 2>&1 &
	pid=$!
	# Let the client restore and send its first mtcAlive (agent learns the nonce).
	started "$D/client.log" "$pid" || nostart=$((nostart + 1))
	if [ $((i % 2)) -eq 1 ]; then verb=lock; else verb=unlock; fi
	# Kill 0-15 ms after sending the request: before the command arrives,
	# during the fsync'd writes (about a millisecond), or after them.
	"$BIN/mtcctl" -c "$D/agent.conf" "$verb" node-1 >/dev/null &
	ctl_pid=$!
	sleep "0.0$(printf '%02d' $((RANDOM % 16)))"
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	wait "$ctl_pid" 2>/dev/null
	if ! file_ok "$(flag)" || ! file_ok "$(backup)"; then
		torn=$((torn + 1))
		echo "cycle $i ($verb): torn file: flag=[$(cat "$(flag)" 2>/dev/null)] backup=[$(cat "$(backup)" 2>/dev/null)]"
	fi
	[ -e "$(flag)" ] && [ "$verb" = lock ] && applied=$((applied + 1))
	# Killed between the two files (backup written or removed, flag not yet).
	f=0; b=0; [ -e "$(flag)" ] && f=1; [ -e "$(backup)" ] && b=1
	[ "$f" -ne "$b" ] && between=$((between + 1))
	before="flag=$f backup=$b"
	# Recovery at the next start makes them agree (start, let it restore, kill).
	for net in pxeboot mgmt cluster; do fit_fail_net $net; done
	: >"$D/restore.log"
	"$BIN/mtcclient" -c "$D/client.conf" >>"$D/restore.log" 2>&1 &
	pid=$!
	if ! started "$D/restore.log" "$pid"; then
		nostart=$((nostart + 1))
		echo "cycle $i ($verb): the restarted client did not log its start within 10 s"
	fi
	kill -9 "$pid"; wait "$pid" 2>/dev/null
	for net in pxeboot mgmt cluster; do fit_heal_net $net; done
	f=0; b=0; [ -e "$(flag)" ] && f=1; [ -e "$(backup)" ] && b=1
	if [ "$f" -ne "$b" ]; then
		inconsistent=$((inconsistent + 1))
		echo "cycle $i ($verb): after recovery flag=$f backup=$b (before it $before); the recovery run logged:"
		sed 's/^/     /' "$D/restore.log"
	fi
	: >"$D/client.log"
done
elapsed=$(( $(now_ms) - start_ms ))
echo "crash atomicity: $CYCLES cycles in ${elapsed} ms, lock applied before the kill in $applied of $((CYCLES / 2 + CYCLES % 2)) lock cycles, killed between flag and backup $between times"
t_check "no torn flag or backup after $CYCLES SIGKILLs" test "$torn" -eq 0
t_check "every client started within 10 s ($nostart did not)" test "$nostart" -eq 0
t_check "flag and backup agree after every recovery" test "$inconsistent" -eq 0
t_check "the kills landed on both sides of the write (applied $applied)" test "$applied" -gt 0 -a "$applied" -lt $((CYCLES / 2 + CYCLES % 2))
t_done
