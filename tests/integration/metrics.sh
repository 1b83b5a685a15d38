#!/usr/bin/env bash
# Metrics and alerts (issue 23), with the real tools: every daemon's
# [metrics] textfile passes promtool check metrics and carries every row of
# its table; the alert rules pass promtool check rules and their unit tests;
# a real prometheus-node-exporter (textfile collector only, on a loopback
# port) serves the expected series and values after a lock, a dropped
# network and a hostwd action. A metric write replaces a FIFO planted at its
# path without blocking, and a failed write is logged once per episode.
# Runs itself in a private network namespace when root. A missing tool is a
# visible skip, never a pass.
if [ "$(id -u)" = 0 ] && [ -z "${HWM_METRICS_NETNS:-}" ] && command -v unshare >/dev/null &&
	unshare -n true 2>/dev/null; then
	exec env HWM_METRICS_NETNS=1 unshare -n bash -c 'ip link set lo up && exec bash "$0"' "$0"
fi
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mtc-lib.sh"
t_tmpdir
D=$T_DIR
chmod 755 "$D"
P=$D/prom
mkdir -p "$P"

have() { command -v "$1" >/dev/null 2>&1; }
PROMTOOL=$(command -v promtool || true)
NODE_EXPORTER=$(command -v prometheus-node-exporter || command -v node_exporter || true)

