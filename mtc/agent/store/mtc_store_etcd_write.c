/* [agent] store = etcd, the writer thread's writes. Every write is a txn:
 * put only if the key is still at from_rev, else read it. A reboot storm
 * queues thousands of corrections; sent one by one, each cost a
 * linearizable read and a txn through the one connection (~3.7 ms a pair,
 * docs/performance.md), so queued corrections of distinct hosts go up to
 * MTC_ETCD_BATCH_MAX in one txn (send_txn): compare every key, put every
 * key if all held, else read every key. The jobs whose own compare held
 * were not applied: they go again, fewer. Each job is answered to the
 * loop as if it had been written alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mtc_store_etcd.h"
#include "util.h"

/* Jobs scanned for a batch at most (a queue of one host's jobs is not
 * walked to its end under mu). */
#define BATCH_SCAN (4 * MTC_ETCD_BATCH_MAX)
/* Rounds of every member a write tries within its deadline at most (an
 * election after a member's loss answers "leader changed" for a moment:
 * one round was not enough). The deadline ends them first. */
#define ROUNDS_MAX 40
#define ERR_LEN sizeof(((job *)0)->err)

/* A batch on its way: its jobs, the reply parsed, the request's error. */
typedef struct write_batch {
	job **j;
	size_t n;
	mtc_etcd_cas cas[MTC_ETCD_BATCH_MAX];
	bool held[MTC_ETCD_BATCH_MAX];
	char err[ERR_LEN];
} write_batch;

/* Writes that committed at rev[i] (job d[i]): the same host's writes queued
 * behind them compared with what they replaced, and now compare with rev
 * (the operator's lock then unlock, in order, both apply). One walk of the
 * queue for the whole batch, under mu. */
static void chain_from_revs(etcd_store *s, job *const *d, const int64_t *rev, size_t n)
{
	pthread_mutex_lock(&s->mu);
	for (job *j = s->todo; j; j = j->next)
		for (size_t i = 0; i < n; i++)
			if (j->from_rev == d[i]->from_rev && rev[i] > 0 && strcmp(j->host, d[i]->host) == 0)
				j->from_rev = rev[i];
	pthread_mutex_unlock(&s->mu);
}

/* The revision a write answered with now holds the key as asked (0: it
 * does not): committed, or a try that timed out committed it. */
static int64_t as_asked_rev(const job *j, const mtc_etcd_cas *c)
{
	if (c->succeeded)
		return c->hdr.revision;
	return c->kv.state == (j->lock ? MTC_ETCD_LOCKED : MTC_ETCD_UNLOCKED) ? c->kv.mod_revision : 0;
}

/* One txn to member ep, with a linearizable read of host's key first
 * when probe is set or the member has not answered the writer yet
 * (s->writer_warm: at start, after any failure). The read proves, at
 * that moment, a member with a quorum behind it: a member cut off fails
 * it, and the txn never leaves. Without it, a leader that lost its
 * followers moments ago (within an election timeout) still appends the
 * txn to its log, answers nothing, and may commit it when quorum comes
 * back, minutes or hours later: the mod_revision compare cannot stop it,
 * since nobody could change the key meanwhile (review, 2026-12-03,
 * reproduced with SIGSTOPped followers). The operator was told "unknown
 * ... may still commit", truthfully; for a lock, the late commit is the
 * side that cannot kill a locked node, and the lock is spared the round
 * trip; an unlock keeps the read, and is answered "not changed" for
 * sure. A cold member's read also fails a connection, TLS handshake or
 * token before the write leaves. Every request asks hasleader: a member
 * that knows it has no leader refuses it before proposing ("no leader"),
 * as a learner does, and the next member is tried, as after a refused
 * connection. A second try after a first that may have committed is no
 * blind resend: it compares the key's mod_revision, commits only if
 * nothing changed, or answers the key as it is now, and the loop
 * decides. */
