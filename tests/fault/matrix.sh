#!/usr/bin/env bash
# Fault matrix in network namespaces. Each cell: the state of pxeboot, mgmt
# and cluster (up | down | flap), the operator action (lock | unlock), and a
# fault (none | kill-client | kill-agent | reboot). pmon-hook reports the
# node configured with quorum lost throughout (its quorum process never
# runs), so hostwd wants to act whenever it may.
# Invariants per cell:
#  - with at least one network not down, the flag converges to the admin
#    state within CONV_BOUND_MS, or FLAP_BOUND_MS when every path flaps
#    (time printed);
#  - lock cells: from the moment the flag lands, hostwd (no grace, threshold
#    T) never writes the crashdump byte and logs the suppression, through
#    the fault (in production start_grace covers the boot-time delivery
#    window before the flag lands; it is not what is measured here);
#  - unlock cells: hostwd runs from the start, suppressed while locked; the
#    crashdump byte arrives within T x period + 1 s of the flag's removal;
#    with no path the node keeps its flag and is never crashdumped;
#  - no daemon dies except those the fault kills (which are restarted).
# FULL=1: all 216 cells (make fault). Default: a representative subset.
# CELLS="p m c action fault;...": those cells only.
# STORE=etcd: the agent keeps admin state in a one-member etcd in the
# controller namespace ([agent] store = etcd; its data in the temp dir, its
# ports on that namespace's loopback only); default cells: a subset.
# NODES workers (node namespaces) run cells in parallel against one agent.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/fault/netns-lib.sh"
STORE=${STORE:-file}
if ! netns_can_run; then
	t_skip "fault matrix (store = $STORE): skipped: needs root, ip and nft"
	t_done
	exit 0
fi
case $STORE in
file) ;;
etcd)
	if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
		t_skip "fault matrix (store = etcd): skipped: etcd not installed (apt-get install etcd-server etcd-client)"
		t_done
		exit 0
	fi ;;
*) t_fail "fault matrix: STORE=$STORE: file or etcd"; t_done; exit 1 ;;
esac
NODES=${NODES:-3}
CONV_BOUND_MS=10000
# A flapping link is up about half the time and the node sends one mtcAlive
# a second, so with only flapping paths the wait for a round trip that gets
# through is geometric: P(none in 10 s) is about 2^-10, which failed a CI
# run once; 30 s makes it about 2^-30.
FLAP_BOUND_MS=30000
G=0 T=2     # hostwd start_grace and failure_threshold, 1 s periods
t_tmpdir
D=$T_DIR
netns_setup "$NODES" || { t_fail "could not build namespaces"; t_done; exit 1; }
CTL=$(netns_ctl)
"$BIN/mtcctl" keygen "$D/mtc.key" >/dev/null

cat >"$D/agent.conf" <<CONF
[agent]
hosts_file = $D/hosts.conf
state_file = $D/admin.state
control_socket = $D/agent.sock
resend_interval_ms = 1000
[auth]
key_file = $D/mtc.key
[pxeboot]
address = $(netns_ctl_ip 0)
[mgmt]
address = $(netns_ctl_ip 1)
[cluster]
address = $(netns_ctl_ip 2)
CONF
: >"$D/hosts.conf"
for i in $(seq 1 "$NODES"); do
	printf '[host node-%d]\npxeboot = %s\nmgmt = %s\ncluster = %s\n' "$i" \
		"$(netns_node_ip "$i" 0)" "$(netns_node_ip "$i" 1)" "$(netns_node_ip "$i" 2)" >>"$D/hosts.conf"
	echo "node-$i unlocked 0" >>"$D/admin.state"   # known state: unknown would be locked
done

