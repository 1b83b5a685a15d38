#!/usr/bin/env bash
# What an operator is told when a write may have committed, against a real
# 3-member etcd (issue 22; found by review, 2026-12-03):
# 1. the member took the txn, etcd committed it, and the member is gone
#    before its reply (a relay drops the reply and closes its port): libcurl
#    silently sends the request again on a new connection, which is
#    refused. The answer must be "unknown ... may still commit", never
#    "not changed": etcd holds the unlock.
# 2. an unlock to a leader whose two followers just stopped (SIGSTOP,
#    within an election timeout: it still believes it leads): the writer's
#    linearizable read fails first, so the unlock never reaches the
#    leader's log; "not changed" is the truth, and stays so once the
#    followers resume (checked after a later write committed, not after a
#    sleep). (A lock to a member that answered goes without that read: its
#    late commit is the side that cannot kill a locked node; etcd.sh and
#    the writer's unit tests count the reads.) Root only.
. "$(dirname "$0")/../lib.sh"
# A leader cut off keeps believing it leads for an election timeout: 5 s
# here, longer than a write's 4 s, so cell 2's tries all meet a leader
# that takes them (not one that refuses at once: "no leader").
ETCD_ELECTION_MS=5000
. "$ROOT/tests/etcd-lib.sh"
etcd_bed_enter etcd_commit "$0" python3

mtc_world "$D" 1
store_conf "$D/agent.conf"
cp "$D/agent.conf" "$D/agent.conf.base"
# --- 1. committed, reply lost, the member gone ---
sed -i "s|^endpoints = .*|endpoints = http://127.0.0.1:23881|" "$D/agent.conf"
HWM_WRAP= t_spawn "$D/relay.log" python3 "$ROOT/tests/tools/etcd-droprelay.py" 23881 23791 "$D/trig" 600
t_wait_line "$D/relay.log" 'listening on 23881'
etcd_start
ectl put /mtc/admin/node-1 locked >/dev/null
start_agent
start_client
a_sees_locked() { ctlA list | grep -qE '^node-1 +locked +locked'; }
wait_for 15 a_sees_locked
t_check "agent reads node-1 locked through the relay, the node is locked" a_sees_locked
out=$(ctlA unlock node-1 2>&1)
t_match "warm-up: unlock ok" "^ok: node-1 unlocked" "$out"
out=$(ctlA lock node-1 2>&1)
t_match "warm-up: lock ok (the connection to the member is kept alive)" "^ok: node-1 locked" "$out"
rev0=$(modrev)
touch "$D/trig"
out=$(ctlA unlock node-1 2>&1); rc=$?
t_wait_line "$D/relay.log" 'listener closed'
t_check "the relay forwarded the txn and dropped etcd's answer" grep -q 'etcd answered the txn: HTTP/1.1 200' "$D/relay.log"
v=$(etcd_value); rev1=$(modrev)
t_check "etcd committed the unlock ($v, modrev $rev0 -> $rev1)" test "$v" = unlocked -a "$rev1" -gt "$rev0"
t_match "the answer says it may have committed, quoting the try that may have (libcurl's resend refused) (rc $rc)" \
	"^error: unknown: etcd did not answer \(http://127.0.0.1:23881: [^()]*Couldn't connect to server\); the unlock of node-1 may still commit" "$out"
t_check "... and never 'not changed'" sh -c "! printf '%s' \"\$1\" | grep -q 'not changed'" _ "$out"
stop_pid "$AGENT_PID"

# --- 2. the leader just lost its followers ---
leader() { ectl endpoint status | awk -F', ' '$5 == "true" {print $1}'; }
LEADER=$(leader)
t_check "the leader is known ($LEADER)" test -n "$LEADER"
sed "s|^endpoints = .*|endpoints = $LEADER|" "$D/agent.conf.base" >"$D/agent.conf"
ectl put /mtc/admin/node-1 locked >/dev/null
start_agent
wait_for 15 a_sees_locked
out=$(ctlA unlock node-1 2>&1)
t_match "warm-up on the leader: unlock ok" "^ok: node-1 unlocked" "$out"
out=$(ctlA lock node-1 2>&1)
t_match "warm-up on the leader: lock ok" "^ok: node-1 locked" "$out"
rev0=$(modrev)
F=()
for n in 1 2 3; do [ "http://127.0.0.1:2379$n" = "$LEADER" ] || F+=("${ETCD_PID[$n]}"); done
kill -STOP "${F[@]}"
out=$(ctlA unlock node-1 2>&1); rc=$?
t_match "followers stopped: the unlock is answered 'not changed' (rc $rc)" \
	"^error: etcd unavailable \(.*\): admin state of node-1 not changed" "$out"
t_check "... by a leader that still believed it leads (no 'no leader' answer)" \
	sh -c "! printf '%s' \"\$1\" | grep -q 'no leader'" _ "$out"
kill -CONT "${F[@]}"
t_wait_for 30 "etcd healthy again" healthy
# A write after the followers resumed: once it committed, anything the
# old leader's log held before it is settled (committed or dropped).
ectl put /mtc/other sentinel >/dev/null
# node-1 at every revision since the cut: never unlocked.
never_unlocked_since() {
	local r cur v
	cur=$(ectl get /mtc/other -w fields | sed -n 's/^"Revision" : //p')
	[ -n "$cur" ] || return 1
	for r in $(seq $(($1 + 1)) "$cur"); do
		v=$(ectl get --rev="$r" --print-value-only /mtc/admin/node-1) || return 1
		[ "$v" = unlocked ] && return 1
	done
	return 0
}
t_check "quorum back: the unlock never committed (node-1 $(etcd_value) now; checked at every revision after $rev0)" \
	never_unlocked_since "$rev0"
t_done
