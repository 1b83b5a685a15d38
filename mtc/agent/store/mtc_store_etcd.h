/* The etcd store's two halves (private to them): mtc_store_etcd.c, the
 * transport (libcurl on three threads, the job queues, the watch stream);
 * mtc_store_etcd_ops.c, the loop's side (finished jobs turned into store
 * events, the ops table). Not for the agent: it sees mtc_store.h only. */
#ifndef MTC_STORE_ETCD_H
#define MTC_STORE_ETCD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "mtc_etcd.h"
#include "mtc_store.h"

#define EP_MAX 5
#define EP_LEN 128
#define TRY_TIMEOUT_MS 1200L   /* one member, one request */
#define SET_DEADLINE_MS 4000L  /* a lock/unlock, every member tried; below mtcctl's 5 s */
#define POLL_USEC (2 * USEC_PER_SEC)
#define WATCH_RETRY_MS 300

typedef enum { JOB_RANGE, JOB_PUT, JOB_TXN, JOB_WATCH } job_kind;

typedef struct job {
	job_kind kind;
	char *body;
	char host[MTC_HOSTNAME_MAX + 1];
	bool lock;
	int64_t from_rev; /* JOB_TXN: the mod_revision it re-puts over */
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
	bool seen; /* in the range being applied */
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
	int writer_ep, reader_ep, watch_ep; /* each thread's own */
	pthread_t writer, reader, watcher;
	bool threads;
	int pipe[2];
	sd_event_source *pipe_src, *poll_timer;
	/* the loop's own */
	bool range_inflight, loaded, healthy;
	int64_t revision;
	uint64_t unhealthy_since;
	uint64_t range_failed_ms; /* when the last range failed (0: none) */
	char last_error[400];
	etcd_key *keys;
	size_t n_keys, cap_keys;
};

/* mtc_store_etcd.c: the transport */
void etcd_job_free(job *j);
job *etcd_job_pop(job **list);
/* From the loop: queue a job for its thread. */
void etcd_submit(etcd_store *s, job *j);
int etcd_parse_endpoints(etcd_store *s, const char *list);
/* Pipe and poll timer on the loop, then the three threads. */
int etcd_start_threads(etcd_store *s);
/* Stop the threads and wait for the first n of writer, reader, watcher. */
void etcd_stop_and_join(etcd_store *s, int n);

/* mtc_store_etcd_ops.c: the loop's side */
int etcd_on_pipe(sd_event_source *src, int fd, uint32_t revents, void *userdata);
int etcd_on_poll(sd_event_source *src, uint64_t usec, void *userdata);

#endif