ETCD_EP=http://127.0.0.1:2379
ectl() { ip netns exec "$CTL" env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_EP" --dial-timeout 1s --command-timeout 2s "$@"; }
etcd_healthy() { ectl endpoint health >/dev/null 2>&1; }
etcd_start() {
	# In the controller namespace: its ports exist nowhere else.
	ip netns exec "$CTL" etcd --name m1 --data-dir "$D/etcd" \
		--listen-client-urls "$ETCD_EP" --advertise-client-urls "$ETCD_EP" \
		--listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
		--initial-cluster m1=http://127.0.0.1:2380 --initial-cluster-token "t$$" \
		--heartbeat-interval 100 --election-timeout 500 --logger zap --log-outputs stderr \
		--experimental-watch-progress-notify-interval 2s >>"$D/etcd.log" 2>&1 &
	echo $! >"$D/etcd.pid"
	disown $!
	T_CLEANUP+=("kill \$(cat $D/etcd.pid) 2>/dev/null")
	t_wait_for 30 "etcd healthy in the controller namespace" etcd_healthy || return 1
	for i in $(seq 1 "$NODES"); do
		ectl put "/mtc/admin/node-$i" unlocked >/dev/null || return 1   # known state, as admin.state above
	done
	sed -i 's|^\[agent\]|[agent]\nstore = etcd|' "$D/agent.conf"
	printf '[etcd]\nendpoints = %s\nprefix = /mtc/admin/\n' "$ETCD_EP" >>"$D/agent.conf"
}
if [ "$STORE" = etcd ]; then
	etcd_start || { t_fail "could not start etcd"; tail -20 "$D/etcd.log"; t_done; exit 1; }
fi

agent_start() {
	# 9>&-: the agent must not inherit agent_restart's lock fd.
	ip netns exec "$CTL" "$BIN/mtcagent" -c "$D/agent.conf" >>"$D/agent.log" 2>&1 9>&- &
	echo $! >"$D/agent.pid"
	disown $!
	t_wait_for 10 "mtcagent's control socket $D/agent.sock" test -S "$D/agent.sock"
}
agent_restart() { # kill -9 and restart, serialised between workers
	(
		flock 9
		local old
		old=$(cat "$D/agent.pid")
		kill -9 "$old" 2>/dev/null
		wait_for 5 t_gone "$old"   # its ports are free once it is gone
		rm -f "$D/agent.sock"
		agent_start
	) 9>"$D/agent.lock"
}
agent_start
T_CLEANUP+=("kill \$(cat $D/agent.pid) 2>/dev/null")
ctl() { # retries while another worker restarts the agent (exit 3)
	local n rc
	for n in $(seq 1 50); do
		"$BIN/mtcctl" -c "$D/agent.conf" "$@" 2>/dev/null && return 0
		rc=$?
		[ "$rc" -eq 3 ] || return "$rc"
		sleep 0.1
	done
	return 3
}

node_conf() { # i dir
	local i=$1 N=$2
	mkdir -p "$N/run" "$N/persist" "$N/hostwd" "$N/gates"
	cat >"$N/client.conf" <<CONF
[client]
hostname = node-$i
alive_period = 1
locked_file = $N/run/.node_locked
locked_backup = $N/persist/.node_locked
configured_file = $N/gates/configured
[auth]
key_file = $D/mtc.key
[pxeboot]
address = $(netns_node_ip "$i" 0)
agent_address = $(netns_ctl_ip 0)
[mgmt]
address = $(netns_node_ip "$i" 1)
agent_address = $(netns_ctl_ip 1)
[cluster]
address = $(netns_node_ip "$i" 2)
agent_address = $(netns_ctl_ip 2)
CONF
	cat >"$N/hostwd.conf" <<CONF
[watchdog]
device = file:$N/kicks
timeout = 10
kick_interval = 1
[health]
socket = $N/hostwd/health.sock
report_period = 1
failure_threshold = $T
start_grace = $G
[action]
sysrq_path = $N/sysrq
kexec_crash_loaded = $N/kexec_crash_loaded
count_file = $N/persist/hostwd-actions
console_path =
[lock]
file = $N/run/.node_locked
CONF
	# configured (an unconfigured node is never acted on), quorum lost
	printf '[hook]\nsocket = %s\nreport_period = 1\nconfig_gates = %s\nquorum_processes = hwm-absent-mon\n' \
		"$N/hostwd/health.sock" "$N/gates/hook-configured" >"$N/hook.conf"
	: >"$N/gates/hook-configured"
	: >"$N/sysrq"; echo 1 >"$N/kexec_crash_loaded"
}

node_run() { # i dir daemon -> pid in $N/$daemon.pid
	local nd
	nd=$(netns_node "$1")
	case $3 in
	client) ip netns exec "$nd" "$BIN/mtcclient" -c "$2/client.conf" >>"$2/client.log" 2>&1 & ;;
	hostwd) ip netns exec "$nd" "$BIN/hostwd" -c "$2/hostwd.conf" >>"$2/hostwd.log" 2>&1 & ;;
	hook) ip netns exec "$nd" "$BIN/pmon-hook" run -c "$2/hook.conf" >>"$2/hook.log" 2>&1 & ;;
	esac
	echo $! >"$2/$3.pid"
	disown $!
}
node_kill() { kill -9 "$(cat "$2/$3.pid" 2>/dev/null)" 2>/dev/null; }
node_gone() { local p; p=$(cat "$2/$3.pid" 2>/dev/null) || return 0; t_gone "$p"; }
node_all_gone() { node_gone "$1" "$2" client && node_gone "$1" "$2" hostwd && node_gone "$1" "$2" hook; }
node_alive() { kill -0 "$(cat "$2/$3.pid" 2>/dev/null)" 2>/dev/null; }

