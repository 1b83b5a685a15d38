/* [agent] store = etcd: admin state in etcd, shared by every agent.
 *
 * Blocking HTTP (libcurl easy) runs on three threads, never in the event
 * loop: a writer for puts and txns (in order, one at a time), a reader for
 * the ranges (a full read is 1.15 MB at 10,000 hosts, 120-250 ms: a lock
 * queued behind it missed its 50 ms p99), and a watcher for the /v3/watch
 * stream. They touch no agent state: they hand finished jobs to the loop
 * through a pipe, and the loop parses them (mtc_etcd.c) and applies them.
 * The watch resumes from one past the last revision seen after any loss
 * of connection, on the next member. A range every POLL_USEC doubles as
 * the health check and catches anything a broken watch missed. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "log.h"
#include "mtc_store_etcd.h"
#include "service.h"
#include "util.h"

typedef struct http_buf {
	char *p;
	size_t n;
	bool oom;
} http_buf;

void etcd_job_free(job *j)
{
	mtc_etcd_result_free(&j->range);
	free(j->body);
	free(j->reply);
	free(j);
}

static void push(job **list, job *j)
{
	job **pp = list;

	while (*pp)
		pp = &(*pp)->next;
	j->next = NULL;
	*pp = j;
}

job *etcd_job_pop(job **list)
{
	job *j = *list;

	if (j)
		*list = j->next;
	return j;
}

/* From a thread: hand j to the loop. */
static void post_done(etcd_store *s, job *j)
{
	char c = 1;

	pthread_mutex_lock(&s->mu);
	push(&s->done, j);
	pthread_mutex_unlock(&s->mu);
	if (write(s->pipe[1], &c, 1) < 0) {
		/* full: the loop is already woken */
	}
}

static size_t on_data(char *d, size_t size, size_t nmemb, void *user)
{
	http_buf *b = user;
	size_t len = size * nmemb;
	char *p = b->oom || b->n + len > (4u << 20) ? NULL : realloc(b->p, b->n + len + 1);

	if (!p) {
		b->oom = true;
		return 0;
	}
	memcpy(p + b->n, d, len);
	b->n += len;
	p[b->n] = '\0';
	b->p = p;
	return len;
}

/* errbuf (CURL_ERROR_SIZE) gets libcurl's own words for a failure: the
 * TLS alert or verify error, where curl_easy_strerror() only says "Failed
 * sending data to the peer" or "SSL peer certificate or SSH remote key was
 * not OK". */
static CURL *easy_new(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, char *errbuf)
{
	const mtc_config *cfg = &s->cfg;
	char url[EP_LEN + 32];
	CURL *c = curl_easy_init();

	if (!c)
		return NULL;
	snprintf(url, sizeof(url), "%s%s", s->ep[ep], path);
	errbuf[0] = '\0';
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_COPYPOSTFIELDS, body);
	/* timeout 0 (the watch stream): no end, but a connect still gives up
	 * after a second (a member that is gone drops packets). */
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms && timeout_ms < 1000 ? timeout_ms : 1000L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* HTTP/1.1 on https as on http: the watch is the same chunked stream
	 * either way, and a refused client certificate shows up after a
	 * finished handshake (curl_why) instead of inside HTTP/2's setup. */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (cfg->etcd_cacert[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->etcd_cacert);
	if (cfg->etcd_cert[0])
		curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->etcd_cert);
	if (cfg->etcd_key[0])
		curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->etcd_key);
	return c;
}

/* Why a transfer on c failed, before c is cleaned up: libcurl's words
 * (errbuf), and a hint for the failure TLS 1.3 leaves vague. A member
 * refuses a client certificate (none, or of a CA it does not trust) only
 * after the client finished its handshake, so the client sees its
 * connection dropped: a reset, a failed getpeername(), at best an alert
 * named "bad certificate", varying from run to run. */
static void curl_why(const etcd_store *s, CURL *c, CURLcode cr, const char *errbuf, char *buf, size_t size)
{
	curl_off_t tls_us = 0;
	long code = 0;
	const char *hint = "";

	curl_easy_getinfo(c, CURLINFO_APPCONNECT_TIME_T, &tls_us);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (tls_us > 0 && code == 0 && cr != CURLE_OPERATION_TIMEDOUT)
		hint = s->cfg.etcd_cert[0] ? " (dropped after the TLS handshake: the member refused the client certificate?)"
					   : " (dropped after the TLS handshake: the member wants a client certificate? [etcd] cert is empty)";
	snprintf(buf, size, "%.120s%s", errbuf[0] ? errbuf : curl_easy_strerror(cr), hint);
}

