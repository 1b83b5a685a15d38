/* mtcagent's metrics: a snapshot of the host table, the fleet view, the
 * frame counters and the store, written to [metrics] agent_textfile every
 * alive_period. Counts are summed over the host table (10,000 hosts: a
 * few hundred microseconds); per-host series only for hosts in mismatch
 * or missing, at most MTC_METRICS_HOST_CAP of each. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mtc_agent.h"
#include "mtc_metrics.h"
#include "mtc_store.h"
#include "util.h"

#define T(id) (&mtc_agent_metric_defs[id])

static const double latency_bounds[] = { 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5 };

static void ensure_ready(agent_metrics *m)
{
	if (m->ready)
		return;
	for (int i = 0; i < 2; i++)
		metrics_hist_init(&m->latency[i], latency_bounds, ARRAY_SIZE(latency_bounds));
	m->ready = true;
}

void agent_metrics_admin_done(agent *a, bool lock, int r, uint64_t usec)
{
	agent_metrics *m = &a->metrics;

	ensure_ready(m);
	m->requests[lock ? 0 : 1][r < 0]++;
	if (r >= 0)
		metrics_hist_observe(&m->latency[lock ? 0 : 1], (double)usec / 1e6);
}

static const char *reported_label(int r)
{
	return r == MTC_REPORTED_LOCKED ? "locked" : r == MTC_REPORTED_UNLOCKED ? "unlocked" : "unknown";
}

/* Three samples labelled state="locked|unlocked|unknown". */
static void by_state(metrics_buf *b, const metric_def *d, const unsigned long v[3])
{
	static const char *const names[3] = { "locked", "unlocked", "unknown" };
	char l[32];

	metrics_family(b, d);
	for (int i = 0; i < 3; i++) {
		snprintf(l, sizeof(l), "state=\"%s\"", names[i]);
		metrics_sample(b, d, l, (double)v[i]);
	}
}

static void format_hosts(agent *a, metrics_buf *b)
{
	unsigned long admin[3] = { 0 }, rep[3] = { 0 }, episodes = 0, commands = 0, mismatched = 0;

	for (size_t i = 0; i < a->n_hosts; i++) {
		const agent_host *h = &a->hosts[i];

		admin[!mtc_admin_known(&h->adm) ? 2 : mtc_admin_locked(&h->adm) ? 0 : 1]++;
		rep[h->adm.ep.reported == MTC_REPORTED_LOCKED ? 0 : h->adm.ep.reported == MTC_REPORTED_UNLOCKED ? 1 : 2]++;
		mismatched += h->adm.ep.active;
		episodes += h->adm.ep.episodes;
		commands += h->commands_sent;
	}
	metrics_one(b, T(MTCA_M_HOSTS), (double)a->n_hosts);
	by_state(b, T(MTCA_M_ADMIN), admin);
	by_state(b, T(MTCA_M_REPORTED), rep);
	metrics_one(b, T(MTCA_M_MISMATCH), (double)mismatched);
	metrics_one(b, T(MTCA_M_CORRECTIONS), (double)episodes);
	metrics_one(b, T(MTCA_M_COMMANDS), (double)commands);
}

/* The per-host series: hosts in mismatch, hosts missing per network. */
static void format_host_series(agent *a, metrics_buf *b, unsigned long omitted[2])
{
	unsigned listed = 0;
	char name[2 * MTC_HOSTNAME_MAX + 2], l[3 * MTC_HOSTNAME_MAX];

	metrics_family(b, T(MTCA_M_MISMATCH_HOST));
	for (size_t i = 0; i < a->n_hosts; i++) {
		const agent_host *h = &a->hosts[i];

		if (!h->adm.ep.active)
			continue;
		if (listed++ >= MTC_METRICS_HOST_CAP) {
			omitted[0]++;
			continue;
		}
		snprintf(l, sizeof(l), "host=\"%s\",admin=\"%s\",reported=\"%s\"",
			 metrics_label_value(h->entry.name, name, sizeof(name)),
			 mtc_admin_known(&h->adm) ? agent_admin_name(h) : "unknown", reported_label(h->adm.ep.reported));
		metrics_sample(b, T(MTCA_M_MISMATCH_HOST), l, 1);
	}
	listed = 0;
	metrics_family(b, T(MTCA_M_MISSING_HOST));
	for (size_t i = 0; i < a->n_hosts; i++) {
		const agent_host *h = &a->hosts[i];

		if (!agent_host_missing(a, h))
			continue;
		if (listed++ >= MTC_METRICS_HOST_CAP) {
			omitted[1]++;
			continue;
		}
		metrics_label_value(h->entry.name, name, sizeof(name));
		for (unsigned net = 0; net < MTC_NET_COUNT; net++)
			if (agent_fleet_watched(a, h, (int)net) && h->link[net].state == MTC_LINK_MISSING) {
				snprintf(l, sizeof(l), "host=\"%s\",network=\"%s\"", name, mtc_net_name(net));
				metrics_sample(b, T(MTCA_M_MISSING_HOST), l, 1);
			}
	}
}

