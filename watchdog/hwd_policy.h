/* The hostwd decision, all of it: given reports, period ends, the lock
 * file, the crash kernel and time, is a period bad (a node still being
 * configured is not, until configure_timeout), is this a quorum failure to
 * act on or to suppress, which action, does hostwd still kick (and kick
 * again after an action that could not be taken), and when is the
 * consecutive-action count reset? Pure: no I/O, time and
 * the lock file's presence passed in, so a table-driven test can walk
 * every case. The daemon only carries the decisions out. */
#ifndef HWD_POLICY_H
#define HWD_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "health_wire.h"
#include "hwd_action.h"

#define HWD_PROCESS_MAX 64
#define HWD_REASON_MAX 96

typedef struct hwd_report {
	bool configured;
	bool quorum_ok;
	char process[HWD_PROCESS_MAX]; /* which process lost quorum, may be "" */
	uint32_t seq;
} hwd_report;

typedef struct hwd_policy_cfg {
	uint64_t period_ms;   /* report_period */
	uint64_t grace_ms;    /* start_grace: periods beginning earlier do not count */
	unsigned threshold;   /* failure_threshold */
	hwd_action action;    /* on_quorum_failure */
	hwd_action fallback;  /* crashdump_fallback: reboot or log */
	unsigned max_consecutive; /* 0: no limit */
	uint64_t configure_timeout_ms; /* configure_timeout: periods beginning later count unconfigured as bad; 0: never */
} hwd_policy_cfg;

typedef struct hwd_policy {
	uint64_t start_ms;
	bool have_report;          /* any report since start */
	uint64_t last_report_ms;
	hwd_report last;
	unsigned bad_periods;      /* consecutive counted bad periods */
	bool suppressed;           /* suppression logged this episode */
	bool failed;               /* quorum failure declared, action decided */
	bool proposed;             /* HWD_EV_PROPOSE given, not yet confirmed */
	bool kicking;              /* false once an action that takes the node down is decided */
	bool action_failed;        /* the action's byte could not be written (hwd_policy_action_failed) */
	bool configuring;          /* "waiting for configuration" given this episode */
	unsigned consecutive;      /* actions with no healthy period between them */
	health_reason reason;      /* why the last bad period was bad */
	char reason_process[HWD_PROCESS_MAX]; /* for HEALTH_REASON_PROCESS_LOST */
	hwd_action_plan plan;      /* the action decided with the last HWD_EV_ACT */
} hwd_policy;

typedef enum hwd_event {
	HWD_EV_NONE,          /* nothing to do */
	HWD_EV_GRACE,         /* bad period inside start grace: not counted */
	HWD_EV_BAD_PERIOD,    /* counted, threshold not reached */
	HWD_EV_LOCKED,        /* bad period while locked, already logged */
	HWD_EV_SUPPRESSED,    /* bad period while locked: log suppression */
	HWD_EV_PROPOSE,       /* threshold reached: look at the lock file again, then hwd_policy_confirm() */
	HWD_EV_ACT,           /* quorum failure: carry out p->plan now */
	HWD_EV_RESTORED,      /* good report after bad periods or failure */
	HWD_EV_HEALTHY,       /* healthy period: the consecutive-action count went back to 0 */
	HWD_EV_CONFIGURING,   /* first configured=0 report of an episode, inside configure_timeout: log once */
	HWD_EV_CONFIGURED,    /* a configured report ends a wait for configuration */
} hwd_event;

void hwd_policy_init(hwd_policy *p, uint64_t now_ms);

/* The consecutive-action count as persisted (read back at start). */
void hwd_policy_set_consecutive(hwd_policy *p, unsigned n);

/* A report arrived. Returns HWD_EV_RESTORED (good after bad periods or a
 * failure), HWD_EV_CONFIGURING (the first configured=0 report of an
 * episode while unconfigured periods do not count), HWD_EV_CONFIGURED
 * (configured again after that) or HWD_EV_NONE. */
hwd_event hwd_policy_report(hwd_policy *p, const hwd_policy_cfg *cfg, const hwd_report *r, uint64_t now_ms);

/* The node is being configured: a fresh report says configured=0 and
 * configure_timeout (if any) has not passed since start. Such a period is
 * not bad: nothing is counted, the count of an earlier episode is dropped,
 * hostwd kicks. A missing or stale report is never "configuring". */
bool hwd_policy_configuring(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms);

/* configure_timeout is set and a whole period has passed since it did
 * (periods that began after it count). */
bool hwd_policy_configure_timed_out(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms);

/* A period ended at now_ms; locked = lock file present right now. Never
 * HWD_EV_ACT: reaching the threshold gives HWD_EV_PROPOSE. */
hwd_event hwd_policy_period_end(hwd_policy *p, const hwd_policy_cfg *cfg,
				uint64_t now_ms, bool locked);

/* Second step after HWD_EV_PROPOSE, with the lock file looked at again
 * right before acting and the crash kernel's state. Locked: the count
 * stays frozen below the threshold and HWD_EV_SUPPRESSED (or
 * HWD_EV_LOCKED if already said) is returned. Otherwise HWD_EV_ACT with
 * p->plan decided: the consecutive count grows and kicking stops unless
 * the plan only logs. HWD_EV_NONE if nothing was proposed. */
hwd_event hwd_policy_confirm(hwd_policy *p, const hwd_policy_cfg *cfg, bool locked, hwd_kexec_state kexec);

/* Does hostwd kick the watchdog device (and disarm it on a clean stop)? */
bool hwd_policy_kick(const hwd_policy *p);

/* The action's byte could not be written: kicking stays stopped (the card
 * is the only way left to carry the action out) until
 * hwd_policy_resume() finds the node locked or healthy. */
void hwd_policy_action_failed(hwd_policy *p);

/* After a failed action: the node is locked (locked = lock file present
 * right now), healthy, or being configured; kicking resumes, a new
 * episode starts (a node still failing once unlocked is acted on again
 * after threshold bad periods) and true is returned (once). False
 * otherwise, and always when kicking or after an action whose byte was
 * written. */
bool hwd_policy_resume(hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms, bool locked);

/* The consecutive-action limit is reached: the next failure only logs. */
bool hwd_policy_log_only(const hwd_policy *p, const hwd_policy_cfg *cfg);

/* A report counts as current for 1.5 periods, so jitter between the
 * reporter's timer and ours never turns one late report into a miss. */
bool hwd_policy_report_fresh(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms);

/* The period ending at now_ms was healthy: a fresh good report and no
 * bad period counted. */
bool hwd_policy_healthy(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms);

/* The reason of the last bad period for people ("process sm lost");
 * returns buf. */
const char *hwd_policy_reason_text(const hwd_policy *p, char *buf, size_t size);

const char *hwd_event_name(hwd_event ev);

#endif
