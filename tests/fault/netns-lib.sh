# Network-namespace test bed: one controller namespace and N node
# namespaces, three networks (pxeboot, mgmt, cluster) each a bridge in the
# controller namespace with one veth per node. Addresses exist only inside
# these namespaces: 10.250.<net+1>.1 for the controller, .<10+i> for node i.
# Faults: link down, nftables drops per network and direction.
# Everything is removed by netns_teardown (registered with t_cleanup).

NETNS_NETS=(pxeboot mgmt cluster)
NETNS_TAG=hwm$$

netns_ctl() { echo "${NETNS_TAG}c"; }
netns_node() { echo "${NETNS_TAG}n$1"; }
netns_ctl_ip() { echo "10.250.$(( $1 + 1 )).1"; }       # net index
netns_node_ip() { echo "10.250.$(( $2 + 1 )).$(( 10 + $1 ))"; }  # node, net

netns_can_run() {
	[ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v nft >/dev/null
}

netns_setup() { # N
	local n=$1 c i k
	c=$(netns_ctl)
	T_CLEANUP+=("netns_teardown $n")
	ip netns add "$c" || return 1
	ip -n "$c" link set lo up
	for k in 0 1 2; do
		ip -n "$c" link add "br$k" type bridge
		ip -n "$c" addr add "$(netns_ctl_ip $k)/24" dev "br$k"
		ip -n "$c" link set "br$k" up
	done
	for i in $(seq 1 "$n"); do
		local nd
		nd=$(netns_node "$i")
		ip netns add "$nd" || return 1
		ip -n "$nd" link set lo up
		for k in 0 1 2; do
			ip -n "$c" link add "v${i}k$k" type veth peer name "eth$k" netns "$nd"
			ip -n "$c" link set "v${i}k$k" master "br$k" up
			ip -n "$nd" addr add "$(netns_node_ip "$i" $k)/24" dev "eth$k"
			ip -n "$nd" link set "eth$k" up
		done
		ip netns exec "$nd" nft -f - <<NFT || return 1
table inet hwm {
	chain input { type filter hook input priority 0; policy accept; }
	chain output { type filter hook output priority 0; policy accept; }
}
NFT
	done
}

netns_teardown() { # N
	local i
	for i in $(seq 1 "$1"); do ip netns del "$(netns_node "$i")" 2>/dev/null; done
	ip netns del "$(netns_ctl)" 2>/dev/null
	return 0
}

netns_net_index() { local k; for k in 0 1 2; do [ "${NETNS_NETS[$k]}" = "$1" ] && echo $k; done; }

# nft drop on node i, network name, direction in|out|both; and removal.
netns_drop() { # node net dir
	local nd k
	nd=$(netns_node "$1"); k=$(netns_net_index "$2")
	case $3 in
	in|both) ip netns exec "$nd" nft add rule inet hwm input iifname "eth$k" drop comment "\"drop-$2-in\"" ;;
	esac
	case $3 in
	out|both) ip netns exec "$nd" nft add rule inet hwm output oifname "eth$k" drop comment "\"drop-$2-out\"" ;;
	esac
}

netns_undrop() { # node net dir
	local nd chain h tag
	nd=$(netns_node "$1")
	for chain in input output; do
		[ "$3" = in ] && [ $chain = output ] && continue
		[ "$3" = out ] && [ $chain = input ] && continue
		tag="drop-$2-$([ $chain = input ] && echo in || echo out)"
		for h in $(ip netns exec "$nd" nft -a list chain inet hwm $chain | sed -n "s/.*comment \"$tag\" # handle \([0-9]*\)/\1/p"); do
			ip netns exec "$nd" nft delete rule inet hwm $chain handle "$h"
		done
	done
}

netns_link() { # node net up|down
	ip -n "$(netns_node "$1")" link set "eth$(netns_net_index "$2")" "$3"
}
