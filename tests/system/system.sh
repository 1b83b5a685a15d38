#!/usr/bin/env bash
# System bed: the Debian packages (dpkg-buildpackage) installed with dpkg -i
# into a container booted by systemd-nspawn with a real systemd as PID 1.
# The container's root is an overlay over / with a tmpfs upper layer made
# by this test: it survives a container reboot and is thrown away at the
# end (nothing persists on this machine). Its own network namespace has
# only loopback. The units run as shipped, hardening included; only
# WatchdogSec of mtcagent is shortened by a drop-in for the freeze case.
. "$(dirname "$0")/../lib.sh"
# A timeout or ^C still runs the cleanup (EXIT trap): VMs, container, mounts.
trap 'exit 143' TERM INT

missing=""
for t in systemd-nspawn nsenter dpkg-buildpackage dh mount git; do
	command -v "$t" >/dev/null || missing="$missing $t"
done
if [ "$(id -u)" -ne 0 ]; then
	t_skip "system bed: needs root (mounts, systemd-nspawn)"
	t_done; exit 0
fi
if [ -n "$missing" ]; then
	t_skip "system bed: missing:$missing (bash scripts/install-deps.sh)"
	t_done; exit 0
fi
if [ -x "$BIN/hostwd" ] && ldd "$BIN/hostwd" | grep -q libasan; then
	t_skip "system bed: sanitizer build ($BUILD): the packages are plain builds (make system)"
	t_done; exit 0
fi

if ! git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	t_skip "system bed: needs the git work tree (the packages are built from its files)"
	t_done; exit 0
