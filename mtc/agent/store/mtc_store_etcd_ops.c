/* [agent] store = etcd, the loop's side: finished jobs (ranges, puts,
 * txns, watch messages, parsed by mtc_etcd.c) become store events (a
 * key's state, a full read, a put's answer), and the ops table. It keeps
 * which keys hold a state, so a read that lacks one reports it removed.
 * No correction is decided here: mtc_admin.c decides, the agent acts. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mtc_store_etcd.h"
#include "service.h"
#include "util.h"


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
		if (k)
			k->seen = true;
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
	s->keys[at].seen = true;
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

/* Keys with a state before the snapshot's revision that it lacks: removed.
 * Walked from the end: a removal only moves the keys after it. */
static void report_absent(etcd_store *s, const mtc_etcd_result *r)
{
	for (size_t k = s->n_keys; k-- > 0;) {
		char host[MTC_HOSTNAME_MAX + 1];

		if (s->keys[k].seen || s->keys[k].rev > r->revision)
			continue;
		snprintf(host, sizeof(host), "%s", s->keys[k].host);
		report_kv(s, host, MTC_ETCD_DELETED, r->revision, "key removed"); /* drops keys[k] */
	}
}

static void on_range_done(etcd_store *s, job *j)
{
	s->range_inflight = false;
	if (j->r < 0) {
		s->range_failed_ms = util_now_ms();
		etcd_set_health(s, false, j->err);
		return;
	}
	(void)etcd_header_ok(s, j, &j->range.hdr); /* if not, this read is the new baseline */
	if (j->skipped)
		log_warn("etcd: %zu key(s) under %s too big for a reply skipped (a host's: unknown, treated as locked)",
			 j->skipped, s->cfg.etcd_prefix);
	etcd_set_health(s, true, NULL);
	s->watch.read_ok_ms = util_now_ms(); /* a fresh bound for a broken watch */
	/* A put on the writer may have answered with a newer one meanwhile. */
	if (j->range.revision > s->revision)
		s->revision = j->range.revision;
	for (size_t k = 0; k < s->n_keys; k++)
		s->keys[k].seen = false;
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

	etcd_set_health(s, true, NULL);
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

	if (j->r == 0 && etcd_header_ok(s, j, &j->cas.hdr)) {
		write_answered(s, j);
		return;
	}
	if (j->r < 0 && !j->expired) /* an expired one never reached etcd */
		etcd_set_health(s, false, j->err);
	if (j->r == 0) /* answered, from a history this agent had not read: it may have committed there */
		snprintf(why, sizeof(why), "unknown: etcd was restored or rebuilt under this request (reading it "
			 "again); the %s of %s may have committed in its new history; check `mtcctl list`",
			 j->lock ? "lock" : "unlock", j->host);
	else if (j->unclear)
		snprintf(why, sizeof(why), "unknown: etcd did not answer (%s); the %s of %s may still commit; "
			 "check `mtcctl list`", j->err, j->lock ? "lock" : "unlock", j->host);
	else if (j->r == -EPERM)
		snprintf(why, sizeof(why), "refused by etcd (%s): admin state of %s not changed", j->err, j->host);
	else
		snprintf(why, sizeof(why), "etcd unavailable (%s): admin state of %s not changed", j->err, j->host);
	if (j->r == 0 || j->unclear)
		etcd_submit_range(s); /* what etcd holds now */
	put_answer(s, j, -EIO, 0, why);
}

