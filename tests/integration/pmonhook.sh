#!/usr/bin/env bash
# hostwd + pmon-hook run: gates, quorum processes, kill and restart, CLI
# exit codes, report-to-status latency.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
D=$T_DIR
chmod 755 "$D"
mkdir -p "$D/gates"

hostwd_conf() { # threshold [configure_timeout]
	cat >"$D/hostwd.conf" <<CONF
[watchdog]
device = file:$D/wd
timeout = 10
kick_interval = 1
[health]
socket = $D/health.sock
report_period = 1
failure_threshold = $1
start_grace = 0
configure_timeout = ${2:-0}
allowed_uids = 0,$(id -u)
[action]
sysrq_path = $D/sysrq
kexec_crash_loaded = $D/kexec
count_file = $D/actions.count
console_path =
[lock]
file = $D/locked
CONF
}
hook_conf() { # quorum_processes
	cat >"$D/hook.conf" <<CONF
[hook]
socket = $D/health.sock
report_period = 1
config_gates = $D/gates/a,$D/gates/b
quorum_processes = $1
CONF
}
start_pair() {
	: >"$D/sysrq"; echo 1 >"$D/kexec"; rm -f "$D/actions.count"
	t_spawn "$D/hostwd.log" "$BIN/hostwd" -c "$D/hostwd.conf"; HWD=$T_LAST_PID
	t_wait_for 10 "hostwd's health socket $D/health.sock" test -S "$D/health.sock"
	: >"$D/hook.log"
	t_spawn "$D/hook.log" "$BIN/pmon-hook" run -c "$D/hook.conf"; HOOK=$T_LAST_PID
	t_wait_line "$D/hook.log" 'started'
}
stop_pair() { kill "$HOOK" "$HWD" 2>/dev/null; wait "$HOOK" "$HWD" 2>/dev/null; }
STATUS="$BIN/pmon-hook status --socket $D/health.sock"
# A quorum process with a distinctive /proc comm name.
cp "$(command -v sleep)" "$D/qproc-a"
# Returns once it runs under its own name (the hook looks for it by comm).
start_qproc() { "$D/qproc-a" 600 & QP=$!; T_PIDS+=($QP); t_wait_for 5 "qproc-a to run" grep -qx qproc-a "/proc/$QP/comm"; }

# --- CLI exit codes --------------------------------------------------------
"$BIN/pmon-hook" report --configured --quorum ok --socket "$D/none.sock" 2>"$D/err"; rc=$?
t_check "report with hostwd not running exits 3" test "$rc" -eq 3
t_check "... and says hostwd is not running" grep -q 'hostwd is not running' "$D/err"
"$BIN/pmon-hook" report --configured --quorum maybe 2>/dev/null; rc=$?
t_check "report with a bad --quorum exits 2" test "$rc" -eq 2
"$BIN/pmon-hook" report --quorum ok 2>/dev/null; rc=$?
t_check "report without --configured/--unconfigured exits 2" test "$rc" -eq 2
"$BIN/pmon-hook" status --socket /etc/hostname 2>"$D/err"; rc=$?
t_check "status on a path that is not a socket exits 1 and says so" sh -c "[ $rc -eq 1 ] && grep -q 'not a socket' '$D/err'"
"$BIN/pmon-hook" status --socket "$D/none.sock" 2>/dev/null; rc=$?
t_check "status with hostwd not running exits 3" test "$rc" -eq 3
t_check "pmon-hook --version" sh -c "'$BIN/pmon-hook' --version | grep -q '^pmon-hook [0-9]'"
printf '[hook]\nreport_period = 0\n' >"$D/bad.conf"
out=$("$BIN/pmon-hook" run --check-config -c "$D/bad.conf" 2>&1); rc=$?
t_check "run --check-config names file and line (rc=$rc)" test "$rc" -eq 1
t_match "run --check-config message" "bad.conf:2: \[hook\] report_period = 0" "$out"

# --- gates absent: the node is being configured; nothing counted ----------
hostwd_conf 3
hook_conf ""
start_pair
wait_for 5 sh -c "$STATUS | grep -q '^configured *no'"
t_check "hook reports from its first second (status unconfigured)" sh -c "$STATUS | grep -q '^configured *no'"
t_wait_line "$D/hostwd.log" 'waiting for configuration'
sleep 4   # absence proof: 4 periods (threshold 3) with no byte
t_check "gates absent, unlocked, configure_timeout 0: no action in 4 periods" test "$(stat -c %s "$D/sysrq")" -eq 0
t_check "status: state configuring, configuring yes, 0 bad periods" \
	sh -c "$STATUS | grep -q '^state *configuring' && $STATUS | grep -q '^configuring *yes' && $STATUS | grep -q '^bad_periods *0/3'"
stop_pair

