/* [agent] store = etcd, the transport: libcurl, and nothing else of the
 * store touches it. etcd_post() is one request and its whole reply (the
 * writer's and the reader's, each on its own reused handle); etcd_stream()
 * one streaming request (the watch, in mtc_store_etcd_stream.c, on this
 * file's helpers: mtc_store_etcd_http.h). The store's unit tests link a
 * fake of this interface instead: canned replies, no etcd.
 * With [etcd] user every request carries "Authorization: TOKEN" (3.4's
 * gateway hands it on as the "authorization" metadata), asked for (POST
 * /v3/auth/authenticate) before the first request and again when a reply
 * refuses it (HTTP 401 "etcdserver: invalid auth token", code 16; a watch
 * canceled at once for it), then the request is sent once more. */
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

/* The writer's and the reader's own handle, reused request after request:
 * its connections to the members stay open (keep-alive) instead of a new
 * TCP (and TLS) connection per request. */
static _Thread_local CURL *thread_curl;

/* errbuf (CURL_ERROR_SIZE) gets libcurl's own words for a failure: the
 * TLS alert or verify error, where curl_easy_strerror() only says "Failed
 * sending data to the peer" or "SSL peer certificate ... was not OK". */
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
	if (body) /* NULL: the caller sets its own (the password's, not copied) */
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

CURL *etcd_easy_new(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, char *errbuf)
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
void etcd_curl_why(const etcd_store *s, CURL *c, CURLcode cr, const char *errbuf, char *buf, size_t size)
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

/* -ECONNREFUSED: the request never left; -EFBIG: the reply is over
 * REPLY_MAX; -ETIMEDOUT, -ECONNRESET: it may have reached etcd, and a
 * write may still commit. sent: libcurl called the transfer's prereq
 * callback (on_prereq), i.e. a connection was ready and the request was
 * about to go; until then nothing left, whatever failed (connect, TLS
 * handshake, its timeout). Once it was, nothing is "never sent": on a
 * reused keep-alive connection that closes without a reply, libcurl sends
 * the request again on a new one, and a refused connect then ends a
 * transfer whose first copy etcd had whole (found by review, 2026-12-03,
 * with a relay: "not changed" for a txn that committed). libcurl's request
 * size is no proof either way. */
static int curl_errno(CURLcode cr, const http_buf *out, bool sent)
{
	if (cr == CURLE_WRITE_ERROR && out->oom)
		return -EFBIG;
	if (!sent)
		return -ECONNREFUSED;
	return cr == CURLE_OPERATION_TIMEDOUT ? -ETIMEDOUT : -ECONNRESET;
}

static int on_prereq(void *user, char *ip, char *local_ip, int port, int local_port)
{
	(void)ip, (void)local_ip, (void)port, (void)local_port;
	*(bool *)user = true;
	return CURL_PREREQFUNC_OK;
}

/* The length of text's first line, at most 150 (a plain-text reply ends
 * in a newline, which would split the log line). */
static int first_line(const char *text)
{
	size_t n = text ? strcspn(text, "\r\n") : 0;

	return (int)(n < 150 ? n : 150);
}

/* A non-200 reply in words: etcd's own, and what to do about a refusal
 * of the user or its token. */
static void http_error(const etcd_store *s, int ep, long code, const http_buf *out, char *err, size_t errlen)
{
	char msg[160];
	const char *user = etcd_auth_user(s);
	mtc_etcd_auth_verdict v = mtc_etcd_auth_error(out->p, out->n, msg, sizeof(msg));

	if (v == MTC_ETCD_AUTH_DENIED)
		snprintf(err, errlen, "%s: permission denied for etcd user %s (HTTP %ld: %s): it needs a role with "
			 "readwrite on prefix %s", s->ep[ep], user[0] ? user : "(none: [etcd] user is empty)", code, msg,
			 s->cfg.etcd_prefix);
	else if (v == MTC_ETCD_AUTH_TOKEN && !user[0])
		snprintf(err, errlen, "%s: etcd has authentication enabled (HTTP %ld: %s): set [etcd] user and "
			 "password_file", s->ep[ep], code, msg);
	else if (v == MTC_ETCD_AUTH_TOKEN)
		snprintf(err, errlen, "%s: token of etcd user %s refused (HTTP %ld: %s)", s->ep[ep], user, code, msg);
	else
		snprintf(err, errlen, "%s: HTTP %ld: %.*s%s", s->ep[ep], code,
			 first_line(out->p), out->p ? out->p : "", etcd_auth_hint(out->p));
}

