/* The fake etcd's parts (fake_etcd.c, fake_etcd_http.c): not for tests. */
#ifndef FAKE_ETCD_INT_H
#define FAKE_ETCD_INT_H

#include <pthread.h>

#include <jansson.h>

#include "fake_etcd_http.h"

#define KV_MAX 64
#define RULE_MAX 64
#define REQ_MAX 1024
#define STR_MAX 256
#define LINE_MAX_N 64

typedef struct fake_kv_t {
	char host[64], value[16];
	int64_t mod;
	bool big;
} fake_kv_t;

typedef struct fake_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t rev;
	uint64_t cluster;
	fake_kv_t kv[KV_MAX]; /* sorted by host: by key */
	int n_kv;
	fake_rule rule[RULE_MAX];
	int n_rule, used[RULE_MAX];
	bool released;
	fake_req req[REQ_MAX];
	int n_req;
	char *str[STR_MAX]; /* what the helpers returned */
	int n_str;
	int streams;
	bool open, end;
	int end_err;
	char *line[LINE_MAX_N]; /* for the open stream */
	int n_line;
} fake_state;

extern fake_state F;

/* Under F.mu: host's entry (add: made if missing); host := value. */
fake_kv_t *fake_kv_at(const char *host, bool add);
void fake_kv_set(const char *host, const char *value, int64_t mod, bool big);
json_t *fake_i64(int64_t v);
json_t *fake_b64(const void *p, size_t n);
size_t fake_unb64(json_t *text, char *buf, size_t size);
int64_t fake_int_of(json_t *v);
json_t *fake_hdr(int64_t rev, uint64_t cluster);
/* value NULL: keys only (or a delete event) */
json_t *fake_kv_json(const char *host, const char *value, int64_t mod);

#endif