# --- configure_timeout passed: unconfigured counts as bad -------------------
hostwd_conf 3 1
n=$(t_lines "$D/hostwd.log")
start_pair
wait_for 8 test -s "$D/sysrq"
t_check "gates absent past configure_timeout, no lock: crashdump byte after the threshold" grep -qx c "$D/sysrq"
t_check "quorum failure log names the reason 'unconfigured'" grep -q 'quorum failure: crashdump (unconfigured' "$D/hostwd.log"
stop_pair

# --- ... but locked: never --------------------------------------------------
: >"$D/locked"
n=$(t_lines "$D/hostwd.log")
start_pair
t_wait_line "$D/hostwd.log" 'quorum failure suppressed: node locked' "$n"
sleep 4   # absence proof: 4 more periods (threshold 3) with no byte
t_check "gates absent past configure_timeout, locked: no crashdump in 4 periods" test "$(stat -c %s "$D/sysrq")" -eq 0
t_check "status shows suppressed with reason" sh -c "$STATUS | grep -q '^reason *unconfigured' && $STATUS | grep -q '^suppressed *yes'"
stop_pair
rm -f "$D/locked"
hostwd_conf 3

# --- gates present, quorum processes running: no action, status ok ------
: >"$D/gates/a"; : >"$D/gates/b"
start_qproc
hook_conf "qproc-a"
start_pair
wait_for 10 sh -c "$STATUS | grep -q '^quorum *ok'"
sleep 4   # absence proof: 4 periods (threshold 3) with no byte
t_check "configured + quorum running: no action in 4 periods" test "$(stat -c %s "$D/sysrq")" -eq 0
t_check "status: configured, quorum ok, 0 bad periods" \
	sh -c "$STATUS | grep -q '^quorum *ok' && $STATUS | grep -q '^configured *yes' && $STATUS | grep -q '^bad_periods *0/3'"

# --- a quorum process dies, comes back before the threshold: recovers ------
kill "$QP"; wait "$QP" 2>/dev/null
wait_for 3 sh -c "$STATUS | grep -q '^reason *process qproc-a lost'"
t_check "process killed: status reason 'process qproc-a lost'" sh -c "$STATUS | grep -q '^reason *process qproc-a lost'"
start_qproc
wait_for 3 sh -c "$STATUS | grep -q '^bad_periods *0/3'"
t_check "process restarted before the threshold: recovered, no action" \
	sh -c "[ \$(stat -c %s '$D/sysrq') -eq 0 ] && grep -q 'quorum restored' '$D/hostwd.log'"

# --- a quorum process dies for good: action after the threshold -----------
kill "$QP"; wait "$QP" 2>/dev/null
wait_for 6 test -s "$D/sysrq"
t_check "process killed for good: crashdump after the threshold" grep -qx c "$D/sysrq"
t_check "quorum failure log names the process" grep -q 'quorum failure: crashdump (process qproc-a lost' "$D/hostwd.log"
t_check "a bare name in quorum_processes is warned about at start as forgeable" \
	grep -q "quorum_processes 'qproc-a' is matched on its name alone: forgeable" "$D/hook.log"