static int send_txn(etcd_store *s, const char *host, char *body, bool probe, int ep, long timeout_ms,
		    http_buf *out, char *err, size_t errlen, bool *unclear)
{
	bool read = probe || !s->writer_warm[ep];
	char *get = read ? mtc_etcd_get_body(s->cfg.etcd_prefix, host) : NULL;
	int r = !body || (read && !get) ? -ENOMEM
		: read ? etcd_post(s, ep, "/v3/kv/range", get, timeout_ms / 2, out, err, errlen) : 0;
	bool txn = r == 0;
	long txn_ms = read ? timeout_ms / 2 : timeout_ms < TRY_TIMEOUT_MS ? timeout_ms : TRY_TIMEOUT_MS;
	mtc_etcd_error_kind kind;

	free(get);
	if (txn) {
		etcd_buf_reset(out);
		r = etcd_post(s, ep, "/v3/kv/txn", body, txn_ms, out, err, errlen);
	}
	free(body);
	s->writer_warm[ep] = r == 0;
	kind = r == -EIO ? mtc_etcd_error_classify(out->p, out->n) : MTC_ETCD_ERR_MAYBE_PROPOSED;
	if (kind == MTC_ETCD_ERR_REFUSED)
		return -EPERM; /* refused before it was proposed: final, on any member */
	if (kind == MTC_ETCD_ERR_ELSEWHERE)
		return -ECONNREFUSED; /* not proposed (no leader, a learner): the next member */
	/* A txn that may have reached etcd may still commit, whatever came
	 * back (a timeout, a dropped connection, "leader changed", a reply
	 * too big): unclear unless it never left (-ECONNREFUSED: libcurl
	 * never had it on a connection; -EPERM: etcd_post's authentication
	 * failed before sending). */
	if (txn && r < 0 && r != -ECONNREFUSED && r != -ENOMEM && r != -EPERM)
		*unclear = true;
	return r;
}

/* Whether a try's result ends the write's tries: an answer, a reply not
 * understood, or a refusal every member would repeat. */
static bool try_final(int r)
{
	return r == 0 || r == -EBADMSG || r == -EPERM;
}

/* Between two rounds of every member (each failed): a pause, so members
 * that refuse at once are not hammered until the deadline. */
static void round_pause(const etcd_store *s, int i)
{
	if (i > 0 && i % s->n_ep == 0)
		nanosleep(&(struct timespec){ .tv_nsec = 100 * 1000000L }, NULL);
}

static int run_write(etcd_store *s, job *j, int ep, long timeout_ms, http_buf *out)
{
	int64_t from, rev;
	int r;

	pthread_mutex_lock(&s->mu);
	from = j->from_rev;
	pthread_mutex_unlock(&s->mu);
	r = send_txn(s, j->host, mtc_etcd_cas_body(s->cfg.etcd_prefix, j->host, j->lock, from, j->kind == JOB_TXN),
		     j->kind == JOB_PUT && !j->lock, ep, timeout_ms, out, j->err, sizeof(j->err), &j->unclear);
	if (r == 0 && mtc_etcd_parse_cas(out->p, out->n, s->cfg.etcd_prefix, j->host, &j->cas, j->err,
					 sizeof(j->err)) < 0) {
		r = -EBADMSG;
		j->unclear = true; /* sent and answered, but not understood: it may have committed */
	}
	rev = r == 0 ? as_asked_rev(j, &j->cas) : 0;
	if (rev > 0)
		chain_from_revs(s, &j, &rev, 1);
	return r;
}

/* The time left to a write submitted at submitted_ms for its next try. */
static long try_ms(uint64_t submitted_ms)
{
	long left = SET_DEADLINE_MS - (long)(util_now_ms() - submitted_ms);

	return left < 2 * TRY_TIMEOUT_MS ? left : 2 * TRY_TIMEOUT_MS;
}

/* A write whose deadline passed before any try (queued behind a long
 * batch): answered as not sent, and not counted against etcd's health. */
