#!/usr/bin/env bash
# The etcd store with etcd's own authentication (issue 22): one member with
# users, a role on the admin prefix only and `auth enable`; simple tokens
# that expire after 1 s unused (--auth-token-ttl 1; etcd logs each
# deletion, which the test waits for before a lock or unlock). An
# agent as user mtc (role mtc-admin: readwrite on /mtc/admin/) serves, and
# renews its token when etcd refuses it, the watch too after a restart of
# the member; an agent as user other (no role), with a wrong password, or
# without a user cannot use the store, says why in its log and mtcctl list,
# changes nothing in etcd, sends no Unlocked and shows the host locked
# (unknown); a password file others can read is refused at start, naming
# it. Root only (a private network namespace); skipped without etcd.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/etcd-lib.sh"
etcd_bed_enter "etcd auth" "$0" etcdctl
EP=http://127.0.0.1:23791

start_etcd() {
	HWM_WRAP= t_spawn "$D/etcd.log" etcd --name m1 --data-dir "$D/etcd" \
		--listen-client-urls "$EP" --advertise-client-urls "$EP" \
		--listen-peer-urls http://127.0.0.1:23801 --initial-advertise-peer-urls http://127.0.0.1:23801 \
		--initial-cluster m1=http://127.0.0.1:23801 --initial-cluster-token "t$$" \
		--auth-token simple --auth-token-ttl 1 \
		--logger zap --log-outputs stderr --experimental-watch-progress-notify-interval 2s
	ETCD_PID=$T_LAST_PID
}
# ectl ARGS...: etcdctl as root (once auth is on); ectl_as USER:PW ARGS...
ectl_as() { local u=$1; shift; ETCDCTL_API=3 etcdctl --endpoints "$EP" --user "$u" --dial-timeout 1s --command-timeout 2s "$@"; }
ectl() { ectl_as root:rootpw "$@"; }
# endpoint health as root: once auth is on, etcdctl without a user is refused
healthy() { ectl endpoint health >/dev/null 2>&1 || ETCDCTL_API=3 etcdctl --endpoints "$EP" --dial-timeout 1s endpoint health >/dev/null 2>&1; }
start_etcd
t_wait_for 30 "etcd member healthy" healthy
setup_auth() {
	local e="ETCDCTL_API=3 etcdctl --endpoints $EP --dial-timeout 1s --command-timeout 2s"
	sh -c "$e user add root:rootpw && $e role add mtc-admin &&
		$e role grant-permission mtc-admin --prefix=true readwrite /mtc/admin/ &&
		$e user add mtc:mtcpw && $e user grant-role mtc mtc-admin && $e user add other:otherpw &&
		$e auth enable" >"$D/etcdctl.log" 2>&1
}
t_check "etcd users root, mtc (role mtc-admin: readwrite on /mtc/admin/), other (no role); auth enabled" setup_auth ||
	cat "$D/etcdctl.log"
# Not vacuous: etcd itself refuses what the agents below are refused.
t_check "etcd refuses a read without a user" sh -c "! ETCDCTL_API=3 etcdctl --endpoints '$EP' --dial-timeout 1s --command-timeout 2s get /mtc/admin/node-1 >/dev/null 2>&1"
t_check "etcd refuses user other on the prefix (permission denied)" sh -c "ETCDCTL_API=3 etcdctl --endpoints '$EP' --user other:otherpw --dial-timeout 1s --command-timeout 2s get /mtc/admin/node-1 2>&1 | grep -q 'permission denied'"
t_check "etcd lets user mtc write the prefix" sh -c "ETCDCTL_API=3 etcdctl --endpoints $EP --user mtc:mtcpw put /mtc/admin/node-1 unlocked >/dev/null"

mtc_world "$D" 1
umask 077
printf 'mtcpw\n' >"$D/mtc.pw"
printf 'otherpw\n' >"$D/other.pw"
printf 'badpass-9d1\n' >"$D/wrong.pw"
umask 022
# etcd_conf FILE [USER PWFILE]: [agent] store = etcd with that user.
etcd_conf() {
	printf '[etcd]\nendpoints = %s\nprefix = /mtc/admin/\n' "$EP" >>"$1"
	[ -n "${2:-}" ] && printf 'user = %s\npassword_file = %s\n' "$2" "$3" >>"$1"
	sed -i "s|^\[agent\]|[agent]\nstore = etcd|" "$1"
}
cp "$D/agent.conf" "$D/agent.base"
etcd_conf "$D/agent.conf" mtc "$D/mtc.pw"
b_conf() { # [USER PWFILE]: agent B, its own addresses, control socket, log
	b_conf_from "$D/agent.base" "$D/agentB.conf"
	etcd_conf "$D/agentB.conf" "$@"
}
client_hears_b