# --- issue 20 item 12: a local user impersonates the quorum process -------
# uid 65534 runs a process of the same name, once from another path and
# once the very same binary; the real one (root's) is killed: the quorum
# must be lost and acted on, as with no impersonator.
if [ "$(id -u)" -eq 0 ]; then
	NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
	stop_pair
	mkdir -p "$D/fake"; chmod 755 "$D/fake"
	cp "$(command -v sleep)" "$D/fake/qproc-a"
	start_qproc
	hook_conf "qproc-a:0:$D/qproc-a"
	start_pair
	wait_for 10 sh -c "$STATUS | grep -q '^quorum *ok'"
	t_check "name:uid:path: the real process (root, $D/qproc-a) counts: quorum ok" sh -c "$STATUS | grep -q '^quorum *ok'"
	t_check "name:uid:path: no forgeability warning" sh -c "! grep -q 'forgeable' '$D/hook.log'"
	$NOBODY "$D/fake/qproc-a" 600 & F1=$!; T_PIDS+=($F1)
	$NOBODY "$D/qproc-a" 600 & F2=$!; T_PIDS+=($F2)
	t_wait_for 5 "the impersonators to run as qproc-a" sh -c "grep -qx qproc-a /proc/$F1/comm && grep -qx qproc-a /proc/$F2/comm"
	kill "$QP"; wait "$QP" 2>/dev/null
	wait_for 6 test -s "$D/sysrq"
	t_check "impersonated by uid 65534 (same name; other path, and the same binary): quorum lost, crashdump" \
		grep -qx c "$D/sysrq"
	t_check "... the log names the process" grep -q 'quorum failure: crashdump (process qproc-a lost' "$D/hostwd.log"
	kill "$F1" "$F2" 2>/dev/null; wait "$F1" "$F2" 2>/dev/null
	# Pidfile of a dead daemon whose pid now belongs to another process
	# (the same binary, root's: uid and exe match): not the daemon.
	stop_pair
	start_qproc
	echo "$QP" >"$D/qproc.pid"
	hook_conf "$D/qproc.pid:0:$D/qproc-a"
	start_pair
	wait_for 10 sh -c "$STATUS | grep -q '^quorum *ok'"
	t_check "pidfile:uid:path: the daemon of the pidfile counts: quorum ok" sh -c "$STATUS | grep -q '^quorum *ok'"
	P=$QP
	kill "$QP"; wait "$QP" 2>/dev/null
	# The kernel hands out ns_last_pid + 1 next: try to make it P (other
	# processes on the machine fork too; bounded tries). A miss is killed
	# with SIGKILL: just forked, it may still be this shell's copy, not
	# yet qproc-a, and a SIGTERM would run lib.sh's EXIT trap in it,
	# which removed this test's $D under it (seen once, with CI beside a
	# STRESS run: every later check failed on missing files).
	R=
	for try in $(seq 1 50); do
		echo $((P - 1)) >/proc/sys/kernel/ns_last_pid 2>/dev/null || break
		"$D/qproc-a" 600 & R=$!
		[ "$R" = "$P" ] && break
		kill -KILL "$R"; wait "$R" 2>/dev/null; R=
	done
	if [ -n "$R" ]; then
		T_PIDS+=($R)
		wait_for 6 test -s "$D/sysrq"
		t_check "pidfile whose pid was reused by another process (same binary, root; try $try): quorum lost, crashdump" \
			grep -qx c "$D/sysrq"
		kill "$R"; wait "$R" 2>/dev/null
	else
		t_skip "pid reuse: could not get pid $P again (ns_last_pid)"
	fi
else
	t_skip "impersonation by uid 65534: needs root"
fi

# --- report-to-status latency ----------------------------------------------
lat=$(python3 - "$BIN/pmon-hook" "$D/health.sock" <<'PY'
import subprocess, sys, time
b, s = sys.argv[1], sys.argv[2]
worst = 0.0
for i in range(20):
    t = time.monotonic()
    subprocess.run([b, "report", "--unconfigured", "--quorum", "lost", "--socket", s], check=True)
    out = subprocess.run([b, "status", "--json", "--socket", s], check=True, capture_output=True).stdout
    worst = max(worst, time.monotonic() - t)
print(int(worst * 1000))
PY
)
echo "report-to-status latency (two CLI processes, worst of 20): ${lat} ms"
# A figure, not a target (docs/performance.md: 3 ms idle); the check is that
# all 20 round trips were answered, with a bound only a hang would cross
# (ASan under STRESS=1 measured 585 ms).
t_check "report-to-status: 20 round trips answered (worst ${lat:-none} ms, bound 5000)" test "${lat:-9999}" -lt 5000
stop_pair

# --- SIGHUP reload of the hook --------------------------------------------
hook_conf ""
start_pair
printf '[hook]\nreport_period = x\n' >"$D/hook.conf"
kill -HUP "$HOOK"
t_wait_line "$D/hook.log" 'keeping the running configuration|configuration reloaded'
t_check "hook SIGHUP with a broken file keeps running" sh -c "kill -0 $HOOK && grep -q 'keeping the running configuration' '$D/hook.log'"
t_check "hook still reports configured (gates a, b present) under the old configuration" sh -c "$STATUS | grep -q '^configured *yes'"
printf '[hook]\nsocket = %s\nreport_period = 1\nconfig_gates = %s\n' "$D/health.sock" "$D/gates/missing" >"$D/hook.conf"
kill -HUP "$HOOK"
wait_for 3 sh -c "$STATUS | grep -q '^configured *no'"
t_check "hook SIGHUP with a good file applies it (a missing gate: unconfigured)" \
	sh -c "$STATUS | grep -q '^configured *no' && grep -q 'configuration reloaded from' '$D/hook.log'"
stop_pair
t_check "hook SIGTERM: logs the stop" grep -q 'received Terminated, stopping' "$D/hook.log"


