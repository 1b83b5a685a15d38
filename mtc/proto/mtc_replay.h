/* mtcClient's command guard: a command must echo the nonce of an mtcAlive
 * sent since our latest periodic round began (at most one alive period
 * old) and must be newer
 * (agent command sequence) than the last command applied. No clocks
 * involved. */
#ifndef MTC_REPLAY_H
#define MTC_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "mtc_codec.h"

/* 3 networks x 5 periods of nonces: only to recognise duplicates (the
 * command already applied, arriving on another network after the next
 * round), which are acked, never applied. */
#define MTC_RECENT_NONCES 15

/* A periodic round (3 networks) and three extra rounds after applied
 * commands. */
#define MTC_ROUND_NONCES (4 * MTC_NET_COUNT)

typedef struct mtc_replay {
	uint8_t nonces[MTC_RECENT_NONCES][MTC_NONCE_LEN];
	unsigned n_nonces, next_nonce;
	/* The mtcAlives sent since the latest periodic round began (that
	 * round and the extra ones after applied commands; the oldest go
	 * first when full): the only nonces a command that changes the flag
	 * may echo. */
	uint8_t round[MTC_ROUND_NONCES][MTC_NONCE_LEN];
	unsigned n_round;
} mtc_replay;

typedef enum mtc_replay_verdict {
	MTC_REPLAY_FRESH,      /* newer than the last applied, nonce of the latest round: apply */
	MTC_REPLAY_DUPLICATE,  /* the last applied command again (other network): ack, do not apply */
	MTC_REPLAY_STALE,      /* nonce not among our recent ones: drop */
	MTC_REPLAY_OLD,        /* older than the last applied command (stolen, delayed): drop */
	MTC_REPLAY_SUPERSEDED, /* newer, but echoes an mtcAlive older than our latest: drop */
	MTC_REPLAY_CORRUPT,    /* cmdseq UINT32_MAX: nothing can follow it, never wraps: drop */
} mtc_replay_verdict;

void mtc_replay_init(mtc_replay *r);
/* A periodic round of mtcAlives begins (one per network follows):
 * commands echoing an earlier one no longer apply. */
void mtc_replay_new_round(mtc_replay *r);
void mtc_replay_add_nonce(mtc_replay *r, const uint8_t nonce[MTC_NONCE_LEN]);

/* Classify a command against the recent nonces and the last applied
 * command sequence (persisted with the flag). Pure: the caller records
 * cmd->cmdseq as applied once the command took effect. */
mtc_replay_verdict mtc_replay_check(const mtc_replay *r, uint32_t last_applied, const mtc_frame *cmd);

#endif