flapper() { # i net dir: link down/up at random 0.2-0.6 s, bounded
	local n=0
	while [ ! -e "$3/stop-flap" ] && [ $n -lt 80 ]; do
		netns_link "$1" "$2" down
		sleep "0.$((2 + RANDOM % 5))"
		netns_link "$1" "$2" up
		sleep "0.$((2 + RANDOM % 5))"
		n=$((n + 1))
	done
	netns_link "$1" "$2" up
}

flag_is() { # dir want(0|1)
	if [ "$2" = 1 ]; then [ -e "$1/run/.node_locked" ]; else [ ! -e "$1/run/.node_locked" ]; fi
}

# One cell on node i; prints one result row to stdout.
cell() { # i pxe mgmt cluster action fault
	local i=$1 action=$5 fault=$6 N=$D/n$1 nets=("$2" "$3" "$4")
	local k want init any_path=0 steady_path=0 conv=-1 verdict=pass why="" bound
	local nd
	nd=$(netns_node "$i")
	rm -rf "$N"; node_conf "$i" "$N"
	ip netns exec "$nd" nft flush chain inet hwm input
	ip netns exec "$nd" nft flush chain inet hwm output
	for k in pxeboot mgmt cluster; do netns_link "$i" "$k" up; done
	[ "$action" = lock ] && want=1 init=unlock || want=0 init=lock
	ctl "$init" "node-$i" >/dev/null
	if [ "$init" = lock ]; then
		printf 'node locked by mtcAgent\nhost=node-%d\n' "$i" >"$N/persist/.node_locked"
	fi
	node_run "$i" "$N" client
	if [ "$action" = unlock ]; then
		node_run "$i" "$N" hostwd
		wait_for 10 test -S "$N/hostwd/health.sock" || { verdict=FAIL; why="hostwd socket not up in 10 s;"; }
	fi
	node_run "$i" "$N" hook
	wait_for 10 sh -c "'$BIN/mtcctl' -c '$D/agent.conf' list 2>/dev/null | grep -q '^node-$i *${init}ed *${init}ed'" ||
		{ verdict=FAIL; why="no initial sync;"; }
	for k in 0 1 2; do
		case ${nets[$k]} in
		down) netns_drop "$i" "${NETNS_NETS[$k]}" both ;;
		flap) any_path=1; flapper "$i" "${NETNS_NETS[$k]}" "$N" & echo $! >>"$N/flappers" ;;
		up) any_path=1; steady_path=1 ;;
		esac
	done
	bound=$CONV_BOUND_MS; [ "$steady_path" = 1 ] || bound=$FLAP_BOUND_MS
	local t0 tfault
	t0=$(now_ms)
	ctl "$action" "node-$i" >/dev/null
	# Deliberate: the fault lands 0.2 s into the delivery.
	[ "$fault" = none ] || sleep 0.2
	case $fault in
	kill-client) node_kill "$i" "$N" client; wait_for 5 node_gone "$i" "$N" client; node_run "$i" "$N" client ;;
	kill-agent) agent_restart ;;
	reboot)
		local had_hostwd=0
		node_alive "$i" "$N" hostwd && had_hostwd=1
		node_kill "$i" "$N" client; node_kill "$i" "$N" hostwd; node_kill "$i" "$N" hook
		rm -rf "$N/run"; mkdir -p "$N/run"   # volatile storage is gone, persist/ survives
		wait_for 5 node_all_gone "$i" "$N"
		node_run "$i" "$N" client  # restores the flag before hostwd starts
		if [ "$had_hostwd" = 1 ]; then
			node_run "$i" "$N" hostwd
			wait_for 10 test -S "$N/hostwd/health.sock"
		fi
		node_run "$i" "$N" hook ;;
	esac
	if [ "$any_path" = 1 ]; then
		if wait_for $((bound / 1000)) flag_is "$N" "$want"; then
			conv=$(( $(now_ms) - t0 ))
		else
			verdict=FAIL; why="$why no convergence in ${bound} ms;"
		fi
	fi
	if [ "$action" = lock ]; then
		if [ "$conv" -ge 0 ]; then
			# Locked now: hostwd without grace must never act, through the rest
			# of the fault, and must say it suppressed.
			node_alive "$i" "$N" hostwd || node_run "$i" "$N" hostwd
			# Absence proof: T + 1.5 periods with no crashdump byte; then
			# the suppression must have been logged (waited for, bounded).
			sleep "$((T + 1)).5"
			if [ -s "$N/sysrq" ]; then verdict=FAIL; why="$why crashdump while locked;"; fi
			wait_for 5 grep -q 'quorum failure suppressed: node locked' "$N/hostwd.log" ||
				{ verdict=FAIL; why="$why no suppression logged;"; }
		else
			why="$why no path: lock cannot arrive;"
		fi
	elif [ "$conv" -ge 0 ]; then
		local deadline=$((t0 + conv + T * 1000 + 1000)) ta
		wait_for $(( (deadline - $(now_ms)) / 1000 + 2 )) test -s "$N/sysrq"
		ta=$(now_ms)
		if ! grep -qx c "$N/sysrq"; then verdict=FAIL; why="$why no crashdump after unlock;"
		elif [ "$ta" -gt $((deadline + 150)) ]; then verdict=FAIL; why="$why crashdump late by $((ta - deadline)) ms;"; fi
	else
		# No path: the node cannot hear the unlock; it must stay locked.
		# Absence proof over T + 1.5 periods.
		sleep "$((T + 1)).5"
		flag_is "$N" 1 || { verdict=FAIL; why="$why flag lost without an unlock;"; }
		[ -s "$N/sysrq" ] && { verdict=FAIL; why="$why crashdump while still locked;"; }
		why="$why no path: unlock cannot arrive, node stays locked;"
	fi
	for p in client hostwd hook; do
		[ -s "$N/$p.pid" ] || continue
		node_alive "$i" "$N" "$p" || { verdict=FAIL; why="$why $p died;"; }
	done
	: >"$N/stop-flap"
	[ -f "$N/flappers" ] && while read -r fp; do wait "$fp" 2>/dev/null; done <"$N/flappers"
	for p in client hostwd hook; do node_kill "$i" "$N" "$p"; done
	# Keep the evidence of a failed cell.
	if [ "$verdict" != pass ]; then
		cp -r "$N" "$D/failed-$2-$3-$4-$action-$fault"
		# The agent is shared: keep its lines about this node and its sockets.
		grep -E "node-$i[: ]|socket|receive|FIT" "$D/agent.log" >"$D/failed-$2-$3-$4-$action-$fault/agent.log"
	fi
	printf '%-8s %-8s %-8s %-7s %-12s %-5s %8s  %s\n' "$2" "$3" "$4" "$action" "$fault" "$verdict" \
		"$([ "$conv" -ge 0 ] && echo "${conv}ms" || echo -)" "$why"
}

