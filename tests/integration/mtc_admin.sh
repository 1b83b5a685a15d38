#!/usr/bin/env bash
# mtcagent's admin-state ordering with the file store (issue 20 items 7, 8,
# 9; rules in mtc/proto/mtc_admin.c): a stale state file does not undo a lock,
# two file-store agents for one node do not fight, a command sequence at
# 4294967295 is refused as corrupt. Loopback, no root.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mtc-lib.sh"
t_tmpdir
mtc_world "$T_DIR" 1
json_host() { ctl list --json | python3 -c 'import json,sys; h=[h for h in json.load(sys.stdin)["hosts"] if h["name"]=="node-1"][0]; print(h[sys.argv[1]])' "$1"; }
applied_is() { [ "$(json_host applied 2>/dev/null)" = "$1" ]; }
applied_at_least() { [ "$(json_host applied 2>/dev/null)" -ge "$1" ] 2>/dev/null; }

start_agent
start_client

# --- issue 20 item 14: correction resends logged one line per 10 s, not each
for net in pxeboot mgmt cluster; do : >"$D/node/fit/drop_rx_$net"; done
n=$(t_lines "$D/agent.log")
ctl lock node-1 >/dev/null
t_wait_line "$D/agent.log" 'node-1: Locked \(correction resend\)' "$n" 10
sleep 4 # absence proof: four more resends (resend_interval_ms = 1000) go unlogged
t_check "resends while commands are dropped: one line in 5 s, not one per resend" \
	test "$(tail -n +$((n + 1)) "$D/agent.log" | grep -c 'correction resend')" -eq 1
for net in pxeboot mgmt cluster; do rm -f "$D/node/fit/drop_rx_$net"; done
t_wait_for 5 "the lock arriving once commands pass" test -e "$(flag)"
wait_for 12 t_has_line "$D/agent.log" 'more correction resend\(s\) in the last 10 s; last: node-1 Locked' "$n"
t_check "resends: the summary line counts the rest (one per 10 s)" \
	t_has_line "$D/agent.log" 'more correction resend\(s\) in the last 10 s; last: node-1 Locked' "$n"
ctl unlock node-1 >/dev/null
t_wait_for 5 "node-1 unlocked again" test ! -e "$(flag)"

# --- item 7: a stale state_file restored under the agent does not undo a lock
ctl lock node-1 >/dev/null
t_wait_for 5 "node-1's flag after the lock" test -e "$(flag)"
t_wait_for 5 "node-1 reports the lock applied" applied_at_least 1
stop_pid "$AGENT_PID"
printf 'node-1 unlocked 0\n' >"$D/ctl/admin.state" # an older copy restored
n=$(t_lines "$D/agent.log"); nc=$(t_lines "$D/client.log")
start_agent
t_wait_line "$D/agent.log" 'node-1: not corrected to Unlocked: it applied command [0-9]+, newer than any this agent issued or read \(0\): another agent is ordering node-1: two controllers need store = etcd' "$n" 10
# Absence proof: two resend intervals (1 s) and two mtcAlive periods.
sleep 2.5
t_check "stale state file: the flag stays (no Unlocked sent)" test -e "$(flag)"
t_check "stale state file: the agent sent no Unlocked" sh -c "! tail -n +$((n + 1)) '$D/agent.log' | grep -q 'Unlocked ('"
t_check "stale state file: the client removed nothing" sh -c "! tail -n +$((nc + 1)) '$D/client.log' | grep -q 'Unlocked via'"
t_check "stale state file: the hold is logged once" \
	test "$(tail -n +$((n + 1)) "$D/agent.log" | grep -c 'not corrected to Unlocked')" -eq 1
t_check "stale state file: node-1 shown locked, admin state unknown" \
	sh -c "'$BIN/mtcctl' -c '$D/agent.conf' list | grep -E '^node-1 +locked ' | grep -q 'admin state unknown'"
ctl unlock node-1 >/dev/null
t_wait_for 5 "the operator's unlock above the node's command removes the flag" test ! -e "$(flag)"
t_check "an operator's unlock goes above the node's command (flag removed)" test ! -e "$(flag)"

