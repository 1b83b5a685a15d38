# A local etcd cluster on loopback for tests and benchmarks: member N of
# ETCD_MEMBERS (default 3) serves clients on 127.0.0.1:2379N and peers on
# 127.0.0.1:2380N, data in $D/etcdN. Run it in a private network namespace
# (unshare -n) so the ports are the test's own. Requires lib.sh; $D set.
ETCD_MEMBERS=${ETCD_MEMBERS:-3}
EPS=$(for n in $(seq 1 "$ETCD_MEMBERS"); do printf 'http://127.0.0.1:2379%d,' "$n"; done)
EPS=${EPS%,}
CLUSTER=$(for n in $(seq 1 "$ETCD_MEMBERS"); do printf 'm%d=http://127.0.0.1:2380%d,' "$n" "$n"; done)
CLUSTER=${CLUSTER%,}
declare -A ETCD_PID

# start_member N [new|existing]
start_member() {
	local n=$1
	HWM_WRAP= t_spawn "$D/etcd$n.log" etcd --name "m$n" --data-dir "$D/etcd$n" \
		--listen-client-urls "http://127.0.0.1:2379$n" --advertise-client-urls "http://127.0.0.1:2379$n" \
		--listen-peer-urls "http://127.0.0.1:2380$n" --initial-advertise-peer-urls "http://127.0.0.1:2380$n" \
		--initial-cluster "$CLUSTER" --initial-cluster-state "${2:-new}" --initial-cluster-token "t$$" \
		--heartbeat-interval 100 --election-timeout 500 --logger zap --log-outputs stderr
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
