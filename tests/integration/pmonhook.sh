#!/usr/bin/env bash
# hostwd + pmon-hook run: gates, quorum processes, kill and restart, CLI
# exit codes, report-to-status latency.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
D=$T_DIR
chmod 755 "$D"
mkdir -p "$D/gates"

hostwd_conf() { # threshold
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
	wait_for 3 test -S "$D/health.sock"
	: >"$D/hook.log"
	t_spawn "$D/hook.log" "$BIN/pmon-hook" run -c "$D/hook.conf"; HOOK=$T_LAST_PID
	wait_for 3 grep -q 'started' "$D/hook.log"
}
stop_pair() { kill "$HOOK" "$HWD" 2>/dev/null; wait "$HOOK" "$HWD" 2>/dev/null; }
STATUS="$BIN/pmon-hook status --socket $D/health.sock"
# A quorum process with a distinctive /proc comm name.
cp "$(command -v sleep)" "$D/qproc-a"
start_qproc() { "$D/qproc-a" 600 & QP=$!; T_PIDS+=($QP); }

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

# --- gates absent: unconfigured; no lock -> crashdump after threshold -----
hostwd_conf 3
hook_conf ""
start_pair
sleep 0.5
t_check "hook reports from its first second (status unconfigured)" sh -c "$STATUS | grep -q '^configured *no'"
wait_for 5 test -s "$D/sysrq"
t_check "gates absent, no lock: crashdump byte after the threshold" grep -qx c "$D/sysrq"
t_check "quorum failure log names the reason 'unconfigured'" grep -q 'quorum failure: crashdump (unconfigured' "$D/hostwd.log"
stop_pair

# --- gates absent but locked: never ---------------------------------------
: >"$D/locked"
start_pair
sleep 4.5
t_check "gates absent, locked: no crashdump in 4 periods" test "$(stat -c %s "$D/sysrq")" -eq 0
t_check "status shows suppressed with reason" sh -c "$STATUS | grep -q '^reason *unconfigured' && $STATUS | grep -q '^suppressed *yes'"
stop_pair
rm -f "$D/locked"

# --- gates present, quorum processes running: no action, status ok ------
: >"$D/gates/a"; : >"$D/gates/b"
start_qproc
hook_conf "qproc-a"
start_pair
sleep 4.5
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
t_check "report-to-status round trip under 500 ms" test "${lat:-9999}" -lt 500
stop_pair

# --- SIGHUP reload of the hook --------------------------------------------
hook_conf ""
start_pair
printf '[hook]\nreport_period = x\n' >"$D/hook.conf"
kill -HUP "$HOOK"; sleep 0.3
t_check "hook SIGHUP with a broken file keeps running" sh -c "kill -0 $HOOK && grep -q 'keeping the running configuration' '$D/hook.log'"
t_check "hook still reports configured (gates a, b present) under the old configuration" sh -c "$STATUS | grep -q '^configured *yes'"
printf '[hook]\nsocket = %s\nreport_period = 1\nconfig_gates = %s\n' "$D/health.sock" "$D/gates/missing" >"$D/hook.conf"
kill -HUP "$HOOK"
wait_for 3 sh -c "$STATUS | grep -q '^configured *no'"
t_check "hook SIGHUP with a good file applies it (a missing gate: unconfigured)" \
	sh -c "$STATUS | grep -q '^configured *no' && grep -q 'configuration reloaded from' '$D/hook.log'"
stop_pair
t_check "hook SIGTERM: logs the stop" grep -q 'received Terminated, stopping' "$D/hook.log"

t_done
