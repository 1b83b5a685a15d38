# Network-namespace transport for the seed scenario: node 1 of a netns test
# bed; networks fail with nftables drop rules (as an IPSec or switch failure
# would: addresses stay, packets vanish).
. "$ROOT/tests/fault/netns-lib.sh"
seed_netns_init() {
	netns_setup 1 || return 1
	NODE_IP=("$(netns_node_ip 1 0)" "$(netns_node_ip 1 1)" "$(netns_node_ip 1 2)")
	AGENT_IP=("$(netns_ctl_ip 0)" "$(netns_ctl_ip 1)" "$(netns_ctl_ip 2)")
	NODE_PREFIX=(ip netns exec "$(netns_node 1)")
	CTL_PREFIX=(ip netns exec "$(netns_ctl)")
}
net_fail() { netns_drop 1 "$1" both; }
net_heal() { netns_undrop 1 "$1" both; }
rx_block() { netns_drop 1 "$1" in; }
rx_unblock() { netns_undrop 1 "$1" in; }
