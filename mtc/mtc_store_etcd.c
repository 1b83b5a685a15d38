/* [agent] store = etcd: admin state in etcd, shared by every agent.
 *
 * Blocking HTTP (libcurl easy) runs on three threads, never in the event
 * loop: a writer for the writes (each a txn: put if the key is still as
 * last read, else read it; each host's in the order asked), a reader for
 * the ranges (in pages; a full read is 1.15 MB at 10,000 hosts, 120-250
 * ms: a lock queued behind it missed its 50 ms p99), and a watcher for the
 * /v3/watch stream. The writer and the reader keep their connections open.
 * They touch no agent state: they hand finished jobs to the loop through a
 * pipe, and the loop reports them to the agent. Every reply's header is
 * checked: a revision going back or another cluster id (a restore, a
 * rebuilt cluster) starts over from a full read. The watch resumes from
 * one past the last revision seen after any loss of connection, or no
 * byte for WATCH_IDLE_S, on the next member. A range every POLL_USEC
 * doubles as the health check and catches anything a broken watch missed. */
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
#include "mtc_etcd.h"
#include "mtc_store.h"
#include "service.h"
#include "util.h"

/* etcd restored from a snapshot (its revision went back) or rebuilt
 * (another cluster_id): journalctl MESSAGE_ID=... */
#define MSGID_ETCD_REWOUND "22dc08cb831d4cacac8800088223424d"

#define EP_MAX 5
#define EP_LEN 128
#define TRY_TIMEOUT_MS 1200L   /* one member, one request */
#define SET_DEADLINE_MS 4000L  /* a lock/unlock, every member tried; below mtcctl's 5 s */
#define POLL_USEC (2 * USEC_PER_SEC)
#define WATCH_RETRY_MS 300
/* A watch that brings no byte for this long (no event, no progress
 * notification: etcd's --experimental-watch-progress-notify-interval,
 * docs/operations.md) moves to the next member: a stopped member. */
#define WATCH_IDLE_S 10L
#define PAGE_KEYS 5000L       /* a range page: ~600 KB of host keys */
#define REPLY_MAX (4u << 20)  /* one reply (a page, a watch message) */
#define PAGES_MAX 1000000     /* bounds a read; every page moves past a key */


typedef enum { JOB_RANGE, JOB_PUT, JOB_TXN, JOB_WATCH } job_kind;

typedef struct job {
	job_kind kind;
	char *body;
	char host[MTC_HOSTNAME_MAX + 1];
	bool lock;
	/* writes (JOB_PUT: the operator's, JOB_TXN: a correction): the key's
	 * mod_revision the put compares with (0: missing), as this agent
	 * last read it; under mu (the writer moves it along a host's queue) */
	int64_t from_rev;
	int64_t base_rev;      /* the newest revision known committed when submitted */
	unsigned epoch;        /* s->epoch when submitted; JOB_WATCH: the stream's watch_gen */
	bool unclear;          /* a write: a try ended after etcd may have had it */
	mtc_etcd_cas cas;      /* writes: the reply parsed */
	size_t skipped;        /* JOB_RANGE: keys too big for a reply, stepped over */
	uint64_t submitted_ms; /* a write's deadline counts from here */
	void *ctx;        /* JOB_PUT, JOB_TXN: the put's, handed back with its answer */
	int r; /* 0: reply holds a 200 answer; < 0: err says why */
	char *reply;
	size_t reply_len;
	mtc_etcd_result range; /* JOB_RANGE: the reply parsed */
	char err[400];
	struct job *next;
} job;

/* A key's state as last read or watched: the keys that have one, sorted,
 * so a read that no longer has a key reports it removed. */
typedef struct etcd_key {
	char host[MTC_HOSTNAME_MAX + 1];
	int64_t rev;
} etcd_key;

typedef struct mtc_store etcd_store;

struct mtc_store {
	mtc_store_env env;
	mtc_config cfg; /* as opened: the threads read this copy, never the agent's */
	char ep[EP_MAX][EP_LEN];
	int n_ep;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job *todo, *todo_read, *done; /* under mu: writes, ranges, finished */
	bool stop;        /* under mu */
	int64_t watch_from; /* under mu; 0: not before the first range */
	unsigned watch_gen; /* under mu; a change ends the running watch stream */
	int writer_ep, reader_ep, watch_ep; /* each thread's own */
	pthread_t writer, reader, watcher;
	bool threads;
	int pipe[2];
	sd_event_source *pipe_src, *poll_timer;
	/* the loop's own */
	bool range_inflight, loaded, healthy;
	int64_t revision;
	uint64_t cluster_id; /* of the first reply; another one is a rebuilt cluster */
	unsigned epoch;      /* one more at each re-baseline (a restore, a new cluster) */
	uint64_t unhealthy_since;
	uint64_t range_failed_ms; /* when the last range failed (0: none) */
	char last_error[400];
	etcd_key *keys;
	size_t n_keys, cap_keys;
};

