#!/usr/bin/env bash
# hostwd as a real process: FIFO watchdog fake, file sysrq sink, test
# NOTIFY_SOCKET. No root needed (the disallowed-uid case runs as root only).
. "$(dirname "$0")/../lib.sh"
t_tmpdir
D=$T_DIR
chmod 755 "$D"
POKE="python3 $ROOT/tests/tools/netpoke.py"

write_conf() { # grace period threshold [extra ini]
	cat >"$D/hostwd.conf" <<CONF
[watchdog]
device = file:$D/wd.fifo
timeout = 4
kick_interval = 1
[health]
socket = $D/health.sock
report_period = $2
failure_threshold = $3
start_grace = $1
allowed_uids = 0,$(id -u)
[action]
sysrq_path = $D/sysrq
kexec_crash_loaded = $D/kexec
count_file = $D/actions.count
console_path = $D/console
[lock]
file = $D/node_locked
${4:-}
CONF
}

start_hostwd() { # log
	rm -f "$D/sysrq" "$D/console" "$D/kicks" "$D/actions.count"
	: >"$D/sysrq"; : >"$D/console"; echo 1 >"$D/kexec"
	[ -p "$D/wd.fifo" ] || mkfifo "$D/wd.fifo"
	cat "$D/wd.fifo" >"$D/kicks" &
	T_PIDS+=($!)
	CAT_PID=$!
	NOTIFY_SOCKET=$D/notify.sock WATCHDOG_USEC=2000000 \
		t_spawn "$1" "$BIN/hostwd" -c "$D/hostwd.conf"
	HWD_PID=$T_LAST_PID
	t_wait_for 10 "hostwd's health socket $D/health.sock" test -S "$D/health.sock"
}

# The FIFO's reader ends at EOF once hostwd, the only writer, is gone: wait
# for that (bounded) so the last bytes, the magic close, are in $D/kicks.
reader_drained() { wait_for 5 t_gone "$CAT_PID"; kill "$CAT_PID" 2>/dev/null; wait "$CAT_PID" 2>/dev/null; }
stop_hostwd() {
	kill -TERM "$HWD_PID" 2>/dev/null; wait "$HWD_PID" 2>/dev/null
	reader_drained
}

sink_bytes() { stat -c %s "$D/sysrq"; }
kick_count() { stat -c %s "$D/kicks" 2>/dev/null || echo 0; }
kicks_above() { [ "$(kick_count)" -gt "$1" ]; }
status_has() { # REGEX: hostwd's status shows REGEX
	"$BIN/pmon-hook" status --socket "$D/health.sock" 2>/dev/null | grep -qE -- "$1"
}
# status_json EXPR: hostwd's status --json (d) is valid JSON and EXPR holds.
status_json() { t_json "$1" "$BIN/pmon-hook" status --json --socket "$D/health.sock"; }

# --- CLI basics ---------------------------------------------------------
t_check "--version prints the version" sh -c "'$BIN/hostwd' --version | grep -q '^hostwd [0-9]'"
t_check "--help exits 0 and documents -c" sh -c "'$BIN/hostwd' --help | grep -q -- '--config FILE'"
write_conf 0 1 2
t_check "--check-config accepts a valid file" "$BIN/hostwd" --check-config -c "$D/hostwd.conf"
printf '[watchdog]\ntimeout = 10\nkick_interval = 9\n' >"$D/bad.conf"
out=$("$BIN/hostwd" --check-config -c "$D/bad.conf" 2>&1); rc=$?
t_check "--check-config rejects kick_interval > timeout/2 with file:line (rc=$rc)" \
	sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'bad.conf:3: \[watchdog\] kick_interval = 9 must be <= timeout/2 = 5'"
out=$("$BIN/hostwd" -c "$D/nonexistent.conf" 2>&1); rc=$?
t_check "missing explicit config file is an error naming it" sh -c "[ $rc -eq 1 ] && echo '$out' | grep -q 'nonexistent.conf: cannot open'"
t_check "--dump-config prints effective values" sh -c "'$BIN/hostwd' --dump-config -c '$D/hostwd.conf' | grep -q '^report_period = 1$'"

