# Loopback transport for the seed scenario: networks are "failed" with the
# client's FIT files; no root needed.
NODE_IP=(127.0.1.2 127.0.2.2 127.0.3.2)
AGENT_IP=(127.0.1.1 127.0.2.1 127.0.3.1)
NODE_PREFIX=()
CTL_PREFIX=()
net_fail() { : >"$D/node/fit/drop_rx_$1"; : >"$D/node/fit/drop_tx_$1"; }
net_heal() { rm -f "$D/node/fit/drop_rx_$1" "$D/node/fit/drop_tx_$1"; }
rx_block() { : >"$D/node/fit/drop_rx_$1"; }
rx_unblock() { rm -f "$D/node/fit/drop_rx_$1"; }