typedef struct http_buf {
	char *p;
	size_t n;
	bool oom;
} http_buf;

static void job_free(job *j)
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

static job *pop(job **list)
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
	char *p = b->oom || b->n + len > REPLY_MAX ? NULL : realloc(b->p, b->n + len + 1);

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
/* The writer's and the reader's own handle, reused request after request:
 * its connections to the members stay open (keep-alive) instead of a new
 * TCP (and TLS) connection per request. */
static _Thread_local CURL *thread_curl;

static void easy_setup(etcd_store *s, CURL *c, int ep, const char *path, const char *body, long timeout_ms,
		       char *errbuf)
{
	const mtc_config *cfg = &s->cfg;
	char url[EP_LEN + 32];

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
}

static CURL *easy_new(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, char *errbuf)
{
	CURL *c = curl_easy_init();

	if (c)
		easy_setup(s, c, ep, path, body, timeout_ms, errbuf);
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

/* -ECONNREFUSED: the request never left (no connection); -EFBIG: the
 * reply is over REPLY_MAX; -ETIMEDOUT, -ECONNRESET: it may have reached
 * etcd, and a write may still commit. */
static int curl_errno(CURL *c, CURLcode cr, const http_buf *out)
{
	long sent = 0;

	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &sent);
	if (cr == CURLE_WRITE_ERROR && out->oom)
		return -EFBIG;
	if (cr == CURLE_COULDNT_CONNECT || cr == CURLE_COULDNT_RESOLVE_HOST || sent == 0)
		return -ECONNREFUSED;
	return cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNRESET;
}

/* One request to member ep: 0 with the answer in out, or -errno and err. */
static int post(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, http_buf *out, char *err,
		size_t errlen)
{
	char cerr[CURL_ERROR_SIZE], why[224];
	CURL *c = thread_curl ? thread_curl : easy_new(s, ep, path, body, timeout_ms, cerr);
	CURLcode cr;
	long code = 0;
	int r = 0;

	if (c && c == thread_curl) {
		curl_easy_reset(c); /* keeps its connections */
		easy_setup(s, c, ep, path, body, timeout_ms, cerr);
	}
	thread_curl = c;
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
		r = curl_errno(c, cr, out);
		snprintf(err, errlen, "%s: %s", s->ep[ep], r == -EFBIG ? "reply over 4 MiB" : why);
	}
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL); /* cerr ends here, the handle lives on */
	if (r < 0)
		return r;
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

/* A write that committed at rev: the same host's writes queued behind it
 * compared with what it replaced, and now compare with rev (the
 * operator's lock then unlock, in order, both apply). */
static void chain_from_rev(etcd_store *s, const job *done, int64_t rev)
{
	pthread_mutex_lock(&s->mu);
	for (job *j = s->todo; j; j = j->next)
		if (strcmp(j->host, done->host) == 0 && j->from_rev == done->from_rev)
			j->from_rev = rev;
	pthread_mutex_unlock(&s->mu);
}

/* Every write is a txn: put only if the key is still at from_rev, else
 * read it. So a second try after a first that may have committed (a
 * timeout, a dropped connection) is no blind resend: it commits only if
 * nothing changed, or answers the key as it is now, and the loop decides.
 * It goes only to a member that just served a linearizable read of the
 * key: a member cut off from quorum refuses that read, so no proposal is
 * left pending there, to be applied later behind the operator's back. */
static int run_write(etcd_store *s, job *j, int ep, long timeout_ms, http_buf *out)
{
	char *probe = mtc_etcd_get_body(s->cfg.etcd_prefix, j->host), *body;
	int64_t from;
	int r;

	pthread_mutex_lock(&s->mu);
	from = j->from_rev;
	pthread_mutex_unlock(&s->mu);
	body = mtc_etcd_cas_body(s->cfg.etcd_prefix, j->host, j->lock, from);
	r = probe && body ? post(s, ep, "/v3/kv/range", probe, timeout_ms / 2, out, j->err, sizeof(j->err)) : -ENOMEM;
	free(probe);
	buf_reset(out);
	if (r == 0) {
		r = post(s, ep, "/v3/kv/txn", body, timeout_ms / 2, out, j->err, sizeof(j->err));
		if (r == -ETIMEDOUT || r == -ECONNRESET)
			j->unclear = true; /* the txn may have reached etcd */
	}
	free(body);
	if (r == 0 && mtc_etcd_parse_cas(out->p, out->n, s->cfg.etcd_prefix, j->host, &j->cas, j->err,
					 sizeof(j->err)) < 0)
		r = -EBADMSG;
	if (r == 0 && j->cas.succeeded)
		chain_from_rev(s, j, j->cas.hdr.revision);
	else if (r == 0 && j->cas.kv.state == (j->lock ? MTC_ETCD_LOCKED : MTC_ETCD_UNLOCKED))
		chain_from_rev(s, j, j->cas.kv.mod_revision); /* as asked: a try that timed out committed it */
	return r;
}

/* A write to every member in turn, from the last that answered, until
 * one answers or the write's time is up. */
