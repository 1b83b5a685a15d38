/* [agent] store = etcd, the transport: libcurl, and nothing else of the
 * store touches it. etcd_post() is one request and its whole reply (the
 * writer's and the reader's, each on its own reused handle);
 * etcd_stream() one streaming request (the watch). The unit test of the
 * store (tests/unit/test_mtc_store_etcd.c) links a fake of this file's
 * interface instead: canned replies, no etcd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "mtc_store_etcd.h"

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
	 * finished handshake (etcd_curl_why) instead of inside HTTP/2's setup. */
	curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	if (cfg->etcd_cacert[0])
		curl_easy_setopt(c, CURLOPT_CAINFO, cfg->etcd_cacert);
	if (cfg->etcd_cert[0])
		curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->etcd_cert);
	if (cfg->etcd_key[0])
		curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->etcd_key);
}

static CURL *etcd_easy_new(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, char *errbuf)
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
static void etcd_curl_why(const etcd_store *s, CURL *c, CURLcode cr, const char *errbuf, char *buf, size_t size)
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

/* -ECONNREFUSED: the request never left (no connection could be made);
 * -EFBIG: the reply is over REPLY_MAX; -ETIMEDOUT, -ECONNRESET: it may
 * have reached etcd, and a write may still commit. Only a failed connect
 * counts as never sent: libcurl's request size is no proof that nothing
 * left (seen once under load: a txn that committed was reported "not
 * changed"), and a write wrongly called unsent is a false answer. */
static int curl_errno(CURLcode cr, const http_buf *out)
{
	if (cr == CURLE_WRITE_ERROR && out->oom)
		return -EFBIG;
	if (cr == CURLE_COULDNT_CONNECT || cr == CURLE_COULDNT_RESOLVE_HOST)
		return -ECONNREFUSED;
	return cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNRESET;
}

/* One request to member ep: 0 with the answer in out, or -errno and err. */
int etcd_post(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, http_buf *out, char *err,
		size_t errlen)
{
	char cerr[CURL_ERROR_SIZE], why[224];
	CURL *c = thread_curl ? thread_curl : etcd_easy_new(s, ep, path, body, timeout_ms, cerr);
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
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, etcd_on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cr != CURLE_OK) {
		etcd_curl_why(s, c, cr, cerr, why, sizeof(why));
		r = curl_errno(cr, out);
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

/* Once per store, before its threads; and after them. */
int etcd_http_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -ENOMEM;
}

void etcd_http_cleanup(void)
{
	curl_global_cleanup();
}

/* The thread's handle and its connections, at the thread's end. */
void etcd_http_thread_end(void)
{
	curl_easy_cleanup(thread_curl);
	thread_curl = NULL;
}

typedef struct stream_ctx {
	etcd_stream_fn on_data;
	etcd_stop_fn stop;
	void *user;
} stream_ctx;

static size_t stream_on_data(char *d, size_t size, size_t nmemb, void *user)
{
	stream_ctx *x = user;

	return x->on_data(d, size * nmemb, x->user) ? size * nmemb : 0;
}

static int stream_on_progress(void *user, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	stream_ctx *x = user;

	(void)dt, (void)dn, (void)ut, (void)un;
	return x->stop(x->user);
}

/* One streaming request to member ep until it ends. hasleader: a member
 * cut off from its leader answers with an error (the watch: a cancel)
 * instead of a silent stream; no byte for idle_s ends it. */
int etcd_stream(etcd_store *s, int ep, const char *path, const char *body, long idle_s, etcd_stream_fn on_data,
		etcd_stop_fn stop, void *user, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE];
	stream_ctx x = { .on_data = on_data, .stop = stop, .user = user };
	CURL *c = etcd_easy_new(s, ep, path, body, 0, cerr);
	struct curl_slist *hdr = curl_slist_append(NULL, "Grpc-Metadata-hasleader: true");
	CURLcode cr;
	int r = 0;

	if (!c || !hdr) {
		snprintf(err, errlen, "out of memory");
		curl_easy_cleanup(c);
		curl_slist_free_all(hdr);
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, idle_s);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, stream_on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stream_on_progress);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	cr = curl_easy_perform(c);
	if (cr == CURLE_OPERATION_TIMEDOUT) {
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
	curl_slist_free_all(hdr);
	return r;
}
