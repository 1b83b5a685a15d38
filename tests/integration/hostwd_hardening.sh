#!/usr/bin/env bash
# hostwd hardening (issues 11 and 12): the watchdog device contract, what a
# quorum failure really does (crash kernel, sysrq failure, reboot fallback,
# consecutive-action limit), status across network namespaces, and a local
# flood of the health socket. Every case also shows a normal path working,
# so a broken setup cannot pass. Root-only cases report skipped without root.
. "$(dirname "$0")/../lib.sh"
t_tmpdir
D=$T_DIR
chmod 755 "$D"
mkdir -p "$D/gates"

conf() { # device sysrq [extra ini lines...]: an extra "key = value" replaces the base line of that key
	local dev=$1 sysrq=$2; shift 2
	local base=$D/hostwd.conf.base l
	{
		printf '[watchdog]\ndevice = %s\ntimeout = 10\nkick_interval = 1\n' "$dev"
		printf '[health]\nsocket = %s\nreport_period = 1\nfailure_threshold = 1\nstart_grace = 0\nallowed_uids = 0,%s\n' \
			"$D/health.sock" "$(id -u)"
		printf '[action]\nsysrq_path = %s\nconsole_path = \nkexec_crash_loaded = %s\ncount_file = %s\n' \
			"$sysrq" "$D/kexec" "$D/count"
		printf '[lock]\nfile = %s\n' "$D/locked"
	} >"$base"
	# A key set twice is a config error, so overrides replace, not repeat.
	for l in "$@"; do
		case $l in *' = '*) sed -i "/^${l%% = *} = /d" "$base" ;; esac
	done
	{ cat "$base"; for l in "$@"; do printf '%s\n' "$l"; done; } >"$D/hostwd.conf"
}
start() { # log [prefix...]
	local log=$1; shift
	: >"$log"
	t_spawn "$log" "$@" "$BIN/hostwd" -c "$D/hostwd.conf"
	HWD=$T_LAST_PID
}
stop() { kill -TERM "$HWD" 2>/dev/null; wait "$HWD" 2>/dev/null; }
exited() { ! kill -0 "$HWD" 2>/dev/null; }
STATUS="$BIN/pmon-hook status --socket $D/health.sock"
size() { stat -c %s "$1" 2>/dev/null || echo 0; }

# --- the device contract ---------------------------------------------------
echo 1 >"$D/kexec"
for kind in missing regular directory; do
	case $kind in
	missing) dev=$D/watchdog-typo; want="'$dev': no such file" ;;
	regular) dev=$D/regular; : >"$dev"; want="'$dev': a regular file, not a watchdog" ;;
	directory) dev=$D/adir; mkdir -p "$dev"; want="'$dev': a directory, not a watchdog" ;;
	esac
	conf "$dev" "$D/sysrq"
	start "$D/dev-$kind.log"
	wait_for 3 exited
	if exited; then wait "$HWD"; rc=$?; else rc=0; stop; fi   # rc 0: it ran
	t_check "device path $kind: hostwd refuses to start (rc=$rc)" test "$rc" -ne 0
	t_check "device path $kind: the error names the path" grep -qF "cannot open watchdog device $want" "$D/dev-$kind.log"
done
t_check "a missing device path is not created" test ! -e "$D/watchdog-typo"
t_check "a regular file at the device path was never 'kicked'" test "$(size "$D/regular")" -eq 0

# A start that fails after the device is open (armed) disarms it: a
# config error must not reset the node timeout seconds later.
mkdir -p "$D/sockdir"; : >"$D/sockdir/not-a-socket"
conf "file:$D/fake-failed" "$D/sysrq" "[health]" "socket = $D/sockdir/not-a-socket"
start "$D/dev-failed.log"
wait_for 3 exited
if exited; then wait "$HWD"; rc=$?; else rc=0; stop; fi
t_check "start fails after the device is armed (health socket path not a socket): exit $rc != 0" test "$rc" -ne 0
t_check "... the device is disarmed with the magic close, and the log says so" \
	sh -c "[ \"\$(tail -c1 '$D/fake-failed')\" = V ] && grep -q 'the watchdog device was disarmed' '$D/dev-failed.log'"