static bool expire(job *j)
{
	if (j->unclear || try_ms(j->submitted_ms) >= 100)
		return false;
	j->r = -ETIMEDOUT;
	j->expired = true;
	snprintf(j->err, sizeof(j->err), "not sent: queued past its %ld ms deadline (the agent's writes are behind)",
		 SET_DEADLINE_MS);
	return true;
}

/* Tries of one write (try: run_write's or batch_try's) on every member
 * in turn, from the last that answered, round after round, until one is
 * final or the time from since is up; err: the write's error (ERR_LEN
 * bytes), *unclear: whether a try may have reached etcd. The error of the
 * try that made it unclear is the one its answer quotes: later tries (the
 * member gone, "no leader") say nothing of whether it committed. */
static int tries(etcd_store *s, int (*try)(etcd_store *, void *, int, long, http_buf *), void *w, uint64_t since,
		 char *err, const bool *unclear, int *last_ep)
{
	http_buf out = { 0 };
	char kept[ERR_LEN] = "";
	int r = -ETIMEDOUT;

	snprintf(err, ERR_LEN, "no member answered within %ld ms", SET_DEADLINE_MS);
	for (int i = 0; i < ROUNDS_MAX * s->n_ep; i++) {
		int ep = (*last_ep + i) % s->n_ep;
		long t;

		round_pause(s, i);
		t = try_ms(since);
		if (t < 100)
			break;
		etcd_buf_reset(&out);
		r = try(s, w, ep, t, &out);
		if (*unclear && !kept[0])
			snprintf(kept, sizeof(kept), "%s", err);
		if (try_final(r)) {
			*last_ep = ep;
			break;
		}
	}
	if (r < 0 && kept[0])
		snprintf(err, ERR_LEN, "%s", kept);
	etcd_buf_reset(&out);
	return r;
}

static int write_try(etcd_store *s, void *j, int ep, long timeout_ms, http_buf *out)
{
	return run_write(s, j, ep, timeout_ms, out);
}

void etcd_run_write(etcd_store *s, job *j, int *last_ep)
{
	if (expire(j))
		return;
	j->r = tries(s, write_try, j, j->submitted_ms, j->err, &j->unclear, last_ep);
}

static bool host_in(const char *const *hosts, size_t n, const char *host)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(hosts[i], host) == 0)
			return true;
	return false;
}

size_t etcd_take_batch(job **list, job **batch)
{
	const char *seen[BATCH_SCAN + 1];
	size_t n = 1, n_seen = 0;
	job **pp = list;

	seen[n_seen++] = batch[0]->host;
	for (int k = 0; *pp && n < MTC_ETCD_BATCH_MAX && k < BATCH_SCAN; k++) {
		job *j = *pp;
		bool dup = host_in(seen, n_seen, j->host);

		if (!dup)
			seen[n_seen++] = j->host;
		if (dup || j->kind != JOB_TXN) {
			pp = &j->next; /* stays; and every later job of its host */
			continue;
		}
		*pp = j->next;
		batch[n++] = j;
	}
	return n;
}

/* One try of the batch on member ep: 0 and b->cas, b->held parsed. */
static int batch_try(etcd_store *s, void *w, int ep, long timeout_ms, http_buf *out)
{
	write_batch *b = w;
	mtc_etcd_cas_req req[MTC_ETCD_BATCH_MAX];
	bool unclear = false;
	int r;

	pthread_mutex_lock(&s->mu);
	for (size_t i = 0; i < b->n; i++)
		req[i] = (mtc_etcd_cas_req){ .host = b->j[i]->host, .locked = b->j[i]->lock,
					     .mod_revision = b->j[i]->from_rev };
	pthread_mutex_unlock(&s->mu);
	r = send_txn(s, b->j[0]->host, mtc_etcd_cas_batch_body(s->cfg.etcd_prefix, req, b->n), false, ep, timeout_ms,
		     out, b->err, sizeof(b->err), &unclear);
	if (r == 0 && mtc_etcd_parse_cas_batch(out->p, out->n, s->cfg.etcd_prefix, req, b->n, b->cas, b->held,
					       b->err, sizeof(b->err)) < 0) {
		r = -EBADMSG;
		unclear = true; /* answered, not understood: it may have committed */
	}
	for (size_t i = 0; i < b->n && unclear; i++)
		b->j[i]->unclear = true; /* each is then "unclear" as a single write is */
	return r;
}

