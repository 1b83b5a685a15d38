/* mtcAgent's view of one host's mtcAlive on one network: arriving, or
 * missing (stopped, or never came since the agent started watching), so
 * that a stop and a return are each logged once. Pure: state and time in,
 * event out. */
#ifndef MTC_FLEET_H
#define MTC_FLEET_H

#include <stdint.h>

typedef enum mtc_link_state {
	MTC_LINK_WAITING, /* watched since since_ms, no mtcAlive yet */
	MTC_LINK_UP,      /* mtcAlive arriving: the last at last_ms */
	MTC_LINK_MISSING, /* none for missing_ms: logged as stopped */
} mtc_link_state;

typedef enum mtc_link_event {
	MTC_LINK_NO_EVENT,
	MTC_LINK_STOPPED,  /* UP or WAITING -> MISSING: log once */
	MTC_LINK_RETURNED, /* MISSING -> UP: log once */
} mtc_link_event;

typedef struct mtc_link {
	mtc_link_state state;
	uint64_t since_ms;    /* when watching started (agent start, host added) */
	uint64_t last_ms;     /* last mtcAlive; 0: none since watching started */
	uint64_t missing_ms;  /* MISSING: since when (last_ms, or since_ms if none) */
	unsigned long stops;  /* times it went missing */
} mtc_link;

/* Start watching (agent start, a host or network added): WAITING. */
void mtc_link_init(mtc_link *l, uint64_t now_ms);

/* An authenticated mtcAlive of this host arrived on this network. */
mtc_link_event mtc_link_on_alive(mtc_link *l, uint64_t now_ms);

/* Periodic check: none for missing_ms (0: never) -> STOPPED, once. */
mtc_link_event mtc_link_check(mtc_link *l, uint64_t now_ms, uint64_t missing_ms);

const char *mtc_link_state_name(mtc_link_state s);

#endif