static void run_write_job(etcd_store *s, job *j, int *last_ep)
{
	http_buf out = { 0 };

	j->r = -ETIMEDOUT;
	snprintf(j->err, sizeof(j->err), "no member answered within %ld ms", SET_DEADLINE_MS);
	for (int i = 0; i < s->n_ep; i++) {
		int ep = (*last_ep + i) % s->n_ep;
		long left = SET_DEADLINE_MS - (long)(util_now_ms() - j->submitted_ms);
		long t = left < 2 * TRY_TIMEOUT_MS ? left : 2 * TRY_TIMEOUT_MS;

		if (t < 100)
			break;
		buf_reset(&out);
		j->r = run_write(s, j, ep, t, &out);
		if (j->r == 0 || j->r == -EBADMSG) {
			*last_ep = ep;
			break;
		}
	}
	buf_reset(&out);
}

/* One page of a range, every member in turn: 0 and the page parsed. */
static int range_page(etcd_store *s, job *j, int *last_ep, const char *body, mtc_etcd_result *page)
{
	http_buf out = { 0 };
	int r = -ETIMEDOUT;

	snprintf(j->err, sizeof(j->err), "no member answered within %ld ms", TRY_TIMEOUT_MS * s->n_ep);
	for (int i = 0; i < s->n_ep; i++) {
		int ep = (*last_ep + i) % s->n_ep;

		buf_reset(&out);
		r = post(s, ep, "/v3/kv/range", body, TRY_TIMEOUT_MS, &out, j->err, sizeof(j->err));
		if (r == -EFBIG)
			break; /* as big on every member */
		if (r == 0) {
			*last_ep = ep;
			r = mtc_etcd_parse_range(out.p, out.n, s->cfg.etcd_prefix, page, j->err, sizeof(j->err));
			break;
		}
	}
	buf_reset(&out);
	return r;
}

/* page's keys after the ones in all. */
static int append_page(mtc_etcd_result *all, const mtc_etcd_result *page)
{
	mtc_etcd_kv *kv = realloc(all->kv, (all->n + page->n + 1) * sizeof(*kv));

	if (!kv)
		return -ENOMEM;
	memcpy(kv + all->n, page->kv, page->n * sizeof(*kv));
	all->kv = kv;
	all->n += page->n;
	return 0;
}

/* The next page of a read from key *from at revision rev: a page over
 * REPLY_MAX is asked again with fewer keys, down to one, and a single
 * key too big (a stray value under the prefix) is read by name only (a
 * host's key then counts as a value not understood: unknown). */
static int next_page(etcd_store *s, job *j, int *last_ep, const mtc_etcd_result *prev, int64_t rev, long *limit,
		     mtc_etcd_result *page)
{
	const char *from = prev ? prev->next_key : NULL;
	size_t from_len = prev ? prev->next_key_len : 0;
	bool keys_only = false;
	int r;

	for (;;) {
		char *body = mtc_etcd_range_page_body(s->cfg.etcd_prefix, from, from_len, keys_only ? 1 : *limit, rev,
						      keys_only);

		r = body ? range_page(s, j, last_ep, body, page) : -ENOMEM;
		free(body);
		if (r != -EFBIG || keys_only)
			break;
		if (*limit == 1) {
			keys_only = true;
			j->skipped++;
		}
		*limit = *limit > 8 ? *limit / 8 : 1;
	}
	if (r == 0 && *limit < PAGE_KEYS && !keys_only)
		*limit = *limit * 2 < PAGE_KEYS ? *limit * 2 : PAGE_KEYS;
	return r;
}

/* A full read in pages of at most PAGE_KEYS keys, all at the first
 * page's revision: no reply cap a fleet or a stray key can hit. Any page
 * failing fails the read (nothing of it applied). */
static void run_range(etcd_store *s, job *j, int *last_ep)
{
	mtc_etcd_result prev = { 0 }, page = { 0 };
	long limit = PAGE_KEYS;
	int r = 0;

	for (int n = 0; n < PAGES_MAX && r == 0; n++) {
		r = next_page(s, j, last_ep, n ? &prev : NULL, j->range.revision, &limit, &page);
		if (r == 0 && n == 0) {
			j->range.hdr = page.hdr;
			j->range.revision = page.revision;
		}
		if (r == 0)
			r = append_page(&j->range, &page);
		mtc_etcd_result_free(&prev);
		prev = page;
		page = (mtc_etcd_result){ 0 };
		if (r == 0 && !prev.more)
			break;
	}
	mtc_etcd_result_free(&prev);
	j->r = r;
}

/* Parsed on the threads, not in the loop: every host's state is 1.15 MB
 * of JSON at 10,000 hosts, 45-80 ms to parse, during which the loop read
 * no socket and a reboot storm's frames overflowed their receive buffers. */
static void run_job(etcd_store *s, job *j, int *last_ep)
{
	if (j->kind == JOB_RANGE)
		run_range(s, j, last_ep);
	else
		run_write_job(s, j, last_ep);
}