conf "file:$D/fake" "$D/sysrq" "[health]" "start_grace = 100"
start "$D/dev-fake.log"
wait_for 3 test "$(size "$D/fake")" -ge 2
t_check "file:PATH fake is created and kicked" test "$(size "$D/fake")" -ge 2
t_check "file:PATH is logged as a test fake" grep -qF "watchdog device is a TEST FAKE (file:$D/fake)" "$D/dev-fake.log"
t_check "status names the device kind" sh -c "$STATUS | grep -q '^device *file'"
t_check "status shows the watchdog timeout in force" sh -c "$STATUS | grep -q '^timeout *10 s'"
t_check "... and status --json too" t_json 'd["timeout_s"] == 10' $STATUS --json
stop
conf "" "$D/sysrq" "[health]" "start_grace = 100"
start "$D/dev-none.log"
wait_for 3 grep -q 'started' "$D/dev-none.log"
t_check "empty device: hostwd runs and says there is no watchdog" \
	grep -q 'no watchdog device configured' "$D/dev-none.log"
stop

# --- crash kernel: crashdump only when one is loaded ------------------------
echo 0 >"$D/kexec"; : >"$D/sysrq"; rm -f "$D/count"
conf "file:$D/fake" "$D/sysrq"
start "$D/kexec0.log"
wait_for 5 test -s "$D/sysrq"
t_check "no crash kernel: the fallback byte 'b' is written, not 'c'" grep -qx b "$D/sysrq"
t_check "no crash kernel: the log says reboot and why" \
	grep -qF "quorum failure: reboot (no report for 1 periods of 1s); crashdump configured but no crash kernel is loaded ($D/kexec)" "$D/kexec0.log"
t_check "no crash kernel: warned at start" grep -q 'crashdump configured but no crash kernel is loaded' "$D/kexec0.log"
stop
echo 1 >"$D/kexec"; : >"$D/sysrq"; rm -f "$D/count"
conf "file:$D/fake" "$D/sysrq" "[action]" "reboot_fallback_after = 1"
start "$D/kexec1.log"
wait_for 5 test -s "$D/sysrq"
t_check "crash kernel loaded: 'c' is written" grep -qx c "$D/sysrq"
# The test sink is rewritten from its start on each open, like sysrq.
wait_for 4 grep -qx b "$D/sysrq"
t_check "still alive reboot_fallback_after (1 s) later: 'b' follows" grep -qx b "$D/sysrq"
t_check "the reboot fallback is logged" grep -q "still running 1s after the quorum-failure action: writing 'b'" "$D/kexec1.log"
stop

# --- the sysrq write fails: the log says so ---------------------------------
rm -f "$D/count"; : >"$D/fake"
conf "file:$D/fake" /dev/full "[action]" "reboot_fallback_after = 1"
start "$D/sysrqfail.log"
wait_for 5 grep -q 'NOT taken' "$D/sysrqfail.log"
t_check "sysrq write failure: logged as not taken, with the reason and what happens instead" \
	grep -qF "quorum failure: crashdump NOT taken: cannot write 'c' to /dev/full: No space left on device; hostwd stops kicking, but the device is a test fake: nothing resets the node" "$D/sysrqfail.log"
t_check "sysrq write failure: no claim that the action was taken or that something resets the node" \
	sh -c "! grep -q 'the watchdog device will reset the node' '$D/sysrqfail.log'"
wait_for 4 grep -q "reboot fallback NOT taken" "$D/sysrqfail.log"
t_check "the reboot fallback failure is logged too" grep -q "reboot fallback NOT taken: cannot write 'b' to /dev/full" "$D/sysrqfail.log"
k1=$(size "$D/fake"); sleep 1.5; k2=$(size "$D/fake")
t_check "kicking stopped after the failed action (deliberately: $k1 -> $k2)" test "$k1" -eq "$k2"
stop

