/* mtcClient's replay guard: a command must echo one of our recent mtcAlive
 * nonces and must not have been seen before. No clocks involved. */
#ifndef MTC_REPLAY_H
#define MTC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "mtc_codec.h"

/* 3 networks x 5 periods of nonces: a command older than ~25 s at the
 * default alive_period cannot be accepted. */
#define MTC_RECENT_NONCES 15
#define MTC_SEEN_COMMANDS 64

typedef struct mtc_replay {
	uint8_t nonces[MTC_RECENT_NONCES][MTC_NONCE_LEN];
	unsigned n_nonces, next_nonce;
	struct { uint32_t boot, seq; } seen[MTC_SEEN_COMMANDS];
	unsigned n_seen, next_seen;
} mtc_replay;

typedef enum mtc_replay_verdict {
	MTC_REPLAY_FRESH,      /* act on it */
	MTC_REPLAY_DUPLICATE,  /* same command again (e.g. other network): ack, do not act */
	MTC_REPLAY_STALE,      /* nonce not among our recent ones: drop */
} mtc_replay_verdict;

void mtc_replay_init(mtc_replay *r);
void mtc_replay_add_nonce(mtc_replay *r, const uint8_t nonce[MTC_NONCE_LEN]);

/* Classify a command; FRESH records it as seen. */
mtc_replay_verdict mtc_replay_check(mtc_replay *r, const mtc_frame *cmd);

#endif
