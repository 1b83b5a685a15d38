/* hostwd's metrics: the table (name, type, unit, labels, help) that
 * --describe-metrics prints and docs/operations.md lists, the kick-gap
 * statistics, and the formatting of one snapshot. Pure: the daemon fills
 * hwd_metrics_in from its state and publishes the text. */
#ifndef HWD_METRICS_H
#define HWD_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "hwd_action.h"
#include "metrics.h"

extern const metric_def hwd_metric_defs[];
extern const size_t hwd_n_metric_defs;

/* Gaps between successful kicks, measured where they happen. */
typedef struct hwd_kick_stats {
	uint64_t last_usec;   /* 0: no kick yet */
	double worst_s;       /* since start */
	metrics_hist gaps;
} hwd_kick_stats;

void hwd_kick_stats_init(hwd_kick_stats *k);
void hwd_kick_stats_kick(hwd_kick_stats *k, uint64_t now_usec);

#define HWD_WHY_COUNT (HWD_WHY_LIMIT + 1)
#define HWD_ACTION_COUNT (HWD_ACTION_LOG + 1)

typedef struct hwd_metrics_in {
	bool armed;                 /* kicking a device (kernel or fake) */
	const char *device_kind;    /* kernel, file, none */
	int timeout_s;
	bool locked, configured, suppressed, failed, log_only, kicking;
	bool waiting;               /* waiting for configuration (configured=0, within configure_timeout) */
	const char *quorum;         /* ok, lost, unknown */
	unsigned bad_periods, threshold;
	unsigned consecutive, max_consecutive;
	const unsigned long (*actions)[HWD_WHY_COUNT]; /* [hwd_action][hwd_action_why] */
	unsigned long kicks, kick_failures;
	unsigned long reports, malformed, rejected, dropped_fit, status_requests;
	double last_report_age_s;   /* < 0: no report since start */
	const hwd_kick_stats *kick;
} hwd_metrics_in;

void hwd_metrics_format(const hwd_metrics_in *in, metrics_buf *b);

#endif
