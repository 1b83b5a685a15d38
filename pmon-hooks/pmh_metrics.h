/* pmon-hook run's metrics: the table --describe-metrics prints and the
 * formatting of one snapshot. Pure. */
#ifndef PMH_METRICS_H
#define PMH_METRICS_H

#include <stdbool.h>

#include "metrics.h"

extern const metric_def pmh_metric_defs[];
extern const size_t pmh_n_metric_defs;

typedef struct pmh_metrics_in {
	bool configured, quorum_ok, last_ok;
	unsigned long sent, failures;
	unsigned gates, processes;
	int report_period_s;
} pmh_metrics_in;

void pmh_metrics_format(const pmh_metrics_in *in, metrics_buf *b);

#endif