/* The headers freed, the token in them wiped first (libcurl's copy in
 * its request buffer is beyond reach). */
void headers_free(struct curl_slist *hdr)
{
	for (struct curl_slist *h = hdr; h; h = h->next)
		sodium_memzero(h->data, strlen(h->data));
	curl_slist_free_all(hdr);
}

/* Every request's headers: hasleader (a member that knows it has no
 * leader refuses a request before proposing it, "etcdserver: no leader",
 * instead of holding it until the timeout; a watch is canceled instead
 * of going silent), then "Authorization: TOKEN" (token "": none). NULL:
 * no memory. */
struct curl_slist *request_headers(const char *token)
{
	char line[ETCD_TOKEN_MAX + 16];
	struct curl_slist *hdr = curl_slist_append(NULL, "Grpc-Metadata-hasleader: true"), *h = hdr;

	if (hdr && token[0]) {
		snprintf(line, sizeof(line), "Authorization: %s", token);
		h = curl_slist_append(hdr, line);
		sodium_memzero(line, sizeof(line));
	}
	if (!h)
		headers_free(hdr);
	return h;
}

/* The thread's reused handle, set up for this request; NULL: no memory. */
static CURL *thread_handle(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, char *cerr)
{
	CURL *c = thread_curl ? thread_curl : etcd_easy_new(s, ep, path, body, timeout_ms, cerr);

	if (c && c == thread_curl) {
		curl_easy_reset(c); /* keeps its connections */
		easy_setup(s, c, ep, path, body, timeout_ms, cerr);
	}
	thread_curl = c;
	return c;
}

/* One request to member ep with token ("": none): 0 with the answer in
 * out, or -errno and err. */
static int post_once(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, http_buf *out,
		     const char *token, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE], why[224];
	CURL *c = thread_handle(s, ep, path, body, timeout_ms, cerr);
	struct curl_slist *hdr = c ? request_headers(token) : NULL;
	bool sent = false;
	CURLcode cr;
	long code = 0;
	int r = 0;

	if (!hdr) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, etcd_on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	/* a libcurl without it (before 7.80): every failure "may have left" */
	if (curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_prereq) != CURLE_OK)
		sent = true;
	curl_easy_setopt(c, CURLOPT_PREREQDATA, &sent);
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cr != CURLE_OK) {
		etcd_curl_why(s, c, cr, cerr, why, sizeof(why));
		r = curl_errno(cr, out, sent);
		snprintf(err, errlen, "%s: %s%s", s->ep[ep], r == -EFBIG ? "reply over 4 MiB" : why,
			 sent ? "" : " (not sent)");
	}
	/* cerr, sent and hdr end here, the handle lives on */
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c, CURLOPT_PREREQDATA, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	headers_free(hdr);
	if (r < 0)
		return r;
	if (code != 200) {
		http_error(s, ep, code, out, err, errlen);
		return -EIO;
	}
	return 0;
}

static long time_left(uint64_t end)
{
	uint64_t now = util_now_ms();

	return now < end ? (long)(end - now) : 0;
}

/* POST /v3/auth/authenticate to member ep, on a handle of its own (the
 * watcher has no reused one): 0 and the token; 0 and token "" when etcd
 * has authentication off; -EPERM (wrong user or password) or -errno,
 * with err. The body and the reply (password, token) are wiped. */
static int authenticate(etcd_store *s, int ep, long timeout_ms, char *token, size_t size, char *err, size_t errlen)
{
	char body[6 * (MTC_PASSWORD_MAX + 64)], cerr[CURL_ERROR_SIZE], msg[160];
	http_buf out = { 0 };
	CURL *c = etcd_easy_new(s, ep, "/v3/auth/authenticate", NULL, timeout_ms, cerr);
	int r = etcd_auth_body(s, body, sizeof(body));
	long code = 0;
	CURLcode cr;

	token[0] = '\0';
	if (!c || r < 0) {
		curl_easy_cleanup(c);
		snprintf(err, errlen, "%s", c ? "password too long" : "out of memory");
		return c ? r : -ENOMEM;
	}
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)r);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, etcd_on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
	cr = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (cr != CURLE_OK) {
		etcd_curl_why(s, c, cr, cerr, msg, sizeof(msg));
		r = curl_errno(cr, &out, true);
		snprintf(err, errlen, "%s: authenticating etcd user %s: %s", s->ep[ep], etcd_auth_user(s), msg);
	} else
		r = etcd_auth_reply(s, ep, code, out.p, out.n, token, size, err, errlen);
	curl_easy_cleanup(c);
	sodium_memzero(body, sizeof(body));
	if (out.p)
		sodium_memzero(out.p, out.n);
	etcd_buf_reset(&out);
	return r;
}


