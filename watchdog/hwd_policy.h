/* The hostwd decision: given reports, period ends, the lock file and time,
 * is this a quorum failure to act on, one to suppress, or nothing? Pure: no
 * I/O, time passed in, so a table-driven test can walk every case. */
#ifndef HWD_POLICY_H
#define HWD_POLICY_H

#include <stdbool.h>
#include <stdint.h>

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
} hwd_policy_cfg;

typedef struct hwd_policy {
	uint64_t start_ms;
	bool have_report;          /* any report since start */
	uint64_t last_report_ms;
	hwd_report last;
	unsigned bad_periods;      /* consecutive counted bad periods */
	bool suppressed;           /* suppression logged this episode */
	bool failed;               /* quorum failure declared, action taken */
	char reason[HWD_REASON_MAX]; /* why the last bad period was bad */
} hwd_policy;

typedef enum hwd_event {
	HWD_EV_NONE,          /* nothing to do */
	HWD_EV_GRACE,         /* bad period inside start grace: not counted */
	HWD_EV_BAD_PERIOD,    /* counted, threshold not reached */
	HWD_EV_LOCKED,        /* bad period while locked, already logged */
	HWD_EV_SUPPRESSED,    /* bad period while locked: log suppression */
	HWD_EV_ACT,           /* quorum failure: take the action now */
	HWD_EV_RESTORED,      /* good report after bad periods or failure */
} hwd_event;

void hwd_policy_init(hwd_policy *p, uint64_t now_ms);

/* A report arrived. Returns HWD_EV_RESTORED or HWD_EV_NONE. */
hwd_event hwd_policy_report(hwd_policy *p, const hwd_report *r, uint64_t now_ms);

/* A period ended at now_ms; locked = lock file present right now. */
hwd_event hwd_policy_period_end(hwd_policy *p, const hwd_policy_cfg *cfg,
				uint64_t now_ms, bool locked);

/* HWD_EV_ACT was returned but the lock file appeared before the action
 * could be taken: undo the count and suppress instead. Returns
 * HWD_EV_SUPPRESSED or HWD_EV_LOCKED. */
hwd_event hwd_policy_lock_raced(hwd_policy *p);

/* A report counts as current for 1.5 periods, so jitter between the
 * reporter's timer and ours never turns one late report into a miss. */
bool hwd_policy_report_fresh(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms);

/* The period ending at now_ms was healthy: a fresh good report and no
 * bad period counted. Resets the consecutive-action count. */
bool hwd_policy_healthy(const hwd_policy *p, const hwd_policy_cfg *cfg, uint64_t now_ms);

const char *hwd_event_name(hwd_event ev);

#endif
