#include "mtc_order.h"

#include <string.h>

static bool silent_everywhere(const mtc_order *o, uint64_t now_ms, uint64_t silence_ms)
{
	for (int net = 0; net < MTC_NET_COUNT; net++)
		if (o->last_seen_ms[net] && now_ms - o->last_seen_ms[net] < silence_ms)
			return false;
	return true;
}

mtc_rx_verdict mtc_order_check(const mtc_order *o, uint32_t boot, uint32_t seq, int net, uint64_t now_ms,
			       uint64_t silence_ms)
{
	if (!o->have || boot > o->boot)
		return MTC_RX_NEW_BOOT;
	if (boot < o->boot)
		return silent_everywhere(o, now_ms, silence_ms) ? MTC_RX_BOOT_RESET : MTC_RX_OLD_BOOT;
	/* Within one boot each network's seq only grows; across networks
	 * frames may be read out of order (three sockets). */
	if (seq <= o->net_seq[net])
		return MTC_RX_STALE;
	return seq < o->seq ? MTC_RX_REORDERED : MTC_RX_ACCEPT;
}

void mtc_order_apply(mtc_order *o, mtc_rx_verdict v, uint32_t boot, uint32_t seq, int net, uint64_t now_ms)
{
	switch (v) {
	case MTC_RX_NEW_BOOT:
	case MTC_RX_BOOT_RESET:
		o->have = true;
		o->boot = boot;
		o->seq = 0;
		memset(o->net_seq, 0, sizeof(o->net_seq));
		/* fall through */
	case MTC_RX_ACCEPT:
		o->seq = seq;
		/* fall through */
	case MTC_RX_REORDERED:
		o->net_seq[net] = seq;
		o->last_seen_ms[net] = now_ms;
		break;
	case MTC_RX_STALE:
	case MTC_RX_OLD_BOOT:
		break;
	}
}

bool mtc_order_in_order(mtc_rx_verdict v)
{
	return v == MTC_RX_ACCEPT || v == MTC_RX_NEW_BOOT || v == MTC_RX_BOOT_RESET;
}

const char *mtc_rx_verdict_name(mtc_rx_verdict v)
{
	static const char *const names[] = { "accept", "new-boot", "boot-reset", "reordered", "stale", "old-boot" };

	return (unsigned)v < sizeof(names) / sizeof(names[0]) ? names[v] : "?";
}

bool mtc_ratelog_hit(mtc_ratelog *r, uint64_t now_ms, uint64_t interval_ms, unsigned long *ret_count)
{
	r->pending++;
	if (r->open && now_ms - r->since_ms < interval_ms)
		return false;
	r->open = true;
	r->since_ms = now_ms;
	*ret_count = r->pending;
	r->pending = 0;
	return true;
}

bool mtc_ratelog_flush(mtc_ratelog *r, uint64_t now_ms, uint64_t interval_ms, unsigned long *ret_count)
{
	if (!r->open || now_ms - r->since_ms < interval_ms)
		return false;
	if (!r->pending) {
		r->open = false; /* quiet for a whole interval: the next hit logs at once */
		return false;
	}
	r->since_ms = now_ms;
	*ret_count = r->pending;
	r->pending = 0;
	return true;
}