# --- odd strings in status --json (issue 15) ---------------------------------
# The health protocol carries printable ASCII without space or '=':
# libpmonhook refuses anything else in a process name before sending, and
# hostwd counts a raw report with a control character as malformed. So '"'
# and '\' are what reaches the JSON, and must come out escaped.
POKE="python3 $ROOT/tests/tools/netpoke.py"
hostwd_conf 100
: >"$D/locked"   # the episode must not end in an action while we look
: >"$D/sysrq"; rm -f "$D/actions.count"
t_spawn "$D/hostwd.log" "$BIN/hostwd" -c "$D/hostwd.conf"; HWD=$T_LAST_PID
t_wait_for 10 "hostwd to answer status" sh -c "$STATUS >/dev/null 2>&1"
# json_get EXPR: EXPR over status --json (d), which must be valid JSON.
json_get() { $STATUS --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"; }
# reason_round_trips NAME: report NAME lost (again, so the report stays
# fresh), then status --json is valid JSON whose reason holds NAME as sent.
reason_round_trips() {
	"$BIN/pmon-hook" report --configured --quorum lost --process "$1" --socket "$D/health.sock" || return 1
	$STATUS --json | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["reason"] != "process %s lost" % sys.argv[1])' "$1"
}
for name in 'a"b\c' '"' '\' '\u0041' '"}],{"x":"' "$(printf '\\"%.0s' {1..31})"; do
	# The reason is the last bad period's: it changes at a period end (1 s),
	# and each try starts two processes (slow under ASan and STRESS=1).
	# One passing round trip is the check: running it again could cross a
	# period without a report (python3 starts slowly under STRESS=1).
	t_check "process name '$name': status --json is valid JSON and gives the name back" \
		wait_for 15 reason_round_trips "$name"
done
text_round_trips() {
	"$BIN/pmon-hook" report --configured --quorum lost --process "$1" --socket "$D/health.sock" || return 1
	$STATUS | grep -qF -- "process $1 lost"
}
t_check "... and the text status shows it as sent" wait_for 5 text_round_trips "$name"
for name in $'x\ty' $'x\x01y' $'x\ny' 'x y' 'x=y'; do
	"$BIN/pmon-hook" report --configured --quorum lost --process "$name" --socket "$D/health.sock" 2>/dev/null; rc=$?
	t_check "process name $(printf %q "$name"): refused before sending (exit 2, rc=$rc)" test "$rc" -eq 2
done
m0=$(json_get 'd["malformed"]')
$POKE unix-send "$D/health.sock" $'v1 configured=1 quorum=lost process=x\x01y seq=1'
$POKE unix-send "$D/health.sock" $'v1 configured=1 quorum=lost process=x\x7fy seq=2'
json_malformed_ge() { local v; v=$(json_get 'd["malformed"]') && [ "$v" -ge "$1" ]; }
wait_for 3 json_malformed_ge $((m0 + 2))
t_check "raw reports with a control character in the name: counted malformed" json_malformed_ge $((m0 + 2))
t_check "... and status --json is still valid JSON" sh -c "$STATUS --json | python3 -c 'import json,sys; json.load(sys.stdin)'"
kill "$HWD"; wait "$HWD" 2>/dev/null
rm -f "$D/locked"

# Every string field of the reply is escaped, and a number field that is not
# a number is null, whatever a (fake, older or broken) hostwd sends.
reply='v1 state=a"b locked=1 configured=1 quorum=q\ bad_periods=1 failure_threshold=3 suppressed=1 action=x"y last_report_age_s=2 reason=process-lost reason_process=p\"q reports=5 malformed=0 rejected=0 kicks=9 actions=0 kicking=1 device=d\\"e action_ready=1 consecutive_actions=1x max_consecutive=-1 log_only=0 timeout_s="10" waiting_for_configuration=1 configure_timeout_s=1e3'
t_spawn "$D/fake.log" $POKE status-server "$D/fake.sock" "$(printf %s "$reply" | od -An -tx1 | tr -d ' \n')" "$D/fake.ready" 60
FAKE=$T_LAST_PID
t_wait_for 10 "the fake hostwd" test -e "$D/fake.ready"
out=$("$BIN/pmon-hook" status --json --socket "$D/fake.sock"); rc=$?
t_check "fake hostwd with quotes and backslashes in every string: status --json exits 0 (rc=$rc)" test "$rc" -eq 0
t_check "... valid JSON, every string as sent, non-numbers null, same fields and types" python3 -c '
import json, sys
d = json.loads(sys.argv[1])
want = {"state": "a\"b", "locked": True, "configured": True, "quorum": "q\\", "bad_periods": 1,
        "failure_threshold": 3, "suppressed": True, "action": "x\"y", "last_report_age_s": 2,
        "reason": "process p\\\"q lost", "reports": 5, "malformed": 0, "rejected": 0, "kicks": 9,
        "actions": 0, "kicking": True, "device": "d\\\\\"e", "action_ready": True,
        "consecutive_actions": None, "max_consecutive": -1, "log_only": False, "timeout_s": None,
        "waiting_for_configuration": True, "configure_timeout_s": None}
assert list(d) == list(want), list(d)
for k in want:
    assert d[k] == want[k] and type(d[k]) is type(want[k]), (k, d[k], want[k])
' "$out"
kill "$FAKE" 2>/dev/null; wait "$FAKE" 2>/dev/null

t_done
