/* Where mtcagent keeps each host's admin state ([agent] store): a small
 * ops table, as chrony's sys_*.c, so the agent does not care whether the
 * state is a local file or a replicated store. */
#ifndef MTC_STORE_H
#define MTC_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include "mtc_agent.h"

/* Called exactly once per set_admin, possibly before set_admin returns.
 * r = 0: the new state is stored, applied to h and sent; r < 0: nothing
 * changed anywhere and why says so (one line, no newline). */
typedef void (*mtc_store_done_fn)(agent *a, agent_host *h, int r, const char *why, void *ctx);

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
};

extern const mtc_store_ops mtc_store_file_ops;
extern const mtc_store_ops mtc_store_etcd_ops;

/* The ops for the configured [agent] store. */
const mtc_store_ops *mtc_store_for(const mtc_config *cfg);

#endif
