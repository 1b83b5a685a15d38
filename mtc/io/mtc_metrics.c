#include "mtc_metrics.h"
#include "util.h"

#include <stdio.h>

enum {
	C_FLAG, C_BACKUP, C_LAST_APPLIED, C_APPLIED, C_DUPLICATES, C_FLAG_ERRORS, C_RECEIVED, C_DROPPED, C_ALIVES,
	C_ACKS, C_TX_ERRORS, C_PROVISIONED, C_SOCKET_UP, C_RECOVERIES, C_OPEN_FAILURES, C_COUNT
};

#define CG(id, n, l, h) [id] = { "mtcclient_" n, METRIC_GAUGE, "", l, h }
#define CC(id, n, l, h) [id] = { "mtcclient_" n, METRIC_COUNTER, "", l, h }

const metric_def mtc_client_metric_defs[] = {
	CG(C_FLAG, "lock_flag_present", "", "1 while the lock flag ([client] locked_file) exists: hostwd takes no action."),
	CG(C_BACKUP, "lock_backup_present", "", "1 while the persistent backup of the lock flag ([client] locked_backup) exists."),
	CG(C_LAST_APPLIED, "last_applied_sequence", "", "Command sequence (cmdseq) of the last command applied, as persisted."),
	CC(C_APPLIED, "commands_applied_total", "command", "Commands applied to the lock flag, by command (locked, unlocked)."),
	CC(C_DUPLICATES, "commands_duplicate_total", "", "Commands received again after they were applied (acked, not applied twice)."),
	CC(C_FLAG_ERRORS, "flag_errors_total", "", "Lock flag, backup or sequence writes that failed (the command was not acked)."),
	CC(C_RECEIVED, "commands_received_total", "network", "Authenticated commands for this host, by the network they arrived on."),
	CC(C_DROPPED, "commands_dropped_total", "reason",
	   "Frames dropped on receipt, by reason: stale_nonce, older_than_applied (replayed or delayed), wrong_host, bad_auth (forged), malformed, wrong_net."),
	CC(C_ALIVES, "alive_sent_total", "network", "mtcAlive frames sent, by network."),
	CC(C_ACKS, "acks_sent_total", "network", "Acks sent, by network."),
	CC(C_TX_ERRORS, "send_errors_total", "network", "Sends that failed, by network."),
	CG(C_PROVISIONED, "network_provisioned", "network", "1 if the network has an address in the configuration."),
	CG(C_SOCKET_UP, "socket_up", "network", "1 while both sockets of a provisioned network are open."),
	CC(C_RECOVERIES, "socket_recoveries_total", "network", "Sockets reopened after a failure or a close, by network."),
	CC(C_OPEN_FAILURES, "socket_open_failures_total", "network", "Failed socket opens (recovery retries), by network."),
};

const size_t mtc_client_n_metric_defs = ARRAY_SIZE(mtc_client_metric_defs);

_Static_assert(ARRAY_SIZE(mtc_client_metric_defs) == C_COUNT, "one row per client metric");

#define AG(id, n, u, l, h) [id] = { "mtcagent_" n, METRIC_GAUGE, u, l, h }
#define AC(id, n, l, h) [id] = { "mtcagent_" n, METRIC_COUNTER, "", l, h }

const metric_def mtc_agent_metric_defs[] = {
	AG(MTCA_M_HOSTS, "hosts", "", "", "Hosts in the hosts file."),
	AG(MTCA_M_ADMIN, "hosts_by_admin_state", "", "state", "Hosts by admin state: locked, unlocked, unknown (no saved state: treated as locked)."),
	AG(MTCA_M_REPORTED, "hosts_by_reported_state", "", "state", "Hosts by the lock state their own last report said: locked, unlocked, unknown (none yet)."),
	AG(MTCA_M_MISMATCH, "hosts_mismatched", "", "", "Hosts whose reported lock state disagrees with their admin state (a correction episode is open)."),
	AG(MTCA_M_MISMATCH_HOST, "host_mismatch", "", "host,admin,reported",
	   "1 per host in mismatch (at most 50 hosts; the rest counted in mtcagent_host_series_omitted)."),
	AC(MTCA_M_CORRECTIONS, "mismatch_episodes_total", "", "Mismatch episodes opened (each logged once: '... ; correcting')."),
	AC(MTCA_M_COMMANDS, "commands_sent_total", "", "Locked/Unlocked commands sent (operator changes, corrections and resends), each on every network."),
	AG(MTCA_M_MISSING, "hosts_alive_missing", "", "network", "Hosts whose mtcAlive is missing on the network (silent for [agent] alive_missing_periods)."),
	AG(MTCA_M_MISSING_HOST, "host_alive_missing", "", "host,network",
	   "1 per host and network with mtcAlive missing (at most 50 hosts; the rest counted in mtcagent_host_series_omitted)."),
	AG(MTCA_M_WATCHED, "hosts_alive_watched", "", "network", "Hosts whose mtcAlive is watched on the network (both sides have an address there)."),
	AC(MTCA_M_RX, "frames_received_total", "network", "Datagrams received, by network."),
	AC(MTCA_M_TX, "frames_sent_total", "network", "Frames sent, by network."),
	AC(MTCA_M_TX_ERRORS, "send_errors_total", "network", "Sends that failed, by network."),
	AC(MTCA_M_DROPPED, "frames_dropped_total", "reason",
	   "Frames dropped, by reason: bad_auth (forged), malformed, wrong_type, wrong_net, unknown_host, stale (replayed), old_boot (replayed), reordered."),
	AG(MTCA_M_SOCKET_UP, "socket_up", "", "network", "1 while both of the agent's sockets on a provisioned network are open."),
	AG(MTCA_M_STORE, "store_info", "", "kind", "The admin-state store ([agent] store: file or etcd); the sample is 1."),
	AG(MTCA_M_STORE_HEALTHY, "store_healthy", "", "", "1 if the store's last request was answered."),
	AG(MTCA_M_STORE_LOADED, "store_loaded", "", "", "1 once the store's state was read."),
	AG(MTCA_M_STORE_REV, "store_revision", "", "", "etcd: the revision last seen; file: 0."),
	AG(MTCA_M_STORE_UNAVAILABLE, "store_unavailable_seconds", "seconds", "", "How long the store has not answered; 0 when healthy."),
	AC(MTCA_M_ADMIN_REQUESTS, "admin_requests_total", "op,result", "mtcctl lock/unlock requests, by op (lock, unlock) and result (ok, error)."),
	[MTCA_M_ADMIN_LATENCY] = { "mtcagent_admin_request_duration_seconds", METRIC_HISTOGRAM, "seconds", "op",
				   "Time from an mtcctl lock/unlock request to the store's answer (stored and sent), by op." },
	AG(MTCA_M_SERIES_CAPPED, "host_series_omitted", "", "kind", "Hosts left out of the per-host series this write (kind: mismatch, missing)."),
};

