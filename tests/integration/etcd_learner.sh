#!/usr/bin/env bash
# A learner among the agent's etcd endpoints, listed first (issue 22; as
# during a member replacement: etcdctl member add --learner, the new
# member listed before its promotion). A learner refuses linearizable
# reads, txns and watches in its request interceptor ("rpc not supported
# for learner"), before any proposal: the agent must read, watch and
# write through the voters, answer the operator definitely, and keep
# its health. Root only.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/etcd-lib.sh"
etcd_bed_enter etcd_learner "$0"

mtc_world "$D" 1
store_conf "$D/agent.conf"
etcd_start
# etcd refuses a member add until every member has been connected for a
# while ("unhealthy cluster"): retried, bounded.
add_learner() { ectl member add m4 --learner --peer-urls=http://127.0.0.1:23804 >"$D/add.out" 2>&1; }
t_wait_for 30 "etcd added m4 as a learner" add_learner || { cat "$D/add.out"; t_done; exit; }
CLUSTER="$CLUSTER,m4=http://127.0.0.1:23804"
start_member 4 existing
learner4() { ETCDCTL_API=3 etcdctl --endpoints http://127.0.0.1:23794 --dial-timeout 1s endpoint status -w fields 2>/dev/null | grep -q '"IsLearner" : true'; }
t_wait_for 30 "m4 serves as a learner" learner4 || { t_done; exit; }
sed -i "s|^endpoints = .*|endpoints = http://127.0.0.1:23794,$EPS|" "$D/agent.conf"
ectl put /mtc/admin/node-1 locked >/dev/null
start_agent
start_client
wait_for 15 sh -c "'$BIN/mtcctl' -c '$D/agent.conf' list | grep -qE '^node-1 +locked +locked'"
t_check "the agent read node-1 locked past the learner, and the node is locked" \
	sh -c "test -e '$(flag)' && '$BIN/mtcctl' -c '$D/agent.conf' list | grep -qE '^node-1 +locked +locked'"
store_line() { ctlA list | grep '^store: '; }
t_match "the store is healthy" "^store: etcd .*: healthy" "$(store_line)"
out=$(ctlA unlock node-1 2>&1)
t_match "unlock: committed, a definite answer" "^ok: node-1 unlocked; committed at etcd revision [0-9]+" "$out"
t_wait_for 10 "the node's flag removed" sh -c "! test -e '$(flag)'"
out=$(ctlA lock node-1 2>&1)
t_match "lock: committed, a definite answer" "^ok: node-1 locked; committed at etcd revision [0-9]+" "$out"
t_wait_for 10 "the node's flag written" test -e "$(flag)"
t_check "etcd holds the lock" test "$(etcd_value)" = locked
# A change made in etcd reaches the agent by its watch on a voter.
ectl put /mtc/admin/node-1 unlocked >/dev/null
t_wait_for 10 "etcd's unlock reaches the node (the watch runs on a voter)" sh -c "! test -e '$(flag)'"
t_check "the learner's refusal is named in the agent's log" grep -q 'rpc not supported for learner' "$D/agent.log"
t_check "no write was answered unknown" sh -c "! grep -q 'unknown' '$D/agent.log'"
t_match "the store is still healthy" "^store: etcd .*: healthy" "$(store_line)"
t_done
