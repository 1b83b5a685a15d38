#include "mtc_admin.h"

#include <string.h>

#define NO_HOLD (-1)

void mtc_admin_init(mtc_admin *s)
{
	memset(s, 0, sizeof(*s));
	s->value = MTC_ADMIN_UNKNOWN;
	s->held = NO_HOLD;
	mtc_episode_init(&s->ep, true);
}

bool mtc_admin_known(const mtc_admin *s)
{
	return s->value != MTC_ADMIN_UNKNOWN && !s->foreign;
}

bool mtc_admin_locked(const mtc_admin *s)
{
	return s->value != MTC_ADMIN_UNLOCKED || s->foreign;
}

static mtc_admin_action act(mtc_admin *s, mtc_admin_act what, mtc_admin_rule rule)
{
	mtc_admin_action a = { .act = what, .rule = rule, .if_version = -1 };

	if (what == MTC_ADMIN_HOLD) {
		a.log = s->held != (int)rule;
		s->held = (int)rule;
	} else if (what != MTC_ADMIN_NONE)
		s->held = NO_HOLD;
	return a;
}

static mtc_admin_action send(mtc_admin *s, bool locked, uint32_t seq, mtc_admin_rule rule)
{
	mtc_admin_action a;

	/* Unknown is locked: Unlocked only for a host the store says is
	 * unlocked, with the store's order. */
	if (!locked && s->value != MTC_ADMIN_UNLOCKED)
		return act(s, MTC_ADMIN_HOLD, MTC_RULE_NO_UNLOCK_UNAVAILABLE);
	a = act(s, MTC_ADMIN_SEND, rule);
	a.locked = locked;
	a.seq = seq;
	return a;
}

/* The store is asked for the same value above what the host applied, if
 * the entry is still at the version read (the file store persists it
 * before it is sent). */
static mtc_admin_action ask_above_applied(mtc_admin *s, mtc_admin_rule rule)
{
	mtc_admin_action a;

	s->asking = true;
	a = act(s, MTC_ADMIN_PUT, rule);
	a.value = s->value;
	a.seq = s->applied + 1;
	a.if_version = s->version;
	return a;
}

/* The host applied command >= order and disagrees: a newer sequence, from
 * the store when it can give one, else (Locked only) this agent's own. */
static mtc_admin_action newer(mtc_admin *s, const mtc_admin_store *st, bool unavailable)
{
	bool want = s->value != MTC_ADMIN_UNLOCKED;

	if (unavailable || (st->shared && s->version == 0)) {
		if (!want)
			return act(s, MTC_ADMIN_HOLD, MTC_RULE_NO_UNLOCK_UNAVAILABLE);
		s->order = s->applied + 1;
		return send(s, true, s->order, MTC_RULE_LOCAL_LOCK);
	}
	if (s->asking)
		return act(s, MTC_ADMIN_NONE, MTC_RULE_ASKING);
	return ask_above_applied(s, MTC_RULE_ASK_SEQUENCE);
}


/* A host disagrees with its admin state (or a put-if failed): correct it,
 * ask first, or hold. unavailable: the store just failed this agent. */
static mtc_admin_action correct(mtc_admin *s, const mtc_admin_store *st, uint64_t now, bool unavailable)
{
	bool knows_nothing = s->value == MTC_ADMIN_UNKNOWN && s->order == 0;

	unavailable = unavailable || !st->loaded || !st->healthy;
	if (!s->heard)
		return act(s, MTC_ADMIN_HOLD, MTC_RULE_NOT_HEARD);
	/* Never read: ask before acting on "unknown", unless a read failed
	 * within the last second (then unknown is locked). */
	if (st->shared && !st->loaded && (st->reading || now - st->read_failed_ms >= 1000))
		return act(s, MTC_ADMIN_READ, MTC_RULE_READ_FIRST);
	if (s->order == UINT32_MAX || s->applied == UINT32_MAX)
		return act(s, MTC_ADMIN_HOLD, MTC_RULE_WRAP);
	if (s->applied > s->order && !knows_nothing) {
		if (!st->shared && s->unseen) {
			/* The operator spoke here last: what the host applied
			 * is older news than that request. */
			s->unseen = false;
			s->foreign = false;
			return ask_above_applied(s, MTC_RULE_OPERATOR_ABOVE);
		}
		if (!st->shared) {
			s->foreign = true;
			return act(s, MTC_ADMIN_HOLD, MTC_RULE_OTHER_AGENT);
		}
		if (unavailable)
			return act(s, MTC_ADMIN_HOLD, MTC_RULE_BEHIND);
	}
	s->foreign = false;
	if (s->applied < s->order)
		return send(s, s->value != MTC_ADMIN_UNLOCKED, s->order, MTC_RULE_RESEND_SAME);
	return newer(s, st, unavailable);
}

