/* etcd v3 HTTP/JSON gateway (etcd 3.4, /v3/kv/range, /v3/kv/put,
 * /v3/watch): request bodies and reply parsing, pure (no I/O), so tests
 * feed them text. Keys and values travel base64-encoded; int64 fields are
 * JSON strings. The admin state of host H is the value "locked" or
 * "unlocked" of key PREFIX+H; its mod_revision is the command sequence. */
#ifndef MTC_ETCD_H
#define MTC_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtc_codec.h"

#define MTC_ETCD_PREFIX_MAX 64

typedef enum {
	MTC_ETCD_LOCKED,
	MTC_ETCD_UNLOCKED,
	MTC_ETCD_DELETED, /* watch: the key was removed (admin state unknown) */
	MTC_ETCD_INVALID, /* a value we do not understand (treated as unknown) */
} mtc_etcd_state;

typedef struct mtc_etcd_kv {
	char host[MTC_HOSTNAME_MAX + 1];
	mtc_etcd_state state;
	int64_t mod_revision;
} mtc_etcd_kv;

/* A parsed range or watch reply. */
typedef struct mtc_etcd_result {
	mtc_etcd_kv *kv;
	size_t n;
	int64_t revision;         /* header.revision: the store's revision when answered */
	int64_t compact_revision; /* watch: > 0 if the start revision was compacted away */
	bool created, canceled;   /* watch */
} mtc_etcd_result;

void mtc_etcd_result_free(mtc_etcd_result *r);

/* Request bodies (malloc'd JSON text), NULL on a bad argument or no memory. */
char *mtc_etcd_range_body(const char *prefix);
char *mtc_etcd_put_body(const char *prefix, const char *host, bool locked);
/* A range of host's key alone (a linearizable read of one key). */
char *mtc_etcd_get_body(const char *prefix, const char *host);
char *mtc_etcd_watch_body(const char *prefix, int64_t start_revision);

/* A correction's new command sequence: put the same value again only if
 * the key is still at mod_revision (no other agent changed it since). */
char *mtc_etcd_reput_body(const char *prefix, const char *host, bool locked, int64_t mod_revision);

/* Parse replies. Keys outside prefix or not a valid host name are skipped.
 * -EBADMSG: not a reply of that kind; -EIO: an error reply ("error" or
 * "code" member), with its message in msg. */
int mtc_etcd_parse_range(const char *text, size_t len, const char *prefix, mtc_etcd_result *ret, char *msg,
			 size_t msglen);
int mtc_etcd_parse_put(const char *text, size_t len, int64_t *ret_revision, char *msg, size_t msglen);
/* A txn reply: *ret_succeeded (the compare held) and header.revision. */
int mtc_etcd_parse_txn(const char *text, size_t len, bool *ret_succeeded, int64_t *ret_revision, char *msg,
		       size_t msglen);
int mtc_etcd_parse_watch(const char *text, size_t len, const char *prefix, mtc_etcd_result *ret, char *msg,
			 size_t msglen);

/* The revision a watch resumes from after seeing r: one past the newest
 * event (or header) already seen, never going back. */
int64_t mtc_etcd_next_revision(int64_t next, const mtc_etcd_result *r);

/* The command sequence of a key's mod_revision (the wire carries 32 bits;
 * a revision past 2^32 - 1 is clamped, see docs/protocol.md). */
uint32_t mtc_etcd_cmdseq(int64_t mod_revision);

#endif