# --- kicks, notify, crashdump after grace + threshold x period ---------
"$TBIN/notify-listen" "$D/notify.sock" 30 >"$D/notify.log" &
T_PIDS+=($!)
NL_PID=$!
t_wait_for 10 "notify-listen's socket $D/notify.sock" test -S "$D/notify.sock"
write_conf 1 1 2
t0=$(now_ms)
start_hostwd "$D/run1.log"
wait_for 8 test -s "$D/sysrq"
t_act=$(( $(now_ms) - t0 ))
t_check "crashdump byte 'c' written with no reports and no lock" grep -qx c "$D/sysrq"
t_check "action came after grace + threshold x period = 3 s (took ${t_act} ms)" test "$t_act" -ge 2900 -a "$t_act" -le 4500
t_check "log line 'quorum failure: crashdump'" grep -q 'quorum failure: crashdump (no report' "$D/run1.log"
t_check "last words written to console_path" grep -q 'hostwd: quorum failure: crashdump' "$D/console"
# crashdump_timeout (default 600) set on the device and one kick right
# before 'c': the file fake records the line "T600" then the kick byte.
t_check "crashdump_timeout 600 set on the device before 'c' (fake shows T600 then a kick)" \
	sh -c "tr -d 'k' <'$D/kicks' | grep -qx T600 && tail -c 6 '$D/kicks' | grep -q '^T600$'"
t_check "log names the crashdump timeout that took" grep -q 'watchdog timeout 600s for the crashdump (was 4s), kicked once' "$D/run1.log"
# Absence proof: no kick after the action. Kicks from just before it may
# still sit in the FIFO, so count from 1 s after it, then allow none over a
# generous 3 s (3 kick intervals).
sleep 1; k1=$(kick_count); sleep 3; k2=$(kick_count)
t_check "kicking stopped after the action ($k1 -> $k2 kicks)" test "$k1" -eq "$k2" -a "$k1" -ge 2
t_check "READY=1 sent" grep -q 'READY=1' "$D/notify.log"
t_check "WATCHDOG=1 pings sent" grep -q 'WATCHDOG=1' "$D/notify.log"
t_check "STATUS= reports the failure" grep -q 'STATUS=failed: quorum failure: crashdump' "$D/notify.log"
stop_hostwd
t_check "STOPPING=1 on SIGTERM" grep -q 'STOPPING=1' "$D/notify.log"
t_check "no magic close after acting (the kernel watchdog must still fire)" sh -c "! grep -q V '$D/kicks'"
kill "$NL_PID" 2>/dev/null

# --- kicks at the configured interval, magic close on clean stop ---------
write_conf 100 1 2
start_hostwd "$D/run2.log"
sleep 3.2   # a measuring window (the kick rate), not a wait
k=$(kick_count)
stop_hostwd
t_check "kicks arrive every 1 s (saw $k bytes in 3.2 s)" test "$k" -ge 3 -a "$k" -le 5
t_check "clean stop writes the magic close 'V'" grep -q 'V' "$D/kicks"
t_check "... and says why (on_stop = auto: not a system going down)" grep -q 'watchdog disarmed (magic close): ' "$D/run2.log"
# on_stop = keep: a clean stop leaves the card armed, and says so.
write_conf 100 1 2
sed -i 's/^kick_interval = 1/kick_interval = 1\non_stop = keep/' "$D/hostwd.conf"
start_hostwd "$D/run2k.log"
wait_for 10 kicks_above 0
stop_hostwd
t_check "on_stop = keep: kicked, then no magic close on a clean stop" sh -c "[ -s '$D/kicks' ] && ! grep -q V '$D/kicks'"
t_check "... and says why" grep -q 'watchdog left ARMED (timeout 4s): as \[watchdog\] on_stop says' "$D/run2k.log"

# --- kill -9: no magic close (the kernel watchdog stays armed); restart kicks
write_conf 100 1 2
start_hostwd "$D/run2b.log"
wait_for 10 kicks_above 1
kill -9 "$HWD_PID"; wait "$HWD_PID" 2>/dev/null
wait_for 5 t_gone "$CAT_PID"   # the reader copied all hostwd wrote, to EOF
t_check "SIGKILLed hostwd leaves the watchdog armed (no magic close)" sh -c "! grep -q V '$D/kicks'"
k1=$(kick_count)
kill "$CAT_PID" 2>/dev/null; wait "$CAT_PID" 2>/dev/null   # the reader saw EOF with the writer gone
cat "$D/wd.fifo" >>"$D/kicks" &
T_PIDS+=($!); CAT_PID=$!
NOTIFY_SOCKET= t_spawn "$D/run2b.log" "$BIN/hostwd" -c "$D/hostwd.conf"
HWD_PID=$T_LAST_PID
wait_for 10 kicks_above "$k1"
t_check "restarted hostwd resumes kicking ($k1 -> $(kick_count))" test "$(kick_count)" -gt "$k1"
stop_hostwd

