/* The etcd store's unit test harness (tests/unit/test_mtc_store_etcd.c):
 * the store opened through mtc_store_etcd_ops on a real sd-event loop and
 * its events recorded; the loop run until a condition holds; queries over
 * the events and over the fake transport's record of requests. */
#ifndef STORE_ETCD_HARNESS_H
#define STORE_ETCD_HARNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "fake_etcd_http.h"
#include "mtc_store_etcd.h"

#define WAIT_MS 5000
#define EV_MAX 256
#define RANGE "/v3/kv/range"
#define TXN "/v3/kv/txn"
#define WATCH "/v3/watch"
#define K(h) FAKE_PREFIX h

typedef struct rec {
	mtc_store_event_kind kind;
	char host[MTC_HOSTNAME_MAX + 1];
	mtc_admin_value value;
	int64_t version;
	char why[400];
	int r;
	void *ctx;
	bool healthy; /* the store's, when told */
} rec;

typedef struct harness {
	sd_event *e;
	mtc_config cfg;
	mtc_store *s;
	rec ev[EV_MAX];
	int n;
} harness;

extern harness T;

extern const mtc_store_ops *const ops;

/* Run the loop until cond holds; fail after WAIT_MS. */
#define RUN_UNTIL(cond)                                                                         \
	do {                                                                                    \
		uint64_t until_ = now_ms() + WAIT_MS;                                           \
		while (!(cond)) {                                                               \
			if (now_ms() > until_) {                                                \
				dump();                                                         \
				fail_msg("%s:%d: timed out waiting for %s", __FILE__, __LINE__, #cond); \
			}                                                                       \
			sd_event_run(T.e, 10 * 1000);                                           \
		}                                                                               \
	} while (0)

uint64_t now_ms(void);

/* The first event from index from of kind (for host; NULL: any): its index, or -1. */
int find_ev(int from, mtc_store_event_kind kind, const char *host);

/* A CHANGED for host at version since from: its index, or -1. */
int find_changed(int from, const char *host, int64_t version);

int count_ev(mtc_store_event_kind kind);

/* What happened, for a failure's message. */
void dump(void);

/* CHANGED host := value at version, said why, from index from: its index. */
int expect_changed(int from, const char *host, mtc_admin_value value, int64_t version, const char *why);

/* A full read's page (not a one-key health read). */
bool is_full_read(const fake_req *q);

/* The first request from index from on path (RANGE: full reads only), or -1. */
int find_req(int from, const char *path);

/* The n-th (from 1) watch request. */
fake_req nth_watch(int n);

/* Every txn from index from compares host (if at all) with rev, and no
 * request is a blind put: how many compared host. */
int txns_compare(int from, const char *host, int64_t rev);

int setup(void **state);

int teardown(void **state);

void open_store(void);

/* Opened on the tiny etcd, read, and its watch open. */
void open_loaded(void);

int64_t store_revision(void);

#endif
