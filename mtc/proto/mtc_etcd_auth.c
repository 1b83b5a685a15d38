/* etcd's error replies and authentication through etcd 3.4's HTTP
 * gateway, pure: the body of /v3/auth/authenticate, its reply's token,
 * what an error reply (or a watch canceled at its creation) says about the
 * token or the user, and whether it refused a request before proposing it
 * (mtc_etcd_error_classify). The replies are as etcd 3.4.23 sends them
 * (tests/unit/test_mtc_store.c). */
#include "mtc_etcd.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "mtc_etcd_json.h"

/* s as a JSON string body into buf at *at; false if it does not fit. */
static bool put_json_string(char *buf, size_t size, size_t *at, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[7] = { '\\', (char)c, 0 };
		size_t n = 2;

		if (c < 0x20) {
			snprintf(esc, sizeof(esc), "\\u00%c%c", hex[c >> 4], hex[c & 15]);
			n = 6;
		} else if (c != '"' && c != '\\') {
			esc[0] = (char)c;
			n = 1;
		}
		if (*at + n >= size)
			return false;
		memcpy(buf + *at, esc, n);
		*at += n;
	}
	return true;
}

/* Written by hand into the caller's buffer, not by jansson: the password
 * is in no copy the caller cannot wipe. */
int mtc_etcd_auth_body(const char *user, const char *password, char *buf, size_t size)
{
	static const char *const part[] = { "{\"name\":\"", "\",\"password\":\"", "\"}" };
	size_t at = 0;
	bool ok = true;

	if (!user || !user[0] || !password || size == 0)
		return -EINVAL;
	for (int i = 0; i < 3 && ok; i++) {
		size_t n = strlen(part[i]);

		ok = at + n < size;
		if (ok) {
			memcpy(buf + at, part[i], n);
			at += n;
		}
		if (ok && i < 2)
			ok = put_json_string(buf, size, &at, i == 0 ? user : password);
	}
	buf[ok ? at : 0] = '\0';
	return ok ? (int)at : -ENOSPC;
}

/* The error text of a reply: "error" (a string, as the gateway sends
 * it), "message", or a watch's "cancel_reason". NULL: none. */
const char *mtc_etcd_json_error_text(json_t *root)
{
	json_t *e = json_object_get(root, "error");
	json_t *res = json_object_get(root, "result");

	if (json_is_object(e))
		e = json_object_get(e, "message");
	if (!json_is_string(e))
		e = json_object_get(root, "message");
	if (!json_is_string(e) && json_is_true(json_object_get(res, "canceled")))
		e = json_object_get(res, "cancel_reason");
	return json_string_value(e);
}

static mtc_etcd_auth_verdict classify(const char *t)
{
	if (!t)
		return MTC_ETCD_AUTH_NOT;
	/* "user name is empty": etcd has authentication on and no token came;
	 * "revision of auth store is old": users or roles changed under the
	 * token; both are refused before anything is applied, like an expired
	 * token, and a fresh token answers them. */
	if (strstr(t, "invalid auth token") || strstr(t, "user name is empty") ||
	    strstr(t, "revision of auth store is old"))
		return MTC_ETCD_AUTH_TOKEN;
	if (strstr(t, "permission denied"))
		return MTC_ETCD_AUTH_DENIED;
	if (strstr(t, "authentication failed"))
		return MTC_ETCD_AUTH_FAILED;
	if (strstr(t, "authentication is not enabled"))
		return MTC_ETCD_AUTH_DISABLED;
	return MTC_ETCD_AUTH_NOT;
}

/* What this member's request interceptor refuses before the handler,
 * so before any proposal, and another member may serve
 * (etcdserver/api/v3rpc/interceptor.go): "no leader" to a request that
 * asked hasleader, "rpc not supported for learner" from a learner, "not
 * capable" from a member whose cluster version is not decided yet. Matched
 * by text: etcd 3.4 answers them Unavailable (14), later versions the
 * last two FailedPrecondition (9), and neither code alone says. */
static const char *const elsewhere[] = {
	"etcdserver: no leader",
	"etcdserver: rpc not supported for learner",
	"etcdserver: not capable",
};

static bool refused_elsewhere(json_int_t code, const char *error)
{
	if (!error || (code != 14 && code != 9))
		return false;
	for (size_t i = 0; i < sizeof(elsewhere) / sizeof(elsewhere[0]); i++)
		if (strcmp(error, elsewhere[i]) == 0)
			return true;
	return false;
}

/* gRPC codes etcd answers only for a request it refused before proposing
 * it: invalid argument, failed precondition, permission denied,
 * unauthenticated, and resource exhausted when it says "too many
 * requests" (the same code carries "database space exceeded", which a txn
 * gets after it was applied, for the write that crossed the quota). Other
 * Unavailable (leader changed, request timed out), deadline exceeded,
 * unknown or no code at all: it may have been proposed. */
mtc_etcd_error_kind mtc_etcd_error_classify(const char *text, size_t len)
{
	json_t *root = text ? json_loadb(text, len, 0, NULL) : NULL;
	json_t *code = json_object_get(root, "code");
	const char *error = mtc_etcd_json_error_text(root);
	json_int_t c = json_is_integer(code) ? json_integer_value(code) : -1;
	mtc_etcd_error_kind k = MTC_ETCD_ERR_MAYBE_PROPOSED;

	if (refused_elsewhere(c, error))
		k = MTC_ETCD_ERR_ELSEWHERE;
	else if (c == 3 || c == 7 || c == 9 || c == 16 || (c == 8 && error && strstr(error, "too many requests")))
		k = MTC_ETCD_ERR_REFUSED;
	json_decref(root);
	return k;
}

mtc_etcd_auth_verdict mtc_etcd_auth_error(const char *text, size_t len, char *msg, size_t msglen)
{
	json_t *root = text ? json_loadb(text, len, 0, NULL) : NULL;
	const char *t = mtc_etcd_json_error_text(root);
	mtc_etcd_auth_verdict v = classify(t);

	if (msglen)
		snprintf(msg, msglen, "%s", t ? t : "");
	json_decref(root);
	return v;
}

int mtc_etcd_parse_auth(const char *text, size_t len, char *token, size_t size, char *msg, size_t msglen)
{
	json_t *root = json_loadb(text, len, 0, NULL);
	const char *tok = json_string_value(json_object_get(root, "token"));
	const char *e = mtc_etcd_json_error_text(root);
	int r = 0;

	if (tok && tok[0] && strlen(tok) < size && !strpbrk(tok, "\r\n"))
		snprintf(token, size, "%s", tok);
	else if (e) {
		snprintf(msg, msglen, "%s", e);
		r = -EIO;
	} else {
		snprintf(msg, msglen, tok && tok[0] ? "token over %zu bytes or not one line" : "no token in the reply",
			 size - 1);
		r = -EBADMSG;
	}
	json_decref(root);
	return r;
}
