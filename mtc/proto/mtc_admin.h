/* The agent's one decision for one host: should it get a command, which,
 * with what sequence, or should the store be asked first, or nothing be
 * sent and why. It owns the host's admin state (locked, unlocked or
 * unknown: ONE value, unknown treated as locked), its order (the command
 * sequence the store gave it, or this agent's bump above what the host
 * applied), what the host reported and applied, and the mismatch episode.
 * Every correction rule lives here and nowhere else; the stores only
 * store and the agent only carries the action out.
 * Pure: no system calls, no clock, no logging; state, event and time in,
 * action out (tests/unit/test_mtc_admin.c walks every combination). */
#ifndef MTC_ADMIN_H
#define MTC_ADMIN_H

#include <stdbool.h>
#include <stdint.h>

#include "mtc_episode.h"

typedef enum mtc_admin_value { MTC_ADMIN_UNKNOWN, MTC_ADMIN_LOCKED, MTC_ADMIN_UNLOCKED } mtc_admin_value;

/* The store as the decision sees it (one per agent, read before each
 * decision). */
typedef struct mtc_admin_store {
	bool shared;             /* several agents write it and a put-if is checked (etcd); file: this agent alone */
	bool loaded;             /* its state was read at least once */
	bool healthy;            /* its last request was answered */
	bool reading;            /* a read is on its way */
	uint64_t read_failed_ms; /* when a read last failed; 0: never */
} mtc_admin_store;

typedef struct mtc_admin {
	mtc_admin_value value;
	uint32_t order;     /* newest command sequence this agent issued or read; 0: none */
	int64_t version;    /* the store's version of the host's entry (etcd: mod_revision); 0: none */
	uint32_t applied;   /* the newest command the host reported applied */
	bool heard;         /* an mtcAlive gave its nonce: commands can be sent */
	bool asking;        /* a correction's put-if for a new sequence is on its way */
	bool foreign;       /* holding: the host applied a command this agent never issued or read */
	bool unseen;        /* an operator's command issued before the host was heard (file store): it may
	                     * be below what the host applied, and is lifted above it once */
	int held;           /* the hold rule last reported (logged once until another rule decides) */
	mtc_episode ep;     /* mismatch episode; ep.admin_locked follows value */
} mtc_admin;

typedef enum mtc_admin_event_kind {
	MTC_ADMIN_EV_OPERATOR,   /* an operator's lock (locked) or unlock */
	MTC_ADMIN_EV_STORED,     /* the store holds value at version, sequence seq (read, change, put) */
	MTC_ADMIN_EV_REPORT,     /* an in-order mtcAlive (alive) or Ack: locked, applied */
	MTC_ADMIN_EV_PUT_FAILED, /* a correction's put-if failed: the store did not answer */
	MTC_ADMIN_EV_PUT_RACED,  /* a correction's put-if found the entry changed by another writer */
} mtc_admin_event_kind;

typedef struct mtc_admin_event {
	mtc_admin_event_kind kind;
	bool locked;           /* OPERATOR, REPORT */
	bool alive;            /* REPORT: an mtcAlive (carries a nonce); false: an Ack */
	bool correction;       /* STORED: the answer to this agent's correction put-if */
	uint32_t applied;      /* REPORT */
	mtc_admin_value value; /* STORED */
	int64_t version;       /* STORED */
	uint32_t seq;          /* STORED */
} mtc_admin_event;

typedef enum mtc_admin_act {
	MTC_ADMIN_NONE,
	MTC_ADMIN_SEND,   /* send Locked (locked) or Unlocked with seq on every network */
	MTC_ADMIN_PUT,    /* ask the store: value at seq; if_version >= 0: only if still at that version */
	MTC_ADMIN_READ,   /* ask the store to read first */
	MTC_ADMIN_HOLD,   /* nothing sent; log rule's reason when log */
	MTC_ADMIN_REFUSE, /* an operator's request refused, for rule's reason */
} mtc_admin_act;

