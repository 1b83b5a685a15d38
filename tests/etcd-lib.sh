# A local etcd cluster on loopback for tests and benchmarks: member N of
# ETCD_MEMBERS (default 3) serves clients on 127.0.0.1:2379N and peers on
# 127.0.0.1:2380N, data in $D/etcdN. A quiet watch gets a progress
# notification every 2 s (docs/operations.md: the agent moves a watch that
# brings no byte for 10 s to the next member). Run it in a private network namespace
# (unshare -n) so the ports are the test's own. Requires lib.sh; $D set.
# ETCD_DATA_DIR: where the members' data dirs go instead of $D (a
# benchmark's tmpfs figure, to take the disk's fsync out).
ETCD_MEMBERS=${ETCD_MEMBERS:-3}
# ETCD_ELECTION_MS: the members' election timeout (default 500 ms; etcd's own is 1000)
# empty: etcd's default (10 minutes), as a member started without the flag
ETCD_PROGRESS_NOTIFY=${ETCD_PROGRESS_NOTIFY-2s}
EPS=$(for n in $(seq 1 "$ETCD_MEMBERS"); do printf 'http://127.0.0.1:2379%d,' "$n"; done)
EPS=${EPS%,}
CLUSTER=$(for n in $(seq 1 "$ETCD_MEMBERS"); do printf 'm%d=http://127.0.0.1:2380%d,' "$n" "$n"; done)
CLUSTER=${CLUSTER%,}
declare -A ETCD_PID

# start_member N [new|existing]
start_member() {
	local n=$1
	HWM_WRAP= t_spawn "$D/etcd$n.log" etcd --name "m$n" --data-dir "${ETCD_DATA_DIR:-$D}/etcd$n" \
		--listen-client-urls "http://127.0.0.1:2379$n" --advertise-client-urls "http://127.0.0.1:2379$n" \
		--listen-peer-urls "http://127.0.0.1:2380$n" --initial-advertise-peer-urls "http://127.0.0.1:2380$n" \
		--initial-cluster "$CLUSTER" --initial-cluster-state "${2:-new}" --initial-cluster-token "t$$" \
		--heartbeat-interval 100 --election-timeout "${ETCD_ELECTION_MS:-500}" --logger zap --log-outputs stderr \
		${ETCD_PROGRESS_NOTIFY:+--experimental-watch-progress-notify-interval "$ETCD_PROGRESS_NOTIFY"}
	ETCD_PID[$n]=$T_LAST_PID
}
ectl() { ETCDCTL_API=3 etcdctl --endpoints "$EPS" --dial-timeout 1s --command-timeout 2s "$@"; }
healthy() { ectl endpoint health >/dev/null 2>&1; }

# Every member, then until the cluster answers.
etcd_start() {
	local n
	for n in $(seq 1 "$ETCD_MEMBERS"); do start_member "$n"; done
	t_wait_for 30 "etcd cluster healthy" healthy
}

# store_conf AGENT_CONF: [agent] store = etcd on this cluster, prefix /mtc/admin/.
store_conf() {
	printf '[etcd]\nendpoints = %s\nprefix = /mtc/admin/\n' "$EPS" >>"$1"
	sed -i "s|^\[agent\]|[agent]\nstore = etcd|" "$1"
}

# etcd_put_states < "HOST locked|unlocked" lines: the keys the etcd store
# writes (PREFIX+HOST, the plain value), 100 puts per transaction.
etcd_put_states() {
	local batch=() host state
	while read -r host state; do
		batch+=("put /mtc/admin/$host $state")
		if [ "${#batch[@]}" -eq 100 ]; then
			printf '\n%s\n\n\n' "$(printf '%s\n' "${batch[@]}")" | ectl txn >/dev/null || return 1
			batch=()
		fi
	done
	[ "${#batch[@]}" -eq 0 ] || printf '\n%s\n\n\n' "$(printf '%s\n' "${batch[@]}")" | ectl txn >/dev/null
}

# etcd_bed_enter WHAT SCRIPT [COMMAND...]: the prelude of a test on this bed.
# Skips (and exits) without root, etcd, a network namespace or one of the
# COMMANDs; otherwise re-runs SCRIPT once in a private network namespace
# with lo up, then sets up $D (mtc-lib.sh sourced; ETCD_TEST_KEEP=DIR keeps
# a copy of the logs) and the addresses of agents A and B and the node.
etcd_bed_enter() {
	local what=$1 script=$2 c
	shift 2
	if [ "$(id -u)" -ne 0 ]; then t_skip "$what: needs root (private network namespace)"; t_done; exit; fi
	for c in etcd "$@"; do
		command -v "$c" >/dev/null && continue
		t_skip "$what: $c not installed (bash scripts/install-deps.sh)"; t_done; exit
	done
	if ! unshare -n true 2>/dev/null; then t_skip "$what: cannot create a network namespace here (unshare -n)"; t_done; exit; fi
	if [ -z "${ETCD_TEST_NETNS:-}" ]; then
		exec unshare -n env ETCD_TEST_NETNS=1 bash -c 'ip link set lo up && exec bash "$0"' "$script"
	fi
	. "$ROOT/tests/mtc-lib.sh"
	t_tmpdir
	D=$T_DIR
	[ -n "${ETCD_TEST_KEEP:-}" ] && T_CLEANUP+=("cp -r $D/. ${ETCD_TEST_KEEP:-}/")
	AGENT_IP=(127.0.1.1 127.0.2.1 127.0.3.1)
	B_IP=(127.0.1.3 127.0.2.3 127.0.3.3)
	NODE_IP=(127.0.1.2 127.0.2.2 127.0.3.2)
}

# Agent B beside agent A on a bed (etcd_bed_enter's AGENT_IP, B_IP):
# b_conf_from BASE OUT writes B's config from A's BASE (B's addresses,
# control socket and log); client_hears_b lets the node's client take
# commands from both agents.
b_conf_from() {
	sed -e "s|${AGENT_IP[0]}|${B_IP[0]}|; s|${AGENT_IP[1]}|${B_IP[1]}|; s|${AGENT_IP[2]}|${B_IP[2]}|" \
		-e "s|$D/ctl/agent.sock|$D/ctl/agentB.sock|" "$1" >"$2"
}
client_hears_b() {
	local i
	for i in 0 1 2; do
		sed -i "s|^agent_address = ${AGENT_IP[$i]}\$|agent_address = ${AGENT_IP[$i]},${B_IP[$i]}|" "$D/client.conf"
	done
}
ctlA() { "$BIN/mtcctl" -c "$D/agent.conf" "$@"; }
ctlB() { "$BIN/mtcctl" -c "$D/agentB.conf" "$@"; }
locked() { test -e "$(flag)"; }
unlocked() { ! test -e "$(flag)"; }
# node-1's key in etcd: its value, its mod_revision.
etcd_value() { ectl get --print-value-only /mtc/admin/node-1; }
modrev() { ectl get /mtc/admin/node-1 -w fields | sed -n 's/^"ModRevision" : //p'; }