# The cell list.
cells=()
if [ -n "${CELLS:-}" ]; then
	IFS=';' read -r -a cells <<<"$CELLS"   # e.g. CELLS="up down down lock none;flap up up unlock reboot"
elif [ "${FULL:-0}" = 1 ]; then
	for p in up down flap; do for m in up down flap; do for c in up down flap; do
		for a in lock unlock; do for f in none kill-client kill-agent reboot; do
			cells+=("$p $m $c $a $f")
		done; done
	done; done; done
elif [ "$STORE" = etcd ]; then
	cells=(
		"up down down lock none"          # the field failure, the lock put in etcd
		"down up up unlock none"          # pxeboot down
		"flap down down lock none"        # the only path flaps
		"flap flap flap unlock none"      # every path flaps
		"up down down lock kill-agent"    # the restarted agent reads etcd again
		"up down down unlock kill-agent"
		"down up down lock reboot"
		"up up up unlock kill-client"
		"down down down unlock none"      # no path: the node must stay locked
	)
else
	cells=(
		"up down down lock none"          # the field failure
		"up down down unlock none"
		"up down down lock reboot"
		"up down down lock kill-agent"
		"down up down lock kill-client"
		"down down up unlock none"
		"flap down down lock none"
		"up up up unlock kill-client"
		"down down down lock none"        # no path: reported, not a failure
		"down down down unlock none"      # no path: the node must stay locked
	)
