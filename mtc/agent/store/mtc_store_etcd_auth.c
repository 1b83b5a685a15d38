/* [agent] store = etcd, [etcd] user: the password (read once, at open)
 * and the token the writer, the reader and the watcher share. One thread
 * authenticates at a time; the others wait for its token (or its error)
 * instead of each asking etcd: no stampede when a token expires under all
 * three. Password and token live in sodium_malloc'd memory: locked out of
 * swap, left out of core dumps, wiped when freed. The HTTP requests
 * themselves are the transport's (mtc_store_etcd_http.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "mtc_config.h"
#include "mtc_store_etcd.h"

/* Bounds a wait for another thread's authentication (its own request is
 * bounded by its timeout, at most SET_DEADLINE_MS). */
#define AUTH_WAIT_S 6

struct etcd_auth {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char user[sizeof(((mtc_config *)0)->etcd_user)];
	char password[MTC_PASSWORD_MAX];
	char token[ETCD_TOKEN_MAX]; /* under mu; "": none yet, or dropped */
	bool busy;                  /* under mu: a thread is authenticating */
	bool off;                   /* under mu: etcd said authentication is not enabled */
	unsigned round;             /* under mu: one more at each authentication's end */
	int r;                      /* under mu: the last authentication's result */
	char err[300];              /* under mu: the last authentication's failure ("": none) */
	char dropped[200];          /* under mu: why the last token was dropped */
};

int etcd_auth_open(etcd_store *s)
{
	char msg[400];
	etcd_auth *a;
	int r;

	if (!s->cfg.etcd_user[0])
		return 0;
	if (sodium_init() < 0 || !(a = sodium_malloc(sizeof(*a))))
		return -ENOMEM;
	memset(a, 0, sizeof(*a));
	s->auth = a;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	snprintf(a->user, sizeof(a->user), "%s", s->cfg.etcd_user);
	r = mtc_password_load(s->cfg.etcd_password_file, a->password, sizeof(a->password), msg, sizeof(msg));
	if (r < 0) {
		log_err("etcd store: [etcd] password_file: %s: not started", msg);
		return r;
	}
	return 0;
}

void etcd_auth_close(etcd_store *s)
{
	if (!s->auth)
		return;
	pthread_mutex_destroy(&s->auth->mu);
	pthread_cond_destroy(&s->auth->cv);
	sodium_free(s->auth); /* wipes it */
	s->auth = NULL;
}

const char *etcd_auth_user(const etcd_store *s)
{
	return s->auth ? s->auth->user : "";
}

int etcd_auth_body(etcd_store *s, char *buf, size_t size)
{
	return mtc_etcd_auth_body(s->auth->user, s->auth->password, buf, size);
}

/* The authenticate reply (code, out): the token, etcd's auth off (0 and
 * ""), or why not. */
int etcd_auth_reply(const etcd_store *s, int ep, long code, const char *text, size_t len, char *token, size_t size,
		    char *err, size_t errlen)
{
	char msg[160];
	const char *user = etcd_auth_user(s);
	mtc_etcd_auth_verdict v = code == 200 ? MTC_ETCD_AUTH_NOT : mtc_etcd_auth_error(text, len, msg, sizeof(msg));

	if (code == 200 && mtc_etcd_parse_auth(text, len, token, size, msg, sizeof(msg)) == 0)
		return 0;
	if (v == MTC_ETCD_AUTH_DISABLED)
		return 0;
	if (v == MTC_ETCD_AUTH_FAILED) {
		snprintf(err, errlen, "%s: authentication of etcd user %s failed (HTTP %ld: %s): check [etcd] user "
			 "and the password in %s", s->ep[ep], user, code, msg, s->cfg.etcd_password_file);
		return -EPERM; /* final: every member says the same */
	}
	if (code != 200 && !msg[0])
		snprintf(msg, sizeof(msg), "%.*s", (int)strcspn(text && len ? text : "no reply text", "\r\n"),
			 text && len ? text : "no reply text"); /* not etcd's JSON: its first line */
	snprintf(err, errlen, "%s: authenticating etcd user %s: HTTP %ld: %s%s", s->ep[ep], user, code, msg,
		 etcd_auth_hint(text));
	return -EIO;
}

/* What to do about a reply that is etcd's gateway refusing a client
 * certificate with a CommonName (etcd 3.4 with authentication enabled:
 * HTTP 400, plain text), else "". */
const char *etcd_auth_hint(const char *text)
{
	return text && strstr(text, "CommonName of client sending a request against gateway")
		       ? " (etcd has authentication enabled and refuses, on its HTTP gateway, a client certificate "
			 "with a CommonName: give [etcd] cert an empty subject CN)"
		       : "";
}

static void deadline(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += AUTH_WAIT_S;
}

/* Wait while another thread authenticates; the round it ended in (the
 * one it started in: none ended). Under a->mu. */
static unsigned wait_busy(etcd_auth *a, bool *timed_out)
{
	struct timespec ts;

	deadline(&ts);
	*timed_out = false;
	while (a->busy && !*timed_out)
		*timed_out = pthread_cond_timedwait(&a->cv, &a->mu, &ts) == ETIMEDOUT;
	return a->round;
}

etcd_token_verdict etcd_auth_token(etcd_store *s, char *buf, size_t size, int *ret_r, char *err, size_t errlen)
{
	etcd_auth *a = s->auth;
	etcd_token_verdict v;
	unsigned start;
	bool timed_out;

	if (!a)
		return ETCD_TOKEN_NONE;
	pthread_mutex_lock(&a->mu);
	start = a->round;
	if (wait_busy(a, &timed_out) != start && !a->token[0] && !a->off) {
		v = ETCD_TOKEN_FAILED; /* the authentication waited for failed: its error, no second try now */
		snprintf(err, errlen, "%s", a->err);
		*ret_r = a->r;
	} else if (timed_out) {
		v = ETCD_TOKEN_FAILED;
		*ret_r = -ETIMEDOUT;
		snprintf(err, errlen, "no answer to the authentication of etcd user %s within %d s", a->user,
			 AUTH_WAIT_S);
	} else if (a->token[0] || a->off) {
		v = a->off ? ETCD_TOKEN_NONE : ETCD_TOKEN_USE;
		snprintf(buf, size, "%s", a->token);
	} else {
		v = ETCD_TOKEN_FETCH;
		a->busy = true;
	}
	pthread_mutex_unlock(&a->mu);
	return v;
}

void etcd_auth_done(etcd_store *s, int r, const char *token, const char *err, char *why, size_t whylen)
{
	etcd_auth *a = s->auth;

	pthread_mutex_lock(&a->mu);
	a->off = r == 0 && !token;
	snprintf(a->token, sizeof(a->token), "%s", r == 0 && token ? token : "");
	snprintf(a->err, sizeof(a->err), "%s", r < 0 ? err : "");
	a->r = r;
	snprintf(why, whylen, "%s", a->dropped);
	if (r == 0)
		a->dropped[0] = '\0';
	a->busy = false;
	a->round++;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
}

void etcd_auth_drop(etcd_store *s, const char *token, const char *why)
{
	etcd_auth *a = s->auth;

	pthread_mutex_lock(&a->mu);
	if (strcmp(a->token, token) == 0 && !a->busy) {
		sodium_memzero(a->token, sizeof(a->token));
		a->off = false;
		snprintf(a->dropped, sizeof(a->dropped), "%s", why);
	}
	pthread_mutex_unlock(&a->mu);
}