/* The token to send on member ep ("": none), authenticating first if
 * this thread is the one to: 0, or -errno and err. */
int token_ready(etcd_store *s, int ep, long timeout_ms, char *token, size_t size, char *err, size_t errlen)
{
	char why[200];
	int r = 0;

	token[0] = '\0';
	switch (etcd_auth_token(s, token, size, &r, err, errlen)) {
	case ETCD_TOKEN_NONE:
	case ETCD_TOKEN_USE:
		return 0;
	case ETCD_TOKEN_FAILED:
		return r < 0 ? r : -EIO;
	case ETCD_TOKEN_FETCH:
		break;
	}
	r = timeout_ms < 50 ? -ETIMEDOUT : authenticate(s, ep, timeout_ms, token, size, err, errlen);
	if (r == -ETIMEDOUT && timeout_ms < 50)
		snprintf(err, errlen, "no time left to authenticate etcd user %s", etcd_auth_user(s));
	etcd_auth_done(s, r, r == 0 && token[0] ? token : NULL, err, why, sizeof(why));
	if (r == 0 && !token[0])
		log_warn("etcd: [etcd] user %s is set, but %s has authentication off (etcdserver: authentication is "
			 "not enabled): requests go without a token", etcd_auth_user(s), s->ep[ep]);
	else if (r == 0 && why[0])
		log_notice("etcd: token of user %s renewed at %s (re-authenticated: %s)", etcd_auth_user(s), s->ep[ep],
			   why);
	else if (r == 0)
		log_notice("etcd: authenticated as user %s at %s", etcd_auth_user(s), s->ep[ep]);
	return r;
}

/* Did the reply (r, out) refuse token? Then it is dropped: the next
 * request authenticates. A request that timed out drops it too, without
 * a resend: a member that cannot place a token (issued past what it has
 * applied: etcd restored or rebuilt) waits instead of refusing it. */
static bool token_refused(etcd_store *s, int r, const http_buf *out, const char *token)
{
	char msg[160];

	if (!s->auth)
		return false;
	if (r == -ETIMEDOUT && token[0])
		etcd_auth_drop(s, token, "a request with the previous token timed out");
	if (r != -EIO || mtc_etcd_auth_error(out->p, out->n, msg, sizeof(msg)) != MTC_ETCD_AUTH_TOKEN)
		return false;
	etcd_auth_drop(s, token, msg);
	return true;
}

/* One request to member ep: 0 with the answer in out, or -errno and err. */
int etcd_post(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, http_buf *out, char *err,
	      size_t errlen)
{
	uint64_t end = util_now_ms() + (uint64_t)timeout_ms;
	char token[ETCD_TOKEN_MAX] = "";
	int r;

	for (int try = 0;; try++) {
		r = token_ready(s, ep, time_left(end), token, sizeof(token), err, errlen);
		if (r == 0 && time_left(end) < 1) { /* libcurl takes 0 for "no timeout": never send with none */
			r = -ECONNREFUSED;
			snprintf(err, errlen, "%s: no time left after waiting for authentication: not sent", s->ep[ep]);
		} else if (r == 0)
			r = post_once(s, ep, path, body, time_left(end), out, token, err, errlen);
		else if (r != -EPERM && r != -ENOMEM)
			r = -ECONNREFUSED; /* authentication failed: the request never left */
		/* A token refused (expired, forgotten by a restarted member) is
		 * refused before etcd proposes or applies anything: this request
		 * did nothing (a write did not commit), so sending it once more
		 * with a new token is safe. */
		if (!token_refused(s, r, out, token) || try == 1 || time_left(end) < 50)
			break;
		etcd_buf_reset(out);
	}
	sodium_memzero(token, sizeof(token));
	return r;
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
