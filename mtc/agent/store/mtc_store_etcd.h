/* The etcd store's parts (private to them): mtc_store_etcd.c, the three
 * threads and their job queues; mtc_store_etcd_http.c and _stream.c, the
 * transport (libcurl); _range.c and _watch.c, the reads; _health.c and _ops.c, the
 * loop's side (finished jobs turned into store events, the ops table).
 * Not for the agent: it sees mtc_store.h only. */
#ifndef MTC_STORE_ETCD_H
#define MTC_STORE_ETCD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "mtc_etcd.h"
#include "mtc_order.h"
#include "mtc_store.h"

/* etcd restored from a snapshot (its revision went back) or rebuilt
 * (another cluster_id): journalctl MESSAGE_ID=... */
#define MSGID_ETCD_REWOUND "22dc08cb831d4cacac8800088223424d"

#define EP_MAX 5
#define EP_LEN 128
#define TRY_TIMEOUT_MS 1200L   /* one member, one request */
#define SET_DEADLINE_MS 4000L  /* a lock/unlock, every member tried; below mtcctl's 5 s */
/* The loop's tick: no request of its own in steady state (health is the
 * watch's), a full read only when one is needed. */
#define POLL_USEC (USEC_PER_SEC / 2)
#define WATCH_RETRY_MS 300
#define STREAM_LOG_MS 60000ULL
/* A watch that brings no byte for this long (no event, no progress
 * notification: etcd's --experimental-watch-progress-notify-interval,
 * docs/operations.md) moves to the next member: a stopped member, or a
 * quiet watch on an etcd without progress notifications. */
#define WATCH_IDLE_S 10L
/* A stream ended and no stream has said anything since (not even a new
 * stream's "created") for this long: the store is unhealthy. A quiet
 * watch's restart on the next member takes a few ms. */
#define WATCH_DOWN_MS 1500ULL
/* No watch message for this long: the watch does not work, and a full
 * read (every STALE_READ_MS) is the state and the health again. Reads
 * are asked at most that often for any reason the poll sees. */
#define WATCH_STALE_MS 25000ULL
#define STALE_READ_MS 2000ULL
/* A quiet watch's restart (no byte for WATCH_IDLE_S) is logged at info
 * once in this long, at debug otherwise: every 10 s on a default etcd. */
#define QUIET_LOG_MS (600ULL * 1000)
#define PAGE_KEYS 5000L       /* a range page: ~600 KB of host keys */
#define REPLY_MAX (4u << 20)  /* one reply (a page, a watch message) */
#define PAGES_MAX 1000000     /* bounds a read; every page moves past a key */


typedef enum { JOB_RANGE, JOB_PUT, JOB_TXN, JOB_WATCH } job_kind;

