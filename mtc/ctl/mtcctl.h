/* mtcctl's parts (mtc/ctl/): the commands (mtcctl.c) and the exchange
 * with the agent's control socket (mtcctl_agent.c). */
#ifndef MTCCTL_H
#define MTCCTL_H

#include <stdbool.h>
#include <stddef.h>

typedef struct reply {
	bool started, ok;  /* got a first chunk; it was not "error ..." */
	bool keep;         /* collect (JSON) instead of streaming */
	bool quiet;        /* collect everything, errors too, print nothing */
	char *all;
	size_t len, cap;
} reply;

/* Send req and read the whole reply into rp (see reply_chunk). Returns 0
 * or the exit status (1 reply too large, 3 agent not reachable or silent). */
int ctl_exchange(const char *path, const char *req, reply *rp);
/* Send req, then copy the reply to stdout (to stderr if it is an error).
 * A JSON reply is read whole and checked first. A reply cut short (read
 * error or the 5 s timeout) is a failure even if some of it was printed. */
int ctl_request(const char *path, const char *req, bool json);

#endif
