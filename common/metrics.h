/* Prometheus text exposition (version 0.0.4) for node_exporter's textfile
 * collector: each daemon describes its metrics once, as a table (name,
 * type, unit, labels, help), formats samples into a buffer and publishes
 * the buffer atomically. Formatting is pure; metrics_write_textfile() is
 * the only system call. Never logs. */
#ifndef HWM_METRICS_H
#define HWM_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { METRIC_GAUGE, METRIC_COUNTER, METRIC_HISTOGRAM } metric_type;

typedef struct metric_def {
	const char *name;   /* full name: daemon prefix, base unit, _total for counters */
	metric_type type;
	const char *unit;   /* "seconds", "bytes", ... or "" */
	const char *labels; /* label names, comma-separated, for the docs; "" if none */
	const char *help;   /* one line */
} metric_def;

/* The text being built. A buffer that could not grow is marked failed
 * and everything after is ignored; metrics_write_textfile refuses it. */
typedef struct metrics_buf {
	char *data;
	size_t len, cap;
	bool failed;
} metrics_buf;

void metrics_buf_reset(metrics_buf *b);
void metrics_buf_free(metrics_buf *b);

/* "# HELP" and "# TYPE" lines of d: once per family, before its samples. */
void metrics_family(metrics_buf *b, const metric_def *d);

/* One sample. labels: NULL or 'a="x",b="y"' (values already escaped with
 * metrics_label_value when they come from outside). */
void metrics_sample(metrics_buf *b, const metric_def *d, const char *labels, double value);

/* The whole family with one unlabelled sample: the common case. */
void metrics_one(metrics_buf *b, const metric_def *d, double value);

/* value escaped for a label (backslash, double quote, newline) into
 * buf[size]; returns buf. Cut at size, never mid-escape. */
const char *metrics_label_value(const char *value, char *buf, size_t size);

#define METRICS_HIST_MAX 16

/* A histogram with fixed upper bounds (ascending, +Inf implied). */
typedef struct metrics_hist {
	const double *bounds;
	size_t n_bounds;                        /* at most METRICS_HIST_MAX */
	uint64_t buckets[METRICS_HIST_MAX + 1]; /* per bucket, not cumulative; last: above every bound */
	double sum;
	uint64_t count;
} metrics_hist;

void metrics_hist_init(metrics_hist *h, const double *bounds, size_t n_bounds);
void metrics_hist_observe(metrics_hist *h, double value);

/* _bucket (cumulative, le="..."), _sum and _count samples of h. */
void metrics_histogram(metrics_buf *b, const metric_def *d, const char *labels, const metrics_hist *h);

/* The table as TSV, one line per metric: name, type, unit, labels, help
 * (for docs/operations.md, as --describe-config is for the man pages). */
void metrics_describe(const metric_def *t, size_t n, FILE *out);

const char *metrics_type_name(metric_type t);

/* Publish b at path: written to "<path>.tmp.<pid>" in the same directory
 * (created O_EXCL|O_NOFOLLOW|O_NONBLOCK, so a FIFO or link planted there
 * is never opened), then renamed over path, so a reader sees the old file
 * or the new one. No fsync: metrics are rewritten every period and
 * losing the last one in a crash does not matter. Returns 0 or -errno. */
int metrics_write_textfile(const char *path, const metrics_buf *b);

/* Log-once bookkeeping for a daemon: *last holds the previous result.
 * True when r starts or ends a failure episode (the caller logs then). */
bool metrics_error_changed(int *last, int r);

#endif
