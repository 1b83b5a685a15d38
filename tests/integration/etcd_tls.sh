#!/usr/bin/env bash
# The etcd store over TLS with client certificates (issue 13), as real
# clusters run it: a throwaway CA, a server certificate for 127.0.0.1 and a
# client certificate (openssl, in the test's temp dir), one etcd member on
# https with --client-cert-auth. An agent with the right cacert/cert/key
# serves; one without a client certificate, with a certificate of another
# CA, or that does not trust the server cannot use the store, says why in
# its log and in mtcctl list, changes nothing in etcd, sends no Unlocked and
# shows the host locked (unknown). Then etcd authentication on the same
# member (issue 22): certificate and user together. Root only (a private network namespace
# keeps etcd's port off the host's); skipped without etcd or openssl.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/etcd-lib.sh"
etcd_bed_enter "etcd tls" "$0" openssl
EP=https://127.0.0.1:23791
P=$D/pki

# Throwaway PKI: CA "ca" signs the server (SAN IP 127.0.0.1; clientAuth
# too, since etcd's HTTP gateway dials its own gRPC port with it) and the
# agents' client certificate; CA "other" signs a client certificate etcd
# must refuse. Private keys are created 0600 in a 0700 dir.
pki_conf() {
	cat <<'CNF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth,clientAuth
subjectAltName = IP:127.0.0.1
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
CNF
}
pki_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/$1.key" 2>>"$P/openssl.log"; }
pki_ca() { # name
	pki_key "$1" && openssl req -x509 -config "$P/openssl.cnf" -extensions ca -key "$P/$1.key" \
		-subj "/CN=hwm-test CA $1" -days 2 -out "$P/$1.pem" 2>>"$P/openssl.log"
}
pki_leaf() { # ca name extensions
	pki_key "$2" && openssl req -new -config "$P/openssl.cnf" -key "$P/$2.key" -subj "/CN=hwm-test $2" \
		-out "$P/$2.csr" 2>>"$P/openssl.log" &&
		openssl x509 -req -in "$P/$2.csr" -CA "$P/$1.pem" -CAkey "$P/$1.key" -set_serial "0x$(openssl rand -hex 8)" \
			-days 2 -extfile "$P/openssl.cnf" -extensions "$3" -out "$P/$2.pem" 2>>"$P/openssl.log"
}
make_pki() {
	(
		umask 077
		mkdir -p "$P" && pki_conf >"$P/openssl.cnf" &&
			pki_ca ca && pki_ca other &&
			pki_leaf ca server server && pki_leaf ca client client && pki_leaf other rogue client
	)
}
t_check "throwaway CA, server and client certificates made" make_pki || { cat "$P/openssl.log"; t_done; exit 1; }
t_check "private keys are 0600" sh -c "[ \"\$(stat -c %a '$P/client.key' '$P/server.key' '$P/rogue.key' | sort -u)\" = 600 ]"

HWM_WRAP= t_spawn "$D/etcd.log" etcd --name m1 --data-dir "$D/etcd" \
	--listen-client-urls "$EP" --advertise-client-urls "$EP" \
	--listen-peer-urls http://127.0.0.1:23801 --initial-advertise-peer-urls http://127.0.0.1:23801 \
	--initial-cluster m1=http://127.0.0.1:23801 --initial-cluster-token "t$$" \
	--cert-file "$P/server.pem" --key-file "$P/server.key" --client-cert-auth --trusted-ca-file "$P/ca.pem" \
	--logger zap --log-outputs stderr --experimental-watch-progress-notify-interval 2s