static void on_watch_msg(etcd_store *s, job *j)
{
	mtc_etcd_result r;
	char msg[256];
	unsigned long n = 0;
	unsigned gen;
	int64_t from;

	pthread_mutex_lock(&s->mu);
	gen = s->watch_gen;
	from = s->watch_from;
	pthread_mutex_unlock(&s->mu);
	if (j->r < 0) {
		(void)etcd_watch_alive(s, j, from); /* a stream's end */
		return;
	}
	if (j->epoch != gen)
		return; /* from a stream ended by a re-baseline: another history */
	if (mtc_etcd_parse_watch(j->reply, j->reply_len, s->cfg.etcd_prefix, &r, msg, sizeof(msg)) < 0) {
		log_warn("etcd: watch: %s", msg); /* an error reply (no leader): not alive */
		return;
	}
	if (!etcd_header_ok(s, j, &r.hdr) || (r.created && r.hdr.revision > 0 && r.hdr.revision + 1 < j->from_rev)) {
		/* A watch from a revision etcd has not reached: a read
		 * (linearizable) tells whether etcd went back. (Against the
		 * stream's start: watch_from may already be past a change
		 * that came right after "created".) */
		etcd_submit_range(s);
		mtc_etcd_result_free(&r);
		return;
	}
	if (!r.canceled && etcd_watch_alive(s, j, from)) {
		etcd_set_health(s, true, NULL);
		if (r.hdr.revision > s->revision)
			s->revision = r.hdr.revision;
	}
	if (r.canceled && !r.compact_revision && mtc_ratelog_hit(&s->cancel_log, util_now_ms(), STREAM_LOG_MS, &n))
		log_warn("etcd: watch canceled by etcd (%s); resuming on the next member (%lu cancel(s) in the last"
			 " minute; at most one line a minute)", s->cfg.etcd_prefix, n);
	for (size_t i = 0; i < r.n; i++)
		report_kv(s, r.kv[i].host, r.kv[i].state, r.kv[i].mod_revision, "etcd change");
	if (r.compact_revision > 0)
		log_warn("etcd: watch start compacted (revision %" PRId64 "): reading everything again",
			 r.compact_revision);
	mtc_etcd_result_free(&r);
}

int etcd_on_pipe(sd_event_source *src, int fd, uint32_t revents, void *userdata)
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
	while ((j = etcd_job_pop(&list))) {
		if (j->kind == JOB_RANGE)
			on_range_done(s, j);
		else if (j->kind == JOB_PUT || j->kind == JOB_TXN)
			on_write_done(s, j);
		else
			on_watch_msg(s, j);
		etcd_job_free(j);
	}
	return 0;
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
	if (etcd_http_init() < 0)
		return -ENOMEM;
	r = etcd_parse_endpoints(s, s->cfg.etcd_endpoints);
	if (r >= 0)
		r = etcd_auth_open(s);
	for (int i = 0; r >= 0 && s->cfg.etcd_user[0] && i < s->n_ep; i++)
		if (strncmp(s->ep[i], "http://", 7) == 0)
			log_warn("etcd: [etcd] user %s with %s: the password and the token cross the network in clear "
				 "text; use https endpoints", s->cfg.etcd_user, s->ep[i]);
	if (r >= 0)
		r = etcd_start_threads(s);
	if (r < 0) {
		log_err("etcd store: cannot start: %s", strerror(-r));
		return r;
	}
	etcd_submit_range(s);
	return 0;
}

/* Jobs never run or never delivered: every waiting put is answered. */
static void fail_jobs(etcd_store *s, job *list)
{
	job *j;

	while ((j = etcd_job_pop(&list))) {
		if (j->kind == JOB_PUT || j->kind == JOB_TXN)
			put_answer(s, j, -ECANCELED, 0, "agent stopping: not changed");
		etcd_job_free(j);
	}
}

static void etcd_close(etcd_store *s)
{
	if (!s)
		return;
	if (s->threads)
		etcd_stop_and_join(s, 3);
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
	etcd_http_cleanup();
	etcd_auth_close(s);
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
		const char *why = j ? "not a host name; not changed" : "out of memory; not changed";

		free(j);
		s->env.on_event(s->env.user, &(mtc_store_event){ .kind = MTC_STORE_PUT, .host = host,
								  .r = why[0] == 'n' ? -EINVAL : -ENOMEM, .why = why,
								  .ctx = ctx });
		return;
	}
	j->kind = if_version < 0 ? JOB_PUT : JOB_TXN;
	snprintf(j->host, sizeof(j->host), "%s", host);
	j->lock = value != MTC_ADMIN_UNLOCKED;
	j->from_rev = !key_find(s, host, &at) ? 0 : if_version < 0 ? key_rev(s, host) : if_version;
	j->ctx = ctx;
	etcd_submit(s, j);
}

static void etcd_read(etcd_store *s)
{
	etcd_submit_range(s);
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
