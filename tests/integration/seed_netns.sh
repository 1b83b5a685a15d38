#!/usr/bin/env bash
# The field-failure regression in network namespaces: real veth links,
# nftables drops on the node's mgmt and cluster interfaces. Needs root.
. "$(dirname "$0")/../lib.sh"
. "$ROOT/tests/seed-scenario.sh"
. "$ROOT/tests/seed-netns.sh"
if ! netns_can_run; then
	t_skip "seed/netns: skipped: needs root, ip and nft"
	t_done
	exit 0
fi
t_tmpdir
D=$T_DIR
if ! seed_netns_init; then
	t_fail "seed/netns: could not build the namespaces"
	t_done
	exit 1
fi
SEED_LABEL="seed/netns" seed_scenario
echo "timeline:"
seed_timeline
t_done
