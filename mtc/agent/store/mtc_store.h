/* Where mtcagent keeps each host's admin state ([agent] store): an opaque
 * handle behind a small ops table, as chrony's sys_*.c. A store only
 * stores: it reads, puts and watches entries (host, value, sequence) and
 * reports what happened through one callback. It never sees the agent's
 * host table, never sends a frame, never decides a correction (that is
 * mtc_admin's). */
#ifndef MTC_STORE_H
#define MTC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "mtc_admin.h"
#include "mtc_config.h"

typedef struct mtc_store mtc_store;

typedef enum mtc_store_event_kind {
	MTC_STORE_CHANGED, /* host's entry is value at version (a read or a watched change) */
	MTC_STORE_LOADED,  /* a full read finished (the first, or a later one) */
	MTC_STORE_PUT,     /* a put's answer: r = 0 stored at version; -EAGAIN: the entry moved; < 0 failed */
	/* etcd restored from a snapshot or rebuilt: its versions start over
	 * (lower than the ones seen); a full read follows as CHANGED events */
	MTC_STORE_REWOUND,
} mtc_store_event_kind;

typedef struct mtc_store_event {
	mtc_store_event_kind kind;
	const char *host;
	mtc_admin_value value;
	int64_t version; /* > 0, grows with every change of the entry */
	uint32_t seq;    /* the command sequence of this entry */
	/* CHANGED: "read from etcd", "etcd change", "key removed"; PUT: what
	 * is known, for the operator ("committed at etcd revision N"; r < 0:
	 * "refused: ...", or "unknown: ..." when a request that timed out may
	 * still commit) */
	const char *why;
	int r;           /* PUT */
	void *ctx;       /* PUT: the put's */
} mtc_store_event;

typedef void (*mtc_store_event_fn)(void *user, const mtc_store_event *ev);

/* What a store is given at open. */
typedef struct mtc_store_env {
	sd_event *event;
	const mtc_config *cfg;
	size_t n_hosts;   /* hint: the hosts file's size (compaction, buffers) */
	mtc_store_event_fn on_event;
	void *user;
} mtc_store_env;

/* A store's state for mtcctl list --json (and anything that is not a
 * sentence). */
typedef struct mtc_store_health {
	bool loaded;          /* the state was read at least once */
	bool healthy;         /* the last request was answered */
	int64_t revision;     /* etcd: revision last seen; file: 0 */
	double unavailable_s; /* how long not healthy; 0 when healthy */
	char error[400];      /* the last failure, "" if none */
} mtc_store_health;

typedef struct mtc_store_ops {
	const char *name;
	bool shared; /* several agents share it; put-if is checked against their changes */
	/* Start: read what is stored (file: before returning, as CHANGED
	 * events then LOADED; etcd: soon after) and watch it. Unreadable
	 * state is logged and leaves hosts unknown (locked); < 0 only when
	 * the agent cannot run at all with this store. */
	int (*open)(const mtc_store_env *env, mtc_store **ret);
	/* Every put still waiting is answered (-ECANCELED) first. */
	void (*close)(mtc_store *s);
	/* Read everything again (ignored while a read is on its way). */
	void (*read)(mtc_store *s);
	/* host := value with sequence seq (file; etcd's is its revision).
	 * if_version >= 0: only if the entry is still at that version (0:
	 * absent). Answered by exactly one PUT event, maybe before returning. */
	void (*put)(mtc_store *s, const char *host, mtc_admin_value value, uint32_t seq, int64_t if_version, void *ctx);
	/* One line for mtcctl list and the start message: kind, where, health. */
	void (*describe)(mtc_store *s, char *buf, size_t size);
	void (*health)(mtc_store *s, mtc_store_health *ret);
	/* The decision's view: loaded, healthy, a read on its way. */
	void (*state)(mtc_store *s, mtc_admin_store *ret);
} mtc_store_ops;

extern const mtc_store_ops mtc_store_file_ops;
extern const mtc_store_ops mtc_store_etcd_ops;

/* The ops for the configured [agent] store. */
const mtc_store_ops *mtc_store_for(const mtc_config *cfg);

#endif