/* One queue, one thread, its own member index: the writer takes todo,
 * the reader todo_read. */
static void worker_loop(etcd_store *s, job **todo, int *last_ep)
{
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		job *j = pop(todo);

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
	curl_easy_cleanup(thread_curl);
	thread_curl = NULL;
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
	unsigned gen;  /* s->watch_gen at the start */
	bool resync;   /* compacted, or a message over REPLY_MAX: a full read is needed */
	bool canceled; /* etcd canceled the watch (any reason): the stream is over */
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
		mtc_etcd_result_free(&r);
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->kind = JOB_WATCH;
	j->epoch = w->gen;
	j->reply = strndup(text, len);
	j->reply_len = len;
	post_done(s, j);
}

static size_t watch_on_data(char *d, size_t size, size_t nmemb, void *user)
{
	watch_ctx *w = user;
	size_t len = size * nmemb;
	char *nl;

	if (on_data(d, 1, len, &w->line) != len) {
		/* One message over REPLY_MAX (a catch-up of many changes):
		 * resuming from the same revision would fail the same way
		 * forever; a full read moves past it. */
		pthread_mutex_lock(&w->s->mu);
		if (w->gen == w->s->watch_gen)
			w->s->watch_from = 0;
		pthread_mutex_unlock(&w->s->mu);
		w->resync = true;
		return 0;
	}
	while (w->line.p && (nl = memchr(w->line.p, '\n', w->line.n))) {
		size_t n = (size_t)(nl - w->line.p);

		if (n > 0)
			watch_line(w, w->line.p, n);
		memmove(w->line.p, nl + 1, w->line.n - n - 1);
		w->line.n -= n + 1;
		w->line.p[w->line.n] = '\0';
	}
	return w->resync || w->canceled ? 0 : len;
}

static int watch_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	etcd_store *s = ((watch_ctx *)user)->s;
	bool stop;

	(void)dt, (void)dn, (void)ut, (void)un;
	pthread_mutex_lock(&s->mu);
	stop = s->stop || ((watch_ctx *)user)->gen != s->watch_gen;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* One watch stream on the current member, until it ends. hasleader: a
 * member cut off from its leader cancels the watch (instead of a silent
 * stream); no byte for WATCH_IDLE_S ends it. */
static void watch_once(etcd_store *s, int64_t from, unsigned gen, char *err, size_t errlen)
{
	char *body = mtc_etcd_watch_body(s->cfg.etcd_prefix, from);
	watch_ctx w = { .s = s, .gen = gen };
	char cerr[CURL_ERROR_SIZE], why[224] = "revision compacted or a message over 4 MiB, reading again";
	CURL *c = body ? easy_new(s, s->watch_ep, "/v3/watch", body, 0, cerr) : NULL;
	struct curl_slist *hdr = curl_slist_append(NULL, "Grpc-Metadata-hasleader: true");
	CURLcode cr;

	free(body);
	if (!c || !hdr) {
		snprintf(err, errlen, "out of memory");
		curl_easy_cleanup(c);
		curl_slist_free_all(hdr);
		return;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, WATCH_IDLE_S);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, watch_on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, watch_on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	cr = curl_easy_perform(c);
	if (w.canceled && !w.resync)
		snprintf(why, sizeof(why), "canceled by etcd");
	else if (cr == CURLE_OPERATION_TIMEDOUT)
		snprintf(why, sizeof(why), "no byte for %ld s (a stopped member?)", WATCH_IDLE_S);
	else if (!w.resync)
		curl_why(s, c, cr, cerr, why, sizeof(why));
	snprintf(err, errlen, "watch on %s from revision %" PRId64 " ended: %s", s->ep[s->watch_ep], from, why);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdr);
	buf_reset(&w.line);
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

static void *watcher_main(void *arg)
{
	etcd_store *s = arg;
	int64_t from;
	unsigned gen;
	int retry = 0;

	while (watch_wait(s, &from, &gen, retry)) {
		job *j = calloc(1, sizeof(*j));

		if (!j)
			break;
		watch_once(s, from, gen, j->err, sizeof(j->err));
		j->kind = JOB_WATCH;
		j->r = -ECONNRESET;
		post_done(s, j);
		s->watch_ep = (s->watch_ep + 1) % s->n_ep;
		retry = WATCH_RETRY_MS;
	}
	return NULL;
}

/* An operator's put goes ahead of corrections (an operator waits), but
 * behind every other put and anything queued for the same host: each
 * host's writes run in the order they were asked. */
static void push_put(job **list, job *j)
{
	job **pp = list, **at = list;

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->kind == JOB_PUT || strcmp((*pp)->host, j->host) == 0)
			at = &(*pp)->next;
	j->next = *at;
	*at = j;
}

