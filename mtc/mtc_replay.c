#include "mtc_replay.h"

#include <string.h>

#include <sodium.h>

void mtc_replay_init(mtc_replay *r)
{
	memset(r, 0, sizeof(*r));
}

void mtc_replay_add_nonce(mtc_replay *r, const uint8_t nonce[MTC_NONCE_LEN])
{
	memcpy(r->nonces[r->next_nonce], nonce, MTC_NONCE_LEN);
	r->next_nonce = (r->next_nonce + 1) % MTC_RECENT_NONCES;
	if (r->n_nonces < MTC_RECENT_NONCES)
		r->n_nonces++;
}

mtc_replay_verdict mtc_replay_check(const mtc_replay *r, uint32_t last_applied, const mtc_frame *cmd)
{
	bool known = false;

	/* Order first: a command older than one applied never acts, whatever
	 * nonce it carries (a frame stolen before delivery echoes a nonce that
	 * may still be recent). */
	if (cmd->cmdseq < last_applied)
		return MTC_REPLAY_OLD;
	for (unsigned i = 0; i < r->n_nonces; i++)
		known |= sodium_memcmp(r->nonces[i], cmd->nonce, MTC_NONCE_LEN) == 0;
	if (!known)
		return MTC_REPLAY_STALE;
	return cmd->cmdseq == last_applied ? MTC_REPLAY_DUPLICATE : MTC_REPLAY_FRESH;
}
