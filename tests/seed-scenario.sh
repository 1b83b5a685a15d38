# The field failure of StarlingX bug 2103863, end to end, as one script:
# a locked node whose mgmt and cluster networks are dead, whose process
# monitor reports quorum lost (its quorum process "hwm-absent-sm" never
# runs), and whose lock command has not arrived. (The field report had the
# monitor say "unconfigured"; hostwd now waits for configuration instead of
# counting that, so the story uses a lost quorum.)
#
# The caller sources lib.sh, defines the transport and calls seed_scenario:
#   D                   work dir (all paths below it)
#   NODE_IP[0..2]       node addresses (pxeboot, mgmt, cluster)
#   AGENT_IP[0..2]      agent addresses
#   NODE_PREFIX=(...)   command prefix running a program on the node
#   CTL_PREFIX=(...)    ... on the controller (empty arrays on loopback;
#                       prefixes, not functions, so $! is the daemon itself)
#   net_fail NET        cut NET both ways on the node
#   net_heal NET        restore NET
#   rx_block NET        drop what the node receives on NET (its sends still go out)
#   rx_unblock NET
# Checks are reported with t_check; SEED_LABEL prefixes them.

. "$ROOT/tests/mtc-lib.sh"

SEED_THRESHOLD=4     # bad periods of 1 s before the action
SEED_GRACE=2

seed_write_configs() {
	mkdir -p "$D/node/run" "$D/node/persist" "$D/node/fit" "$D/node/gates" "$D/ctl/fit" "$D/node/hostwd"
	mtc_agent_conf 0
	CONFIGURED_FILE=$D/node/gates/initial_config_complete mtc_client_conf 1 1 1 1
	cat >"$D/hostwd.conf" <<CONF
[watchdog]
device = file:$D/node/watchdog.fifo
timeout = 10
kick_interval = 1
[health]
socket = $D/node/hostwd/health.sock
report_period = 1
failure_threshold = $SEED_THRESHOLD
start_grace = $SEED_GRACE
allowed_uids = 0,$(id -u)
[action]
on_quorum_failure = crashdump
sysrq_path = $D/node/sysrq-trigger
kexec_crash_loaded = $D/node/kexec_crash_loaded
count_file = $D/node/persist/hostwd-actions
console_path = $D/node/console
[lock]
file = $D/node/run/.node_locked
CONF
	cat >"$D/pmon-hook.conf" <<CONF
[hook]
socket = $D/node/hostwd/health.sock
report_period = 1
config_gates = $D/node/gates/goenabled
quorum_processes = hwm-absent-sm
CONF
	: >"$D/node/gates/goenabled"
	: >"$D/node/sysrq-trigger"; echo 1 >"$D/node/kexec_crash_loaded"
	: >"$D/node/console"
	mkfifo "$D/node/watchdog.fifo"
}

seed_kicks() { stat -c %s "$D/node/kicks" 2>/dev/null || echo 0; }
seed_sink() { stat -c %s "$D/node/sysrq-trigger"; }

