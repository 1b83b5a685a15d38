/* mtcClient's command guard: a command must echo one of our recent
 * mtcAlive nonces and must be newer (agent command sequence) than the last
 * command applied. No clocks involved. */
#ifndef MTC_REPLAY_H
#define MTC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "mtc_codec.h"

/* 3 networks x 5 periods of nonces: a command older than ~25 s at the
 * default alive_period cannot be accepted. */
#define MTC_RECENT_NONCES 15

typedef struct mtc_replay {
	uint8_t nonces[MTC_RECENT_NONCES][MTC_NONCE_LEN];
	unsigned n_nonces, next_nonce;
} mtc_replay;

typedef enum mtc_replay_verdict {
	MTC_REPLAY_FRESH,      /* newer than the last applied, recent nonce: apply */
	MTC_REPLAY_DUPLICATE,  /* the last applied command again (other network): ack, do not apply */
	MTC_REPLAY_STALE,      /* nonce not among our recent ones: drop */
	MTC_REPLAY_OLD,        /* older than the last applied command (stolen, delayed): drop */
} mtc_replay_verdict;

void mtc_replay_init(mtc_replay *r);
void mtc_replay_add_nonce(mtc_replay *r, const uint8_t nonce[MTC_NONCE_LEN]);

/* Classify a command against the recent nonces and the last applied
 * command sequence (persisted with the flag). Pure: the caller records
 * cmd->cmdseq as applied once the command took effect. */
mtc_replay_verdict mtc_replay_check(const mtc_replay *r, uint32_t last_applied, const mtc_frame *cmd);

#endif