typedef struct job {
	job_kind kind;
	char *body;
	char host[MTC_HOSTNAME_MAX + 1];
	bool lock;
	/* writes (JOB_PUT: the operator's, JOB_TXN: a correction): the key's
	 * mod_revision the put compares with (0: missing), as this agent
	 * last read it; under mu (the writer moves it along a host's queue);
	 * JOB_WATCH: the stream's start revision */
	int64_t from_rev;
	int64_t base_rev;      /* the newest revision known committed when submitted */
	unsigned epoch;        /* s->epoch when submitted; JOB_WATCH: the stream's watch_gen */
	bool unclear;          /* a write: a try ended after etcd may have had it */
	bool expired;          /* a write: its deadline passed in the queue; never sent (not etcd's fault) */
	mtc_etcd_cas cas;      /* writes: the reply parsed */
	size_t skipped;        /* JOB_RANGE: keys too big for a reply, stepped over */
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
typedef struct etcd_auth etcd_auth;

struct mtc_store {
	mtc_store_env env;
	mtc_config cfg; /* as opened: the threads read this copy, never the agent's */
	char ep[EP_MAX][EP_LEN];
	int n_ep;
	etcd_auth *auth; /* [etcd] user: password and token (NULL: no user) */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	job *todo, *todo_read, *done; /* under mu: writes, ranges, finished */
	bool stop;        /* under mu */
	int64_t watch_from; /* under mu; 0: not before the first range */
	unsigned watch_gen; /* under mu; a change ends the running watch stream */
	int writer_ep, reader_ep, watch_ep; /* each thread's own */
	bool writer_warm[EP_MAX]; /* the writer's: member answered its last request (send_txn) */
	pthread_t writer, reader, watcher;
	bool threads;
	int pipe[2];
	sd_event_source *pipe_src, *poll_timer;
	/* the loop's own */
	bool range_inflight, loaded, healthy;
	mtc_etcd_watch_clock watch; /* the watch's times: health (mtc_etcd_watch_judge) */
	char watch_error[400];      /* why the last stream ended */
	uint64_t range_sent_ms;     /* when the last full read was asked */
	uint64_t quiet_log_ms;      /* when a quiet restart was last logged at info */
	unsigned quiet_restarts;    /* logged at debug since */
	/* A watch etcd ends for the same reason again and again (a revoked
	 * role: every 300 ms): that reason once per STREAM_LOG_MS, with how
	 * many; a new reason at once */
	char end_why[400];
	uint64_t end_log_ms;
	unsigned long end_repeats;
	mtc_ratelog cancel_log;
	int64_t revision;
	uint64_t cluster_id; /* of the first reply; another one is a rebuilt cluster */
	unsigned epoch;      /* one more at each re-baseline (a restore, a new cluster) */
	uint64_t unhealthy_since;
	uint64_t range_failed_ms; /* when the last range failed (0: none) */
	char last_error[400];
	etcd_key *keys;
	size_t n_keys, cap_keys;
};

typedef struct http_buf {
	char *p;
	size_t n;
	bool oom;
} http_buf;

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

/* From a thread: hand j to the loop. */
void etcd_post_done(etcd_store *s, job *j);
/* Append to an http_buf (at most REPLY_MAX; libcurl's write callback
 * shape): size * nmemb, or 0 when over (b->oom). */
size_t etcd_on_data(char *d, size_t size, size_t nmemb, void *user);
void etcd_buf_reset(http_buf *b);

/* mtc_store_etcd_http.c and _stream.c: the transport, the only libcurl
 * users (the unit tests link a fake of it).
 * One request to member ep: 0 with the answer in out, or -errno and err
 * (-ECONNREFUSED: never sent, nor proposed; -EPERM: refused, or the
 * agent's authentication failed, before sending; -EFBIG: reply over REPLY_MAX; -EIO: an HTTP
 * error status; -ETIMEDOUT, -ECONNRESET: it may have reached etcd). */
int etcd_post(etcd_store *s, int ep, const char *path, const char *body, long timeout_ms, http_buf *out, char *err,
	      size_t errlen);
/* A streaming request's bytes, as they come: false ends the stream. */
typedef bool (*etcd_stream_fn)(const char *d, size_t len, void *user);
/* Polled about once a second and at every chunk: true ends the stream. */
typedef bool (*etcd_stop_fn)(void *user);
/* One streaming request (the watch) to member ep, until it ends: 0 when
 * on_data or stop ended it; -ETIMEDOUT: no byte for idle_s; else
 * -errno and err (the member closed or dropped it, could not connect). */
int etcd_stream(etcd_store *s, int ep, const char *path, const char *body, long idle_s, etcd_stream_fn on_data,
		etcd_stop_fn stop, void *user, char *err, size_t errlen);
/* Once per store, before its threads; and after them. */
int etcd_http_init(void);
void etcd_http_cleanup(void);
/* A worker thread's end: its reused handle and connections. */
void etcd_http_thread_end(void);

/* mtc_store_etcd_auth.c: [etcd] user's password and the token the
 * threads share (the transport asks for it and renews it). */
#define ETCD_TOKEN_MAX 1024 /* a simple token is ~20 bytes, a JWT a few hundred */
/* At the store's open: the password file read (an error logged naming
 * it: the store does not open); nothing without [etcd] user. */
int etcd_auth_open(etcd_store *s);
void etcd_auth_close(etcd_store *s);
typedef enum {
	ETCD_TOKEN_NONE,   /* send no token: no user, or etcd has authentication off */
	ETCD_TOKEN_USE,    /* send the token in buf */
	ETCD_TOKEN_FETCH,  /* this thread authenticates now, then etcd_auth_done */
	ETCD_TOKEN_FAILED, /* the authentication this thread waited for failed: *ret_r, err */
} etcd_token_verdict;
etcd_token_verdict etcd_auth_token(etcd_store *s, char *buf, size_t size, int *ret_r, char *err, size_t errlen);
/* The end of a FETCH: token (r 0), etcd's auth off (r 0, token NULL),
 * or r < 0 and err. Returns why the previous token was dropped ("": the
 * first authentication), for the log line. */
void etcd_auth_done(etcd_store *s, int r, const char *token, const char *err, char *why, size_t whylen);
/* A reply refused token (why: etcd's words): dropped, unless another
 * thread has renewed it already; the next request authenticates. */
void etcd_auth_drop(etcd_store *s, const char *token, const char *why);
/* The authenticate body into buf (wipe it after); -ENOSPC. */
int etcd_auth_body(etcd_store *s, char *buf, size_t size);
const char *etcd_auth_user(const etcd_store *s);
/* The authenticate reply (HTTP code, text) from member ep: 0 and the
 * token; 0 and token "" when etcd has authentication off; -EPERM (wrong
 * user or password: final, every member says the same) or -EIO, with err. */
int etcd_auth_reply(const etcd_store *s, int ep, long code, const char *text, size_t len, char *token, size_t size,
		    char *err, size_t errlen);
/* A hint for an error reply (etcd refusing a client certificate with a
 * CommonName once authentication is on), or "". */
const char *etcd_auth_hint(const char *text);

/* mtc_store_etcd_write.c: the writer thread's writes */
/* One write (a JOB_PUT or JOB_TXN) to every member in turn until one
 * answers or its time is up; the answer in j. */
void etcd_run_write(etcd_store *s, job *j, int *last_ep);
/* Under mu: batch[0] just taken from list (a JOB_TXN), and behind it the
 * JOB_TXNs of other hosts (none past an earlier job of its host), up to
 * MTC_ETCD_BATCH_MAX in all, taken out of list. Returns how many. */
size_t etcd_take_batch(job **list, job **batch);
/* n > 1 corrections in one txn (their rest again, fewer, if another's
 * compare failed), each answered in its job and handed to the loop. */
void etcd_run_batch(etcd_store *s, job **batch, size_t n, int *last_ep);

/* mtc_store_etcd_range.c: a full read in pages (the reader thread) */
void etcd_run_range(etcd_store *s, job *j, int *last_ep);

/* mtc_store_etcd_watch.c: the watcher thread */
void *etcd_watcher_main(void *arg);

/* mtc_store_etcd_health.c: health and etcd's history, on the loop */
void etcd_set_health(etcd_store *s, bool ok, const char *err);
/* Any reply's header: false (and a re-baseline begun) if etcd went back
 * or is another cluster. */
bool etcd_header_ok(etcd_store *s, const job *j, const mtc_etcd_header *hdr);
void etcd_submit_range(etcd_store *s);
/* A watch message or a stream's end (JOB_WATCH, r < 0): health, and the
 * log of a stream's end. False: not of the running watch (gen). */
bool etcd_watch_alive(etcd_store *s, job *j, int64_t from);

/* mtc_store_etcd_ops.c: the loop's side */
int etcd_on_pipe(sd_event_source *src, int fd, uint32_t revents, void *userdata);
int etcd_on_poll(sd_event_source *src, uint64_t usec, void *userdata);

#endif
