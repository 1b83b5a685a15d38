/* The health protocol's shared vocabulary (pmon-hook -> hostwd): the
 * default paths both sides agree on, and why a period was bad, named once
 * for the status wire ("reason=no-report") and for people ("no report").
 * Pure; no I/O. */
#ifndef HWM_HEALTH_WIRE_H
#define HWM_HEALTH_WIRE_H

#include <stddef.h>

/* hostwd listens here and pmon-hook reports here (pmonhook.h repeats it
 * as PMH_DEFAULT_SOCKET for its public API; pmonhook.c checks they match). */
#define HEALTH_DEFAULT_SOCKET "/run/hostwd/health.sock"
/* mtcclient writes the lock flag here and hostwd reads it. */
#define HEALTH_DEFAULT_LOCK_FILE "/var/run/.node_locked"

typedef enum health_reason {
	HEALTH_REASON_NONE,          /* no bad period in this episode */
	HEALTH_REASON_NO_REPORT,     /* no fresh report */
	HEALTH_REASON_UNCONFIGURED,  /* the last report said unconfigured */
	HEALTH_REASON_QUORUM_LOST,   /* quorum lost, no process named */
	HEALTH_REASON_PROCESS_LOST,  /* quorum lost, the report named the process */
} health_reason;

/* The status wire's reason= value: none, no-report, unconfigured,
 * quorum-lost, process-lost. */
const char *health_reason_code(health_reason reason);

/* The reverse; -EINVAL for a code this version does not know. */
int health_reason_parse(const char *code, health_reason *ret);

/* For people and logs: "" (none), "no report", "unconfigured", "quorum
 * lost", "process NAME lost" (process may be NULL or ""). Returns the
 * snprintf length. */
int health_reason_text(health_reason reason, const char *process, char *buf, size_t size);

#endif
