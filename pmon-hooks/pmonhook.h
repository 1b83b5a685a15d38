/* libpmonhook: how a process monitor tells hostwd whether the node is
 * configured and its quorum processes are healthy, and reads hostwd's state.
 *
 * Every call returns 0 (or a positive count) on success and -errno on
 * failure; nothing logs, exits or blocks for longer than the timeout given.
 * No globals: handles are independent and may live in any event loop. */
#ifndef PMONHOOK_H
#define PMONHOOK_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PMH_DEFAULT_SOCKET "/run/hostwd/health.sock"

typedef struct pmh pmh;

struct pmh_status {
	char state[16];          /* ok | configuring | degraded | suppressed | failed */
	bool locked;
	bool configured;
	char quorum[8];          /* ok | lost | unknown */
	unsigned bad_periods;
	unsigned failure_threshold;
	bool suppressed;
	char action[16];         /* crashdump | reboot | log */
	long last_report_age_s;  /* -1: never */
	char reason[96];         /* why the last bad period was bad, "" if none */
	unsigned long reports, malformed, rejected, kicks, actions;
	bool kicking;
};

/* Create a handle for hostwd's socket. hostwd need not be running yet;
 * -ENOTSOCK if the path exists and is not a socket. */
int pmh_open(const char *socket_path, pmh **ret);

/* Send one report. process names the lost process (may be NULL).
 * -ENOENT / -ECONNREFUSED: hostwd not running; -EACCES: not permitted;
 * -EAGAIN: hostwd's queue is full. */
int pmh_report(pmh *h, bool configured, bool quorum_ok, const char *process);

/* Like pmh_report, but when hostwd's queue is full (-EAGAIN) wait up to
 * timeout_ms for room instead of losing the report. */
int pmh_report_wait(pmh *h, bool configured, bool quorum_ok, const char *process, int timeout_ms);

/* Ask hostwd for its state, waiting at most timeout_ms (<= 0: 1000). The
 * reply comes back over a socketpair passed with the request, so only
 * hostwd can answer and it works across network namespaces. */
int pmh_status(pmh *h, struct pmh_status *ret, int timeout_ms);

/* The raw reply ("v1 key=value ..."), NUL-terminated; returns its length.
 * For fields struct pmh_status does not carry. */
int pmh_status_text(pmh *h, char *buf, unsigned long size, int timeout_ms);

/* Parse a status reply (exposed for tests and other transports). */
int pmh_status_parse(const char *data, unsigned long len, struct pmh_status *ret);

void pmh_close(pmh *h);

#ifdef __cplusplus
}
#endif
#endif