ETCD_PID=$T_LAST_PID
# ectl [--cacert F --cert F --key F by default] ARGS...
ectl() { ETCDCTL_API=3 etcdctl --endpoints "$EP" --cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key" \
	--dial-timeout 1s --command-timeout 2s "$@"; }
healthy() { ectl endpoint health >/dev/null 2>&1; }
t_wait_for 30 "etcd (https, client certificates) healthy" healthy
# Not vacuous: etcd itself refuses a client without a certificate of its CA.
t_check "etcd refuses a client without a client certificate" sh -c \
	"! ETCDCTL_API=3 etcdctl --endpoints '$EP' --cacert '$P/ca.pem' --dial-timeout 1s --command-timeout 2s get /x >/dev/null 2>&1"
t_check "etcd refuses a client certificate of another CA" sh -c \
	"! ETCDCTL_API=3 etcdctl --endpoints '$EP' --cacert '$P/ca.pem' --cert '$P/rogue.pem' --key '$P/rogue.key' --dial-timeout 1s --command-timeout 2s get /x >/dev/null 2>&1"
ectl put /mtc/admin/node-1 unlocked >/dev/null

mtc_world "$D" 1
# etcd_conf FILE CACERT CERT KEY: [agent] store = etcd over https.
etcd_conf() {
	printf '[etcd]\nendpoints = %s\nprefix = /mtc/admin/\ncacert = %s\ncert = %s\nkey = %s\n' "$EP" "$2" "$3" "$4" >>"$1"
	sed -i "s|^\[agent\]|[agent]\nstore = etcd|" "$1"
}
cp "$D/agent.conf" "$D/agent.base"
etcd_conf "$D/agent.conf" "$P/ca.pem" "$P/client.pem" "$P/client.key"
# b_conf CACERT CERT KEY: agent B, its own addresses, control socket, log.
b_conf() {
	b_conf_from "$D/agent.base" "$D/agentB.conf"
	etcd_conf "$D/agentB.conf" "$@"
}
client_hears_b

# --- the right CA, certificate and key: the agent serves ---
start_agent
start_client
a_sees() { ctlA list | grep -qE "^node-1 +$1 +$1 "; }
wait_for 15 a_sees unlocked
t_check "good agent: reads node-1 unlocked over https and hears its mtcAlive" a_sees unlocked
t_match "good agent: mtcctl list says the store is healthy" "^store: etcd https://127.0.0.1:23791 prefix /mtc/admin/: healthy, revision [0-9]+" "$(ctlA list)"
out=$(ctlA lock node-1 2>&1); rc=$?
t_match "good agent: lock ok (rc=$rc)" "^ok: node-1 locked" "$out"
wait_for 10 locked
t_check "good agent: the lock reaches the node (flag written)" locked
t_check "good agent: etcd holds node-1 locked" sh -c "[ \"\$(ETCDCTL_API=3 etcdctl --endpoints '$EP' --cacert '$P/ca.pem' --cert '$P/client.pem' --key '$P/client.key' get --print-value-only /mtc/admin/node-1)\" = locked ]"
# The watch stream runs over TLS too: a change made in etcd by someone
# else arrives by it.
n=$(t_lines "$D/agent.log")
ectl put /mtc/admin/node-1 unlocked >/dev/null
wait_for 10 unlocked
t_check "good agent: an etcd change reaches the node (flag removed)" unlocked
t_check "good agent: it came by the watch" t_has_line "$D/agent.log" 'node-1: admin state unlocked \(etcd revision [0-9]+, etcd change\)' "$n"
out=$(ctlA lock node-1 2>&1)
t_match "good agent: lock again ok" "^ok: node-1 locked" "$out"
wait_for 10 locked
t_check "good agent: node locked again" locked

# The good agent stops; an operator unlocks node-1 in etcd directly. An
# agent that cannot read etcd must not learn it, nor guess it: the node
# stays locked until a working agent reads the unlock.
stop_pid "$AGENT_PID"
rm -f "$D/ctl/agent.sock"
ectl put /mtc/admin/node-1 unlocked >/dev/null
r0=$(modrev)

# bad_agent WHAT CACERT CERT KEY REASON: agent B cannot use the store; its
# log and mtcctl list say so (REASON: grep -E of the TLS error), it refuses
# unlock, shows the host locked (unknown), changes nothing in etcd and
# sends no Unlocked, though it hears the node.
bad_agent() {
	local what=$1 reason=$5 n out rc
	shift
	b_conf "$1" "$2" "$3"
	n=$(t_lines "$D/agentB.log")
	t_spawn "$D/agentB.log" "$BIN/mtcagent" -c "$D/agentB.conf"
	B_PID=$T_LAST_PID
	t_wait_for 10 "agent B's control socket" test -S "$D/ctl/agentB.sock"
	t_wait_line "$D/agentB.log" 'etcd: unavailable: ' "$n" 15
	t_check "$what: the log says etcd is unavailable and why" t_has_line "$D/agentB.log" "etcd: unavailable: .*($reason)" "$n"
	out=$(ctlB list)
	t_match "$what: mtcctl list says the store was not read, and why" "^store: etcd https://127.0.0.1:23791 prefix /mtc/admin/: not read yet: .*($reason)" "$out"
	t_check "$what: list --json says the same" t_json "'not read yet' in d['store']" ctlB list --json
	b_heard() { ctlB list | grep -qE '^node-1 +locked +locked .*admin state unknown: treated as locked'; }
	wait_for 10 b_heard
	t_check "$what: node-1 shown locked (admin state unknown), its mtcAlive heard" b_heard
	out=$(ctlB unlock node-1 2>&1); rc=$?
	t_match "$what: unlock refused with a clear message" "^error: etcd unavailable \(.*($reason).*\): admin state of node-1 not changed" "$out"
	t_check "$what: mtcctl exits 1 (rc=$rc)" test "$rc" -eq 1
	t_check "$what: etcd unchanged (node-1 unlocked at revision $r0)" sh -c "[ \"\$(ETCDCTL_API=3 etcdctl --endpoints '$EP' --cacert '$P/ca.pem' --cert '$P/client.pem' --key '$P/client.key' get -w fields /mtc/admin/node-1 | sed -n 's/^\"ModRevision\" : //p')\" = '$r0' ]"
	t_check "$what: no Unlocked sent" sh -c "! tail -n +$((n + 1)) '$D/agentB.log' | grep -q 'Unlocked'"
	t_check "$what: the node keeps its lock flag" locked
	stop_pid "$B_PID"
	rm -f "$D/ctl/agentB.sock"
}
# TLS 1.3: the member refuses a client certificate after the client's
# handshake, so what libcurl reports varies (an alert, a reset); the agent
# adds what it knows: handshake done, then dropped.
bad_agent "no client certificate" "$P/ca.pem" "" "" \
	"dropped after the TLS handshake: the member wants a client certificate\? \[etcd\] cert is empty"
bad_agent "client certificate of another CA" "$P/ca.pem" "$P/rogue.pem" "$P/rogue.key" \
	"dropped after the TLS handshake: the member refused the client certificate\?"
bad_agent "server not trusted (cacert of another CA)" "$P/other.pem" "$P/client.pem" "$P/client.key" \
	"SSL certificate problem: unable to get local issuer certificate"
bad_agent "client key file missing" "$P/ca.pem" "$P/client.pem" "$P/missing.key" \
	"unable to set private key file: '$P/missing.key'"

# --- a working agent again: it reads the unlock, the node converges ---
start_agent
wait_for 15 unlocked
t_check "good agent back: reads the unlock from etcd, the node is unlocked" unlocked
wait_for 10 a_sees unlocked
t_check "good agent back: healthy and agrees with the node" sh -c "'$BIN/mtcctl' -c '$D/agent.conf' list | grep -qE '^node-1 +unlocked +unlocked ' && '$BIN/mtcctl' -c '$D/agent.conf' list | grep -q ': healthy, revision'"

# --- both at once: the good agent serves node-1 unlocked, B has no client
# certificate and never reads etcd. B knows nothing of node-1, so it
# corrects it to Locked once (unknown is locked); the good agent corrects
# back with a newer revision, and from then on B must not correct again:
# the node applied a command newer than B's own, ordered through etcd.
# Before, the two fought: the flag flipped several times a second with a
# txn in etcd each time (found by this test). ---
nA=$(t_lines "$D/agent.log")
b_conf "$P/ca.pem" "" ""
n=$(t_lines "$D/agentB.log")
t_spawn "$D/agentB.log" "$BIN/mtcagent" -c "$D/agentB.conf"
B_PID=$T_LAST_PID
t_wait_line "$D/agentB.log" 'node-1: not corrected to Locked: it applied command [0-9]+, newer than the last this agent sent \([0-9]+\), and etcd was not read yet' "$n" 20
wait_for 10 unlocked
r1=$(modrev)
# Absence proof: 3 s (three of the node's mtcAlive and of B's resends)
# with the flag never back and etcd never written.
flips=0
for _ in $(seq 1 30); do locked && flips=$((flips + 1)); sleep 0.1; done
t_check "a cut-off agent beside a working one: after its one correction the flag stays off (seen on $flips of 30 looks)" test "$flips" -eq 0
t_check "a cut-off agent beside a working one: etcd not written after that (revision $r1)" test "$(modrev)" = "$r1"
nl=$(tail -n +$((n + 1)) "$D/agentB.log" | grep -c 'node-1: Locked (')
t_check "a cut-off agent beside a working one: B sent Locked once ($nl), never Unlocked" sh -c \
	"[ $nl -eq 1 ] && ! tail -n +$((n + 1)) '$D/agentB.log' | grep -q 'node-1: Unlocked ('"
t_check "B logged that it stops correcting once" test "$(tail -n +$((n + 1)) "$D/agentB.log" | grep -c 'not corrected to Locked')" -eq 1
t_check "the working agent still serves node-1 unlocked, and the node is" sh -c "! test -e '$(flag)' && '$BIN/mtcctl' -c '$D/agent.conf' list | grep -qE '^node-1 +unlocked +unlocked '"

# --- B alone, etcd never read: unknown is locked, as with the file store ---
stop_pid "$AGENT_PID"
stop_pid "$B_PID"
n=$(t_lines "$D/agentB.log")
t_spawn "$D/agentB.log" "$BIN/mtcagent" -c "$D/agentB.conf"
B_PID=$T_LAST_PID
wait_for 15 locked
t_check "a lone agent that never read etcd corrects the unlocked node to Locked (unknown = locked)" locked
t_check "... and sends no Unlocked" sh -c "! tail -n +$((n + 1)) '$D/agentB.log' | grep -q 'node-1: Unlocked ('"

# --- client certificates and an etcd user together (issue 22): TLS
# protects the connection, the user decides the rights. With auth on,
# etcd 3.4's gateway refuses any client certificate with a CommonName
# (HTTP 400, "CommonName of client sending a request against gateway will
# be ignored"): the agents' certificate has none. With it and user mtc
# (role on the prefix) the agent serves; with a CN it is refused, saying
# what to do; with the certificate alone (no user) it is refused. ---
stop_pid "$B_PID"
rm -f "$D/ctl/agentB.sock"
pki_nocn() { # a client certificate of CA "ca" without a CommonName
	(umask 077; pki_key agent) && openssl req -new -config "$P/openssl.cnf" -key "$P/agent.key" \
		-subj "/O=hwm-test agent" -out "$P/agent.csr" 2>>"$P/openssl.log" &&
		openssl x509 -req -in "$P/agent.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -set_serial "0x$(openssl rand -hex 8)" \
			-days 2 -extfile "$P/openssl.cnf" -extensions client -out "$P/agent.pem" 2>>"$P/openssl.log"
}
t_check "a client certificate without a CommonName" pki_nocn || cat "$P/openssl.log"
auth_on() {
	ectl user add root:rootpw && ectl role add mtc-admin &&
		ectl role grant-permission mtc-admin --prefix=true readwrite /mtc/admin/ &&
		ectl user add mtc:mtcpw && ectl user grant-role mtc mtc-admin && ectl auth enable
}
auth_on_logged() { auth_on >"$D/auth.log" 2>&1; }
t_check "etcd: users root and mtc (role on /mtc/admin/), auth enabled" auth_on_logged || cat "$D/auth.log"
(umask 077; printf 'mtcpw\n' >"$D/mtc.pw")
cp "$D/agent.base" "$D/agent.conf"
etcd_conf "$D/agent.conf" "$P/ca.pem" "$P/agent.pem" "$P/agent.key"
printf 'user = mtc\npassword_file = %s\n' "$D/mtc.pw" >>"$D/agent.conf"
n=$(t_lines "$D/agent.log")
start_agent
wait_for 15 unlocked
t_check "certificate (no CN) and user mtc: reads node-1 unlocked from etcd, the node is unlocked" unlocked
t_check "certificate (no CN) and user mtc: authenticated over https" t_has_line "$D/agent.log" "etcd: authenticated as user mtc at $EP" "$n"
out=$(ctlA lock node-1 2>&1)
t_match "certificate (no CN) and user mtc: lock ok" "^ok: node-1 locked" "$out"
wait_for 10 locked
t_check "certificate (no CN) and user mtc: the lock reaches the node" locked
stop_pid "$AGENT_PID"
rm -f "$D/ctl/agent.sock"
refused() { # WHAT REASON: agent B as configured is refused, saying REASON
	local n
	n=$(t_lines "$D/agentB.log")
	t_spawn "$D/agentB.log" "$BIN/mtcagent" -c "$D/agentB.conf"
	B_PID=$T_LAST_PID
	t_wait_line "$D/agentB.log" 'etcd: unavailable: ' "$n" 15
	t_check "$1: refused, the log says why" t_has_line "$D/agentB.log" "etcd: unavailable: .*$2" "$n"
	t_check "$1: no Unlocked sent, the node keeps its flag" sh -c "! tail -n +$((n + 1)) '$D/agentB.log' | grep -q 'Unlocked' && test -e '$(flag)'"
	stop_pid "$B_PID"
	rm -f "$D/ctl/agentB.sock"
}
b_conf "$P/ca.pem" "$P/client.pem" "$P/client.key"
printf 'user = mtc\npassword_file = %s\n' "$D/mtc.pw" >>"$D/agentB.conf"
refused "certificate with a CN and user mtc" "HTTP 400: CommonName of client sending a request against gateway will be ignored and not used as expected \(etcd has authentication enabled and refuses, on its HTTP gateway, a client certificate with a CommonName: give \[etcd\] cert an empty subject CN\)"
b_conf "$P/ca.pem" "$P/agent.pem" "$P/agent.key"
refused "certificate (no CN) without a user" "etcd has authentication enabled \(HTTP 400: etcdserver: user name is empty\): set \[etcd\] user and password_file"
t_done