# --- sysrq path missing: start, kick, say which action cannot be taken ------
rm -f "$D/count"; : >"$D/fake"
conf "file:$D/fake" "$D/no-such-dir/sysrq-trigger" "[health]" "start_grace = 100"
"$TBIN/notify-listen" "$D/notify0.sock" 30 >"$D/notify0.log" & T_PIDS+=($!)
wait_for 2 test -S "$D/notify0.sock"
NOTIFY_SOCKET=$D/notify0.sock start "$D/nosysrq.log"
wait_for 3 test "$(size "$D/fake")" -ge 2
t_check "sysrq path missing: hostwd starts and kicks" test "$(size "$D/fake")" -ge 2
t_check "sysrq path missing: says loudly which action it cannot take" \
	grep -qF "cannot take the quorum-failure action crashdump: $D/no-such-dir/sysrq-trigger: No such file or directory" "$D/nosysrq.log"
wait_for 2 grep -q 'STATUS=.*\[ACTION UNAVAILABLE: .*no-such-dir/sysrq-trigger: No such file or directory\]' "$D/notify0.log"
t_check "sysrq path missing: STATUS= says ACTION UNAVAILABLE" \
	grep -q 'STATUS=.*\[ACTION UNAVAILABLE: .*no-such-dir/sysrq-trigger: No such file or directory\]' "$D/notify0.log"
t_check "sysrq path missing: status shows action_ready NO" sh -c "$STATUS | grep -q '^action_ready *NO'"
"$BIN/pmon-hook" report --configured --quorum ok --socket "$D/health.sock"
wait_for 2 t_json 'd["reports"] >= 1' $STATUS --json
t_check "sysrq path missing: reports still accepted" t_json 'd["reports"] >= 1' $STATUS --json

# --- descriptors passed in datagrams are always closed ----------------------
"$BIN/pmon-hook" report --configured --quorum ok --socket "$D/health.sock"
before=$(ls /proc/"$HWD"/fd | wc -l)
python3 - "$D/health.sock" >"$D/fds.out" <<'PY'
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sent = 0
r, w = os.pipe()
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
for i in range(3000):
    msg = [b"v1 status", b"v1 configured=1 quorum=ok seq=9", b"junk"][i % 3]
    fds = [[r, w, b.fileno()], [r] * 12, [w], [b.fileno()]][i % 4]   # 12: more than fit (MSG_CTRUNC)
    while True:
        try:
            # (socket.send_fds ignores its address argument before 3.12)
            s.sendmsg([msg], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))], 0, sys.argv[1])
            sent += 1
            break
        except BlockingIOError:
            pass
print(f"sent={sent}")
PY
# every datagram but the status requests is dropped as malformed (a report
# carries no descriptors): wait until hostwd has read them all
wait_for 5 sh -c "$STATUS --json | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"malformed\"] < 2000)'"
after=$(ls /proc/"$HWD"/fd | wc -l)
t_check "3000 datagrams carrying descriptors were sent ($(cat "$D/fds.out"))" grep -qx sent=3000 "$D/fds.out"
t_check "3000 datagrams carrying descriptors: hostwd's fd count unchanged ($before -> $after)" test "$after" -le "$before"
t_check "... and hostwd still answers status" sh -c "$STATUS | grep -q '^state'"
stop

# --- consecutive actions: log only beyond the limit, reset by a healthy period
rm -f "$D/count"
for run in 1 2 3; do
	: >"$D/sysrq"
	conf "file:$D/fake" "$D/sysrq" "[action]" "max_consecutive = 2"
	if [ "$run" -eq 3 ]; then
		"$TBIN/notify-listen" "$D/notify.sock" 30 >"$D/notify.log" & T_PIDS+=($!)
		wait_for 2 test -S "$D/notify.sock"
		export NOTIFY_SOCKET=$D/notify.sock
	fi
	start "$D/limit$run.log"
	unset NOTIFY_SOCKET
	wait_for 5 grep -q 'quorum failure:' "$D/limit$run.log"
	[ "$run" -lt 3 ] && t_check "consecutive action $run: 'c' written, count $run persisted" \
		sh -c "grep -qx c '$D/sysrq' && grep -qx $run '$D/count'"
	[ "$run" -lt 3 ] && stop
done
t_check "after 2 consecutive actions: LOG ONLY said at start" grep -q 'LOG ONLY: 2 consecutive quorum-failure actions' "$D/limit3.log"
t_check "after 2 consecutive actions: the failure is logged, not acted on" \
	grep -q 'quorum failure: log (no report for 1 periods of 1s); LOG ONLY' "$D/limit3.log"
