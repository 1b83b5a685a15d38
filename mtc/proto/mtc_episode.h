/* The mismatch episode of one host, a part of mtc_admin (the agent's one
 * decision, which alone calls these): is this mtcAlive a mismatch, is it a
 * new episode (log once), and is a resend due? Pure: state and time in,
 * decision out. */
#ifndef MTC_EPISODE_H
#define MTC_EPISODE_H

#include <stdbool.h>
#include <stdint.h>

typedef enum mtc_reported { MTC_REPORTED_UNKNOWN = -1, MTC_REPORTED_UNLOCKED = 0, MTC_REPORTED_LOCKED = 1 } mtc_reported;

typedef struct mtc_episode {
	bool admin_locked;
	int reported;          /* mtc_reported */
	bool active;           /* a mismatch episode is open */
	uint64_t last_send_ms; /* last correction sent in this episode */
	unsigned sends;        /* corrections sent in this episode */
	unsigned long episodes;/* episodes opened so far (for status) */
} mtc_episode;

typedef struct mtc_decision {
	bool log;   /* first mismatch of the episode: log the correction line */
	bool send;  /* send the admin state on pxeboot, mgmt and cluster now */
} mtc_decision;

void mtc_episode_init(mtc_episode *e, bool admin_locked);

/* An authenticated, in-order mtcAlive (or Ack) reported this lock state. */
mtc_decision mtc_episode_on_report(mtc_episode *e, bool reported_locked, uint64_t now_ms,
				   uint64_t resend_interval_ms);

/* The operator changed the admin state: any episode ends; the caller
 * sends the new state at once on all networks. Returns true if the state
 * actually changed. */
bool mtc_episode_set_admin(mtc_episode *e, bool locked, uint64_t now_ms);

#endif