/* Every rule, named: each action says which one decided it. */
typedef enum mtc_admin_rule {
	MTC_RULE_AGREES,          /* the host reports its admin state: nothing to do */
	MTC_RULE_RESEND_NOT_DUE,  /* a mismatch, but the last correction is younger than the resend interval */
	MTC_RULE_FIRST_READ,      /* the store's first read is on its way: judged once read, not on unknown */
	MTC_RULE_READ_FIRST,      /* never read (and no read failed in the last second): ask the store first */
	MTC_RULE_NOT_HEARD,       /* no mtcAlive yet: no nonce to send with */
	MTC_RULE_RESEND_SAME,     /* the host has not applied the newest command: resent as is */
	MTC_RULE_ASK_SEQUENCE,    /* the host applied the newest and disagrees: the store gives a newer one */
	MTC_RULE_ASKING,          /* a put-if for a newer sequence is on its way */
	MTC_RULE_LOCAL_LOCK,      /* store unavailable or without an entry: Locked with this agent's own sequence */
	MTC_RULE_NO_UNLOCK_UNAVAILABLE, /* Unlocked needs an order from the store, which is unavailable */
	MTC_RULE_BEHIND,          /* shared store cut off, the host applied a newer command: another agent ordered it */
	MTC_RULE_OTHER_AGENT,     /* file store, the host applied a command this agent never issued */
	MTC_RULE_WRAP,            /* a sequence at UINT32_MAX: nothing newer exists; refused as corrupt */
	MTC_RULE_STORE_CORRUPT,   /* the store's entry is at UINT32_MAX: unknown (locked) */
	MTC_RULE_OLD_NEWS,        /* the store's version is not newer than the one applied */
	MTC_RULE_STORED_SEND,     /* the store holds a command the host has not applied: sent */
	MTC_RULE_STORED_APPLIED,  /* the host applied the stored command already (or is not heard yet) */
	MTC_RULE_ABOVE_STORE,     /* the corrected entry is below the host's sequence: sent above it */
	MTC_RULE_RACED,           /* another writer changed the entry: read it */
	MTC_RULE_OPERATOR,        /* an operator's change: stored first, sent when stored */
	MTC_RULE_OPERATOR_ABOVE,  /* file store: an operator's command issued before the host was heard is
	                           * below what it applied: lifted above it (once), not held as another agent's */
	MTC_RULE_COUNT
} mtc_admin_rule;

typedef struct mtc_admin_action {
	mtc_admin_act act;
	mtc_admin_rule rule;
	bool locked;        /* SEND: Locked or Unlocked */
	mtc_admin_value value; /* PUT */
	uint32_t seq;       /* SEND, PUT */
	int64_t if_version; /* PUT: -1 unconditional (operator) */
	bool log;           /* HOLD: the first of its kind in a row: log why */
	bool first;         /* REPORT: the first mismatch of an episode: log the correction line */
	bool resend;        /* REPORT: a correction after the first of its episode */
	bool changed;       /* STORED: the admin state changed (log it) */
} mtc_admin_action;

void mtc_admin_init(mtc_admin *s);

/* The one decision. s is updated (applied, episode, order, ...); the
 * caller carries the action out and feeds the store's answer back. */
mtc_admin_action mtc_admin_decide(mtc_admin *s, const mtc_admin_store *st, const mtc_admin_event *ev, uint64_t now_ms,
				  uint64_t resend_interval_ms);

/* The store started over (etcd restored from a snapshot or rebuilt): its
 * versions from now on may be lower than the one held, and the next one
 * it reports is news. The order and what the host applied stay (a
 * command goes above what the host applied). */
void mtc_admin_rebase(mtc_admin *s);

/* What list shows: unknown while the state is unknown or the host is
 * held for a command this agent never issued. */
bool mtc_admin_known(const mtc_admin *s);
bool mtc_admin_locked(const mtc_admin *s);
const char *mtc_admin_rule_name(mtc_admin_rule r);
const char *mtc_admin_act_name(mtc_admin_act a);

#endif
