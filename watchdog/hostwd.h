/* hostwd's daemon parts, one state they share: the event loop and timers
 * (hostwd.c), the health socket (hostwd_intake.c), carrying out the
 * policy's decisions (hostwd_act.c) and status text (hostwd_status.c).
 * Internal to the hostwd binary; the pure and I/O modules it drives are
 * the hwd_*.h headers. */
#ifndef HOSTWD_H
#define HOSTWD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "hwd_config.h"
#include "hwd_device.h"
#include "hwd_metrics.h"
#include "hwd_policy.h"
#include "service.h"

/* Stable MESSAGE_IDs of hostwd's own loud lines (docs/operations.md). */
#define MSGID_ACTION_LIMIT "4b1d7e0c9a3f4c55b0f2d6e8a1c3e5f7"
#define MSGID_ACTION_FAILED "9e2c4a6b8d0f4e13a5c7e9b1d3f5a7c9"
#define MSGID_ACTION_UNAVAILABLE "d1e3f5a7b9c14d2e8f0a2c4e6b8d0f12"
#define MSGID_NO_BACKSTOP "6a8c0e2f4b6d48f1a3c5e7f9b1d3e5a7"
#define MSGID_CONFIGURING "9439a8556f2044e0a9b48dd765ac6de3"
#define MSGID_STOP_ARMED "a7a0d8ba36b54498ad3708b704f0263c"

/* Descriptors one datagram may carry before it is cut (MSG_CTRUNC); the
 * kernel drops the rest, we close what we got. */
#define HWD_MAX_RX_FDS 4

typedef struct hwd_counters {
	unsigned long reports, malformed, rejected, dropped_fit, status_requests;
	unsigned long kicks, kick_failures, actions;
	unsigned long actions_by[HWD_ACTION_COUNT][HWD_WHY_COUNT]; /* [action][why], for metrics */
	/* at the last per-period summary, so a flood logs one line a period */
	unsigned long malformed_logged, rejected_logged;
	long last_rejected_uid;
} hwd_counters;

typedef struct hostwd {
	service svc;
	hwd_config cfg;
	sd_event *event;
	sd_event_source *kick_src, *period_src, *health_src, *fallback_src;
	hwd_device *device;
	int health_fd;
	hwd_policy policy;
	hwd_counters n;
	int timeout_s;         /* as the driver accepted it (WDIOC_GETTIMEOUT), or configured for a fake */
	char action_blocked[HWD_PATH_MAX + 64]; /* why the action cannot be taken, "" if it can */
	bool fit_drop_reports, fit_fail_kick; /* last seen, for log-once */
	bool configure_timeout_logged;
	bool lock_not_regular;  /* something other than a file at a [lock] file path, said once */
	char last_status[512];
	hwd_kick_stats kick_stats;
	metrics_buf metrics;
	int metrics_error;     /* last write's result, for log-once */
} hostwd;

/* The reason of the last bad period as text, valid in the caller's block. */
#define REASON(h) hwd_policy_reason_text(&(h)->policy, (char[HWD_REASON_MAX]){ 0 }, HWD_REASON_MAX)

hwd_policy_cfg hostwd_policy_cfg(const hwd_config *c);
bool hostwd_log_only(const hostwd *h);
/* Any one of the [lock] file paths present means locked. */
bool hostwd_lock_present(const hostwd *h);
/* Something other than a regular file at a [lock] file path: said once. */
void hostwd_note_lock_not_regular(hostwd *h);
/* A fault file applies while it exists; logged when it starts and stops. */
bool hostwd_fit_check(hostwd *h, const char *name, bool *was);

/* hostwd_status.c */
void hostwd_update_status(hostwd *h);
int hostwd_format_status(const hostwd *h, char *buf, size_t size);
/* [metrics] textfile, from the period timer. */
void hostwd_publish_metrics(hostwd *h);

/* hostwd_act.c */
void hostwd_handle_event(hostwd *h, hwd_event ev);
void hostwd_load_count(hostwd *h);
void hostwd_check_action(hostwd *h);

/* hostwd_intake.c */
int hostwd_on_health(sd_event_source *s, int fd, uint32_t revents, void *userdata);
int hostwd_health_open(const hwd_config *c, int *ret_fd);

#endif
