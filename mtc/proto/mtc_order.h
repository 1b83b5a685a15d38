/* mtcAgent's ordering of one host's frames, and the rate limit of drop
 * logs. Pure: state and time in, verdict out.
 *
 * A host's frames are ordered by (boot, seq): boot is the client's
 * persisted boot counter (it grows at every start), seq its frame counter
 * in that boot. Frames of an older boot never reset what the agent knows of
 * the host, unless the host has been silent on every network for a while
 * (its persistent state was wiped: the counter restarted). */
#ifndef MTC_ORDER_H
#define MTC_ORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "mtc_codec.h"

typedef struct mtc_order {
	bool have;                            /* a frame was accepted */
	uint32_t boot, seq;                   /* newest frame applied to state */
	uint32_t net_seq[MTC_NET_COUNT];      /* newest frame per network in this boot */
	uint64_t last_seen_ms[MTC_NET_COUNT]; /* last accepted or reordered frame; 0: never */
} mtc_order;

typedef enum mtc_rx_verdict {
	MTC_RX_ACCEPT,       /* in order: apply to state, adopt its nonce */
	MTC_RX_NEW_BOOT,     /* first frame, or a higher boot: reset, then as ACCEPT */
	MTC_RX_BOOT_RESET,   /* a lower boot after silence on every network: reset (log loudly) */
	MTC_RX_REORDERED,    /* newer on its network but older than the state: network seen only */
	MTC_RX_STALE,        /* not newer on its network in this boot (replay): drop */
	MTC_RX_OLD_BOOT,     /* a lower boot while the host is alive (replay): drop */
} mtc_rx_verdict;

/* silence_ms: how long every network must have been silent before a lower
 * boot is believed. */
mtc_rx_verdict mtc_order_check(const mtc_order *o, uint32_t boot, uint32_t seq, int net, uint64_t now_ms,
			       uint64_t silence_ms);

/* Record a frame the verdict let in (no-op for STALE and OLD_BOOT). */
void mtc_order_apply(mtc_order *o, mtc_rx_verdict v, uint32_t boot, uint32_t seq, int net, uint64_t now_ms);

/* Does the verdict let the frame change state (flags, nonce, cmdseq)? */
bool mtc_order_in_order(mtc_rx_verdict v);
const char *mtc_rx_verdict_name(mtc_rx_verdict v);

/* One log line per interval for a class of dropped frames, never one per
 * frame. */
typedef struct mtc_ratelog {
	uint64_t since_ms;      /* start of the current interval */
	unsigned long pending;  /* hits not yet reported */
	bool open;              /* an interval is running */
} mtc_ratelog;

/* A hit at now: true if the caller logs now; *ret_count = hits that line
 * summarises (this one included). The first hit logs at once. */
bool mtc_ratelog_hit(mtc_ratelog *r, uint64_t now_ms, uint64_t interval_ms, unsigned long *ret_count);

/* From a timer: true if suppressed hits are due for a summary line. */
bool mtc_ratelog_flush(mtc_ratelog *r, uint64_t now_ms, uint64_t interval_ms, unsigned long *ret_count);

#endif
