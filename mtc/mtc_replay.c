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

mtc_replay_verdict mtc_replay_check(mtc_replay *r, const mtc_frame *cmd)
{
	bool known = false;

	for (unsigned i = 0; i < r->n_nonces; i++)
		known |= sodium_memcmp(r->nonces[i], cmd->nonce, MTC_NONCE_LEN) == 0;
	if (!known)
		return MTC_REPLAY_STALE;
	for (unsigned i = 0; i < r->n_seen; i++)
		if (r->seen[i].boot == cmd->boot && r->seen[i].seq == cmd->seq)
			return MTC_REPLAY_DUPLICATE;
	r->seen[r->next_seen].boot = cmd->boot;
	r->seen[r->next_seen].seq = cmd->seq;
	r->next_seen = (r->next_seen + 1) % MTC_SEEN_COMMANDS;
	if (r->n_seen < MTC_SEEN_COMMANDS)
		r->n_seen++;
	return MTC_REPLAY_FRESH;
}