/* From the loop: queue a job for the worker. */
static void submit(etcd_store *s, job *j)
{
	j->submitted_ms = util_now_ms();
	j->base_rev = s->revision;
	j->epoch = s->epoch;
	pthread_mutex_lock(&s->mu);
	if (j->kind == JOB_RANGE)
		push(&s->todo_read, j);
	else if (j->kind == JOB_PUT)
		push_put(&s->todo, j);
	else
		push(&s->todo, j);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void set_health(etcd_store *s, bool ok, const char *err)
{
	if (ok && !s->healthy)
		log_notice("etcd: reachable again%s%s%s", s->last_error[0] ? " (was: " : "", s->last_error,
			   s->last_error[0] ? ")" : "");
	if (!ok && s->healthy)
		log_warn("etcd: unavailable: %s; %s; lock/unlock refused", err,
			 s->loaded ? "serving the last admin state read"
				   : "no admin state read yet: every host unknown, treated as locked");
	if (!ok && (s->healthy || !s->unhealthy_since))
		s->unhealthy_since = util_now_ms();
	if (!ok)
		snprintf(s->last_error, sizeof(s->last_error), "%s", err);
	s->healthy = ok;
}

static void submit_range(etcd_store *s);

static etcd_key *key_find(etcd_store *s, const char *host, size_t *ret_at)
{
	size_t lo = 0, hi = s->n_keys;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(host, s->keys[mid].host) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret_at = lo;
	return lo < s->n_keys && strcmp(s->keys[lo].host, host) == 0 ? &s->keys[lo] : NULL;
}

/* Remember host's key at rev (present: it holds a state) for the next
 * read's removals. */
static void key_note(etcd_store *s, const char *host, int64_t rev, bool present)
{
	size_t at;
	etcd_key *k = key_find(s, host, &at);

	if (k && !present) {
		memmove(k, k + 1, (s->n_keys - at - 1) * sizeof(*k));
		s->n_keys--;
		return;
	}
	if (k || !present) {
		if (k && rev > k->rev)
			k->rev = rev;
		return;
	}
	if (s->n_keys == s->cap_keys) {
		size_t cap = s->cap_keys ? s->cap_keys * 2 : 64;
		etcd_key *v = realloc(s->keys, cap * sizeof(*v));

		if (!v)
			return;
		s->keys = v;
		s->cap_keys = cap;
	}
	memmove(s->keys + at + 1, s->keys + at, (s->n_keys - at) * sizeof(*k));
	s->n_keys++;
	snprintf(s->keys[at].host, sizeof(s->keys[at].host), "%s", host);
	s->keys[at].rev = rev;
}

/* The key's mod_revision as last read or written (0: missing). */
static int64_t key_rev(etcd_store *s, const char *host)
{
	size_t at;
	const etcd_key *k = key_find(s, host, &at);

	return k ? k->rev : 0;
}

static mtc_admin_value value_of(mtc_etcd_state state)
{
	return state == MTC_ETCD_LOCKED ? MTC_ADMIN_LOCKED
	       : state == MTC_ETCD_UNLOCKED ? MTC_ADMIN_UNLOCKED : MTC_ADMIN_UNKNOWN;
}

/* A key read or watched at mod_revision rev: told to the agent, which
 * ignores old news. */
static void report_kv(etcd_store *s, const char *host, mtc_etcd_state state, int64_t rev, const char *why)
{
	mtc_store_event ev = { .kind = MTC_STORE_CHANGED, .host = host, .value = value_of(state), .version = rev,
			       .seq = mtc_etcd_cmdseq(rev), .why = why };

	key_note(s, host, rev, state == MTC_ETCD_LOCKED || state == MTC_ETCD_UNLOCKED);
	s->env.on_event(s->env.user, &ev);
}

/* Keys with a state before revision rev that a snapshot at rev lacks:
 * removed. */
static void report_absent(etcd_store *s, const mtc_etcd_result *r)
{
	size_t i = 0, k = 0;

	while (k < s->n_keys) {
		int c = i < r->n ? strcmp(r->kv[i].host, s->keys[k].host) : 1;

		if (c < 0) {
			i++;
			continue;
		}
		if (c == 0 || s->keys[k].rev > r->revision) {
			i += c == 0;
			k++;
			continue;
		}
		char host[MTC_HOSTNAME_MAX + 1];

		snprintf(host, sizeof(host), "%s", s->keys[k].host);
		report_kv(s, host, MTC_ETCD_DELETED, r->revision, "key removed"); /* drops keys[k] */
	}
}

/* etcd went back (restored from a snapshot) or is another cluster: every
 * revision this agent holds is from another history. Said loudly, the
 * store unhealthy until a full read is the new baseline (its revision
 * accepted, lower or not); the watch ends and restarts from there. */
static void rebaseline(etcd_store *s, mtc_etcd_hdr_verdict v, const mtc_etcd_header *hdr)
{
	char why[200];

	if (v == MTC_ETCD_HDR_NEW_CLUSTER)
		snprintf(why, sizeof(why), "cluster id changed from %" PRIu64 " to %" PRIu64 " (a rebuilt cluster?)",
			 s->cluster_id, hdr->cluster_id);
	else
		snprintf(why, sizeof(why), "revision went back from %" PRId64 " to %" PRId64
			 " (restored from a snapshot?)", s->revision, hdr->revision);
	log_emit_fields(LOG_ERR, MSGID_ETCD_REWOUND,
			(const char *[]){ LOG_FIELD("MTC_ETCD_REVISION=%" PRId64, hdr->revision),
					  LOG_FIELD("MTC_ETCD_CLUSTER_ID=%" PRIu64, hdr->cluster_id), NULL },
			"etcd: %s: every admin state read again from etcd as it is now; lock/unlock refused until then",
			why);
	set_health(s, false, why);
	s->cluster_id = hdr->cluster_id;
	s->revision = 0;
	s->loaded = false;
	s->epoch++;
	/* every key's revision is of the old history: a key the new read
	 * lacks is reported removed */
	for (size_t i = 0; i < s->n_keys; i++)
		s->keys[i].rev = 0;
	s->env.on_event(s->env.user, &(mtc_store_event){ .kind = MTC_STORE_REWOUND });
	pthread_mutex_lock(&s->mu);
	s->watch_from = 0;
	s->watch_gen++;
	pthread_mutex_unlock(&s->mu);
}

/* Any reply's header: false (and a re-baseline begun) if etcd went back
 * or is another cluster. Only a reply to a request sent after etcd had
 * committed base_rev can say "went back" (a slow reply to an older one
 * is not). */
static bool header_ok(etcd_store *s, const job *j, const mtc_etcd_header *hdr)
{
	mtc_etcd_hdr_verdict v = mtc_etcd_header_check(s->cluster_id, j->epoch == s->epoch ? j->base_rev : 0, hdr);

	if (!s->cluster_id)
		s->cluster_id = hdr->cluster_id;
	if (v == MTC_ETCD_HDR_OK)
		return true;
	rebaseline(s, v, hdr);
	return false;
}

static void on_range_done(etcd_store *s, job *j)
{
	s->range_inflight = false;
	if (j->r < 0) {
		s->range_failed_ms = util_now_ms();
		set_health(s, false, j->err);
		return;
	}
	(void)header_ok(s, j, &j->range.hdr); /* if not, this read is the new baseline */
	if (j->skipped)
		log_warn("etcd: %zu key(s) under %s too big for a reply skipped (a host's: unknown, treated as locked)",
			 j->skipped, s->cfg.etcd_prefix);
	set_health(s, true, NULL);
	/* A put on the writer may have answered with a newer one meanwhile. */
	if (j->range.revision > s->revision)
		s->revision = j->range.revision;
	for (size_t i = 0; i < j->range.n; i++)
		report_kv(s, j->range.kv[i].host, j->range.kv[i].state, j->range.kv[i].mod_revision, "read from etcd");
	report_absent(s, &j->range);
	if (!s->loaded) {
		s->loaded = true;
		log_notice("etcd: admin state read at revision %" PRId64, s->revision);
	}
	s->env.on_event(s->env.user, &(mtc_store_event){ .kind = MTC_STORE_LOADED });
	pthread_mutex_lock(&s->mu);
	if (!s->watch_from) {
		s->watch_from = s->revision + 1;
		pthread_cond_broadcast(&s->cv);
	}
	pthread_mutex_unlock(&s->mu);
}

static void put_answer(etcd_store *s, job *j, int r, int64_t rev, const char *why)
{
	mtc_store_event ev = { .kind = MTC_STORE_PUT, .host = j->host, .r = r, .why = why, .ctx = j->ctx };

	if (r == 0) {
		ev.value = j->lock ? MTC_ADMIN_LOCKED : MTC_ADMIN_UNLOCKED;
		ev.version = rev;
		ev.seq = mtc_etcd_cmdseq(rev);
		key_note(s, j->host, rev, true);
	}
	s->env.on_event(s->env.user, &ev);
}

/* A write etcd answered (every write is a put-if, JOB_PUT the operator's):
 * stored; or the compare failed, and the key as etcd holds it now (a
 * missing key's news at the reply's revision) is reported first, then
 * the put's answer: stored if etcd holds what was asked (this request
 * after a try that timed out, or another agent), else -EAGAIN. */
static void write_answered(etcd_store *s, job *j)
{
	const mtc_etcd_cas *c = &j->cas;
	char why[400];
	int r;

	set_health(s, true, NULL);
	if (c->hdr.revision > s->revision)
		s->revision = c->hdr.revision;
	if (!c->succeeded)
		report_kv(s, j->host, c->kv.state, c->kv.mod_revision ? c->kv.mod_revision : c->hdr.revision,
			  "read from etcd");
	r = mtc_etcd_put_answer(j->host, j->lock, j->unclear, c, key_rev(s, j->host), why, sizeof(why));
	if (j->kind == JOB_PUT)
		log_notice("%s: operator %s: %s", j->host, j->lock ? "lock" : "unlock", why);
	put_answer(s, j, r, c->succeeded ? c->hdr.revision : c->kv.mod_revision, why);
}

static void on_write_done(etcd_store *s, job *j)
{
	char why[600];

	if (j->r == 0 && header_ok(s, j, &j->cas.hdr)) {
		write_answered(s, j);
		return;
	}
	if (j->r < 0)
		set_health(s, false, j->err);
	if (j->r < 0 && j->unclear)
		snprintf(why, sizeof(why), "unknown: etcd did not answer (%s); the %s of %s may still commit; "
			 "check `mtcctl list`", j->err, j->lock ? "lock" : "unlock", j->host);
	else
		snprintf(why, sizeof(why), "etcd unavailable (%s): admin state of %s not changed", j->r < 0 ? j->err
			 : "etcd was restored or rebuilt; reading it again", j->host);
	if (j->r == 0 || j->unclear)
		submit_range(s); /* what etcd holds now */
	put_answer(s, j, -EIO, 0, why);
}

static void on_watch_msg(etcd_store *s, job *j)
{
	mtc_etcd_result r;
	char msg[256];
	unsigned gen;
	int64_t from;

	pthread_mutex_lock(&s->mu);
	gen = s->watch_gen;
	from = s->watch_from;
	pthread_mutex_unlock(&s->mu);
	if (j->r < 0) {
		log_info("etcd: %s; resuming", j->err);
		if (!from && s->loaded)
			submit_range(s); /* compacted, or a message too big: the watch resumes after a full read */
		return;
	}
	if (j->epoch != gen)
		return; /* from a stream ended by a re-baseline: another history */
	if (mtc_etcd_parse_watch(j->reply, j->reply_len, s->cfg.etcd_prefix, &r, msg, sizeof(msg)) < 0) {
		log_warn("etcd: watch: %s", msg);
		return;
	}
	if (!header_ok(s, j, &r.hdr) || (r.created && r.hdr.revision > 0 && r.hdr.revision + 1 < from)) {
		/* A watch from a revision etcd has not reached: a read
		 * (linearizable) tells whether etcd went back. */
		submit_range(s);
		mtc_etcd_result_free(&r);
		return;
	}
	if (r.canceled && !r.compact_revision)
		log_warn("etcd: watch canceled by etcd (%s); resuming on the next member", s->cfg.etcd_prefix);
	for (size_t i = 0; i < r.n; i++)
		report_kv(s, r.kv[i].host, r.kv[i].state, r.kv[i].mod_revision, "etcd change");
	if (r.compact_revision > 0)
		log_warn("etcd: watch start compacted (revision %" PRId64 "): reading everything again",
			 r.compact_revision);
	mtc_etcd_result_free(&r);
}

static int on_pipe(sd_event_source *src, int fd, uint32_t revents, void *userdata)
{
	etcd_store *s = userdata;
	char drain[64];
	job *list, *j;

	(void)src, (void)revents;
	while (read(fd, drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&s->mu);
	list = s->done;
	s->done = NULL;
	pthread_mutex_unlock(&s->mu);
	while ((j = pop(&list))) {
		if (j->kind == JOB_RANGE)
			on_range_done(s, j);
		else if (j->kind == JOB_PUT || j->kind == JOB_TXN)
			on_write_done(s, j);
		else
			on_watch_msg(s, j);
		job_free(j);
	}
	return 0;
}

static void submit_range(etcd_store *s)
{
	job *j;

	if (s->range_inflight)
		return;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->body = mtc_etcd_range_body(s->cfg.etcd_prefix))) {
		free(j);
		return;
	}
	j->kind = JOB_RANGE;
	s->range_inflight = true;
	submit(s, j);
}

