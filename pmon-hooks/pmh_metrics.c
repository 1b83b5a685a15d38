#include "pmh_metrics.h"
#include "util.h"

enum { M_CONFIGURED, M_QUORUM, M_LAST_OK, M_SENT, M_FAILURES, M_GATES, M_PROCS, M_PERIOD, M_COUNT };

#define G(id, n, u, h) [id] = { "pmonhook_" n, METRIC_GAUGE, u, "", h }
#define C(id, n, h) [id] = { "pmonhook_" n, METRIC_COUNTER, "", "", h }

const metric_def pmh_metric_defs[] = {
	G(M_CONFIGURED, "configured", "", "1 if every config gate existed at the last evaluation."),
	G(M_QUORUM, "quorum_ok", "", "1 if every quorum process was running at the last evaluation."),
	G(M_LAST_OK, "last_report_ok", "", "1 if the last report reached hostwd's health socket."),
	C(M_SENT, "reports_sent_total", "Reports that reached hostwd."),
	C(M_FAILURES, "report_failures_total", "Reports that could not be sent (hostwd not listening, queue full past the wait)."),
	G(M_GATES, "config_gates", "", "Config gates watched ([hook] config_gates)."),
	G(M_PROCS, "quorum_processes", "", "Quorum processes watched ([hook] quorum_processes)."),
	G(M_PERIOD, "report_period_seconds", "seconds", "[hook] report_period."),
};

const size_t pmh_n_metric_defs = ARRAY_SIZE(pmh_metric_defs);

_Static_assert(ARRAY_SIZE(pmh_metric_defs) == M_COUNT, "one row per metric");

void pmh_metrics_format(const pmh_metrics_in *in, metrics_buf *b)
{
	metrics_one(b, &pmh_metric_defs[M_CONFIGURED], in->configured);
	metrics_one(b, &pmh_metric_defs[M_QUORUM], in->quorum_ok);
	metrics_one(b, &pmh_metric_defs[M_LAST_OK], in->last_ok);
	metrics_one(b, &pmh_metric_defs[M_SENT], (double)in->sent);
	metrics_one(b, &pmh_metric_defs[M_FAILURES], (double)in->failures);
	metrics_one(b, &pmh_metric_defs[M_GATES], in->gates);
	metrics_one(b, &pmh_metric_defs[M_PROCS], in->processes);
	metrics_one(b, &pmh_metric_defs[M_PERIOD], in->report_period_s);
}