t_check "after 2 consecutive actions: no byte written" test "$(size "$D/sysrq")" -eq 0
t_check "status shows log_only and the count" \
	sh -c "$STATUS | grep -q '^log_only *YES' && $STATUS | grep -q '^consecutive *2/2'"
wait_for 2 grep -q 'STATUS=.*\[LOG ONLY: 2 consecutive actions, max_consecutive 2\]' "$D/notify.log"
t_check "STATUS= says LOG ONLY" grep -q 'STATUS=.*\[LOG ONLY: 2 consecutive actions, max_consecutive 2\]' "$D/notify.log"
t_check "status json: log_only true" t_json 'd["log_only"] is True' $STATUS --json
for i in 1 2 3 4; do "$BIN/pmon-hook" report --configured --quorum ok --socket "$D/health.sock"; sleep 0.5; done &
REP=$!
wait_for 5 grep -q 'healthy period: consecutive-action count 2 reset to 0' "$D/limit3.log"
t_check "a healthy period resets the count and re-arms the action" \
	sh -c "grep -q 'healthy period: consecutive-action count 2 reset to 0; quorum-failure action re-armed' '$D/limit3.log' && grep -qx 0 '$D/count'"
wait "$REP"
t_check "status after the reset: log_only no" sh -c "$STATUS | grep -q '^log_only *no'"
stop

# --- status across network namespaces (root) --------------------------------
if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
	rm -f "$D/count"
	conf "file:$D/fake" "$D/sysrq" "[health]" "start_grace = 100"
	start "$D/netns.log" unshare -n
	wait_for 3 test -S "$D/health.sock"
	"$BIN/pmon-hook" status --socket "$D/health.sock" >"$D/netns.out" 2>&1; rc=$?
	t_check "hostwd in another network namespace answers pmon-hook status (rc=$rc)" \
		sh -c "[ $rc -eq 0 ] && grep -q '^state *ok' '$D/netns.out'"
	"$BIN/pmon-hook" report --configured --quorum ok --socket "$D/health.sock"
	t_check "... and takes reports across it" t_json 'd["reports"] >= 1' $STATUS --json
	stop
else
	t_skip "status across network namespaces: needs root"
fi