# --- the configuration: both keys or neither; the password file's mode ---
out=$("$BIN/mtcagent" -c "$D/agent.conf" --check-config 2>&1)
t_match "check-config: user mtc with a 0600 password file is valid" "configuration valid" "$out"
sed '/^password_file/d' "$D/agent.conf" >"$D/nopw.conf"
out=$("$BIN/mtcagent" -c "$D/nopw.conf" --check-config 2>&1)
t_match "check-config: user without password_file is an error naming the key" "\[etcd\] user is set but \[etcd\] password_file is not" "$out"
cp "$D/mtc.pw" "$D/open.pw"; chmod 644 "$D/open.pw"
sed "s|^password_file = .*|password_file = $D/open.pw|" "$D/agent.conf" >"$D/open.conf"
out=$("$BIN/mtcagent" -c "$D/open.conf" --check-config 2>&1)
t_match "check-config: a 0644 password file is refused, named" "password_file = $D/open.pw: password file $D/open.pw has mode 0644" "$out"
out=$(timeout 20 "$BIN/mtcagent" -c "$D/open.conf" 2>&1); rc=$?
t_check "start with a 0644 password file: the agent does not start (rc=$rc)" test "$rc" -ne 0 -a "$rc" -ne 124
t_match "... and says which file and why" "etcd store: \[etcd\] password_file: password file $D/open.pw has mode 0644: it must not be accessible by group or others" "$out"
rm -f "$D/ctl/agent.sock"
: >"$D/empty.pw"; chmod 600 "$D/empty.pw"
sed "s|^password_file = .*|password_file = $D/empty.pw|" "$D/agent.conf" >"$D/empty.conf"
out=$("$BIN/mtcagent" -c "$D/empty.conf" --check-config 2>&1)
t_match "check-config: an empty password file is refused" "password file $D/empty.pw is empty" "$out"
"$BIN/mtcagent" -c "$D/agent.conf" --dump-config >"$D/dump.txt" 2>&1
t_check "dump-config prints the password file's path, not the password" sh -c \
	"grep -q '^password_file = $D/mtc.pw\$' '$D/dump.txt' && ! grep -q mtcpw '$D/dump.txt'"

# --- user mtc: the agent serves ---
start_agent
start_client
a_sees() { ctlA list | grep -qE "^node-1 +$1 +$1 "; }
wait_for 15 a_sees unlocked
t_check "agent as mtc: reads node-1 unlocked and hears its mtcAlive" a_sees unlocked
t_check "agent as mtc: logged its authentication" t_has_line "$D/agent.log" "etcd: authenticated as user mtc at $EP"
t_check "agent as mtc: warns that http:// carries the password in clear" t_has_line "$D/agent.log" \
	"etcd: \\[etcd\\] user mtc with $EP: the password and the token cross the network in clear text"
t_match "agent as mtc: mtcctl list says the store is healthy" "^store: etcd $EP prefix /mtc/admin/: healthy, revision [0-9]+" "$(ctlA list)"
out=$(ctlA lock node-1 2>&1)
t_match "agent as mtc: lock ok" "^ok: node-1 locked" "$out"
wait_for 10 locked
t_check "agent as mtc: the lock reaches the node (flag written)" locked
t_check "agent as mtc: etcd holds node-1 locked" test "$(ectl get --print-value-only /mtc/admin/node-1)" = locked
n=$(t_lines "$D/agent.log")
ectl put /mtc/admin/node-1 unlocked >/dev/null
wait_for 10 unlocked
t_check "agent as mtc: root's change in etcd reaches the node (flag removed)" unlocked
t_check "agent as mtc: it came by the watch" t_has_line "$D/agent.log" 'node-1: admin state unlocked \(etcd revision [0-9]+, etcd change\)' "$n"

