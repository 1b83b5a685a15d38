/* mtcagent's control socket, shared by its two halves (private to them):
 * mtc_control.c, the socket and its connections; mtc_control_list.c, what
 * list and list --json say. */
#ifndef MTC_CONTROL_H
#define MTC_CONTROL_H

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "mtc_agent.h"

/* A reply is built in memory, then sent to mtcctl as the socket accepts
 * it, from the event loop: no control client, slow or silent, can hold
 * the loop (mtcAlive keeps being served meanwhile). */
typedef struct reply {
	char *buf;
	size_t len, cap;
	bool failed;
} reply;

#define CONTROL_REPLY_MAX (64u << 20)

static inline int write_all(reply *rp, const char *p, size_t len)
{
	if (rp->failed)
		return -ENOMEM;
	if (rp->len + len > rp->cap) {
		size_t cap = rp->cap ? rp->cap : 4096;
		char *b;

		while (cap < rp->len + len)
			cap *= 2;
		b = cap <= CONTROL_REPLY_MAX ? realloc(rp->buf, cap) : NULL;
		if (!b) {
			rp->failed = true;
			return -ENOMEM;
		}
		rp->buf = b;
		rp->cap = cap;
	}
	memcpy(rp->buf + rp->len, p, len);
	rp->len += len;
	return 0;
}

/* list: one line per host, then the store's line; only != NULL: that
 * host's line alone (mtcctl list HOST, --wait). */
void agent_reply_list_text(agent *a, reply *fd, const agent_host *only);
/* list --json (only: that host alone) */
void agent_reply_list_json(agent *a, reply *fd, const agent_host *only);

#endif