# --- a local unprivileged flood (root: needs uid 65534) ---------------------
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null; then
	AS_NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
	PY=python3; [ -x /usr/bin/python3 ] && PY=/usr/bin/python3   # not a per-user shim uid 65534 cannot run
	FLOOD="$PY $ROOT/tests/tools/flood.py $D/health.sock"
	: >"$D/gates/a"
	printf '[hook]\nsocket = %s\nreport_period = 2\nconfig_gates = %s\n' "$D/health.sock" "$D/gates/a" >"$D/hook.conf"
	flood_conf() { # extra health lines
		rm -f "$D/count"; : >"$D/sysrq"
		conf "file:$D/fake" "$D/sysrq" "[health]" "report_period = 2" "failure_threshold = 3" "allowed_uids = 0" "$@"
	}

	# First fence: the socket's group and mode keep other users out.
	flood_conf "socket_group = 4242" "socket_mode = 0660"
	start "$D/flood1.log"
	wait_for 3 test -S "$D/health.sock"
	t_check "health socket has the configured group and mode (660 4242)" \
		test "$(stat -c '%a %g' "$D/health.sock")" = "660 4242"
	$AS_NOBODY $FLOOD 1 >"$D/flood1.out"
	t_check "uid 65534 cannot send at all: EACCES ($(cat "$D/flood1.out"))" \
		sh -c "grep -q 'sent=0 ' '$D/flood1.out' && ! grep -q 'eacces=0' '$D/flood1.out'"
	"$BIN/pmon-hook" report --configured --quorum ok --socket "$D/health.sock"
	t_check "root still reports through it" t_json 'd["reports"] >= 1' $STATUS --json
	stop
	rm -f "$D/health.sock"
	conf "file:$D/fake" "$D/sysrq" "[health]" "start_grace = 100"
	start "$D/flood0.log"; wait_for 3 test -S "$D/health.sock"
	t_check "default health socket mode is 600" test "$(stat -c '%a' "$D/health.sock")" = 600
	stop

	# Second fence: a socket opened to everyone (0666); uid 65534 floods
	# while the reporter runs. No bad period, no action, a bounded log.
	flood_conf "socket_mode = 0666"
	start "$D/flood2.log"
	wait_for 3 test -S "$D/health.sock"
	t_spawn "$D/hook.log" "$BIN/pmon-hook" run -c "$D/hook.conf"; HOOK=$T_LAST_PID
	wait_for 3 t_json 'd["reports"] >= 1' $STATUS --json
	FL=()
	for i in 1 2 3 4; do $AS_NOBODY $FLOOD 12 >"$D/flooder$i.out" & FL+=($!); done
	wait "${FL[@]}"
	cat "$D"/flooder*.out
	sent=$(cat "$D"/flooder*.out | sed -n 's/.*sent=\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
	full=$(cat "$D"/flooder*.out | sed -n 's/.*eagain=\([0-9]*\).*/\1/p' | awk '{s+=$1} END {print s+0}')
	t_check "the flood was real: $sent datagrams in, queue full $full times" test "$sent" -ge 1000 -a "$full" -ge 1
	t_check "flood: no bad period while the reporter ran" sh -c "! grep -q 'bad period' '$D/flood2.log'"
	t_check "flood: no action byte" test "$(size "$D/sysrq")" -eq 0
	t_check "flood: reports kept arriving (status quorum ok, 0 bad periods)" \
		sh -c "$STATUS | grep -q '^quorum *ok' && $STATUS | grep -q '^bad_periods *0/3'"
	lines=$(wc -l <"$D/flood2.log")
	t_check "flood: the log stays bounded ($lines lines for 12 s)" test "$lines" -le 30
	t_check "flood: rejections summarised with the uid" grep -q 'report from uid 65534 rejected' "$D/flood2.log"
	t_check "flood: reporter never lost a report" sh -c "! grep -q 'failed' '$D/hook.log'"
	# The normal path still works: without the reporter, the action comes.
	kill "$HOOK"; wait "$HOOK" 2>/dev/null
	wait_for 12 test -s "$D/sysrq"
	t_check "reporter stopped: the action follows (the setup could fail)" grep -qx c "$D/sysrq"
	stop
else
	t_skip "health socket flood as uid 65534: needs root and setpriv"
fi

# --- issue 20 item 5: a FIFO where a file belongs never hangs hostwd --------
# Each case: --check-config names the key and path; the daemon starts (the
# device armed), keeps kicking, says the same at start, and the action is
# still taken (or declined) as the contract says.
fifo_case() { # name key fifo-path want-byte [extra ini lines...]
	local name=$1 key=$2 fifo=$3 want=$4; shift 4
	rm -f "$fifo" "$D/count"; mkfifo "$fifo"; : >"$D/sysrq"; rm -f "$D/fake"
	conf "file:$D/fake" "$D/sysrq" "$@"
	timeout 5 "$BIN/hostwd" -c "$D/hostwd.conf" --check-config >"$D/cc-$name.out" 2>&1
	rc=$?
	t_check "FIFO at $key: --check-config fails (rc $rc)" test "$rc" -eq 1
	t_check "FIFO at $key: --check-config names key and path" grep -qF "$key = $fifo: is a FIFO, not a regular file" "$D/cc-$name.out"
	start "$D/fifo-$name.log"
	wait_for 5 test -s "$D/sysrq"
	t_check "FIFO at $key: started and kicked (no hang)" test "$(size "$D/fake")" -ge 1
	t_check "FIFO at $key: the start says so, naming the path" grep -qF "$key = $fifo: is a FIFO" "$D/fifo-$name.log"
	t_check "FIFO at $key: the action byte '$want' is written" grep -qx "$want" "$D/sysrq"
	stop
}
echo 1 >"$D/kexec"
fifo_case count "[action] count_file" "$D/count.fifo" c "[action]" "count_file = $D/count.fifo"
t_check "... the count is written over the FIFO (a regular file now)" test -f "$D/count.fifo" -a ! -p "$D/count.fifo"
fifo_case kexec "[action] kexec_crash_loaded" "$D/kexec.fifo" b "[action]" "kexec_crash_loaded = $D/kexec.fifo"
t_check "FIFO at kexec_crash_loaded: read refused, crash kernel unknown: the reboot fallback" \
	grep -q "cannot read $D/kexec.fifo: is a FIFO" "$D/fifo-kexec.log"
fifo_case console "[action] console_path" "$D/console.fifo" c "[action]" "console_path = $D/console.fifo"
t_check "FIFO at console_path: the last words fail, logged; the byte follows" \
	grep -qF "cannot write to $D/console.fifo: is a FIFO, not a regular file or character device" "$D/fifo-console.log"
rm -f "$D"/*.fifo

# count_file turned into a FIFO by a SIGHUP: the reload reads it, refuses it,
# and the kicks go on.
rm -f "$D/fake" "$D/count2.fifo"; mkfifo "$D/count2.fifo"
conf "file:$D/fake" "$D/sysrq" "[health]" "start_grace = 100"
start "$D/fifo-hup.log"
wait_for 3 test "$(size "$D/fake")" -ge 1
conf "file:$D/fake" "$D/sysrq" "[health]" "start_grace = 100" "[action]" "count_file = $D/count2.fifo"
kill -HUP "$HWD"
t_wait_line "$D/fifo-hup.log" 'configuration reloaded'
before=$(size "$D/fake")
wait_for 4 test "$(size "$D/fake")" -ge $((before + 2))
t_check "FIFO at count_file after SIGHUP: still kicking ($before -> $(size "$D/fake"))" \
	test "$(size "$D/fake")" -ge $((before + 2))
t_check "FIFO at count_file after SIGHUP: logged with the path" \
	grep -qF "consecutive-action count $D/count2.fifo unreadable (is a FIFO, not a regular file)" "$D/fifo-hup.log"
stop
rm -f "$D/count2.fifo"

# --- issue 20 item 13: the lock flag is a regular file in a directory only
# root writes -------------------------------------------------------------
# A symlink at the flag path is not the flag: no suppression forever.
: >"$D/sysrq"; rm -f "$D/count" "$D/locked"; echo 1 >"$D/kexec"
: >"$D/lock-target"; ln -s "$D/lock-target" "$D/locked"
conf "file:$D/fake" "$D/sysrq"
start "$D/locklink.log"
wait_for 5 test -s "$D/sysrq"
t_check "symlink at the lock path: not taken for the flag, the action is taken" grep -qx c "$D/sysrq"
t_check "symlink at the lock path: said loudly" \
	grep -qF "lock file $D/locked is a symbolic link, not a regular file: not a lock flag" "$D/locklink.log"
t_check "symlink at the lock path: no suppression logged" sh -c "! grep -q 'suppressed: node locked' '$D/locklink.log'"
stop
rm -f "$D/locked" "$D/lock-target"
# ... and a regular file there still suppresses (the setup could fail).
: >"$D/sysrq"; : >"$D/locked"
start "$D/lockfile.log"
t_wait_line "$D/lockfile.log" 'suppressed: node locked'
t_check "a regular lock file suppresses the action" test "$(size "$D/sysrq")" -eq 0
stop
rm -f "$D/locked"
# A lock directory others may write to: anyone could suppress every action.
mkdir -p "$D/opendir"; chmod 1777 "$D/opendir"
conf "file:$D/fake" "$D/sysrq" "[health]" "start_grace = 100" "[lock]" "file = $D/opendir/locked"
"$BIN/hostwd" -c "$D/hostwd.conf" --check-config >"$D/cc-opendir.out" 2>&1
rc=$?
t_check "lock file in a 1777 directory: --check-config fails (rc $rc)" test "$rc" -eq 1
t_check "... naming key, path and mode" grep -qF "[lock] file = $D/opendir/locked: directory $D/opendir is writable by others (mode 1777)" "$D/cc-opendir.out"
start "$D/opendir.log"
t_wait_line "$D/opendir.log" 'started:'
t_check "... and at start, loudly (still kicking)" grep -qF "directory $D/opendir is writable by others" "$D/opendir.log"
stop
chmod 755 "$D/opendir"
"$BIN/hostwd" -c "$D/hostwd.conf" --check-config >"$D/cc-opendir.out" 2>&1
t_check "... the same directory at 0755 passes --check-config" test $? -eq 0

t_done
