#!/usr/bin/env bash
# Issue 20 items 5 and 13, the mtc side: what the daemons find at the paths
# of their files. A FIFO at the client's boot counter or the agent's state
# file must not hang either (it used to block in open); a symlink planted
# at the flag's temp name must not make locks fail; a flag, backup or state
# directory others may write to is refused loudly, by --check-config and at
# start. Each part also shows a normal lock/unlock in the same setup.
if [ "$(id -u)" -eq 0 ] && [ -z "${MTC_FILES_NETNS:-}" ] && command -v unshare >/dev/null; then
	exec env MTC_FILES_NETNS=1 unshare -n bash -c 'ip link set lo up && exec bash "$0"' "$0"
fi
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/mtc-lib.sh"
t_tmpdir
ROOTED=$([ "$(id -u)" -eq 0 ] && echo 1 || echo 0)
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"
mtc_world "$T_DIR" 1

flag_present() { test -f "$(flag)"; }
flag_absent() { test ! -e "$(flag)"; }
reports() { $CTL list | grep -qE "^node-1 +[a-z]+ +$1 "; }
lock_unlock_works() {
	$CTL lock node-1 >/dev/null
	wait_for 5 flag_present
	t_check "$1: a lock arrives" flag_present
	$CTL unlock node-1 >/dev/null
	wait_for 5 flag_absent
	t_check "$1: an unlock arrives" flag_absent
}
check_config() { # daemon conf -> rc, output in $D/cc.out
	timeout 5 "$BIN/$1" -c "$2" --check-config >"$D/cc.out" 2>&1
}

# --- a FIFO at the client's boot counter ----------------------------------
mkfifo "$D/node/persist/.boot_count"
check_config mtcclient "$D/client.conf"
t_check "FIFO at boot_file: --check-config fails (rc $?)" test $? -eq 1
t_check "... naming key and path" \
	grep -qF "[client] boot_file = $D/node/persist/.boot_count: is a FIFO, not a regular file" "$D/cc.out"
start_agent
: >"$D/client.log"
start_client
t_check "FIFO at boot_file: the client starts (no hang)" grep -q 'started as ' "$D/client.log"
t_check "... says so at start, naming the path" grep -qF "boot_file = $D/node/persist/.boot_count: is a FIFO" "$D/client.log"
t_check "... and the counter is a regular file now" test -f "$D/node/persist/.boot_count"
wait_for 5 reports unlocked
lock_unlock_works "FIFO at boot_file"

# --- a symlink planted at the flag's temp name ----------------------------
echo precious >"$D/precious"
ln -s "$D/precious" "$D/node/run/.node_locked.tmp.$CLIENT_PID"
lock_unlock_works "symlink at .node_locked.tmp.$CLIENT_PID"
t_check "... the link's target is untouched" grep -qx precious "$D/precious"
t_check "... the planted link is gone" test ! -L "$D/node/run/.node_locked.tmp.$CLIENT_PID"
if [ "$ROOTED" = 1 ] && command -v setpriv >/dev/null; then
	chmod 755 "$D"
	$NOBODY ln -s /etc/passwd "$D/node/run/.node_locked.tmp.$CLIENT_PID" 2>"$D/nobody.err"
	t_check "uid 65534 cannot plant at the temp name (the flag directory is root's, 0755)" \
		grep -q 'Permission denied' "$D/nobody.err"
	$NOBODY ln -s "$D/precious" "$D/node/run/.node_locked" 2>/dev/null
	t_check "... nor at the flag path" test ! -L "$D/node/run/.node_locked"
	chmod 700 "$D"
else
	t_skip "planting as uid 65534: needs root and setpriv"
fi

# --- the flag's directory writable by others -------------------------------
chmod 1777 "$D/node/run"
check_config mtcclient "$D/client.conf"
t_check "flag directory 1777: --check-config fails (rc $?)" test $? -eq 1
t_check "... naming key, path and mode" grep -qF \
	"[client] locked_file = $D/node/run/.node_locked: directory $D/node/run is writable by others (mode 1777)" "$D/cc.out"
stop_pid "$CLIENT_PID"
: >"$D/client.log"
start_client
t_check "... and the client says so at start" grep -qF "directory $D/node/run is writable by others (mode 1777)" "$D/client.log"
$CTL lock node-1 >/dev/null
t_wait_line "$D/client.log" 'Locked via .*cannot write'
t_check "... a lock does not write the flag there" test ! -e "$(flag)"
chmod 775 "$D/node/run"
check_config mtcclient "$D/client.conf"
t_check "flag directory 0775 (group): --check-config fails too" grep -qF "directory $D/node/run is writable by its group (mode 0775)" "$D/cc.out"
chmod 755 "$D/node/run"
check_config mtcclient "$D/client.conf"
t_check "flag directory back at 0755: --check-config passes (rc $?)" test $? -eq 0
wait_for 5 flag_present
t_check "... and the pending lock lands once the directory is right" flag_present
$CTL unlock node-1 >/dev/null
wait_for 5 flag_absent
chmod 1777 "$D/node/persist"
check_config mtcclient "$D/client.conf"
t_check "backup directory 1777: --check-config names locked_backup" grep -qF \
	"[client] locked_backup = $D/node/persist/.node_locked: directory $D/node/persist is writable by others" "$D/cc.out"
chmod 755 "$D/node/persist"

# --- the agent's state file: a FIFO, then its directory open to all ---------
stop_pid "$AGENT_PID"
mv "$D/ctl/admin.state" "$D/admin.state.saved"
mkfifo "$D/ctl/admin.state"
check_config mtcagent "$D/agent.conf"
t_check "FIFO at state_file: --check-config fails (rc $?)" test $? -eq 1
t_check "... naming key and path" grep -qF "[agent] state_file = $D/ctl/admin.state: is a FIFO, not a regular file" "$D/cc.out"
: >"$D/agent.log"
start_agent
t_check "FIFO at state_file: the agent starts (no hang)" test -S "$D/ctl/agent.sock"
t_check "... and says why it knows no state" \
	grep -qF "cannot read admin state $D/ctl/admin.state: is a FIFO, not a regular file" "$D/agent.log"
lock_unlock_works "FIFO at state_file"
t_check "... the state is a regular file again" test -f "$D/ctl/admin.state"
chmod 777 "$D/ctl"
check_config mtcagent "$D/agent.conf"
t_check "state directory 0777: --check-config fails" grep -qF \
	"[agent] state_file = $D/ctl/admin.state: directory $D/ctl is writable by others (mode 0777)" "$D/cc.out"
chmod 755 "$D/ctl"

t_done