seed_scenario() {
	local L=${SEED_LABEL:-seed}
	local flag=$D/node/run/.node_locked backup=$D/node/persist/.node_locked
	seed_write_configs
	SEED_T0=$(now_ms)
	SEED_EVENTS=$D/events
	: >"$SEED_EVENTS"
	mark() { echo "$(now_ms) $*" >>"$SEED_EVENTS"; }

	# Controller up; the operator locks node-1 before the node reports.
	"${CTL_PREFIX[@]}" $HWM_WRAP "$BIN/mtcagent" -c "$D/agent.conf" >>"$D/agent.log" 2>&1 &
	T_PIDS+=($!); SEED_AGENT=$!
	t_wait_for 10 "mtcagent's control socket $D/ctl/agent.sock" test -S "$D/ctl/agent.sock"
	"${CTL_PREFIX[@]}" "$BIN/mtcctl" -c "$D/agent.conf" lock node-1 >/dev/null
	mark "operator: mtcctl lock node-1 (node not reporting yet)"

	# The node boots with mgmt and cluster dead, and for the first seconds
	# it cannot receive on pxeboot either: the agent keeps seeing a
	# mismatch, as in the field.
	net_fail mgmt
	net_fail cluster
	rx_block pxeboot
	mark "fault: node mgmt and cluster down; node pxeboot receive blocked"
	cat "$D/node/watchdog.fifo" >"$D/node/kicks" &
	T_PIDS+=($!)
	"${NODE_PREFIX[@]}" $HWM_WRAP "$BIN/mtcclient" -c "$D/client.conf" >>"$D/client.log" 2>&1 &
	T_PIDS+=($!); SEED_CLIENT=$!
	"${NODE_PREFIX[@]}" $HWM_WRAP "$BIN/hostwd" -c "$D/hostwd.conf" >>"$D/hostwd.log" 2>&1 &
	T_PIDS+=($!); SEED_HOSTWD=$!
	t_wait_for 10 "hostwd's health socket $D/node/hostwd/health.sock" test -S "$D/node/hostwd/health.sock"
	"${NODE_PREFIX[@]}" $HWM_WRAP "$BIN/pmon-hook" run -c "$D/pmon-hook.conf" >>"$D/pmon-hook.log" 2>&1 &
	T_PIDS+=($!); SEED_PMON=$!
	t_wait_line "$D/client.log" 'started as '
	t_wait_line "$D/pmon-hook.log" 'started'
	mark "node: mtcclient, hostwd, pmon-hook started (quorum lost: hwm-absent-sm not running)"

	# The agent hears the node's mtcAlives and corrects (the correction is
	# lost); then an absence proof: 1.5 s more (a resend at 1 s) and still
	# no flag.
	t_wait_line "$D/agent.log" 'mtcAlive reporting unlocked while locked ; correcting'
	sleep 1.5
	t_check "$L: lock not delivered while every path into the node is cut" test ! -e "$flag"
	rx_unblock pxeboot
	mark "fault: node pxeboot receive restored (mgmt, cluster still down)"
	wait_for 3 test -e "$flag"
	mark "node: lock flag present"
	t_check "$L: flag written via pxeboot" grep -q 'Locked via pxeboot: lock flag' "$D/client.log"
	t_check "$L: backup written" test -e "$backup"

	# Locked, quorum lost, mgmt/cluster dead: the node must live. Kicks
	# are sampled every second; a 1 s timer against 1 s samples may leave
	# one sample empty by a few ms of jitter, never two in a row.
	local k0 k1 kstart ok=1 idle=0
	k0=$(seed_kicks); kstart=$k0
	for _ in 1 2 3 4 5 6 7; do
		sleep 1   # a sampling window, not a wait
		k1=$(seed_kicks)
		if [ "$k1" -gt "$k0" ]; then idle=0; else idle=$((idle + 1)); fi
		[ "$idle" -lt 2 ] || ok=0
		k0=$k1
		[ "$(seed_sink)" -eq 0 ] || ok=0
	done
	t_check "$L: watchdog kicked throughout while locked ($((k1 - kstart)) kicks in 7 s), sink empty" \
		test "$ok" -eq 1 -a $((k1 - kstart)) -ge 6
	t_check "$L: hostwd suppressed the quorum failure" grep -q 'quorum failure suppressed: node locked' "$D/hostwd.log"
	t_check "$L: suppression logged once" test "$(count_lines 'quorum failure suppressed' "$D/hostwd.log")" -eq 1
	local n
	n=$(count_lines 'node-1 mtcAlive reporting unlocked while locked ; correcting' "$D/agent.log")
	t_check "$L: agent logged the correction exactly once for the episode (got $n)" test "$n" -eq 1
	n=$(grep -c 'Locked (correction' "$D/agent.log")
	t_check "$L: agent resent the correction during the episode ($n sends)" test "$n" -ge 2
	t_check "$L: corrections went out on pxeboot, mgmt and cluster" \
		grep -q 'Locked (correction): pxeboot=sent, mgmt=sent, cluster=sent' "$D/agent.log"
	t_check "$L: no crashdump while locked" test "$(seed_sink)" -eq 0

	# Unlock with mgmt still down: removed via pxeboot, then quorum failure.
	local tu
	tu=$(now_ms)
	"${CTL_PREFIX[@]}" "$BIN/mtcctl" -c "$D/agent.conf" unlock node-1 >/dev/null
	mark "operator: mtcctl unlock node-1 (mgmt, cluster still down)"
	wait_for 3 test ! -e "$flag"
	mark "node: lock flag removed"
	t_check "$L: flag removed via pxeboot after unlock" grep -q 'Unlocked via pxeboot: lock flag' "$D/client.log"
	t_check "$L: backup removed" test ! -e "$backup"
	wait_for $((SEED_THRESHOLD + 3)) test -s "$D/node/sysrq-trigger"
	local ta=$(( $(now_ms) - tu ))
	mark "node: crashdump byte written to sysrq-trigger"
	t_check "$L: crashdump byte 'c' arrives once unlocked (quorum still lost)" grep -qx c "$D/node/sysrq-trigger"
	t_check "$L: within threshold x period + 1 s of unlock (${ta} ms)" test "$ta" -le $(( SEED_THRESHOLD * 1000 + 1000 ))
	for p in "$SEED_AGENT" "$SEED_CLIENT" "$SEED_HOSTWD" "$SEED_PMON"; do
		kill -0 "$p" 2>/dev/null || ok=0
	done
	t_check "$L: no daemon crashed" test "$ok" -eq 1
	SEED_ACTION_MS=$ta
}

# Merge daemon log lines of interest and the scenario marks into one
# timeline, in seconds from the start.
seed_timeline() {
	{
		while read -r ms text; do echo "$ms scenario  $text"; done <"$SEED_EVENTS"
		for f in agent client hostwd; do
			grep -hE 'correcting|Locked \(|Unlocked \(|Locked via|Unlocked via|FIT: .* dropped|suppressed|quorum failure:|quorum restored|restored from backup' \
				"$D/$f.log" 2>/dev/null | while read -r ts rest; do
				# ts is HH:MM:SS.mmm local time of today
				local s ms
				s=$(date -d "$(date +%F) ${ts%.*}" +%s 2>/dev/null) || continue
				ms=$((10#${ts##*.}))
				echo "$((s * 1000 + ms)) ${rest%%\[*}  ${rest#*: *: }"
			done
		done
	} | sort -n | awk -v t0="$SEED_T0" '{ ms = $1; who = $2; $1 = ""; $2 = ""; sub(/^  */, "");
		printf "%+8.3fs  %-10s %s\n", (ms - t0) / 1000.0, who, $0 }'
}