# --- lock file: never act, suppression logged once, removal resumes -----
write_conf 0 1 2
: >"$D/node_locked"
start_hostwd "$D/run3.log"
t_wait_line "$D/run3.log" 'quorum failure suppressed: node locked'
# Absence proof: 4 more bad periods (2 x threshold) with no byte and no
# second suppression line.
sleep 4
t_check "locked: sink never receives a byte" test "$(sink_bytes)" -eq 0
n=$(count_lines 'quorum failure suppressed: node locked' "$D/run3.log")
t_check "locked: suppression logged exactly once over 4 bad periods (got $n)" test "$n" -eq 1
k1=$(kick_count); wait_for 10 kicks_above "$k1"; k2=$(kick_count)
t_check "locked: still kicking ($k1 -> $k2)" test "$k2" -gt "$k1"
status=$("$BIN/pmon-hook" status --socket "$D/health.sock")
t_check "status shows locked and suppressed" sh -c "echo '$status' | grep -q '^locked *yes' && echo '$status' | grep -q '^suppressed *yes'"
rm -f "$D/node_locked"
wait_for 4 test -s "$D/sysrq"
t_check "lock file removed: the failure proceeds to the action" grep -qx c "$D/sysrq"
stop_hostwd

# --- [lock] file with two paths (flag, backup): either one locks -----------
write_conf 0 1 2
sed -i "s|^file = .*|file = $D/node_locked, $D/backup_locked|" "$D/hostwd.conf"
rm -f "$D/node_locked"; : >"$D/backup_locked"
start_hostwd "$D/run3b.log"
t_wait_line "$D/run3b.log" 'quorum failure suppressed: node locked'
sleep 3   # absence proof: 3 more bad periods (threshold 2) with no byte
t_check "lock files flag,backup: the backup alone suppresses (sink empty)" test "$(sink_bytes)" -eq 0
t_check "... status says locked" status_has '^locked *yes'
rm -f "$D/backup_locked"
wait_for 4 test -s "$D/sysrq"
t_check "... neither present: the failure proceeds to the action" grep -qx c "$D/sysrq"
stop_hostwd

# --- good report restores quorum; malformed and oversized are counted ----
write_conf 0 1 3
start_hostwd "$D/run4.log"
# A bad period first (no report yet), so that a good report restores quorum.
t_wait_for 10 "hostwd to count a bad period" status_has '^bad_periods *[1-9]'
"$BIN/pmon-hook" report --configured --quorum ok --socket "$D/health.sock"
t_check "one-shot report accepted (exit 0)" test $? -eq 0
wait_for 2 grep -q 'quorum restored' "$D/run4.log"
t_check "good report after a bad period logs 'quorum restored'" grep -q 'quorum restored' "$D/run4.log"
$POKE unix-send "$D/health.sock" "garbage"
$POKE unix-send "$D/health.sock" "v2 configured=1 quorum=ok"
$POKE unix-send "$D/health.sock" "v1 configured=1 quorum=$(head -c 700 /dev/zero | tr '\0' x)"
$POKE unix-send-hex "$D/health.sock" "7631206300ff"
wait_for 5 status_json 'd["malformed"] == 4'
json=$("$BIN/pmon-hook" status --json --socket "$D/health.sock")
t_check "malformed, wrong-version and oversized datagrams counted (4)" status_json 'd["malformed"] == 4'
t_check "hostwd survived bad input" kill -0 "$HWD_PID"
t_check "status JSON has the documented fields" sh -c "echo '$json' | python3 -c 'import json,sys; d=json.load(sys.stdin); [d[k] for k in (\"locked\",\"configured\",\"quorum\",\"bad_periods\",\"failure_threshold\",\"suppressed\",\"action\",\"last_report_age_s\")]'"

# --- SIGHUP: broken file keeps the old config; a good one applies ----------
cp "$D/hostwd.conf" "$D/good.conf"
printf '[health]\nreport_period = banana\n' >"$D/hostwd.conf"
n=$(t_lines "$D/run4.log")
kill -HUP "$HWD_PID"
t_wait_line "$D/run4.log" 'keeping the running configuration|configuration reloaded' "$n"
t_check "SIGHUP with a broken file: still running" kill -0 "$HWD_PID"
t_check "SIGHUP with a broken file: logs why and keeps the old config" \
	sh -c "grep -q 'report_period = banana: not an integer' '$D/run4.log' && grep -q 'keeping the running configuration' '$D/run4.log'"
