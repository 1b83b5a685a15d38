/* [agent] store = etcd: admin state in etcd, shared by every agent.
 *
 * Blocking HTTP (libcurl easy) runs on three threads, never in the event
 * loop: a writer for the writes (each a txn: put if the key is still as
 * last read, else read it; each host's in the order asked; queued
 * corrections up to 64 hosts in one txn, mtc_store_etcd_write.c), a reader for
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

/* Parsed on the threads, not in the loop: every host's state is 1.15 MB
 * of JSON at 10,000 hosts, 45-80 ms to parse, during which the loop read
 * no socket and a reboot storm's frames overflowed their receive buffers. */
static void run_job(etcd_store *s, job *j, int *last_ep)
{
	if (j->kind == JOB_RANGE)
		etcd_run_range(s, j, last_ep);
	else
		etcd_run_write(s, j, last_ep);
}

/* One queue, one thread, its own member index: the writer takes todo,
 * the reader todo_read. */
static void worker_loop(etcd_store *s, job **todo, int *last_ep)
{
	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		job *batch[MTC_ETCD_BATCH_MAX];
		size_t n;

		batch[0] = etcd_job_pop(todo);
		if (!batch[0]) {
			pthread_cond_wait(&s->cv, &s->mu);
			continue;
		}
		/* a reboot storm's corrections: many in one txn */
		n = batch[0]->kind == JOB_TXN ? etcd_take_batch(todo, batch) : 1;
		pthread_mutex_unlock(&s->mu);
		if (n > 1) {
			etcd_run_batch(s, batch, n, last_ep); /* hands each job to the loop */
		} else {
			run_job(s, batch[0], last_ep);
			etcd_post_done(s, batch[0]);
		}
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