# --- the tables: names by the conventions, and listed in the docs ----------
describe() { case $1 in pmon-hook) "$BIN/pmon-hook" run --describe-metrics ;; *) "$BIN/$1" --describe-metrics ;; esac; }
prefix_of() { case $1 in pmon-hook) echo pmonhook_ ;; *) echo "${1}_" ;; esac; }
for b in hostwd mtcclient mtcagent pmon-hook; do
	rows=$(describe "$b")
	t_check "$b --describe-metrics lists its table" test -n "$rows"
	bad=$(awk -F'\t' -v p="$(prefix_of "$b")" '
		$1 !~ "^" p "[a-z0-9_]+$" || $5 == "" || ($2 == "counter") != ($1 ~ /_total$/) ||
		($3 == "seconds") != ($1 ~ /_seconds$/) { print $1 }' <<<"$rows")
	t_check "$b: every name has its prefix, a help text, _total exactly on counters, _seconds on seconds ($bad)" test -z "$bad"
	missing=$(cut -f1 <<<"$rows" | while read -r n; do grep -q "\`$n\`" "$ROOT/docs/operations.md" || echo "$n"; done)
	t_check "$b: every metric is listed in docs/operations.md (scripts/gen-metrics-doc.sh) ${missing//$'\n'/ }" test -z "$missing"
done

t_check "docs/operations.md's metric lists are the tables' (scripts/gen-metrics-doc.sh --check)" \
	bash "$ROOT/scripts/gen-metrics-doc.sh" --check "$BIN"

# --- the alert rules ------------------------------------------------------
RULES=$ROOT/conf/prometheus/hostwd-mtc-rules.yml
if [ -n "$PROMTOOL" ]; then
	t_check "promtool check rules $RULES" "$PROMTOOL" check rules "$RULES"
	out=$(cd "$ROOT/conf/prometheus" && "$PROMTOOL" test rules hostwd-mtc-rules.test.yml 2>&1); rc=$?
	t_check "promtool test rules: every alert firing and not firing (rc=$rc)" sh -c "[ $rc -eq 0 ] && echo \"\$1\" | grep -q SUCCESS" _ "$out"
	[ $rc -eq 0 ] || echo "$out" | tail -30
	for a in $(sed -n 's/^ *- alert: //p' "$RULES"); do
		t_check "rule test covers $a firing and not firing" \
			sh -c "[ \$(grep -c \"alertname: $a\$\" '$ROOT/conf/prometheus/hostwd-mtc-rules.test.yml') -ge 2 ]"
	done
else
	t_skip "promtool check rules / test rules: promtool not installed (Debian package prometheus; scripts/install-deps.sh)"
fi

# --- a world with every daemon writing metrics ------------------------------
mtc_world "$D" 1
printf '[client]\nalive_period = 1\n[metrics]\nagent_textfile = %s/mtcagent.prom\n' "$P" >>"$D/agent.conf"
printf '[metrics]\nclient_textfile = %s/mtcclient.prom\n' "$P" >>"$D/client.conf"
: >"$D/gate"
cat >"$D/hostwd.conf" <<CONF
[watchdog]
device = file:$D/wd.fifo
timeout = 4
kick_interval = 1
[health]
socket = $D/health.sock
report_period = 1
failure_threshold = 2
start_grace = 0
allowed_uids = 0,$(id -u)
[action]
sysrq_path = $D/sysrq
kexec_crash_loaded = $D/kexec
count_file = $D/actions.count
console_path = $D/console
reboot_fallback_after = 0
[lock]
file = $(flag)
[metrics]
textfile = $P/hostwd.prom
CONF
cat >"$D/pmon-hook.conf" <<CONF
[hook]
socket = $D/health.sock
report_period = 1
config_gates = $D/gate
quorum_processes = no-such-proc
[metrics]
textfile = $P/pmon-hook.prom
CONF

start_agent
start_client
out=$(ctl lock --wait=10 node-1 2>&1); rc=$?
t_match "mtcctl lock --wait: confirmed by the node" 'node-1: locked confirmed by the node after' "$out"
t_check "mtcctl lock --wait exits 0 (rc=$rc)" test "$rc" -eq 0

# A FIFO planted at hostwd's metrics path: the write replaces it (rename),
# never opens it, so hostwd never blocks on it.
mkfifo "$P/hostwd.prom"
: >"$D/sysrq"; : >"$D/console"; echo 1 >"$D/kexec"
mkfifo "$D/wd.fifo"
cat "$D/wd.fifo" >"$D/kicks" &
T_PIDS+=($!)
t_spawn "$D/hostwd.log" "$BIN/hostwd" -c "$D/hostwd.conf"
HWD_PID=$T_LAST_PID
t_wait_for 10 "hostwd's health socket" test -S "$D/health.sock"
t_spawn "$D/pmon-hook.log" "$BIN/pmon-hook" run -c "$D/pmon-hook.conf"

for f in hostwd mtcclient mtcagent pmon-hook; do
	t_wait_for 10 "$f.prom written" test -f "$P/$f.prom"
done
t_check "the FIFO at hostwd's metrics path was replaced by a regular file" test -f "$P/hostwd.prom" -a ! -p "$P/hostwd.prom"
kicks=$(stat -c %s "$D/kicks")
wait_for 5 sh -c "[ \$(stat -c %s '$D/kicks') -gt $((kicks + 1)) ]"
t_check "hostwd keeps kicking with metrics on" test "$(stat -c %s "$D/kicks")" -gt $((kicks + 1))
t_check "no temp file left beside the metrics files" sh -c "! ls '$P' | grep -q tmp"

# Every row of each table is in its file (HELP and TYPE), promtool agrees.
for f in hostwd mtcclient mtcagent pmon-hook; do
	absent=$(describe "$f" | cut -f1 | while read -r n; do grep -q "^# TYPE $n " "$P/$f.prom" || echo "$n"; done)
	t_check "$f.prom has every metric of its table ${absent//$'\n'/ }" test -z "$absent"
	if [ -n "$PROMTOOL" ]; then
		out=$("$PROMTOOL" check metrics <"$P/$f.prom" 2>&1); rc=$?
		t_check "promtool check metrics $f.prom (rc=$rc) $out" sh -c "[ $rc -eq 0 ] && [ -z \"\$1\" ]" _ "$out"
	else
		t_skip "promtool check metrics $f.prom: promtool not installed"
	fi
done

# --- node_exporter's textfile collector, scraped ---------------------------
if [ -z "$NODE_EXPORTER" ] || ! have curl; then
	t_skip "node_exporter scrape: prometheus-node-exporter or curl not installed (scripts/install-deps.sh)"
	t_done
	exit
fi
PORT=$((19100 + RANDOM % 800))
# Not through t_spawn: HWM_WRAP (valgrind) is for our daemons only.
"$NODE_EXPORTER" --web.listen-address="127.0.0.1:$PORT" --collector.disable-defaults --collector.textfile \
	--collector.textfile.directory="$P" >>"$D/node-exporter.log" 2>&1 &
T_PIDS+=($!)
t_wait_for 15 "node_exporter on 127.0.0.1:$PORT" curl -sf -o /dev/null "http://127.0.0.1:$PORT/metrics"
scrape() { curl -sf "http://127.0.0.1:$PORT/metrics"; }
# series LINE-REGEX: the scrape has a line matching it (whole line; node_exporter
# serves labels sorted by name).
series() { scrape | grep -qE "^$1\$"; }
expect() { # WHAT SECONDS REGEX
	wait_for "$2" series "$3"
	t_check "$1: $3" series "$3"
}
t_check "node_exporter reads the four files without error" sh -c "! curl -sf http://127.0.0.1:$PORT/metrics | grep -q '^node_textfile_scrape_error 1'"
for f in hostwd mtcclient mtcagent pmon-hook; do
	t_check "node_textfile_mtime_seconds for $f.prom" series "node_textfile_mtime_seconds\\{file=\"[^\"]*$f.prom\"\\} .*"
done

# After the lock: the node, the agent and hostwd say so.
expect "after a lock" 5 'mtcclient_lock_flag_present 1'
expect "after a lock" 5 'mtcclient_lock_backup_present 1'
expect "after a lock" 5 'mtcclient_commands_applied_total\{command="locked"\} 1'
expect "after a lock" 5 'mtcagent_hosts_by_admin_state\{state="locked"\} 1'
expect "after a lock" 5 'mtcagent_hosts_by_reported_state\{state="locked"\} 1'
expect "after a lock" 5 'mtcagent_admin_requests_total\{op="lock",result="ok"\} 1'
expect "after a lock" 5 'mtcagent_admin_request_duration_seconds_count\{op="lock"\} 1'
expect "after a lock" 5 'hostwd_locked 1'
expect "locked, quorum lost: suppressed" 10 'hostwd_suppressed 1'
expect "locked, quorum lost" 5 'hostwd_quorum_state\{state="lost"\} 1'
expect "pmon-hook reports the lost process" 5 'pmonhook_quorum_ok 0'
expect "hostwd kicks a file fake" 5 'hostwd_device_info\{kind="file"\} 1'
expect "hostwd kicks" 5 'hostwd_kick_gap_seconds_count [1-9][0-9]*'
expect "no action while locked" 5 'hostwd_actions_total\{action="crashdump",why="configured"\} 0'

# A dropped network (FIT on the node): the agent's fleet view, per host.
fit_fail_net mgmt
expect "mgmt dropped on the node" 15 'mtcagent_hosts_alive_missing\{network="mgmt"\} 1'
expect "mgmt dropped on the node" 5 'mtcagent_host_alive_missing\{host="node-1",network="mgmt"\} 1'
expect "pxeboot still arriving" 5 'mtcagent_hosts_alive_missing\{network="pxeboot"\} 0'
if [ -n "$PROMTOOL" ]; then
	out=$("$PROMTOOL" check metrics <"$P/mtcagent.prom" 2>&1); rc=$?
	t_check "promtool check metrics mtcagent.prom with a per-host series (rc=$rc) $out" sh -c "[ $rc -eq 0 ] && [ -z \"\$1\" ]" _ "$out"
fi

# Unlock (confirmed over pxeboot and cluster), then hostwd acts.
out=$(ctl unlock --wait=10 node-1 2>&1); rc=$?
t_match "mtcctl unlock --wait with mgmt dropped: confirmed via pxeboot and cluster" \
	'node-1: unlocked confirmed by the node after [0-9.]+ s \(reported via pxeboot, cluster\)' "$out"
expect "after an action" 15 'hostwd_actions_total\{action="crashdump",why="configured"\} 1'
expect "after an action" 5 'hostwd_kicking 0'
expect "after an action" 5 'hostwd_armed 0'
expect "after an action" 5 'hostwd_consecutive_actions 1'
t_check "the crashdump byte was written" grep -q c "$D/sysrq"
fit_heal_net mgmt
expect "mgmt back" 15 'mtcagent_hosts_alive_missing\{network="mgmt"\} 0'

# A node that cannot hear commands (FIT drop_rx on every network) but still
# reports: locked by the operator, it says unlocked, the agent corrects.
value() { scrape | sed -n "s/^$1 //p"; }
episodes_above() { [ "$(value mtcagent_mismatch_episodes_total)" -gt "$1" ]; }
ep0=$(value mtcagent_mismatch_episodes_total)
for n in pxeboot mgmt cluster; do : >"$D/node/fit/drop_rx_$n"; done
ctl lock node-1 >/dev/null
expect "locked, the node deaf" 10 'mtcagent_host_mismatch\{admin="locked",host="node-1",reported="unlocked"\} 1'
expect "locked, the node deaf" 5 'mtcagent_hosts_mismatched 1'
wait_for 5 episodes_above "$ep0"
t_check "locked, the node deaf: a mismatch episode opened (mtcagent_mismatch_episodes_total $ep0 -> $(value mtcagent_mismatch_episodes_total))" episodes_above "$ep0"
rm -f "$D"/node/fit/drop_rx_*
expect "the node hears again: corrected" 10 'mtcagent_hosts_mismatched 0'
expect "the node hears again: corrected" 5 'mtcclient_lock_flag_present 1'

# --- a failed write is logged once per episode ------------------------------
sed -e "s|^textfile = .*|textfile = $D/nodir/pmon-hook.prom|" "$D/pmon-hook.conf" >"$D/pmon-hook2.conf"
t_spawn "$D/pmon-hook2.log" "$BIN/pmon-hook" run -c "$D/pmon-hook2.conf"
t_wait_line "$D/pmon-hook2.log" 'cannot write metrics to'
sleep 3 # an absence: three more periods, no second line
t_check "a failing metrics write is logged once ($(count_lines 'cannot write metrics' "$D/pmon-hook2.log") lines in 3 periods)" \
	test "$(count_lines 'cannot write metrics' "$D/pmon-hook2.log")" -eq 1
mkdir "$D/nodir"
t_wait_line "$D/pmon-hook2.log" 'metrics written to .* again'
t_check "once the directory exists the file is written" test -f "$D/nodir/pmon-hook.prom"

# --- the etcd store's health, as the etcd alert reads it ---------------------
if [ -z "${HWM_METRICS_NETNS:-}" ] || ! have etcd || ! have etcdctl; then
	t_skip "etcd store metrics: needs root (own network namespace) and etcd-server/etcd-client"
	t_done
	exit
fi
ETCD_MEMBERS=1
. "$ROOT/tests/etcd-lib.sh"
etcd_start
stop_pid "$AGENT_PID"
store_conf "$D/agent.conf"
start_agent
expect "agent on etcd" 15 'mtcagent_store_info\{kind="etcd"\} 1'
expect "agent on etcd" 15 'mtcagent_store_healthy 1'
kill -TERM "${ETCD_PID[1]}"; wait "${ETCD_PID[1]}" 2>/dev/null
expect "etcd stopped" 20 'mtcagent_store_healthy 0'
expect "etcd stopped" 20 'mtcagent_store_unavailable_seconds [1-9][0-9.]*'
t_done