# --- the token expires (1 s unused; in steady state the agent sends no
# request, its health is the watch's): the next lock meets it expired (etcd
# logs its deletion), renews it and sends the request once more ---
# The agent's token is gone once etcd has deleted as many tokens of user
# mtc as were made: etcdctl's one above, and one per authentication the
# agent logged (each expires once).
mtc_tokens_gone() {
	local made deleted
	made=$((1 + $(grep -cE 'etcd: (authenticated as user mtc|token of user mtc renewed)' "$D/agent.log")))
	deleted=$(grep -c '"msg":"deleted a simple token","user-name":"mtc"' "$D/etcd.log")
	[ "$deleted" -ge "$made" ]
}
mtc_token_gone() { wait_for 10 mtc_tokens_gone; t_check "etcd deleted the agent's token (1 s unused)" mtc_tokens_gone; }
out=$(ctlA lock node-1 2>&1)
t_match "agent as mtc: lock again ok" "^ok: node-1 locked" "$out"
mtc_token_gone
n=$(t_lines "$D/agent.log")
out=$(ctlA unlock node-1 2>&1)
t_match "expired token: unlock ok" "^ok: node-1 unlocked" "$out"
wait_for 10 unlocked
t_check "expired token: the unlock reaches the node" unlocked
t_check "expired token: renewed at the request (log)" t_has_line "$D/agent.log" \
	"etcd: token of user mtc renewed at $EP \(re-authenticated: etcdserver: invalid auth token\)" "$n"
mtc_token_gone
n=$(t_lines "$D/agent.log")
out=$(ctlA lock node-1 2>&1)
t_match "expired token again: lock ok" "^ok: node-1 locked" "$out"
wait_for 10 locked
t_check "expired token again: the lock reaches the node" locked
t_check "expired token again: renewed (log)" t_has_line "$D/agent.log" "token of user mtc renewed .*invalid auth token" "$n"
t_check "expired tokens: the store stayed healthy" sh -c "! grep -q 'etcd: unavailable' '$D/agent.log'"

# --- the user's tokens revoked (its password set again, to the same):
# the lock right after meets a refused token on the writer, which renews
# it and sends the request once more (the refused one did nothing) ---
n=$(t_lines "$D/agent.log")
ectl user passwd mtc --interactive=false <<<mtcpw >/dev/null
out=$(ctlA lock node-1 2>&1)
t_match "revoked token: lock ok at once" "^ok: node-1 locked" "$out"
wait_for 10 locked
t_check "revoked token: the lock reaches the node" locked
t_check "revoked token: renewed (log)" t_has_line "$D/agent.log" "token of user mtc renewed .*invalid auth token" "$n"
out=$(ctlA unlock node-1 2>&1)
t_match "revoked token: unlock ok" "^ok: node-1 unlocked" "$out"
wait_for 10 unlocked

# --- the member restarts (it forgets every token): the watch is created
# again, refused for its token, renewed, and carries changes again ---
n=$(t_lines "$D/agent.log")
stop_pid "$ETCD_PID"
start_etcd
t_wait_for 30 "etcd member healthy again" healthy
t_wait_line "$D/agent.log" "watch on $EP from revision [0-9]+ ended" "$n" 15
ectl put /mtc/admin/node-1 locked >/dev/null
wait_for 15 locked
t_check "after the member's restart: root's change reaches the node" locked
t_check "after the member's restart: it came by the watch" t_has_line "$D/agent.log" 'node-1: admin state locked \(etcd revision [0-9]+, etcd change\)' "$n"
# The watcher (retrying every 300 ms) usually meets the forgotten token
# first, in the watch's first message; if the reader's read (every 2 s)
# renewed it first (a read or write asked meanwhile), the watch was opened
# with the new one: said, skipped.
if t_has_line "$D/agent.log" "token of user mtc renewed at $EP \(re-authenticated: rpc error: code = Unauthenticated desc = etcdserver: invalid auth token\)" "$n"; then
	t_ok "after the member's restart: the watch's token was refused (its first message) and renewed"
elif t_has_line "$D/agent.log" "token of user mtc renewed at $EP \(re-authenticated: etcdserver: invalid auth token\)" "$n"; then
	t_skip "after the member's restart: the reader renewed the token before the watch was opened again"
else
	t_fail "after the member's restart: no renewal of the token in the log"