# --- item 8: two file-store agents for one node do not fight
B_IP=(127.0.1.3 127.0.2.3 127.0.3.3)
sed -e "s|^address = ${AGENT_IP[0]}\$|address = ${B_IP[0]}|" -e "s|^address = ${AGENT_IP[1]}\$|address = ${B_IP[1]}|" \
	-e "s|^address = ${AGENT_IP[2]}\$|address = ${B_IP[2]}|" -e "s|$D/ctl/admin.state|$D/ctl/adminB.state|" \
	-e "s|$D/ctl/agent.sock|$D/ctl/agentB.sock|" "$D/agent.conf" >"$D/agentB.conf"
ctl lock node-1 >/dev/null
t_wait_for 5 "node-1 locked by A" test -e "$(flag)"
# B's own state: node-1 unlocked, as A's was before the lock.
printf 'node-1 unlocked 0\n' >"$D/ctl/adminB.state"
stop_pid "$CLIENT_PID"
cp "$D/client.conf" "$D/client-one.conf"
for i in 0 1 2; do sed -i "s|^agent_address = ${AGENT_IP[$i]}\$|agent_address = ${AGENT_IP[$i]},${B_IP[$i]}|" "$D/client.conf"; done
nc=$(t_lines "$D/client.log")
t_spawn "$D/agentB.log" "$BIN/mtcagent" -c "$D/agentB.conf"
B_PID=$T_LAST_PID
t_wait_for 10 "agent B's control socket" test -S "$D/ctl/agentB.sock"
start_client
t_wait_line "$D/agentB.log" 'node-1: not corrected to Unlocked: .*another agent is ordering node-1: two controllers need store = etcd' 0 10
sleep 3 # absence proof: three resend intervals of both agents
t_check "two file agents: the flag stays" test -e "$(flag)"
flips=$(tail -n +$((nc + 1)) "$D/client.log" | grep -cE 'Unlocked via|Locked via')
t_check "two file agents: the node's flag did not flip ($flips Locked/Unlocked applied, want 0)" test "$flips" -eq 0
t_check "two file agents: B sent nothing to node-1" sh -c "! grep -qE 'node-1: (Unl|L)ocked \(' '$D/agentB.log'"
t_check "two file agents: B said why, once" test "$(grep -c 'another agent is ordering node-1' "$D/agentB.log")" -eq 1
"$BIN/mtcctl" -c "$D/agentB.conf" list >"$D/B.list"
t_check "two file agents: B shows node-1 locked, admin state unknown" \
	sh -c "grep -E '^node-1 +locked ' '$D/B.list' | grep -q 'admin state unknown'"
stop_pid "$B_PID"

# --- item 9: a node whose stored command sequence is 4294967295. The
# client refuses it as corrupt and orders from 0 (its side of item 9), so
# the node never reports 4294967295 and the agent's correction lands
# (before: "command 0" resent forever, the lock never landed). The
# agent's own refusal of a host reporting 4294967295 (a client from before
# that rule) is walked by test_mtc_admin's wrap rows.
stop_pid "$CLIENT_PID"
cp "$D/client-one.conf" "$D/client.conf"
printf '4294967295\n' >"$D/node/persist/.cmdseq"
rm -f "$(flag)" "$(backup)" # the node comes up unlocked; the agent has it locked
n=$(t_lines "$D/agent.log")
nc=$(t_lines "$D/client.log")
start_client
t_wait_line "$D/client.log" 'holds 4294967295 \(UINT32_MAX\): refused as corrupt' "$nc" 10
t_wait_for 10 "sequence wrap: the agent's Locked lands on the node" test -e "$(flag)"
t_check "sequence wrap: the lock landed (flag written)" test -e "$(flag)"
t_check "sequence wrap: no command 0 sent" sh -c "! tail -n +$((n + 1)) '$D/agent.log' | grep -q 'command 0\$'"
t_check "sequence wrap: the node never reported 4294967295" sh -c "! tail -n +$((n + 1)) '$D/agent.log' | grep -q 'host applied 4294967295'"
stop_pid "$AGENT_PID"
printf 'node-1 unlocked 4294967295\n' >"$D/ctl/admin.state"
n=$(t_lines "$D/agent.log")
start_agent
t_wait_line "$D/agent.log" 'node-1: stored command sequence at 4294967295: refused as corrupt' "$n" 10
t_check "stored sequence 4294967295: node-1 shown locked, admin state unknown" \
	sh -c "'$BIN/mtcctl' -c '$D/agent.conf' list | grep -E '^node-1 +locked ' | grep -q 'admin state unknown'"

t_done