sed 's/^failure_threshold = 3/failure_threshold = 7/' "$D/good.conf" >"$D/hostwd.conf"
kill -HUP "$HWD_PID"
wait_for 10 status_has '^failure_threshold *7'
t_check "SIGHUP with a good file applies it" sh -c "'$BIN/pmon-hook' status --socket '$D/health.sock' | grep -q '^failure_threshold *7'"
stop_hostwd

# --- SIGHUP that changes the timing: a kick at once, timers re-armed -------
# 30/15 s and a 20 s period, then 4/1 s and a 1 s period: the first kick
# after the reload comes at once (not up to 15 s later), and the missing
# reports are acted on after threshold x the new period, not the old one.
write_conf 0 20 2
sed -i 's/^timeout = 4/timeout = 30/; s/^kick_interval = 1/kick_interval = 15/' "$D/hostwd.conf"
start_hostwd "$D/run8.log"
wait_for 5 kicks_above 0
t_check "slow timing: the first kick at start" kicks_above 0
write_conf 0 1 2
k0=$(kick_count)
n=$(t_lines "$D/run8.log")
tr0=$(now_ms)
kill -HUP "$HWD_PID"
for _ in $(seq 100); do kicks_above "$k0" && break; sleep 0.02; done
gap=$(( $(now_ms) - tr0 ))
t_check "reload to 4/1 s: the next kick ${gap} ms after SIGHUP (<= 1000)" test "$gap" -le 1000 -a "$(kick_count)" -gt "$k0"
t_wait_line "$D/run8.log" 'timing changed' "$n"
wait_for 6 test -s "$D/sysrq"
ta=$(( $(now_ms) - tr0 ))
t_check "reload to a 1 s period: acted ${ta} ms after SIGHUP (threshold 2 x 1 s; <= 3500)" test -s "$D/sysrq" -a "$ta" -le 3500
stop_hostwd

# --- a failed action: kicking resumes once the node is locked ---------------
# sysrq unwritable: 'NOT taken', kicks stop (the card is the only way
# left); then the lock file appears: kicks resume, no reboot fallback.
write_conf 0 1 2
sed -i "s|^sysrq_path = .*|sysrq_path = $D/no-such-dir/sysrq\non_quorum_failure = reboot\nreboot_fallback_after = 6|" "$D/hostwd.conf"
start_hostwd "$D/run9.log"
t_wait_line "$D/run9.log" 'NOT taken'
sleep 1; k1=$(kick_count); sleep 2; k2=$(kick_count)   # absence proof, as above
t_check "failed action: kicking stopped ($k1 -> $k2)" test "$k1" -eq "$k2"
t_check "reboot: no crashdump timeout on the device" sh -c "! grep -q T '$D/kicks'"
: >"$D/node_locked"
wait_for 5 kicks_above "$k2"
t_check "lock file after the failed action: kicking resumes ($k2 -> $(kick_count))" kicks_above "$k2"
t_check "... and says so" grep -q 'kicking resumed after the quorum-failure action that was NOT taken: the node is locked' "$D/run9.log"
sleep 4   # absence proof: the 6 s reboot fallback (armed ~3 s before the lock) was cancelled
t_check "... and the reboot fallback was cancelled" sh -c "! grep -q 'still running' '$D/run9.log'"
t_check "... and stays suppressed while locked" t_wait_line "$D/run9.log" 'quorum failure suppressed: node locked'
rm -f "$D/node_locked"
stop_hostwd

