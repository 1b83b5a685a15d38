#include "metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define METRICS_BUF_MAX (16u << 20)

static void put(metrics_buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = cap <= METRICS_BUF_MAX ? realloc(b->data, cap) : NULL;
		if (!p) {
			b->failed = true;
			return;
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

static void putf(metrics_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void putf(metrics_buf *b, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		b->failed = true;
		return;
	}
	put(b, line, (size_t)n);
}

void metrics_buf_reset(metrics_buf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->data)
		b->data[0] = '\0';
}

void metrics_buf_free(metrics_buf *b)
{
	free(b->data);
	*b = (metrics_buf){ 0 };
}

const char *metrics_type_name(metric_type t)
{
	return t == METRIC_COUNTER ? "counter" : t == METRIC_HISTOGRAM ? "histogram" : "gauge";
}

/* HELP text escapes backslash and newline only. */
static void put_help(metrics_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			put(b, "\\\\", 2);
		else if (*s == '\n')
			put(b, "\\n", 2);
		else
			put(b, s, 1);
	}
}

void metrics_family(metrics_buf *b, const metric_def *d)
{
	putf(b, "# HELP %s ", d->name);
	put_help(b, d->help);
	putf(b, "\n# TYPE %s %s\n", d->name, metrics_type_name(d->type));
}

static void format_value(double v, char *buf, size_t size)
{
	if (isnan(v))
		snprintf(buf, size, "NaN");
	else if (isinf(v))
		snprintf(buf, size, v > 0 ? "+Inf" : "-Inf");
	else if (v > -1e15 && v < 1e15 && v == (double)(long long)v)
		snprintf(buf, size, "%lld", (long long)v);
	else
		snprintf(buf, size, "%.9g", v);
}

static void put_sample(metrics_buf *b, const char *name, const char *suffix, const char *labels,
		       const char *extra, double v)
{
	char val[32];
	bool any = (labels && *labels) || (extra && *extra);

	format_value(v, val, sizeof(val));
	putf(b, "%s%s%s%s%s%s%s %s\n", name, suffix, any ? "{" : "", labels ? labels : "",
	     labels && *labels && extra && *extra ? "," : "", extra ? extra : "", any ? "}" : "", val);
}

void metrics_sample(metrics_buf *b, const metric_def *d, const char *labels, double value)
{
	put_sample(b, d->name, "", labels, NULL, value);
}

void metrics_one(metrics_buf *b, const metric_def *d, double value)
{
	metrics_family(b, d);
	metrics_sample(b, d, NULL, value);
}

const char *metrics_label_value(const char *value, char *buf, size_t size)
{
	size_t o = 0;

	for (const char *s = value; *s; s++) {
		const char *esc = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
		size_t n = esc ? 2 : 1;

		if (o + n >= size)
			break;
		memcpy(buf + o, esc ? esc : s, n);
		o += n;
	}
	buf[size ? o : 0] = '\0';
	return buf;
}

void metrics_hist_init(metrics_hist *h, const double *bounds, size_t n_bounds)
{
	*h = (metrics_hist){ .bounds = bounds, .n_bounds = n_bounds < METRICS_HIST_MAX ? n_bounds : METRICS_HIST_MAX };
}

void metrics_hist_observe(metrics_hist *h, double value)
{
	size_t i = 0;

	while (i < h->n_bounds && value > h->bounds[i])
		i++;
	h->buckets[i]++;
	h->sum += value;
	h->count++;
}

void metrics_histogram(metrics_buf *b, const metric_def *d, const char *labels, const metrics_hist *h)
{
	uint64_t cum = 0;
	char le[48], v[32];

	for (size_t i = 0; i <= h->n_bounds; i++) {
		cum += h->buckets[i];
		if (i < h->n_bounds)
			format_value(h->bounds[i], v, sizeof(v));
		snprintf(le, sizeof(le), "le=\"%s\"", i < h->n_bounds ? v : "+Inf");
		put_sample(b, d->name, "_bucket", labels, le, (double)cum);
	}
	put_sample(b, d->name, "_sum", labels, NULL, h->sum);
	put_sample(b, d->name, "_count", labels, NULL, (double)h->count);
}

void metrics_describe(const metric_def *t, size_t n, FILE *out)
{
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%s\t%s\t%s\t%s\t%s\n", t[i].name, metrics_type_name(t[i].type), t[i].unit, t[i].labels,
			t[i].help);
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int open_tmp(const char *tmp)
{
	int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
	int fd = open(tmp, flags, 0644);

	/* A leftover of a writer with our pid (killed mid-write, pid reused):
	 * unlinked, never opened, whatever it is. */
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, flags, 0644);
	return fd < 0 ? -errno : fd;
}

int metrics_write_textfile(const char *path, const metrics_buf *b)
{
	char tmp[4096];
	int fd, r;

	if (!path || !*path)
		return -EINVAL;
	if (b->failed)
		return -ENOMEM;
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open_tmp(tmp);
	if (fd < 0)
		return fd;
	r = write_all(fd, b->data ? b->data : "", b->len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

bool metrics_error_changed(int *last, int r)
{
	bool changed = (r < 0) != (*last < 0);

	*last = r;
	return changed;
}