fi
# --- packages, cached under build/system by the content of the tree ---
key=$(cd "$ROOT" && git ls-files -z --cached --others --exclude-standard | xargs -0 sha1sum | sha1sum | cut -c1-16)
DEBS=$ROOT/build/system/debs-$key
if [ ! -f "$DEBS/ok" ]; then
	rm -rf "$ROOT"/build/system/debs-* && mkdir -p "$DEBS/src/hostwd-mtc-0.1.0"
	(cd "$ROOT" && git ls-files --cached --others --exclude-standard | tar -cf - -T -) | tar -xf - -C "$DEBS/src/hostwd-mtc-0.1.0"
	if (cd "$DEBS/src/hostwd-mtc-0.1.0" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE -u BUILD \
		dpkg-buildpackage -b -us -uc) >"$DEBS/build.log" 2>&1; then
		mv "$DEBS"/src/*.deb "$DEBS/" && rm -rf "$DEBS/src" && touch "$DEBS/ok"
	fi
fi
t_check "dpkg-buildpackage built the packages" test -f "$DEBS/ok"
[ -f "$DEBS/ok" ] || { tail -20 "$DEBS/build.log"; t_done; exit 1; }

t_tmpdir
R=$T_DIR/root
NSPAWN_PID=
LEADER=

stop_container() {
	[ -n "$NSPAWN_PID" ] || return 0
	# nspawn turns SIGTERM into a clean shutdown of the container.
	kill -TERM "$NSPAWN_PID" 2>/dev/null
	wait_for 20 sh -c "! kill -0 $NSPAWN_PID 2>/dev/null"
	kill -KILL "$NSPAWN_PID" 2>/dev/null
	wait "$NSPAWN_PID" 2>/dev/null
	NSPAWN_PID= LEADER=
}
teardown() {
	stop_container
	umount "$R" 2>/dev/null || umount -l "$R" 2>/dev/null
	umount "$T_DIR/ovl" 2>/dev/null || umount -l "$T_DIR/ovl" 2>/dev/null
}
mkdir -p "$T_DIR/ovl" "$R"
mount -t tmpfs -o size=512m hwm-system "$T_DIR/ovl" && mkdir "$T_DIR/ovl/up" "$T_DIR/ovl/work" &&
	mount -t overlay hwm-system -o lowerdir=/,upperdir="$T_DIR/ovl/up",workdir="$T_DIR/ovl/work" "$R"
rc=$?
T_CLEANUP+=("teardown")
if [ "$rc" -ne 0 ]; then
	t_skip "system bed: cannot mount an overlay over / here"
	t_done; exit 0
fi
# A machine of its own: its own id, no units of this package left from
# the host's tree, the packages to install.
rm -f "$R/etc/machine-id" && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$R/etc/machine-id"
# Nor hostwd state of this machine (a consecutive-action count some other
# run left in /var/lib/hostwd would start the node in LOG ONLY).
rm -rf "$R/var/lib/hostwd"
mkdir -p "$R/root/debs" && cp "$DEBS"/*.deb "$R/root/debs/"
# A container-image leftover (Docker's policy-rc.d, exit 101) would make
# deb-systemd-invoke refuse every start and stop: a Debian node has none.
if [ -e "$R/usr/sbin/policy-rc.d" ]; then
	echo "note: removing /usr/sbin/policy-rc.d inside the container (this machine's image has one)"
	rm -f "$R/usr/sbin/policy-rc.d"
fi

C() { nsenter -t "$LEADER" -a "$@"; }
CJ() { C journalctl --no-pager -b "$@"; }
leader_up() {
	LEADER=$(ps -o pid=,comm= --ppid "$NSPAWN_PID" 2>/dev/null | awk '$2 == "systemd" { print $1; exit }')
	[ -n "$LEADER" ]
}
booted() { local s; s=$(C systemctl is-system-running 2>/dev/null); [ "$s" = running ] || [ "$s" = degraded ]; }
start_container() {
	# CAP_IPC_LOCK: nspawn withholds it by default; a real node's systemd
	# has it, and hostwd's unit hands it on for mlockall.
	systemd-nspawn --directory="$R" --register=no --keep-unit --private-network --console=pipe \
		--capability=CAP_IPC_LOCK \
		--machine=hwm-system -b </dev/null >>"$T_DIR/nspawn.log" 2>&1 &
	NSPAWN_PID=$!
	wait_for 20 leader_up && wait_for 60 booted
}
t0=$(now_ms)
start_container
t_check "container booted with systemd as PID 1 ($(( ($(now_ms) - t0) / 1000 )) s)" booted
if ! booted; then tail -20 "$T_DIR/nspawn.log"; t_done; exit 1; fi

# ------------------------------------------------------------- install
out=$(C sh -c 'dpkg -i /root/debs/libpmonhook0_*.deb /root/debs/hostwd-mtc_*.deb' 2>&1)
t_check "dpkg -i installs hostwd-mtc and libpmonhook0" test $? -eq 0
[ -n "$out" ] && grep -iE 'error|warn' <<<"$out"
UNITS="mtcagent mtcclient hostwd pmon-hook"
for u in $UNITS; do
	t_check "$u.service enabled at install, not started" \
		sh -c "[ \"\$(nsenter -t $LEADER -a systemctl is-enabled $u)\" = enabled ] && ! nsenter -t $LEADER -a systemctl -q is-active $u"
done

# Site configuration: everything on loopback, short periods, a fake
# watchdog and sysrq sink where the unit may write (/run/hostwd).
C mtcctl keygen /etc/mtc/mtc.key >/dev/null
C chmod 0600 /etc/mtc/mtc.key
# The fake lives in hostwd's StateDirectory: it survives a container
# reboot, so what hostwd wrote last before it (magic close or not) is read.
WDDEV=/var/lib/hostwd/watchdog
"$BIN/hostwd" --describe-config 2>&1 | grep -q 'file:' && WDDEV=file:/var/lib/hostwd/watchdog
C sh -c "cat >/etc/hostwd/hostwd.conf" <<EOF
[watchdog]
device = $WDDEV
timeout = 20
kick_interval = 1
[health]
report_period = 1
failure_threshold = 3
start_grace = 2
[action]
on_quorum_failure = crashdump
sysrq_path = /run/hostwd/sysrq
# No crash kernel here: a file saying 1 stands in for it, so the action
# is the crashdump byte rather than the reboot fallback.
kexec_crash_loaded = /etc/hwm-test-kexec-crash-loaded
EOF
C sh -c 'echo 1 >/etc/hwm-test-kexec-crash-loaded'
C sh -c "cat >/etc/pmon-hook/pmon-hook.conf" <<EOF
[hook]
report_period = 1
config_gates = /etc/hwm-test-configured
# Quorum holds while this pidfile names a live process.
quorum_processes = /run/hostwd/quorum.pid
EOF
# Node and controller in one container: the client reads the shipped
# path, the agent (a controller's daemon) its own file via a drop-in that
# changes only ExecStart's -c.
C sh -c "cat >/etc/mtc/mtc.conf" <<EOF
[client]
hostname = node-1
alive_period = 1
[pxeboot]
address = 127.0.1.2
agent_address = 127.0.1.1
[mgmt]
address = 127.0.2.2
agent_address = 127.0.2.1
[cluster]
address = 127.0.3.2
agent_address = 127.0.3.1
EOF
C sh -c "cat >/etc/mtc/agent.conf" <<EOF
[client]
alive_period = 1
[agent]
resend_interval_ms = 500
alive_missing_periods = 2
[pxeboot]
address = 127.0.1.1
[mgmt]
address = 127.0.2.1
[cluster]
address = 127.0.3.1
EOF
C sh -c "cat >/etc/mtc/hosts.conf" <<EOF
[host node-1]
pxeboot = 127.0.1.2
mgmt = 127.0.2.2
cluster = 127.0.3.2
# Provisioned, never reports: the agent's "mtcAlive stopped" event.
[host node-9]
pxeboot = 127.0.1.9
EOF
C touch /etc/hwm-test-configured
# The sysrq sink exists from boot on (hostwd never creates it).
C sh -c 'echo "f /run/hostwd/sysrq 0600 root root -" >/etc/tmpfiles.d/hwm-test.conf'
C mkdir -p /etc/systemd/system/mtcagent.service.d
C sh -c 'printf "[Service]\nWatchdogSec=3\nExecStart=\nExecStart=/usr/sbin/mtcagent -c /etc/mtc/agent.conf\n" >/etc/systemd/system/mtcagent.service.d/hwm-test.conf'
C systemctl daemon-reload
C systemd-tmpfiles --create /etc/tmpfiles.d/hwm-test.conf
for f in hostwd/hostwd.conf mtc/mtc.conf mtc/agent.conf pmon-hook/pmon-hook.conf; do
	b=${f%%/*}; [ "$b" = mtc ] && b=mtcclient; [ "$f" = mtc/agent.conf ] && b=mtcagent; [ "$b" = pmon-hook ] && b="pmon-hook run"
	o=$(C $b --check-config -c /etc/$f 2>&1)
	t_check "config /etc/$f valid${o:+ ($o)}" sh -c "nsenter -t $LEADER -a $b --check-config -c /etc/$f >/dev/null 2>&1"
done

# --------------------------------------------------------------- start
active() { [ "$(C systemctl show -P ActiveState "$1")" = active ]; }
# The operator locks node-1 while its client is not running yet: the
# command is lost, so the client's first mtcAlive reports unlocked and the
# agent must correct it.
C systemctl start mtcagent
wait_for 10 active mtcagent.service
C mtcctl -c /etc/mtc/agent.conf lock node-1 >/dev/null
C systemctl start $UNITS
for u in $UNITS; do
	wait_for 10 active "$u.service"
	st=$(for p in Type ActiveState SubState NRestarts; do C systemctl show -P $p "$u.service"; done | tr '\n' ' ')
	t_match "$u.service reaches active through Type=notify (hardened as shipped)" "^notify active running 0 " "$st"
done
C systemctl --no-pager status hostwd.service 2>&1 | grep -E 'Active|Status|Main PID' | sed 's/^/  /'

# Mismatch: the client reports unlocked; the agent corrects, the client
# writes the flag.
flagged() { C test -e /var/run/.node_locked && C test -e /var/persist/mtc/.node_locked; }
wait_for 10 flagged
t_check "hardened mtcclient wrote the lock flag and its backup" flagged
flagged || CJ -u mtcagent -u mtcclient | tail -n 25 | sed 's/^/     /'
jq_has() { CJ -o verbose "MESSAGE_ID=$1" 2>/dev/null | grep -qE "$2"; }
msgid_check() { # WHAT ID UNIT TEXT [FIELD=REGEX...]: the event's own fields too
	local what=$1 id=$2 unit=$3 text=$4 v f ok=1
	shift 4
	wait_for 10 jq_has "$id" "MESSAGE=.*$text"
	v=$(CJ -o verbose "MESSAGE_ID=$id" 2>/dev/null)
	grep -qE "MESSAGE=.*$text" <<<"$v" && grep -q "_SYSTEMD_UNIT=$unit.service" <<<"$v" &&
		grep -q "PRIORITY=" <<<"$v" && grep -q "SYSLOG_IDENTIFIER=" <<<"$v" || ok=0
	for f in "$@"; do grep -qE "^ *$f\$" <<<"$v" || ok=0; done
	if [ "$ok" = 1 ]; then
		t_ok "journalctl MESSAGE_ID=$id finds $what ($unit.service, with PRIORITY, SYSLOG_IDENTIFIER${*:+, $*})"
	else
		t_fail "journalctl MESSAGE_ID=$id finds $what ($unit.service${*:+, $*})"
		echo "$v" | grep -E 'MESSAGE=|_SYSTEMD_UNIT=|^ *(MTC|HWD)_' | head -8 | sed 's/^/     /'
	fi
}
msgid_check "the correction" f83c8d3a2bc740d6abfd229608569280 mtcagent "node-1 mtcAlive reporting unlocked while locked ; correcting" \
	MTC_HOST=node-1 MTC_ADMIN=locked MTC_REPORTED=unlocked 'MTC_NETWORK=(pxeboot|mgmt|cluster)'
msgid_check "lock written" a72a894e904f4964a7890b2077242693 mtcclient "Locked via .*lock flag .* written" \
	'MTC_NETWORK=(pxeboot|mgmt|cluster)' 'MTC_CMDSEQ=[0-9]+'
msgid_check "the suppression" 50574c55cd0a43ccacf754c24bb3dab5 hostwd "quorum failure suppressed: node locked" \
	'HWD_REASON=[a-z-]+'
msgid_check "mtcAlive stopped" 78cfe1689f754c06b023ddf325438462 mtcagent "node-9: mtcAlive stopped via pxeboot" \
	MTC_HOST=node-9 MTC_NETWORK=pxeboot
t_check "journalctl MESSAGE_ID=78cf... MTC_HOST=node-9 MTC_NETWORK=pxeboot: the event's own fields" \
	sh -c "nsenter -t $LEADER -a journalctl -b --no-pager MESSAGE_ID=78cfe1689f754c06b023ddf325438462 MTC_HOST=node-9 MTC_NETWORK=pxeboot | grep -q 'node-9: mtcAlive stopped'"
kicks() { C sh -c "wc -c </var/lib/hostwd/watchdog" 2>/dev/null || echo 0; }
k1=$(kicks)
wait_for 5 sh -c "[ \$(nsenter -t $LEADER -a sh -c 'wc -c </var/lib/hostwd/watchdog') -gt $k1 ]"
t_check "hardened hostwd kicks its watchdog device (fake at $WDDEV)" test "$(kicks)" -gt "$k1"
if C test -e /proc/sysrq-trigger; then
	echo "  (this container has /proc/sysrq-trigger)"
else
	t_ok "no /proc/sysrq-trigger in the container, and hostwd.service still started (ReadWritePaths=-)"
fi
# What the unit grants for kicks on time: locked memory, SCHED_RR, OOM-exempt.
hp=$(C systemctl show -P MainPID hostwd)
sched=$(C chrt -p "$hp" 2>&1 | tr '\n' ' ')
t_match "hostwd runs at real-time priority under its unit ($sched)" "SCHED_RR" "$sched"
t_match "hostwd's memory is locked" "VmLck:[[:space:]]+[1-9]" "$(C grep VmLck /proc/$hp/status)"
t_match "hostwd.service sets OOMScoreAdjust=-1000" "^-1000$" "$(C systemctl show -P OOMScoreAdjust hostwd)"
# A negative oom_score_adj needs CAP_SYS_RESOURCE, which some sandboxes
# (this test machine's included) do not have even for root.
if (( (0x$(awk '/^CapBnd/ { print $2 }' /proc/self/status) >> 24) & 1 )); then
	t_match "hostwd is exempt from the OOM killer" "^-1000$" "$(C cat /proc/$hp/oom_score_adj)"
else
	t_skip "hostwd's live oom_score_adj: this machine withholds CAP_SYS_RESOURCE from root, systemd cannot apply it"
fi
w=$(CJ -u hostwd -p warning 2>/dev/null | grep -v '^-- ' | grep hostwd)
[ -n "$w" ] && { echo "  hostwd warnings:"; sed 's/^/    /' <<<"$w"; }
st=$(C pmon-hook status 2>&1)
t_match "pmon-hook status answers from outside hostwd's PrivateNetwork" "state[= ]+suppressed" "$st"

# ---------------------------------------------------------------- reload
reload_keeps() {
	local u=$1 p1 p2
	p1=$(C systemctl show -P MainPID "$u")
	C systemctl reload "$u" || return 1
	wait_for 5 sh -c "nsenter -t $LEADER -a journalctl -b -u $u --no-pager | grep -q 'reloaded'"
	p2=$(C systemctl show -P MainPID "$u")
	[ "$p1" = "$p2" ] && [ "$p1" != 0 ] && active "$u"
}
for u in $UNITS; do
	t_check "systemctl reload $u keeps the same daemon running and active" reload_keeps "$u.service"
done

# ------------------------------------- on_stop = auto: only hostwd stops
# A plain stop of hostwd disarms the card (magic close); the system going
# down (the reboot below) leaves it armed, so a hung shutdown is reset.
wd_last() { C sh -c 'tail -c 1 /var/lib/hostwd/watchdog' 2>/dev/null; }
C systemctl stop hostwd
t_check "systemctl stop hostwd: device disarmed (the fake's last byte is the magic close: '$(wd_last)')" test "$(wd_last)" = V
t_check "... hostwd says why (only hostwd stopping, SystemState asked over sd-bus)" \
	sh -c "nsenter -t $LEADER -a journalctl -b --no-pager -u hostwd | grep -q 'watchdog disarmed (magic close): only hostwd is stopping .*(SystemState=\(running\|degraded\))'"
C systemctl start hostwd
wait_for 10 active hostwd.service
k1=$(kicks)
wait_for 5 sh -c "[ \$(nsenter -t $LEADER -a sh -c 'wc -c </var/lib/hostwd/watchdog') -gt $k1 ]"
t_check "hostwd started again and kicks" test "$(kicks)" -gt "$k1"
# A persistent journal, so hostwd's last words before the reboot are read.
C mkdir -p /var/log/journal
C journalctl --flush

# -------------------------------------------------------------- reboot
# Boot order: the flag lives in /run (gone at reboot); mtcclient restores
# it from the backup before hostwd starts, so hostwd never acts.
C systemctl reboot
wait_for 30 sh -c "! kill -0 $NSPAWN_PID 2>/dev/null"
wait "$NSPAWN_PID" 2>/dev/null
rc=$?
t_check "container reboot: nspawn ends with the reboot status 133 ($rc)" test "$rc" -eq 133
NSPAWN_PID=
last=$(tail -c 1 "$R/var/lib/hostwd/watchdog")
t_check "container reboot: hostwd left the device armed (no magic close; last byte '$last')" test "$last" = k
t_check "... and said why (the system is going down)" sh -c "journalctl -D '$R/var/log/journal' --no-pager -u hostwd.service | grep -q 'watchdog left ARMED (timeout 20s): the system is going down (systemd SystemState=stopping)'"
t0=$(now_ms)
start_container
t_check "container booted again ($(( ($(now_ms) - t0) / 1000 )) s)" booted
for u in $UNITS; do wait_for 10 active "$u.service"; done
wait_for 10 sh -c "nsenter -t $LEADER -a journalctl -b --no-pager MESSAGE_ID=50574c55cd0a43ccacf754c24bb3dab5 | grep -q suppressed"
restored=$(CJ -o short-monotonic MESSAGE_ID=a72a894e904f4964a7890b2077242693 | grep -m1 'restored from backup')
hstart=$(CJ -o short-monotonic -u hostwd.service | grep -m1 'started:')
echo "  $restored"; echo "  $hstart"
mono() { sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p' <<<"$1"; }
t_check "after reboot mtcclient restored the flag from the backup before hostwd started" \
	awk -v a="$(mono "$restored")" -v b="$(mono "$hstart")" 'BEGIN { exit !(a != "" && b != "" && a < b) }'
t_check "... hostwd started after mtcclient (unit order)" \
	sh -c "[ \$(nsenter -t $LEADER -a systemctl show -P ActiveEnterTimestampMonotonic mtcclient) -lt \$(nsenter -t $LEADER -a systemctl show -P ExecMainStartTimestampMonotonic hostwd) ]"
t_check "... and hostwd suppressed instead of acting (sysrq sink empty)" \
	sh -c "[ ! -s $R/run/hostwd/sysrq ] 2>/dev/null || nsenter -t $LEADER -a test ! -s /run/hostwd/sysrq"

# ----------------------------------------------- unlock: quorum failure
C mtcctl -c /etc/mtc/agent.conf unlock node-1 >/dev/null 2>&1
msgid_check "lock flag removed" bd38a9800bd2408a8bc478f54f1e92be mtcclient "Unlocked via .*removed" \
	'MTC_NETWORK=(pxeboot|mgmt|cluster)' 'MTC_CMDSEQ=[0-9]+'
wait_for 15 sh -c "nsenter -t $LEADER -a grep -q c /run/hostwd/sysrq"
t_check "unlocked, quorum lost: hardened hostwd wrote 'c' to its sysrq sink" C grep -q c /run/hostwd/sysrq
msgid_check "the quorum failure" 702f7a52efa249698d5d9e37956a24f4 hostwd "quorum failure: crashdump" \
	HWD_ACTION=crashdump 'HWD_REASON=[a-z-]+' 'HWD_CONSECUTIVE=[0-9]+'
t_check "hardened hostwd wrote its consecutive-action count (StateDirectory=hostwd)" C test -s /var/lib/hostwd/consecutive-actions
C sh -c 'echo 1 >/run/hostwd/quorum.pid'
msgid_check "quorum restored" cc08eab92e7f461e9147eebccace1ad0 hostwd "quorum restored"

# ------------------------------------------------- systemd's watchdog
p1=$(C systemctl show -P MainPID mtcagent)
n1=$(C systemctl show -P NRestarts mtcagent)
t_frz=$(now_ms)
C kill -STOP "$p1"
restarted() { local p; p=$(C systemctl show -P MainPID mtcagent); [ "$p" != "$p1" ] && [ "$p" != 0 ] && active mtcagent; }
wait_for 30 restarted
t_check "mtcagent frozen with SIGSTOP: systemd killed and restarted it after WatchdogSec=3 ($(( ($(now_ms) - t_frz) / 1000 )) s)" restarted
t_check "... NRestarts went up" test "$(C systemctl show -P NRestarts mtcagent)" -gt "$n1"
t_check "... the journal shows the watchdog timeout" sh -c "nsenter -t $LEADER -a journalctl -b --no-pager -u mtcagent | grep -q 'Watchdog timeout'"

# ---------------------------------------------------------- dpkg -r/-P
C dpkg -r hostwd-mtc >"$T_DIR/dpkg-r.log" 2>&1
t_check "dpkg -r hostwd-mtc succeeds" test $? -eq 0
running=""
for u in $UNITS; do active "$u.service" && running="$running $u"; done
t_check "dpkg -r stopped every unit${running:+ (still active:$running)}" test -z "$running"
left=$(for d in hostwd mtcclient mtcagent pmon-hook; do C pgrep -l -x "$d"; done)
t_check "dpkg -r leaves no daemon running${left:+ ($left)}" test -z "$left"
C dpkg -P hostwd-mtc libpmonhook0 >"$T_DIR/dpkg-p.log" 2>&1
t_check "dpkg -P purges both packages" test $? -eq 0
t_check "... and removes the configuration" C test ! -e /etc/hostwd/hostwd.conf
t_done