static int on_poll(sd_event_source *src, uint64_t usec, void *userdata)
{
	submit_range(userdata);
	return service_rearm(src, usec, POLL_USEC);
}

static int parse_endpoints(etcd_store *s, const char *list)
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
static void stop_and_join(etcd_store *s, int n)
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

static int start_threads(etcd_store *s)
{
	int r;

	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -errno;
	r = sd_event_add_io(s->env.event, &s->pipe_src, s->pipe[0], EPOLLIN, on_pipe, s);
	if (r >= 0)
		r = sd_event_add_time_relative(s->env.event, &s->poll_timer, CLOCK_MONOTONIC, POLL_USEC,
					       100 * USEC_PER_MSEC, on_poll, s);
	if (r < 0)
		return r;
	r = -pthread_create(&s->writer, NULL, writer_main, s);
	if (r < 0)
		return r;
	r = -pthread_create(&s->reader, NULL, reader_main, s);
	if (r == 0) {
		r = -pthread_create(&s->watcher, NULL, watcher_main, s);
		if (r < 0)
			stop_and_join(s, 2);
	} else
		stop_and_join(s, 1);
	s->threads = r == 0;
	return r;
}

static int etcd_open(const mtc_store_env *env, mtc_store **ret)
{
	etcd_store *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	*ret = s;
	s->env = *env;
	s->cfg = *env->cfg;
	s->pipe[0] = s->pipe[1] = -1;
	s->healthy = true; /* until the first request says otherwise */
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -ENOMEM;
	r = parse_endpoints(s, s->cfg.etcd_endpoints);
	if (r >= 0)
		r = start_threads(s);
	if (r < 0) {
		log_err("etcd store: cannot start: %s", strerror(-r));
		return r;
	}
	submit_range(s);
	return 0;
}