fi
out=$(ctlA lock node-1 2>&1)
t_match "after the member's restart: lock ok" "^ok: node-1 locked" "$out"

# --- the role revoked while the agent serves: lock refused, saying why;
# granted again: it serves again ---
ectl user revoke-role mtc mtc-admin >/dev/null
out=$(ctlA unlock node-1 2>&1); rc=$?
t_match "role revoked: unlock refused, permission denied named" "^error: refused by etcd \(.*permission denied for etcd user mtc .*\): admin state of node-1 not changed" "$out"
t_check "role revoked: the node keeps its lock flag" locked
t_check "role revoked: the log says why" t_has_line "$D/agent.log" "etcd: unavailable: .*permission denied for etcd user mtc"
ectl user grant-role mtc mtc-admin >/dev/null
out=$(ctlA lock node-1 2>&1)
t_match "role granted again: lock ok" "^ok: node-1 locked" "$out"

# --- agents that cannot use the store ---
stop_pid "$AGENT_PID"
rm -f "$D/ctl/agent.sock"
ectl put /mtc/admin/node-1 unlocked >/dev/null
r0=$(modrev)
t_check "the node is locked before the refused agents" locked
# bad_agent WHAT REASON [USER PWFILE]: agent B cannot use the store; its
# log and mtcctl list say so (REASON: grep -E), it refuses unlock, shows
# the host locked (unknown), changes nothing in etcd, sends no Unlocked.
bad_agent() {
	local what=$1 reason=$2 n out rc
	shift 2
	b_conf "$@"
	n=$(t_lines "$D/agentB.log")
	t_spawn "$D/agentB.log" "$BIN/mtcagent" -c "$D/agentB.conf"
	B_PID=$T_LAST_PID
	t_wait_for 10 "agent B's control socket" test -S "$D/ctl/agentB.sock"
	t_wait_line "$D/agentB.log" 'etcd: unavailable: ' "$n" 15
	t_check "$what: the log says etcd is unavailable and why" t_has_line "$D/agentB.log" "etcd: unavailable: .*($reason)" "$n"
	out=$(ctlB list)
	t_match "$what: mtcctl list says the store was not read, and why" "^store: etcd $EP prefix /mtc/admin/: not read yet: .*($reason)" "$out"
	b_heard() { ctlB list | grep -qE '^node-1 +locked +locked .*admin state unknown: treated as locked'; }
	wait_for 10 b_heard
	t_check "$what: node-1 shown locked (admin state unknown), its mtcAlive heard" b_heard
	out=$(ctlB unlock node-1 2>&1); rc=$?
	t_match "$what: unlock refused with a clear message" "^error: (etcd unavailable|refused by etcd) \(.*($reason).*\): admin state of node-1 not changed" "$out"
	t_check "$what: mtcctl exits 1 (rc=$rc)" test "$rc" -eq 1
	t_check "$what: etcd unchanged (node-1 at revision $r0)" test "$(modrev)" = "$r0"
	t_check "$what: no Unlocked sent" sh -c "! tail -n +$((n + 1)) '$D/agentB.log' | grep -q 'Unlocked'"
	t_check "$what: the node keeps its lock flag" locked
	t_check "$what: no password in the log" sh -c "! grep -qE 'otherpw|mtcpw|badpass-9d1' '$D/agentB.log'"
	stop_pid "$B_PID"
	rm -f "$D/ctl/agentB.sock"
}
bad_agent "user without a role" "permission denied for etcd user other \(HTTP 403: etcdserver: permission denied\): it needs a role with readwrite on prefix /mtc/admin/" other "$D/other.pw"
bad_agent "wrong password" "authentication of etcd user mtc failed \(HTTP 400: etcdserver: authentication failed, invalid user ID or password\): check \[etcd\] user and the password in $D/wrong.pw" mtc "$D/wrong.pw"
bad_agent "unknown user" "authentication of etcd user nobody failed" nobody "$D/mtc.pw"
bad_agent "no user" "etcd has authentication enabled \(HTTP 400: etcdserver: user name is empty\): set \[etcd\] user and password_file"

# --- the right user again: it reads the unlock, the node converges ---
start_agent
wait_for 15 unlocked
t_check "agent as mtc again: reads the unlock from etcd, the node is unlocked" unlocked
t_done