const size_t mtc_agent_n_metric_defs = ARRAY_SIZE(mtc_agent_metric_defs);

_Static_assert(ARRAY_SIZE(mtc_agent_metric_defs) == MTCA_M_COUNT, "one row per agent metric");

void mtc_metrics_per_net(metrics_buf *b, const metric_def *d, const unsigned long *values, const bool *mask)
{
	char l[32];

	metrics_family(b, d);
	for (unsigned net = 0; net < MTC_NET_COUNT; net++) {
		if (mask && !mask[net])
			continue;
		snprintf(l, sizeof(l), "network=\"%s\"", mtc_net_name(net));
		metrics_sample(b, d, l, (double)values[net]);
	}
}

static void format_drops(const mtc_client_metrics_in *in, metrics_buf *b)
{
	const metric_def *d = &mtc_client_metric_defs[C_DROPPED];
	const struct {
		const char *reason;
		unsigned long v;
	} rows[] = { { "stale_nonce", in->stale }, { "older_than_applied", in->old }, { "wrong_host", in->wrong_host },
		     { "bad_auth", in->bad_auth }, { "malformed", in->malformed }, { "wrong_net", in->wrong_net } };
	char l[48];

	metrics_family(b, d);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		snprintf(l, sizeof(l), "reason=\"%s\"", rows[i].reason);
		metrics_sample(b, d, l, (double)rows[i].v);
	}
}

void mtc_client_metrics_format(const mtc_client_metrics_in *in, metrics_buf *b)
{
	const metric_def *t = mtc_client_metric_defs;
	unsigned long prov[MTC_NET_COUNT], up[MTC_NET_COUNT];

	for (int n = 0; n < MTC_NET_COUNT; n++) {
		prov[n] = in->provisioned[n];
		up[n] = in->up[n];
	}
	metrics_one(b, &t[C_FLAG], in->flag);
	metrics_one(b, &t[C_BACKUP], in->backup);
	metrics_one(b, &t[C_LAST_APPLIED], in->last_applied);
	metrics_family(b, &t[C_APPLIED]);
	metrics_sample(b, &t[C_APPLIED], "command=\"locked\"", (double)in->locks_applied);
	metrics_sample(b, &t[C_APPLIED], "command=\"unlocked\"", (double)in->unlocks_applied);
	metrics_one(b, &t[C_DUPLICATES], (double)in->duplicates);
	metrics_one(b, &t[C_FLAG_ERRORS], (double)in->flag_errors);
	mtc_metrics_per_net(b, &t[C_RECEIVED], in->commands, NULL);
	format_drops(in, b);
	mtc_metrics_per_net(b, &t[C_ALIVES], in->alives, NULL);
	mtc_metrics_per_net(b, &t[C_ACKS], in->acks, NULL);
	mtc_metrics_per_net(b, &t[C_TX_ERRORS], in->tx_errors, NULL);
	mtc_metrics_per_net(b, &t[C_PROVISIONED], prov, NULL);
	mtc_metrics_per_net(b, &t[C_SOCKET_UP], up, in->provisioned);
	mtc_metrics_per_net(b, &t[C_RECOVERIES], in->recoveries, in->provisioned);
	mtc_metrics_per_net(b, &t[C_OPEN_FAILURES], in->open_failures, in->provisioned);
}
