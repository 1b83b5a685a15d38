#!/usr/bin/env bash
# mtcctl lock|unlock --wait HOST... and list HOST... (issue 23), on loopback
# with two nodes: confirmed by each node's own report, one network dropped
# (FIT), a node down (its client not running: not confirmed, exit 4 naming
# it), unknown hosts, bad arguments.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mtc-lib.sh"
t_tmpdir
mtc_world "$T_DIR" 1
# node-2: a second client on 127.0.x.3 with its own paths.
printf '[host node-2]\npxeboot = 127.0.1.3\nmgmt = 127.0.2.3\ncluster = 127.0.3.3\n' >>"$D/hosts.conf"
printf 'node-2 unlocked 0\n' >>"$D/ctl/admin.state"
mkdir -p "$D/node2/run" "$D/node2/persist" "$D/node2/fit"
sed -e 's/^hostname = node-1/hostname = node-2/' -e "s|$D/node/|$D/node2/|g" \
	-e 's/^address = \(127\.0\.[123]\)\.2$/address = \1.3/' "$D/client.conf" >"$D/client2.conf"
start_client2() { t_spawn "$D/client2.log" "$BIN/mtcclient" -c "$D/client2.conf"; CLIENT2_PID=$T_LAST_PID; t_wait_line "$D/client2.log" 'started as '; }
start_agent
start_client
start_client2
wait_for 5 sh -c "$CTL list | grep -q 'node-2 .*unlocked *unlocked'"
t_check "both nodes report to the agent" sh -c "$CTL list | grep -q 'node-1 .*unlocked *unlocked' && $CTL list | grep -q 'node-2 .*unlocked *unlocked'"

# --- list HOST... ---
out=$(ctl list node-2)
t_match "list node-2: the header" '^HOST +ADMIN' "$out"
t_check "list node-2: node-2's row only, no summary lines" sh -c "echo \"\$1\" | grep -q '^node-2 ' && ! echo \"\$1\" | grep -qE '^node-1 |^frames:|^store:'" _ "$out"
t_check "list --json node-2 node-1: both hosts, in that order" \
	t_json '[h["name"] for h in d["hosts"]] == ["node-2", "node-1"]' ctl list --json node-2 node-1
out=$(ctl list no-such-host 2>&1); rc=$?
t_check "list of an unknown host exits 1 (rc=$rc)" test "$rc" -eq 1
t_match "list of an unknown host names it" "unknown host 'no-such-host'" "$out"
t_check "list without hosts still lists all and the store" sh -c "$CTL list | grep -q '^store: '"

# --- lock --wait, two hosts ---
out=$(ctl lock --wait=10 node-1 node-2 2>&1); rc=$?
t_check "lock --wait node-1 node-2 exits 0 (rc=$rc)" test "$rc" -eq 0
t_match "node-1 confirmed, with the time and the networks" 'node-1: locked confirmed by the node after [0-9.]+ s \(reported via pxeboot, mgmt, cluster\)' "$out"
t_match "node-2 confirmed" 'node-2: locked confirmed by the node after [0-9.]+ s' "$out"
t_check "both flags written when mtcctl returned" test -e "$(flag)" -a -e "$D/node2/run/.node_locked"

# --- one network dropped on node-1: confirmed over the others ---
fit_fail_net mgmt
out=$(ctl unlock --wait=10 node-1 2>&1); rc=$?
t_check "unlock --wait with mgmt dropped exits 0 (rc=$rc)" test "$rc" -eq 0
t_match "unlock confirmed via pxeboot and cluster, not mgmt" 'node-1: unlocked confirmed by the node after [0-9.]+ s \(reported via pxeboot, cluster\)' "$out"
t_check "flag removed when mtcctl returned" test ! -e "$(flag)"
fit_heal_net mgmt

# --- a node down: not confirmed, exit 4, named ---
stop_pid "$CLIENT2_PID"
t0=$(now_ms)
out=$(ctl unlock --wait=3 node-1 node-2 2>"$D/err"); rc=$?
dt=$(( $(now_ms) - t0 ))
err=$(cat "$D/err")
t_check "unlock --wait with node-2 down exits 4 (rc=$rc)" test "$rc" -eq 4
t_match "node-1 still confirmed" 'node-1: unlocked confirmed by the node' "$out"
t_match "node-2 named as not confirmed, with what it last said" 'node-2: unlocked not confirmed within 3 s: node reports locked.*nothing heard from it since the request' "$err"
t_match "the last line names the hosts not confirmed" 'mtcctl: not confirmed: node-2$' "$err"
t_check "gave up after about 3 s (${dt} ms)" test "$dt" -ge 3000 -a "$dt" -lt 8000
t_check "node-1 was not reported as unconfirmed" sh -c "! grep -q 'node-1' '$D/err'"
# The node was only down: it confirms once its client is back.
start_client2
out=$(ctl unlock --wait=10 node-2 2>&1); rc=$?
t_check "node-2 back: unlock --wait confirmed (rc=$rc)" test "$rc" -eq 0

# --- without --wait: the request only, as before ---
out=$(ctl lock node-1 2>&1); rc=$?
t_check "lock without --wait exits 0 and confirms nothing (rc=$rc)" sh -c "[ $rc -eq 0 ] && ! echo \"\$1\" | grep -q confirmed" _ "$out"
ctl unlock node-1 >/dev/null

# A locked node that went down: locking it again is not confirmed by the
# report it sent before it went down, however much that says "locked".
out=$(ctl lock --wait=10 node-2 2>&1); rc=$?
t_check "node-2 locked and confirmed (rc=$rc)" test "$rc" -eq 0
stop_pid "$CLIENT2_PID"
out=$(ctl lock --wait=2 node-2 2>&1); rc=$?
t_check "lock --wait again with node-2 down: its old 'locked' report does not confirm (rc=$rc)" test "$rc" -eq 4

# --- refusals and usage ---
out=$(ctl lock --wait=2 node-1 no-such-host 2>&1); rc=$?
t_check "an unknown host among others: exit 1 (rc=$rc)" test "$rc" -eq 1
t_match "... the known one is still locked and confirmed" 'node-1: locked confirmed' "$out"
ctl unlock node-1 >/dev/null
out=$(ctl lock --wait=abc node-1 2>&1); rc=$?
t_check "--wait=abc is a usage error (rc=$rc)" test "$rc" -eq 2
out=$(ctl lock --wait 2>&1); rc=$?
t_check "lock --wait without a host is a usage error (rc=$rc)" test "$rc" -eq 2
out=$(ctl lock 'bad host!' 2>&1); rc=$?
t_check "an invalid host name is a usage error (rc=$rc)" test "$rc" -eq 2
t_done
