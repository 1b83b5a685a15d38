# Builds a one-controller, one-node world in $D for mtc tests, the seed
# scenario and the demo: on loopback by default, agent on 127.0.1.1 /
# 127.0.2.1 / 127.0.3.1, node "node-1" on 127.0.1.2 / 127.0.2.2 / 127.0.3.2,
# every path under $D.
# Requires lib.sh (BIN, t_spawn) to be sourced first.

# Addresses per network (pxeboot, mgmt, cluster); callers may set their own
# (the netns harness does) before writing the configs.
[ -n "${AGENT_IP+x}" ] || AGENT_IP=(127.0.1.1 127.0.2.1 127.0.3.1)
[ -n "${NODE_IP+x}" ] || NODE_IP=(127.0.1.2 127.0.2.2 127.0.3.2)

# mtc_world DIR [alive_period]
mtc_world() {
	D=$1
	mkdir -p "$D/node/run" "$D/node/persist" "$D/node/fit" "$D/ctl" "$D/ctl/fit"
	mtc_agent_conf 1
	mtc_client_conf "${2:-1}" 1 1 1
	CTL="$BIN/mtcctl -c $D/agent.conf"
}

# mtc_agent_conf FIT(0|1): a fresh key, agent.conf, hosts.conf (node-1) and
# a saved admin state with node-1 unlocked.
mtc_agent_conf() {
	rm -f "$D/mtc.key"
	"$BIN/mtcctl" keygen "$D/mtc.key" >/dev/null
	cat >"$D/agent.conf" <<CONF
[agent]
hosts_file = $D/hosts.conf
state_file = $D/ctl/admin.state
control_socket = $D/ctl/agent.sock
resend_interval_ms = 1000
[auth]
key_file = $D/mtc.key
[pxeboot]
address = ${AGENT_IP[0]}
[mgmt]
address = ${AGENT_IP[1]}
[cluster]
address = ${AGENT_IP[2]}
CONF
	[ "$1" = 1 ] && printf '[fit]\nenabled = 1\ndir = %s\n' "$D/ctl/fit" >>"$D/agent.conf"
	cat >"$D/hosts.conf" <<CONF
[host node-1]
pxeboot = ${NODE_IP[0]}
mgmt = ${NODE_IP[1]}
cluster = ${NODE_IP[2]}
CONF
	# An operator unlocked node-1 earlier: without saved state the agent
	# would treat it as locked (issue 11).
	mkdir -p "$D/ctl"
	printf 'node-1 unlocked 0\n' >"$D/ctl/admin.state"
}

# mtc_client_conf ALIVE PXE MGMT CLUSTER (1 = provisioned); the node reports
# configured when ${CONFIGURED_FILE:-$D/node/configured} exists.
mtc_client_conf() {
	local pxe=$2 mgmt=$3 cluster=$4
	cat >"$D/client.conf" <<CONF
[client]
hostname = node-1
alive_period = $1
locked_file = $D/node/run/.node_locked
locked_backup = $D/node/persist/.node_locked
configured_file = ${CONFIGURED_FILE:-$D/node/configured}
[auth]
key_file = $D/mtc.key
[pxeboot]
address = $([ "$pxe" = 1 ] && echo "${NODE_IP[0]}")
agent_address = ${AGENT_IP[0]}
[mgmt]
address = $([ "$mgmt" = 1 ] && echo "${NODE_IP[1]}")
agent_address = ${AGENT_IP[1]}
[cluster]
address = $([ "$cluster" = 1 ] && echo "${NODE_IP[2]}")
agent_address = ${AGENT_IP[2]}
[fit]
enabled = 1
dir = $D/node/fit
CONF
}

# Both return once the daemon is up: the agent's control socket exists, the
# client logged its start (below the lines its log already had).
start_agent() { t_spawn "$D/agent.log" "$BIN/mtcagent" -c "$D/agent.conf"; AGENT_PID=$T_LAST_PID; t_wait_for 10 "mtcagent's control socket $D/ctl/agent.sock" test -S "$D/ctl/agent.sock"; }
start_client() { local n; n=$(t_lines "$D/client.log"); t_spawn "$D/client.log" "$BIN/mtcclient" -c "$D/client.conf"; CLIENT_PID=$T_LAST_PID; t_wait_line "$D/client.log" 'started as ' "$n"; }
stop_pid() { kill -TERM "$1" 2>/dev/null; wait "$1" 2>/dev/null; }
ctl() { "$BIN/mtcctl" -c "$D/agent.conf" "$@"; }

# Fail a network on the node both ways with FIT (the client drops what it
# would send and what it receives there).
fit_fail_net() { : >"$D/node/fit/drop_rx_$1"; : >"$D/node/fit/drop_tx_$1"; }
fit_heal_net() { rm -f "$D/node/fit/drop_rx_$1" "$D/node/fit/drop_tx_$1"; }

# start_capture ADDR PORT OUT SECONDS: netpoke takes one datagram sent to
# ADDR:PORT within SECONDS into OUT (hex); returns once its socket is bound
# (python3 may take a second to get there). CAP: its pid, to wait for.
start_capture() {
	python3 "$ROOT/tests/tools/netpoke.py" udp-capture "$1" "$2" "$3" "$4" 1 "$3.ready" &
	CAP=$!
	t_wait_for 15 "the capture socket on $1:$2 (netpoke ready file)" test -e "$3.ready"
}

flag() { echo "$D/node/run/.node_locked"; }
backup() { echo "$D/node/persist/.node_locked"; }