/* One request to member ep: 0 with the answer in out, or -errno and err. */
static int post(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, http_buf *out, char *err,
		size_t errlen)
{
	char cerr[CURL_ERROR_SIZE], why[224];
	CURL *c = easy_new(s, ep, path, body, timeout_ms, cerr);
	CURLcode cr;
	long code = 0;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cr != CURLE_OK) {
		curl_why(s, c, cr, cerr, why, sizeof(why));
		snprintf(err, errlen, "%s: %s", s->ep[ep], why);
	}
	curl_easy_cleanup(c);
	if (cr != CURLE_OK)
		return cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
	if (code != 200) {
		snprintf(err, errlen, "%s: HTTP %ld: %.150s", s->ep[ep], code, out->p ? out->p : "");
		return -EIO;
	}
	return 0;
}

static void buf_reset(http_buf *b)
{
	free(b->p);
	*b = (http_buf){ 0 };
}

/* A put goes only to a member that just served a linearizable read: a
 * member cut off from quorum refuses that read, so no proposal is left
 * pending there, to be applied later behind the operator's back. The read
 * is of the host's key alone: the whole prefix (10,000 hosts: 1.5 MB of
 * JSON) made every put cost a full read, and a reboot storm's corrections
 * queued up past their deadline. */
static int run_put(etcd_store *s, job *j, int ep, long timeout_ms, http_buf *out)
{
	char *probe = mtc_etcd_get_body(s->cfg.etcd_prefix, j->host);
	int r;

	if (!probe) {
		snprintf(j->err, sizeof(j->err), "out of memory");
		return -ENOMEM;
	}
	r = post(s, ep, "/v3/kv/range", probe, timeout_ms / 2, out, j->err, sizeof(j->err));
	free(probe);
	buf_reset(out);
	if (r < 0)
		return r;
	return post(s, ep, j->kind == JOB_TXN ? "/v3/kv/txn" : "/v3/kv/put", j->body, timeout_ms / 2, out, j->err,
		    sizeof(j->err));
}

/* Every member in turn, from the last that answered, until one does or
 * the job's time is up. */
static void run_job(etcd_store *s, job *j, int *last_ep)
{
	bool write = j->kind == JOB_PUT || j->kind == JOB_TXN;
	long budget = write ? SET_DEADLINE_MS : TRY_TIMEOUT_MS * s->n_ep;
	uint64_t start = write ? j->submitted_ms : util_now_ms();
	http_buf out = { 0 };

	j->r = -ETIMEDOUT;
	snprintf(j->err, sizeof(j->err), "no member answered within %ld ms", budget);
	for (int i = 0; i < s->n_ep; i++) {
		int ep = (*last_ep + i) % s->n_ep;
		long left = budget - (long)(util_now_ms() - start);
		long per = TRY_TIMEOUT_MS * (write ? 2 : 1), t = left < per ? left : per;

		if (t < 100)
			break;
		buf_reset(&out);
		j->r = write ? run_put(s, j, ep, t, &out)
					  : post(s, ep, "/v3/kv/range", j->body, t, &out, j->err, sizeof(j->err));
		if (j->r == 0) {
			*last_ep = ep;
			j->reply = out.p;
			j->reply_len = out.n;
			/* Parsed here, not in the loop: every host's state is
			 * 1.15 MB of JSON at 10,000 hosts, 45-80 ms to parse,
			 * during which the loop read no socket and a reboot
			 * storm's frames overflowed their receive buffers. */
			if (j->kind == JOB_RANGE && mtc_etcd_parse_range(out.p, out.n, s->cfg.etcd_prefix, &j->range,
									 j->err, sizeof(j->err)) < 0)
				j->r = -EBADMSG;
			return;
		}
	}
	buf_reset(&out);
}

/* One queue, one thread, its own member index: the writer takes todo,
 * the reader todo_read. */
static void worker_loop(etcd_store *s, job **todo, int *last_ep)
{
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		job *j = etcd_job_pop(todo);

		if (!j) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		pthread_mutex_unlock(&s->mu);
		run_job(s, j, last_ep);
		post_done(s, j);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
}

static void *writer_main(void *arg)
{
	etcd_store *s = arg;

	worker_loop(s, &s->todo, &s->writer_ep);
	return NULL;
}

static void *reader_main(void *arg)
{
	etcd_store *s = arg;

	worker_loop(s, &s->todo_read, &s->reader_ep);
	return NULL;
}

typedef struct watch_ctx {
	etcd_store *s;
	http_buf line;
	bool resync; /* the start revision was compacted: a full read is needed */
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
		s->watch_from = r.compact_revision > 0 ? 0 : mtc_etcd_next_revision(s->watch_from, &r);
		pthread_mutex_unlock(&s->mu);
		w->resync = r.compact_revision > 0;
		mtc_etcd_result_free(&r);
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->kind = JOB_WATCH;
	j->reply = strndup(text, len);
	j->reply_len = len;
	post_done(s, j);
}