/* Every member in turn (tries), until one answers or the oldest job's
 * time is up (each deadline counts from submission); a batch's jobs are
 * made unclear together (batch_try). */
static int batch_send(etcd_store *s, write_batch *b, int *last_ep)
{
	uint64_t oldest = b->j[0]->submitted_ms;

	for (size_t i = 1; i < b->n; i++)
		if (b->j[i]->submitted_ms < oldest)
			oldest = b->j[i]->submitted_ms;
	return tries(s, batch_try, b, oldest, b->err, &b->j[0]->unclear, last_ep);
}

/* The batch answered (r == 0): every job whose compare failed (all, if it
 * committed) answered and handed to the loop; the held ones, not applied,
 * moved to the front for another try. Returns how many are held. */
static size_t batch_answer(etcd_store *s, write_batch *b)
{
	job *done[MTC_ETCD_BATCH_MAX];
	int64_t rev[MTC_ETCD_BATCH_MAX];
	size_t n_done = 0, n_held = 0;

	for (size_t i = 0; i < b->n; i++) {
		job *j = b->j[i];

		if (b->held[i]) {
			b->j[n_held++] = j;
			continue;
		}
		j->r = 0;
		j->cas = b->cas[i];
		rev[n_done] = as_asked_rev(j, &j->cas);
		done[n_done++] = j;
	}
	chain_from_revs(s, done, rev, n_done);
	for (size_t i = 0; i < n_done; i++)
		etcd_post_done(s, done[i]);
	return n_held;
}

/* No answer: every job fails as a single write would (unclear if the txn
 * may have reached etcd: the loop reads etcd again, nothing is resent). */
static void batch_fail(etcd_store *s, write_batch *b, int r)
{
	for (size_t i = 0; i < b->n; i++) {
		b->j[i]->r = r;
		snprintf(b->j[i]->err, sizeof(b->j[i]->err), "%s", b->err);
		etcd_post_done(s, b->j[i]);
	}
}

/* The batch's jobs whose deadline passed answered (expire), the rest kept. */
static void drop_expired(etcd_store *s, write_batch *b)
{
	size_t k = 0;

	for (size_t i = 0; i < b->n; i++) {
		if (expire(b->j[i]))
			etcd_post_done(s, b->j[i]);
		else
			b->j[k++] = b->j[i];
	}
	b->n = k;
}

/* Each round answers at least one job (a failed txn has a failed compare),
 * or the rest go one by one: at most n rounds. A job whose deadline
 * passed meanwhile is answered "not sent" (expire). */
void etcd_run_batch(etcd_store *s, job **jobs, size_t n, int *last_ep)
{
	write_batch b = { .j = jobs, .n = n };

	for (drop_expired(s, &b); b.n > 1; drop_expired(s, &b)) {
		int r = batch_send(s, &b, last_ep);
		size_t held;

		if (r == -EPERM)
			break; /* refused (an etcd whose --max-txn-ops is below the batch?): one by one */
		if (r < 0) {
			batch_fail(s, &b, r);
			return;
		}
		held = batch_answer(s, &b);
		if (held == b.n)
			break; /* no compare failed yet the txn did: etcd is not as this code knows it */
		b.n = held;
	}
	for (size_t i = 0; i < b.n; i++) {
		etcd_run_write(s, b.j[i], last_ep);
		etcd_post_done(s, b.j[i]);
	}
}
