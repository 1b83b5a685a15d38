/* [agent] store = etcd, the watcher thread: one /v3/watch stream at a
 * time on one member, its messages handed to the loop as they come. It
 * resumes from one past the last revision seen, on the next member, after
 * the stream ends: a lost connection, a cancel by etcd (any reason), no
 * byte for WATCH_IDLE_S (a stopped member: etcd sends progress
 * notifications to a quiet watch), a compaction or one message over
 * REPLY_MAX (both: after a full read), or a re-baseline (watch_gen). */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtc_store_etcd.h"
#include "util.h"

typedef struct watch_ctx {
	etcd_store *s;
	http_buf line;
	unsigned gen;  /* s->watch_gen at the start */
	int64_t from;  /* the start revision asked */
	bool resync;   /* compacted, or a message over REPLY_MAX: a full read is needed */
	bool canceled; /* etcd canceled the watch (any reason): the stream is over */
	char cancel_why[160]; /* etcd's cancel_reason */
	bool idle;     /* no byte for WATCH_IDLE_S */
	uint64_t last_byte_ms;
} watch_ctx;

/* One message of the stream: advance the resume point, hand it over. */
static void watch_line(watch_ctx *w, const char *text, size_t len)
{
	etcd_store *s = w->s;
	mtc_etcd_result r;
	char msg[128];
	job *j;

	if (mtc_etcd_parse_watch(text, len, s->cfg.etcd_prefix, &r, msg, sizeof(msg)) == 0) {
		pthread_mutex_lock(&s->mu);
		if (w->gen == s->watch_gen)
			s->watch_from = r.compact_revision > 0 ? 0 : mtc_etcd_next_revision(s->watch_from, &r);
		pthread_mutex_unlock(&s->mu);
		w->resync = r.compact_revision > 0;
		w->canceled = r.canceled;
		if (r.canceled)
			mtc_etcd_auth_error(text, len, w->cancel_why, sizeof(w->cancel_why));
		mtc_etcd_result_free(&r);
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->kind = JOB_WATCH;
	j->epoch = w->gen;
	j->from_rev = w->from;
	j->reply = strndup(text, len);
	j->reply_len = len;
	etcd_post_done(s, j);
}

static bool watch_on_data(const char *d, size_t len, void *user)
{
	watch_ctx *w = user;
	char *nl;

	w->last_byte_ms = util_now_ms();
	if (etcd_on_data((char *)d, 1, len, &w->line) != len) {
		/* One message over REPLY_MAX (a catch-up of many changes):
		 * resuming from the same revision would fail the same way
		 * forever; a full read moves past it. */
		pthread_mutex_lock(&w->s->mu);
		if (w->gen == w->s->watch_gen)
			w->s->watch_from = 0;
		pthread_mutex_unlock(&w->s->mu);
		w->resync = true;
		return false;
	}
	while (w->line.p && (nl = memchr(w->line.p, '\n', w->line.n))) {
		size_t n = (size_t)(nl - w->line.p);

		if (n > 0)
			watch_line(w, w->line.p, n);
		memmove(w->line.p, nl + 1, w->line.n - n - 1);
		w->line.n -= n + 1;
		w->line.p[w->line.n] = '\0';
	}
	return !w->resync && !w->canceled;
}

/* Also the idle bound, to the second: libcurl's low-speed limit (the
 * transport's backstop) averages over several seconds and ended a
 * stream only ~16 s after its last byte. */
static bool watch_stop(void *user)
{
	watch_ctx *w = user;
	bool stop;

	pthread_mutex_lock(&w->s->mu);
	stop = w->s->stop || w->gen != w->s->watch_gen;
	pthread_mutex_unlock(&w->s->mu);
	w->idle = util_now_ms() - w->last_byte_ms >= (uint64_t)WATCH_IDLE_S * 1000;
	return stop || w->idle;
}

/* One watch stream on the current member, until it ends: -ETIMEDOUT
 * when no byte came for WATCH_IDLE_S (a quiet watch, or a stopped
 * member), else -ECONNRESET. */
static int watch_once(etcd_store *s, int64_t from, unsigned gen, char *err, size_t errlen)
{
	char *body = mtc_etcd_watch_body(s->cfg.etcd_prefix, from);
	watch_ctx w = { .s = s, .gen = gen, .from = from, .last_byte_ms = util_now_ms() };
	char why[224] = "revision compacted or a message over 4 MiB, reading again";
	int r;

	if (!body) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = etcd_stream(s, s->watch_ep, "/v3/watch", body, WATCH_IDLE_S, watch_on_data, watch_stop, &w, why,
			sizeof(why));
	if (r == 0 && w.canceled && !w.resync)
		snprintf(why, sizeof(why), "canceled by etcd%s%.160s", w.cancel_why[0] ? ": " : "", w.cancel_why);
	if (r == 0 && w.idle && !w.canceled && !w.resync) {
		r = -ETIMEDOUT;
		snprintf(why, sizeof(why), "no byte for %ld s (a stopped member?)", WATCH_IDLE_S);
	} else if (r == 0 && !w.canceled && !w.resync)
		snprintf(why, sizeof(why), "ended by the agent (stopping, or etcd read again as a new baseline)");
	free(body);
	snprintf(err, errlen, "watch on %s from revision %" PRId64 " ended: %s", s->ep[s->watch_ep], from, why);
	etcd_buf_reset(&w.line);
	return r == -ETIMEDOUT ? r : -ECONNRESET;
}

/* Wait for a start revision (or stop); false on stop. */
static bool watch_wait(etcd_store *s, int64_t *from, unsigned *gen, int retry_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)retry_ms * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&s->mu);
	while (!s->stop && retry_ms)
		if (pthread_cond_timedwait(&s->cv, &s->mu, &ts) == ETIMEDOUT)
			retry_ms = 0;
	while (!s->stop && !s->watch_from)
		pthread_cond_wait(&s->cv, &s->mu);
	*from = s->stop ? 0 : s->watch_from;
	*gen = s->watch_gen;
	pthread_mutex_unlock(&s->mu);
	return *from > 0;
}

void *etcd_watcher_main(void *arg)
{
	etcd_store *s = arg;
	int64_t from;
	unsigned gen;
	int retry = 0;

	while (watch_wait(s, &from, &gen, retry)) {
		job *j = calloc(1, sizeof(*j));

		if (!j)
			break;
		j->r = watch_once(s, from, gen, j->err, sizeof(j->err));
		j->kind = JOB_WATCH;
		j->epoch = gen;
		etcd_post_done(s, j);
		s->watch_ep = (s->watch_ep + 1) % s->n_ep;
		retry = WATCH_RETRY_MS;
	}
	return NULL;
}

