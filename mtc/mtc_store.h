/* Where mtcagent keeps each host's admin state ([agent] store): a small
 * ops table, as chrony's sys_*.c, so the agent does not care whether the
 * state is a local file or a replicated store. */
#ifndef MTC_STORE_H
#define MTC_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mtc_agent.h"

/* Called exactly once per set_admin, possibly before set_admin returns.
 * r = 0: the new state is stored, applied to h and sent (why: NULL, or
 * what the store knows, e.g. "committed at etcd revision 9"); r < 0: not
 * done, and why says exactly what is known (one line, no newline): not
 * changed, refused, or (etcd) unknown: a request that timed out may still
 * commit. */
typedef void (*mtc_store_done_fn)(agent *a, agent_host *h, int r, const char *why, void *ctx);

/* A store's state for mtcctl list --json (and anything that is not a
 * sentence). */
typedef struct mtc_store_health {
	bool loaded;          /* the state was read at least once */
	bool healthy;         /* the last request was answered */
	int64_t revision;     /* etcd: revision last seen; file: 0 */
	double unavailable_s; /* how long not healthy; 0 when healthy */
	char error[400];      /* the last failure, "" if none */
} mtc_store_health;

struct mtc_store_ops {
	const char *name;
	/* Read what is stored into the host table. Unreadable state is
	 * logged and leaves hosts unknown (locked); < 0 only when the agent
	 * cannot run at all with this store. */
	int (*open)(agent *a);
	void (*close)(agent *a);
	/* An operator's lock/unlock of h. */
	void (*set_admin)(agent *a, agent_host *h, bool lock, mtc_store_done_fn done, void *ctx);
	/* Optional: a host disagrees with its admin state (rate-limited by
	 * the episode); NULL: agent_send_admin_state(). */
	void (*correct)(agent *a, agent_host *h, const char *why);
	/* One line for mtcctl list and the start message: kind, where, health. */
	void (*describe)(agent *a, char *buf, size_t size);
	void (*health)(agent *a, mtc_store_health *ret);
	/* Optional: the first read is on its way (ms after start), so no
	 * host's admin state is known yet; NULL: never (read at open). */
	bool (*first_read_pending)(agent *a);
};

extern const mtc_store_ops mtc_store_file_ops;
extern const mtc_store_ops mtc_store_etcd_ops;

/* The ops for the configured [agent] store. */
const mtc_store_ops *mtc_store_for(const mtc_config *cfg);

#endif
