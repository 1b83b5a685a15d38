#!/usr/bin/env bash
# The main job: a locked node surviving dead management and cluster
# networks, on loopback, unprivileged, everything in a temp dir.
. "$(dirname "$0")/lib.sh"
. "$ROOT/tests/seed-scenario.sh"
. "$ROOT/tests/seed-fit.sh"
t_tmpdir
D=$T_DIR
cat <<'TXT'
hostwd-mtc demo: a locked node with dead management and cluster networks
=========================================================================
controller: mtcagent on 127.0.1.1 (pxeboot) 127.0.2.1 (mgmt) 127.0.3.1 (cluster)
node-1:     mtcclient on 127.0.1.2 / 127.0.2.2 / 127.0.3.2, hostwd with a FIFO
            watchdog and a file standing in for /proc/sysrq-trigger, pmon-hook
            reporting quorum lost (its quorum process hwm-absent-sm is not
            running; a node still being configured would not count at all).
hostwd:     1 s report period, 4 bad periods to act, 2 s start grace.

Before the fix (reference system) the Locked command only travelled on mgmt
and cluster, never arrived, and hostwd crashdumped the node forever.

checks:
TXT
SEED_LABEL="demo" seed_scenario
echo
echo "timeline (seconds from start):"
seed_timeline
echo
if [ "$T_FAIL" -eq 0 ]; then
	echo "RESULT: the story held: lock delivered over pxeboot, 0 crashdumps while locked,"
	echo "        the correction logged once, and the crashdump came ${SEED_ACTION_MS} ms after unlock."
else
	echo "RESULT: the story did NOT hold ($T_FAIL checks failed); logs were in $D"
fi
t_done