static mtc_admin_action on_report(mtc_admin *s, const mtc_admin_store *st, const mtc_admin_event *ev, uint64_t now,
				  uint64_t interval)
{
	mtc_decision d;
	mtc_admin_action a;

	if (ev->alive) {
		s->applied = ev->applied;
		s->heard = true;
	} else if (ev->applied > s->applied)
		s->applied = ev->applied;
	if (s->foreign && s->applied <= s->order)
		s->foreign = false;
	if (s->applied == s->order)
		s->unseen = false; /* it applied this agent's newest command */
	/* The first read is on its way: judged once the state is known, not
	 * on "unknown", which would flip every unlocked node at each start. */
	if (!st->loaded && st->healthy) {
		s->ep.reported = ev->locked ? MTC_REPORTED_LOCKED : MTC_REPORTED_UNLOCKED;
		return act(s, MTC_ADMIN_NONE, MTC_RULE_FIRST_READ);
	}
	d = mtc_episode_on_report(&s->ep, ev->locked, now, interval);
	if (!d.send) {
		if (!s->ep.active)
			s->unseen = false; /* it agrees: nothing to lift */
		return act(s, MTC_ADMIN_NONE, s->ep.active ? MTC_RULE_RESEND_NOT_DUE : MTC_RULE_AGREES);
	}
	a = correct(s, st, now, false);
	a.first = d.log;
	a.resend = !d.log;
	return a;
}

static bool disagrees(const mtc_admin *s)
{
	return s->ep.reported != MTC_REPORTED_UNKNOWN &&
	       (s->ep.reported == MTC_REPORTED_LOCKED) != (s->value != MTC_ADMIN_UNLOCKED);
}

/* This agent's correction is stored and the host still disagrees: the
 * entry's sequence is at or below what the host applied (it served
 * another store's agent before): only a bump past it reaches it. Not when
 * it agrees by now: it may have applied this very entry already. */
static mtc_admin_action above_store(mtc_admin *s)
{
	if (s->applied == UINT32_MAX)
		return act(s, MTC_ADMIN_HOLD, MTC_RULE_WRAP);
	s->order = s->applied + 1;
	return send(s, s->value != MTC_ADMIN_UNLOCKED, s->order, MTC_RULE_ABOVE_STORE);
}

static mtc_admin_action stored_action(mtc_admin *s, const mtc_admin_event *ev, bool changed)
{
	mtc_admin_action a;

	if (ev->seq == UINT32_MAX)
		a = act(s, MTC_ADMIN_HOLD, MTC_RULE_STORE_CORRUPT);
	else if (s->heard && s->applied < s->order)
		a = send(s, s->value != MTC_ADMIN_UNLOCKED, s->order, MTC_RULE_STORED_SEND);
	else if (ev->correction && s->heard && disagrees(s))
		a = above_store(s);
	else
		a = act(s, MTC_ADMIN_NONE, MTC_RULE_STORED_APPLIED);
	a.changed = changed;
	return a;
}

/* The store holds value at version (seq): a read, another agent's change,
 * an operator's put or this agent's correction coming back. Old news (a
 * version not newer than the one applied) changes nothing. */
static mtc_admin_action on_stored(mtc_admin *s, const mtc_admin_event *ev, uint64_t now)
{
	mtc_admin_value value = ev->value;
	bool changed;

	if (ev->correction)
		s->asking = false;
	if (ev->version <= s->version) {
		if (ev->correction && s->heard && disagrees(s) && s->applied >= s->order)
			return above_store(s);
		return act(s, MTC_ADMIN_NONE, MTC_RULE_OLD_NEWS);
	}
	if (ev->seq == UINT32_MAX)
		value = MTC_ADMIN_UNKNOWN; /* corrupt: unknown, locked */
	changed = value != s->value || s->foreign;
	s->version = ev->version;
	s->order = ev->seq;
	s->value = value;
	s->foreign = false;
	s->held = NO_HOLD;
	/* A new command ends the episode; this agent's own correction
	 * coming back does not (the host still has to agree). */
	if (!ev->correction)
		mtc_episode_set_admin(&s->ep, value != MTC_ADMIN_UNLOCKED, now);
	s->ep.admin_locked = value != MTC_ADMIN_UNLOCKED;
	return stored_action(s, ev, changed);
}

