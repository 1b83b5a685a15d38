#include "mtc_replay.h"

#include <string.h>

#include <sodium.h>

void mtc_replay_init(mtc_replay *r)
{
	memset(r, 0, sizeof(*r));
}

void mtc_replay_new_round(mtc_replay *r)
{
	sodium_memzero(r->round, sizeof(r->round));
	r->n_round = 0;
}

void mtc_replay_add_nonce(mtc_replay *r, const uint8_t nonce[MTC_NONCE_LEN])
{
	memcpy(r->nonces[r->next_nonce], nonce, MTC_NONCE_LEN);
	r->next_nonce = (r->next_nonce + 1) % MTC_RECENT_NONCES;
	if (r->n_nonces < MTC_RECENT_NONCES)
		r->n_nonces++;
	if (r->n_round == MTC_ROUND_NONCES) {
		memmove(r->round[0], r->round[1], (MTC_ROUND_NONCES - 1) * MTC_NONCE_LEN);
		r->n_round--;
	}
	memcpy(r->round[r->n_round++], nonce, MTC_NONCE_LEN);
}

static bool nonce_in(const uint8_t (*set)[MTC_NONCE_LEN], unsigned n, const uint8_t *nonce)
{
	bool known = false;

	for (unsigned i = 0; i < n; i++)
		known |= sodium_memcmp(set[i], nonce, MTC_NONCE_LEN) == 0;
	return known;
}

mtc_replay_verdict mtc_replay_check(const mtc_replay *r, uint32_t last_applied, const mtc_frame *cmd)
{
	/* No command can follow UINT32_MAX: a sender there is corrupt, and
	 * accepting it would end ordering (the next would wrap to 0). */
	if (cmd->cmdseq == UINT32_MAX)
		return MTC_REPLAY_CORRUPT;
	/* Order first: a command older than one applied never acts, whatever
	 * nonce it carries (a frame stolen before delivery echoes a nonce that
	 * may still be recent). */
	if (cmd->cmdseq < last_applied)
		return MTC_REPLAY_OLD;
	if (!nonce_in((const uint8_t (*)[MTC_NONCE_LEN])r->nonces, r->n_nonces, cmd->nonce))
		return MTC_REPLAY_STALE;
	if (cmd->cmdseq == last_applied)
		return MTC_REPLAY_DUPLICATE;
	/* A newer command echoing an earlier round was superseded or held
	 * back: the agent's later command (which an attacker may be
	 * dropping) could be newer still. It expires at our next round, so
	 * a recorded command acts at most one alive period late. */
	if (!nonce_in((const uint8_t (*)[MTC_NONCE_LEN])r->round, r->n_round, cmd->nonce))
		return MTC_REPLAY_SUPERSEDED;
	return MTC_REPLAY_FRESH;
}
