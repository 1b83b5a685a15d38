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
 * byte for WATCH_IDLE_S, on the next member. Health is the watch's: no
 * periodic read; the full read is only at start, after a compaction, on
 * a re-baseline or while the watch brings nothing (mtc_store_etcd_health.c). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "mtc_store_etcd.h"
#include "service.h"
#include "util.h"


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
void etcd_post_done(etcd_store *s, job *j)
{
	char c = 1;

	pthread_mutex_lock(&s->mu);
	push(&s->done, j);
	pthread_mutex_unlock(&s->mu);
	if (write(s->pipe[1], &c, 1) < 0) {
		/* full: the loop is already woken */
	}
}

size_t etcd_on_data(char *d, size_t size, size_t nmemb, void *user)
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

void etcd_buf_reset(http_buf *b)
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
	r = probe && body ? etcd_post(s, ep, "/v3/kv/range", probe, timeout_ms / 2, out, j->err, sizeof(j->err)) : -ENOMEM;
	free(probe);
	etcd_buf_reset(out);
	if (r == 0) {
		r = etcd_post(s, ep, "/v3/kv/txn", body, timeout_ms / 2, out, j->err, sizeof(j->err));
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
		etcd_buf_reset(&out);
		j->r = run_write(s, j, ep, t, &out);
		if (j->r == 0 || j->r == -EBADMSG) {
			*last_ep = ep;
			break;
		}
	}
	etcd_buf_reset(&out);
}

/* Parsed on the threads, not in the loop: every host's state is 1.15 MB
 * of JSON at 10,000 hosts, 45-80 ms to parse, during which the loop read
 * no socket and a reboot storm's frames overflowed their receive buffers. */
static void run_job(etcd_store *s, job *j, int *last_ep)
{
	if (j->kind == JOB_RANGE)
		etcd_run_range(s, j, last_ep);
	else
		run_write_job(s, j, last_ep);
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
		etcd_post_done(s, j);
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	etcd_http_thread_end();
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
void etcd_submit(etcd_store *s, job *j)
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
		r = -pthread_create(&s->watcher, NULL, etcd_watcher_main, s);
		if (r < 0)
			etcd_stop_and_join(s, 2);
	} else
		etcd_stop_and_join(s, 1);
	s->threads = r == 0;
	return r;
}