fi

echo "fault matrix: ${#cells[@]} cells on $NODES parallel nodes, store = $STORE (hostwd grace ${G} s, threshold ${T} x 1 s periods)"
start=$(now_ms)
for w in $(seq 1 "$NODES"); do
	(
		j=0
		for c in "${cells[@]}"; do
			if [ $((j % NODES + 1)) -eq "$w" ]; then
				# shellcheck disable=SC2086
				cell "$w" $c
			fi
			j=$((j + 1))
		done >"$D/rows.$w"
	) &
	T_PIDS+=($!)
done
for w in $(seq 1 "$NODES"); do wait "${T_PIDS[-$w]}" 2>/dev/null; done
T_PIDS=()
printf '%-8s %-8s %-8s %-7s %-12s %-5s %8s  %s\n' PXEBOOT MGMT CLUSTER ACTION FAULT CELL CONVERGE NOTE
sort -k1,1 -k2,2 -k3,3 -k4,4 -k5,5 "$D"/rows.* | tee "$D/rows"
while read -r line; do
	case $line in
	*" pass "*) T_PASS=$((T_PASS + 1)) ;;
	*) T_FAIL=$((T_FAIL + 1)) ;;
	esac
done <"$D/rows"
[ "$(wc -l <"$D/rows")" -eq "${#cells[@]}" ] || { echo "missing rows"; T_FAIL=$((T_FAIL + 1)); }
conv=$(awk '$7 ~ /ms$/ { v = $7; sub(/ms/, "", v); print v }' "$D/rows" | sort -n)
if [ -n "$conv" ]; then
	n=$(echo "$conv" | wc -l)
	echo "convergence over $n cells: p50 $(echo "$conv" | sed -n "$(( (n + 1) / 2 ))p") ms, max $(echo "$conv" | tail -1) ms"
fi
echo "matrix wall time: $(( ($(now_ms) - start) / 1000 )) s"
if [ "$STORE" = etcd ]; then
	t_check "store = etcd: the agent served from etcd, healthy at the end" sh -c \
		"'$BIN/mtcctl' -c '$D/agent.conf' list | grep -q '^store: etcd $ETCD_EP prefix /mtc/admin/: healthy'"
	t_check "store = etcd: every lock/unlock went through etcd (revision $(ectl get /mtc/admin/node-1 -w fields | sed -n 's/^"Revision" : //p') after ${#cells[@]} cells)" \
		test "$(grep -c 'admin state .*(operator request, committed at etcd revision' "$D/agent.log")" -ge $((2 * ${#cells[@]}))
fi
for f in "$D"/failed-*; do
	[ -d "$f" ] || continue
	echo "=== evidence for ${f##*/failed-}"
	for l in client hostwd hook agent; do echo "--- $l.log (tail)"; tail -15 "$f/$l.log" 2>/dev/null; done
done
t_done
