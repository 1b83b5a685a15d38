# Loopback transport for the seed scenario: the default loopback addresses
# of mtc-lib.sh, networks "failed" with the client's FIT files; no root needed.
NODE_PREFIX=()
CTL_PREFIX=()
net_fail() { fit_fail_net "$1"; }
net_heal() { fit_heal_net "$1"; }
rx_block() { : >"$D/node/fit/drop_rx_$1"; }
rx_unblock() { rm -f "$D/node/fit/drop_rx_$1"; }