/* An operator's change: stored first (a new command, above anything this
 * agent issued or the host applied), sent once stored. */
static mtc_admin_action on_operator(mtc_admin *s, const mtc_admin_event *ev)
{
	uint32_t base = s->order > s->applied ? s->order : s->applied;
	mtc_admin_action a;

	if (base == UINT32_MAX)
		return act(s, MTC_ADMIN_REFUSE, MTC_RULE_WRAP);
	/* Not heard yet (a restarted agent): base may be below what the
	 * host applied; the first report lifts it (MTC_RULE_OPERATOR_ABOVE). */
	s->unseen = !s->heard;
	a = act(s, MTC_ADMIN_PUT, MTC_RULE_OPERATOR);
	a.value = ev->locked ? MTC_ADMIN_LOCKED : MTC_ADMIN_UNLOCKED;
	a.seq = base + 1;
	a.if_version = -1;
	return a;
}

void mtc_admin_rebase(mtc_admin *s)
{
	s->version = 0;
	s->asking = false;
}

mtc_admin_action mtc_admin_decide(mtc_admin *s, const mtc_admin_store *st, const mtc_admin_event *ev, uint64_t now_ms,
				  uint64_t resend_interval_ms)
{
	switch (ev->kind) {
	case MTC_ADMIN_EV_OPERATOR:
		return on_operator(s, ev);
	case MTC_ADMIN_EV_STORED:
		return on_stored(s, ev, now_ms);
	case MTC_ADMIN_EV_REPORT:
		return on_report(s, st, ev, now_ms, resend_interval_ms);
	case MTC_ADMIN_EV_PUT_FAILED:
		s->asking = false;
		if (!s->ep.active)
			return act(s, MTC_ADMIN_NONE, MTC_RULE_AGREES); /* agrees by now */
		return correct(s, st, now_ms, true);
	case MTC_ADMIN_EV_PUT_RACED:
		s->asking = false;
		return act(s, MTC_ADMIN_READ, MTC_RULE_RACED);
	}
	return act(s, MTC_ADMIN_NONE, MTC_RULE_AGREES);
}

const char *mtc_admin_rule_name(mtc_admin_rule r)
{
	static const char *const names[MTC_RULE_COUNT] = {
		[MTC_RULE_AGREES] = "the host agrees",
		[MTC_RULE_RESEND_NOT_DUE] = "correction resend not due",
		[MTC_RULE_FIRST_READ] = "the store's first read is on its way",
		[MTC_RULE_READ_FIRST] = "never read: the store is asked first",
		[MTC_RULE_NOT_HEARD] = "no mtcAlive seen yet; it is sent on the first one",
		[MTC_RULE_RESEND_SAME] = "correction",
		[MTC_RULE_ASK_SEQUENCE] = "correction: the store gives a newer sequence",
		[MTC_RULE_ASKING] = "a newer sequence is on its way",
		[MTC_RULE_LOCAL_LOCK] = "correction, store unavailable",
		[MTC_RULE_NO_UNLOCK_UNAVAILABLE] = "not corrected to Unlocked: the store is unavailable to order it",
		[MTC_RULE_BEHIND] = "behind while cut off from the store",
		[MTC_RULE_OTHER_AGENT] = "another agent is ordering it",
		[MTC_RULE_WRAP] = "command sequence at 4294967295: refused as corrupt",
		[MTC_RULE_STORE_CORRUPT] = "stored command sequence at 4294967295: refused as corrupt",
		[MTC_RULE_OLD_NEWS] = "not newer than the state applied",
		[MTC_RULE_STORED_SEND] = "stored",
		[MTC_RULE_STORED_APPLIED] = "the host applied it already",
		[MTC_RULE_ABOVE_STORE] = "correction above the store's sequence",
		[MTC_RULE_RACED] = "another agent changed it: read again",
		[MTC_RULE_OPERATOR] = "operator",
		[MTC_RULE_OPERATOR_ABOVE] = "operator's command issued before the host was heard: above what it applied",
	};

	return (unsigned)r < MTC_RULE_COUNT && names[r] ? names[r] : "?";
}

const char *mtc_admin_act_name(mtc_admin_act a)
{
	static const char *const names[] = { "none", "send", "put", "read", "hold", "refuse" };

	return (unsigned)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}