# --- the configuration gate: configured=0 is not a bad period ---------------
# An unlocked node whose monitor says configured=0 for 30 periods (the
# real reporter, its gate absent), default configure_timeout = 0: never
# acted on, kicked throughout, "waiting for configuration" logged once.
printf '[hook]\nsocket = %s\nreport_period = 1\nconfig_gates = %s\n' "$D/health.sock" "$D/gate" >"$D/hook.conf"
rm -f "$D/gate"
write_conf 0 1 2
"$TBIN/notify-listen" "$D/notify.sock" 60 >"$D/notify10.log" &
T_PIDS+=($!)
NL_PID=$!
t_wait_for 10 "notify-listen's socket $D/notify.sock" test -S "$D/notify.sock"
start_hostwd "$D/run10.log"
t_spawn "$D/hook10.log" "$BIN/pmon-hook" run -c "$D/hook.conf"
HOOK_PID=$T_LAST_PID
t_wait_line "$D/run10.log" 'waiting for configuration'
t_check "status: state configuring" status_has '^state *configuring'
t_check "status --json: waiting_for_configuration" status_json 'd["waiting_for_configuration"] is True and d["state"] == "configuring" and d["configure_timeout_s"] == 0'
k1=$(kick_count)
sleep 30   # absence proof: 30 periods of 1 s, threshold 2
t_check "configured=0 for 30 periods: no action (sink empty)" test "$(sink_bytes)" -eq 0
t_check "... kicked throughout ($k1 -> $(kick_count))" test "$(kick_count)" -ge $((k1 + 27))
t_check "... no bad period counted" sh -c "! grep -qE 'bad period|quorum failure' '$D/run10.log'"
n=$(count_lines 'waiting for configuration' "$D/run10.log")
t_check "... 'waiting for configuration' logged once (got $n)" test "$n" -eq 1
t_check "... STATUS= says so" grep -q 'STATUS=configuring: waiting for configuration' "$D/notify10.log"
: >"$D/gate"
t_wait_line "$D/run10.log" 'configured: quorum-failure checks armed'
t_check "gate present: configured, state ok" status_has '^state *ok'
kill "$HOOK_PID" "$NL_PID"; wait "$HOOK_PID" 2>/dev/null
wait_for 5 test -s "$D/sysrq"
t_check "configured, then the monitor stops: acted on (no report)" grep -q 'quorum failure: crashdump (no report' "$D/run10.log"
stop_hostwd
# configure_timeout = 3: past it, unconfigured periods count as bad.
rm -f "$D/gate"
write_conf 0 1 2
sed -i 's/^start_grace = 0/start_grace = 0\nconfigure_timeout = 3/' "$D/hostwd.conf"
start_hostwd "$D/run11.log"
t_spawn "$D/hook11.log" "$BIN/pmon-hook" run -c "$D/hook.conf"
HOOK_PID=$T_LAST_PID
t0=$(now_ms)
wait_for 10 test -s "$D/sysrq"
ta=$(( $(now_ms) - t0 ))
t_check "configure_timeout = 3: unconfigured acted on after it (${ta} ms; 3 s + 2 x 1 s)" test -s "$D/sysrq" -a "$ta" -ge 4500 -a "$ta" -le 8000
t_check "... the log says the timeout passed" grep -q 'configure_timeout = 3s passed since start' "$D/run11.log"
t_check "... and names the reason" grep -q 'quorum failure: crashdump (unconfigured for 2 periods' "$D/run11.log"
kill "$HOOK_PID"; wait "$HOOK_PID" 2>/dev/null
stop_hostwd

# --- FIT: drop_reports and fail_kick --------------------------------------
mkdir -p "$D/fit"
write_conf 100 1 2 "[fit]
enabled = 1
dir = $D/fit"
: >"$D/fit/fail_kick"
start_hostwd "$D/run5.log"
t_wait_line "$D/run5.log" 'FIT fail_kick: injecting'
sleep 2   # absence proof: 2 more kick intervals with no byte at the device
t_check "FIT fail_kick: no kicks reach the device" test "$(kick_count)" -eq 0
t_check "FIT on is logged loudly" grep -q 'FIT enabled' "$D/run5.log"
rm -f "$D/fit/fail_kick"
wait_for 10 kicks_above 0
t_check "FIT fail_kick removed: kicks resume" test "$(kick_count)" -gt 0
stop_hostwd
write_conf 0 1 2
: >"$D/fit/fail_kick"
start_hostwd "$D/run6.log"
wait_for 10 kicks_above 0
t_check "FIT files have no effect when [fit] enabled = 0" test "$(kick_count)" -ge 1
stop_hostwd

# --- disallowed uid (root only: needs another uid) ------------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	write_conf 100 1 2
	sed -i 's/^allowed_uids = .*/allowed_uids = 0\nsocket_mode = 0666/' "$D/hostwd.conf"
	start_hostwd "$D/run7.log"
	chmod 755 "$D"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$BIN/pmon-hook" report --configured --quorum ok --socket "$D/health.sock"
	wait_for 5 status_json 'd["rejected"] == 1'
	t_check "report from uid 65534 rejected and counted" status_json 'd["rejected"] == 1'
	wait_for 3 grep -q 'report from uid 65534 rejected' "$D/run7.log"
	t_check "rejection logged with the uid" grep -q 'report from uid 65534 rejected' "$D/run7.log"
	stop_hostwd
else
	t_skip "disallowed uid rejection: needs root"
fi

t_done