/* Jobs never run or never delivered: every waiting put is answered. */
static void fail_jobs(etcd_store *s, job *list)
{
	job *j;

	while ((j = pop(&list))) {
		if (j->kind == JOB_PUT || j->kind == JOB_TXN)
			put_answer(s, j, -ECANCELED, 0, "agent stopping: not changed");
		job_free(j);
	}
}

static void etcd_close(etcd_store *s)
{
	if (!s)
		return;
	if (s->threads)
		stop_and_join(s, 3);
	/* A put the worker finished is in done: fail_jobs answers it as
	 * "stopping" though etcd may have it; the other agent serves it. */
	fail_jobs(s, s->todo);
	fail_jobs(s, s->todo_read);
	fail_jobs(s, s->done);
	sd_event_source_unref(s->pipe_src);
	sd_event_source_unref(s->poll_timer);
	if (s->pipe[0] >= 0) {
		close(s->pipe[0]);
		close(s->pipe[1]);
	}
	pthread_mutex_destroy(&s->mu);
	pthread_cond_destroy(&s->cv);
	curl_global_cleanup();
	free(s->keys);
	free(s);
}

/* Every write is a put-if on the key's mod_revision: if_version >= 0 (a
 * correction's re-put at the version it read), or, for an operator's
 * (if_version < 0), the key as this agent last read or wrote it; a key
 * this agent last saw missing or removed compares as etcd compares it,
 * 0. So no agent writes over a change it has not seen, and two agents
 * never order a correction against each other's commands. etcd's
 * sequence is its revision: seq is not used. */
