/* mtcclient's and mtcagent's metric tables (name, type, unit, labels,
 * help: what --describe-metrics prints and docs/operations.md lists) and
 * the client's formatting of one snapshot. Pure. The agent's own
 * formatting reads its host table (mtc_agent_metrics.c). */
#ifndef MTC_METRICS_H
#define MTC_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "metrics.h"
#include "mtc_codec.h"

extern const metric_def mtc_client_metric_defs[];
extern const size_t mtc_client_n_metric_defs;
extern const metric_def mtc_agent_metric_defs[];
extern const size_t mtc_agent_n_metric_defs;

/* The agent's table, by row. */
enum {
	MTCA_M_HOSTS, MTCA_M_ADMIN, MTCA_M_REPORTED, MTCA_M_MISMATCH, MTCA_M_MISMATCH_HOST, MTCA_M_CORRECTIONS,
	MTCA_M_COMMANDS, MTCA_M_MISSING, MTCA_M_MISSING_HOST, MTCA_M_WATCHED, MTCA_M_RX, MTCA_M_TX, MTCA_M_TX_ERRORS,
	MTCA_M_DROPPED, MTCA_M_SOCKET_UP, MTCA_M_STORE, MTCA_M_STORE_HEALTHY, MTCA_M_STORE_LOADED, MTCA_M_STORE_REV,
	MTCA_M_STORE_UNAVAILABLE, MTCA_M_ADMIN_REQUESTS, MTCA_M_ADMIN_LATENCY, MTCA_M_SERIES_CAPPED, MTCA_M_COUNT
};

/* Per-host series (hosts in mismatch, hosts missing) stop at this many
 * hosts, so 10,000 nodes never mean 10,000 lines; the cut is counted. */
#define MTC_METRICS_HOST_CAP 50

typedef struct mtc_client_metrics_in {
	bool flag, backup;
	uint32_t last_applied;
	unsigned long locks_applied, unlocks_applied, duplicates, flag_errors;
	/* drops by reason */
	unsigned long stale, old, wrong_host, bad_auth, malformed, wrong_net;
	bool provisioned[MTC_NET_COUNT], up[MTC_NET_COUNT];
	unsigned long commands[MTC_NET_COUNT], alives[MTC_NET_COUNT], acks[MTC_NET_COUNT],
		tx_errors[MTC_NET_COUNT], recoveries[MTC_NET_COUNT], open_failures[MTC_NET_COUNT];
} mtc_client_metrics_in;

void mtc_client_metrics_format(const mtc_client_metrics_in *in, metrics_buf *b);

/* One sample per network: values[net] labelled network="pxeboot" etc.;
 * only where mask[net] (NULL: all). */
void mtc_metrics_per_net(metrics_buf *b, const metric_def *d, const unsigned long *values, const bool *mask);

#endif