static void format_fleet(agent *a, metrics_buf *b)
{
	unsigned long missing[MTC_NET_COUNT] = { 0 }, watched[MTC_NET_COUNT] = { 0 };

	for (size_t i = 0; i < a->n_hosts; i++)
		for (int net = 0; net < MTC_NET_COUNT; net++)
			if (agent_fleet_watched(a, &a->hosts[i], net)) {
				watched[net]++;
				missing[net] += a->hosts[i].link[net].state == MTC_LINK_MISSING;
			}
	mtc_metrics_per_net(b, T(MTCA_M_MISSING), missing, NULL);
	mtc_metrics_per_net(b, T(MTCA_M_WATCHED), watched, NULL);
}

static void format_frames(agent *a, metrics_buf *b)
{
	unsigned long reordered = 0, up[MTC_NET_COUNT];
	bool prov[MTC_NET_COUNT];
	char l[48];

	for (size_t i = 0; i < a->n_hosts; i++)
		reordered += a->hosts[i].reordered;
	mtc_metrics_per_net(b, T(MTCA_M_RX), a->io.rx, NULL);
	mtc_metrics_per_net(b, T(MTCA_M_TX), a->tx, NULL);
	mtc_metrics_per_net(b, T(MTCA_M_TX_ERRORS), a->tx_errors, NULL);
	const struct {
		const char *reason;
		unsigned long v;
	} rows[] = { { "bad_auth", a->drops.bad_auth }, { "malformed", a->drops.malformed },
		     { "wrong_type", a->drops.wrong_type }, { "wrong_net", a->drops.wrong_net },
		     { "unknown_host", a->unknown_host }, { "stale", a->stale }, { "old_boot", a->old_boot },
		     { "reordered", reordered } };
	metrics_family(b, T(MTCA_M_DROPPED));
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		snprintf(l, sizeof(l), "reason=\"%s\"", rows[i].reason);
		metrics_sample(b, T(MTCA_M_DROPPED), l, (double)rows[i].v);
	}
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		prov[net] = a->io.socks[net].provisioned;
		up[net] = mtc_sock_up(&a->io.socks[net]);
	}
	mtc_metrics_per_net(b, T(MTCA_M_SOCKET_UP), up, prov);
}

static void format_store(agent *a, metrics_buf *b)
{
	static const char *const ops[2] = { "lock", "unlock" };
	mtc_store_health sh;
	char l[48];

	a->store->health(a->store_data, &sh);
	metrics_family(b, T(MTCA_M_STORE));
	snprintf(l, sizeof(l), "kind=\"%s\"", a->store->name);
	metrics_sample(b, T(MTCA_M_STORE), l, 1);
	metrics_one(b, T(MTCA_M_STORE_HEALTHY), sh.healthy);
	metrics_one(b, T(MTCA_M_STORE_LOADED), sh.loaded);
	metrics_one(b, T(MTCA_M_STORE_REV), (double)sh.revision);
	metrics_one(b, T(MTCA_M_STORE_UNAVAILABLE), sh.unavailable_s);
	metrics_family(b, T(MTCA_M_ADMIN_REQUESTS));
	for (int op = 0; op < 2; op++)
		for (int err = 0; err < 2; err++) {
			snprintf(l, sizeof(l), "op=\"%s\",result=\"%s\"", ops[op], err ? "error" : "ok");
			metrics_sample(b, T(MTCA_M_ADMIN_REQUESTS), l, (double)a->metrics.requests[op][err]);
		}
	metrics_family(b, T(MTCA_M_ADMIN_LATENCY));
	for (int op = 0; op < 2; op++) {
		snprintf(l, sizeof(l), "op=\"%s\"", ops[op]);
		metrics_histogram(b, T(MTCA_M_ADMIN_LATENCY), l, &a->metrics.latency[op]);
	}
}

void agent_metrics_publish(agent *a, uint64_t now)
{
	agent_metrics *m = &a->metrics;
	unsigned long omitted[2] = { 0 };

	if (!a->cfg.metrics_agent[0] || (m->last_write_ms && now - m->last_write_ms < (uint64_t)a->cfg.alive_period * 1000))
		return;
	ensure_ready(m);
	m->last_write_ms = now;
	metrics_buf_reset(&m->buf);
	format_hosts(a, &m->buf);
	format_host_series(a, &m->buf, omitted);
	format_fleet(a, &m->buf);
	format_frames(a, &m->buf);
	format_store(a, &m->buf);
	metrics_family(&m->buf, T(MTCA_M_SERIES_CAPPED));
	metrics_sample(&m->buf, T(MTCA_M_SERIES_CAPPED), "kind=\"mismatch\"", (double)omitted[0]);
	metrics_sample(&m->buf, T(MTCA_M_SERIES_CAPPED), "kind=\"missing\"", (double)omitted[1]);
	service_publish_metrics(a->cfg.metrics_agent, &m->buf, &m->error);
}

void agent_metrics_free(agent *a)
{
	metrics_buf_free(&a->metrics.buf);
}