static void etcd_put(etcd_store *s, const char *host, mtc_admin_value value, uint32_t seq, int64_t if_version,
		     void *ctx)
{
	job *j = calloc(1, sizeof(*j));
	size_t at;

	(void)seq;
	if (!j || !mtc_hostname_valid(host)) {
		free(j);
		s->env.on_event(s->env.user, &(mtc_store_event){ .kind = MTC_STORE_PUT, .host = host, .r = -ENOMEM,
								  .why = "out of memory; not changed", .ctx = ctx });
		return;
	}
	j->kind = if_version < 0 ? JOB_PUT : JOB_TXN;
	snprintf(j->host, sizeof(j->host), "%s", host);
	j->lock = value != MTC_ADMIN_UNLOCKED;
	j->from_rev = !key_find(s, host, &at) ? 0 : if_version < 0 ? key_rev(s, host) : if_version;
	j->ctx = ctx;
	submit(s, j);
}

static void etcd_read(etcd_store *s)
{
	submit_range(s);
}

static void etcd_describe(etcd_store *s, char *buf, size_t size)
{
	const mtc_config *cfg = &s->cfg;

	if (!s->loaded)
		snprintf(buf, size, "etcd %s prefix %s: not read yet%s%s", cfg->etcd_endpoints, cfg->etcd_prefix,
			 s->last_error[0] ? ": " : "", s->last_error);
	else if (s->healthy)
		snprintf(buf, size, "etcd %s prefix %s: healthy, revision %" PRId64, cfg->etcd_endpoints,
			 cfg->etcd_prefix, s->revision);
	else
		snprintf(buf, size, "etcd %s prefix %s: UNAVAILABLE for %.0f s (%s); serving the state of revision %" PRId64,
			 cfg->etcd_endpoints, cfg->etcd_prefix, (double)(util_now_ms() - s->unhealthy_since) / 1000.0,
			 s->last_error, s->revision);
}

static void etcd_health(etcd_store *s, mtc_store_health *ret)
{
	*ret = (mtc_store_health){ .loaded = s->loaded, .healthy = s->healthy, .revision = s->revision };
	if (!s->healthy)
		ret->unavailable_s = (double)(util_now_ms() - s->unhealthy_since) / 1000.0;
	snprintf(ret->error, sizeof(ret->error), "%s", s->healthy ? "" : s->last_error);
}

/* Not read yet and no request failed: the first read is coming. */
static void etcd_state(etcd_store *s, mtc_admin_store *ret)
{
	*ret = (mtc_admin_store){ .shared = true, .loaded = s->loaded, .healthy = s->healthy,
				  .reading = s->range_inflight, .read_failed_ms = s->range_failed_ms };
}

const mtc_store_ops mtc_store_etcd_ops = {
	.name = "etcd",
	.shared = true,
	.open = etcd_open,
	.close = etcd_close,
	.read = etcd_read,
	.put = etcd_put,
	.describe = etcd_describe,
	.health = etcd_health,
	.state = etcd_state,
};
