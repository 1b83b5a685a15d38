/* [agent] store = etcd, the watch stream (etcd_stream): one streaming
 * request on a handle of its own, its first message held until whole so
 * a cancel for the token is answered by a new token, not handed on. The
 * request's handle, headers and token come from mtc_store_etcd_http.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "log.h"
#include "mtc_store_etcd.h"
#include "mtc_store_etcd_http.h"
#include "util.h"

/* A stream's first message is held until it is whole (or 4 KiB): if
 * etcd canceled the watch at its creation for the token, the watcher
 * never sees it; the stream is opened again with a new token. */
#define STREAM_HEAD_MAX 4096

typedef struct stream_ctx {
	etcd_store *s;
	CURL *c;
	etcd_stream_fn on_data;
	etcd_stop_fn stop;
	void *user;
	http_buf head;  /* the first message, until looked at */
	bool looked;    /* the first message was looked at and handed over */
	bool refused;   /* ... and it refused the token: why says why */
	long status;    /* ... or came with this HTTP status, not 200: why says why */
	char why[160];
} stream_ctx;

/* The reply's HTTP status if it is not 200 (0: 200, or none came). */
static long error_status(CURL *c)
{
	long status = 0;

	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status == 200 ? 0 : status;
}

/* The first message whole: refused for the token, an error status (a
 * learner's 503 "rpc not supported for learner", with no newline after
 * it), or handed over. */
static bool stream_look(stream_ctx *x)
{
	char *nl = memchr(x->head.p, '\n', x->head.n);
	size_t len = nl ? (size_t)(nl - x->head.p) : x->head.n;
	mtc_etcd_auth_verdict v = MTC_ETCD_AUTH_NOT;
	bool ok;

	x->looked = true;
	x->status = error_status(x->c);
	if (x->s->auth || x->status) /* parsed only when it may say something */
		v = mtc_etcd_auth_error(x->head.p, len, x->why, sizeof(x->why));
	if (x->s->auth && v == MTC_ETCD_AUTH_TOKEN) {
		x->refused = true;
		return false;
	}
	if (x->status)
		return false;
	ok = x->on_data(x->head.p, x->head.n, x->user);
	etcd_buf_reset(&x->head);
	return ok;
}

static size_t stream_on_data(char *d, size_t size, size_t nmemb, void *user)
{
	stream_ctx *x = user;
	size_t len = size * nmemb;

	if (x->looked)
		return x->on_data(d, len, x->user) ? len : 0;
	if (etcd_on_data(d, 1, len, &x->head) != len)
		return 0;
	if (x->head.n < STREAM_HEAD_MAX && !memchr(x->head.p, '\n', x->head.n))
		return len; /* not whole yet */
	return stream_look(x) ? len : 0;
}

static int stream_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	stream_ctx *x = user;

	(void)dt, (void)dn, (void)ut, (void)un;
	return x->stop(x->user);
}

/* The streaming request's handle and headers (request_headers). */
static CURL *stream_handle(etcd_store *s, int ep, const char *path, const char *body, long idle_s,
			   const char *token, stream_ctx *x, struct curl_slist **hdr, char *cerr)
{
	CURL *c = etcd_easy_new(s, ep, path, body, 0, cerr);

	*hdr = request_headers(token);
	if (!c || !*hdr) {
		curl_easy_cleanup(c);
		headers_free(*hdr);
		return NULL;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdr);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle_s);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	return c;
}

/* One streaming request with token until it ends (etcd_stream's
 * answers), or -EACCES: its first message refused the token. */
static int stream_once(etcd_store *s, int ep, const char *path, const char *body, long idle_s, stream_ctx *x,
		       const char *token, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE];
	struct curl_slist *hdr;
	CURL *c = stream_handle(s, ep, path, body, idle_s, token, x, &hdr, cerr);
	CURLcode cr;
	int r = 0;

	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	x->c = c;
	cr = curl_easy_perform(c);
	/* A first message with no newline after it (an error reply) is
	 * looked at now; with no message at all, only the status. */
	if (!x->looked && x->head.n && cr != CURLE_WRITE_ERROR && !stream_look(x) && !x->refused)
		cr = CURLE_WRITE_ERROR; /* ended by on_data, or an error status */
	if (!x->looked && cr == CURLE_OK)
		x->status = error_status(c);
	if (x->refused) {
		r = -EACCES;
		snprintf(err, errlen, "token of etcd user %s refused (%s)", etcd_auth_user(s), x->why);
	} else if (x->status) {
		r = -ECONNRESET;
		snprintf(err, errlen, "HTTP %ld: %s", x->status, x->why[0] ? x->why : "(no error text)");
	} else if (cr == CURLE_OPERATION_TIMEDOUT) {
		r = -ETIMEDOUT;
		snprintf(err, errlen, "no byte for %ld s (a stopped member?)", idle_s);
	} else if (cr != CURLE_OK && cr != CURLE_WRITE_ERROR && cr != CURLE_ABORTED_BY_CALLBACK) {
		r = -ECONNRESET;
		etcd_curl_why(s, c, cr, cerr, err, errlen);
	} else if (cr == CURLE_OK) {
		r = -ECONNRESET;
		snprintf(err, errlen, "stream closed by the member");
	}
	curl_easy_cleanup(c);
	headers_free(hdr);
	etcd_buf_reset(&x->head);
	return r;
}

/* One streaming request to member ep until it ends. No byte for idle_s
 * ends it. A watch canceled at its creation for the token (expired, or
 * forgotten by a restarted member) was never created: opening it once
 * more with a new token is safe. */
int etcd_stream(etcd_store *s, int ep, const char *path, const char *body, long idle_s, etcd_stream_fn on_data,
		etcd_stop_fn stop, void *user, char *err, size_t errlen)
{
	char token[ETCD_TOKEN_MAX] = "";
	int r;

	for (int try = 0;; try++) {
		stream_ctx x = { .s = s, .on_data = on_data, .stop = stop, .user = user };

		r = token_ready(s, ep, TRY_TIMEOUT_MS, token, sizeof(token), err, errlen);
		if (r == 0)
			r = stream_once(s, ep, path, body, idle_s, &x, token, err, errlen);
		if (r == -ETIMEDOUT && !x.looked && token[0])
			etcd_auth_drop(s, token, "a watch with the previous token brought nothing");
		if (r != -EACCES || !x.refused || try == 1)
			break;
		etcd_auth_drop(s, token, x.why);
	}
	sodium_memzero(token, sizeof(token));
	return r;
}