static size_t watch_on_data(char *d, size_t size, size_t nmemb, void *user)
{
	watch_ctx *w = user;
	size_t len = size * nmemb;
	char *nl;

	if (on_data(d, 1, len, &w->line) != len)
		return 0;
	while (w->line.p && (nl = memchr(w->line.p, '\n', w->line.n))) {
		size_t n = (size_t)(nl - w->line.p);

		if (n > 0)
			watch_line(w, w->line.p, n);
		memmove(w->line.p, nl + 1, w->line.n - n - 1);
		w->line.n -= n + 1;
		w->line.p[w->line.n] = '\0';
	}
	return w->resync ? 0 : len;
}

static int watch_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	etcd_store *s = ((watch_ctx *)user)->s;
	bool stop;

	(void)dt, (void)dn, (void)ut, (void)un;
	pthread_mutex_lock(&s->mu);
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* One watch stream on the current member, until it ends. */
static void watch_once(etcd_store *s, int64_t from, char *err, size_t errlen)
{
	char *body = mtc_etcd_watch_body(s->cfg.etcd_prefix, from);
	watch_ctx w = { .s = s };
	char cerr[CURL_ERROR_SIZE], why[224] = "revision compacted, reading again";
	CURL *c = body ? easy_new(s, s->watch_ep, "/v3/watch", body, 0, cerr) : NULL;
	CURLcode cr;

	free(body);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return;
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	cr = curl_easy_perform(c);
	if (!w.resync)
		curl_why(s, c, cr, cerr, why, sizeof(why));
	snprintf(err, errlen, "watch on %s from revision %" PRId64 " ended: %s", s->ep[s->watch_ep], from, why);
	curl_easy_cleanup(c);
	buf_reset(&w.line);
}

/* Wait for a start revision (or stop); false on stop. */
static bool watch_wait(etcd_store *s, int64_t *from, int retry_ms)
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
	pthread_mutex_unlock(&s->mu);
	return *from > 0;
}

static void *watcher_main(void *arg)
{
	etcd_store *s = arg;
	int64_t from;
	int retry = 0;

	while (watch_wait(s, &from, retry)) {
		job *j = calloc(1, sizeof(*j));

		if (!j)
			break;
		watch_once(s, from, j->err, sizeof(j->err));
		j->kind = JOB_WATCH;
		j->r = -ECONNRESET;
		post_done(s, j);
		s->watch_ep = (s->watch_ep + 1) % s->n_ep;
		retry = WATCH_RETRY_MS;
	}
	return NULL;
}

/* From the loop: queue a job for the worker. */
void etcd_submit(etcd_store *s, job *j)
{
	j->submitted_ms = util_now_ms();
	pthread_mutex_lock(&s->mu);
	if (j->kind == JOB_RANGE)
		push(&s->todo_read, j);
	else if (j->kind == JOB_PUT) {
		/* An operator waits: ahead of corrections. */
		j->next = s->todo;
		s->todo = j;
	} else
		push(&s->todo, j);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}
int etcd_parse_endpoints(etcd_store *s, const char *list)
{
	char tmp[sizeof(s->cfg.etcd_endpoints)], *save = NULL;

	snprintf(tmp, sizeof(tmp), "%s", list);
	for (char *t = strtok_r(tmp, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
		if (s->n_ep == EP_MAX || strlen(t) >= EP_LEN) {
			log_err("[etcd] endpoints: at most %d URLs of fewer than %d characters", EP_MAX, EP_LEN);
			return -EINVAL;
		}
		snprintf(s->ep[s->n_ep], EP_LEN, "%s", t);
		/* etcd's trailing slash would double in the path */
		if (s->ep[s->n_ep][strlen(t) - 1] == '/')
			s->ep[s->n_ep][strlen(t) - 1] = '\0';
		s->n_ep++;
	}
	return s->n_ep ? 0 : -EINVAL;
}

/* Stop the threads and wait for the first n of writer, reader, watcher. */
void etcd_stop_and_join(etcd_store *s, int n)
{
	pthread_mutex_lock(&s->mu);
	s->stop = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(s->writer, NULL);
	if (n > 1)
		pthread_join(s->reader, NULL);
	if (n > 2)
		pthread_join(s->watcher, NULL);
}

int etcd_start_threads(etcd_store *s)
{
	int r;

	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	r = sd_event_add_io(s->env.event, &s->pipe_src, s->pipe[0], EPOLLIN, etcd_on_pipe, s);
	if (r >= 0)
		r = sd_event_add_time_relative(s->env.event, &s->poll_timer, CLOCK_MONOTONIC, POLL_USEC,
					       100 * USEC_PER_MSEC, etcd_on_poll, s);
	if (r < 0)
		return r;
	r = -pthread_create(&s->writer, NULL, writer_main, s);
	if (r < 0)
		return r;
	r = -pthread_create(&s->reader, NULL, reader_main, s);
	if (r == 0) {
		r = -pthread_create(&s->watcher, NULL, watcher_main, s);
		if (r < 0)
			etcd_stop_and_join(s, 2);
	} else
		etcd_stop_and_join(s, 1);
	s->threads = r == 0;
	return r;
}
