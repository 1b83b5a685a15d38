/* mtcagent's admin state, carried out: the store's events and the hosts'
 * reports go to mtc_admin_decide, and what it decides is done here (a
 * frame, a put, a read, a log line). No rule lives here: each is in
 * mtc_admin.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mtc_agent.h"
#include "util.h"

/* One put's context: an operator waiting, or a correction. */
typedef struct put_ctx {
	bool operator;
	bool resend;     /* a correction after the first of its episode */
	agent_done_fn done;
	void *ctx;
	const char *why; /* correction: "correction" or "correction resend" */
} put_ctx;

static const char *value_name(const agent_host *h)
{
	return mtc_admin_known(&h->adm) ? agent_admin_name(h) : "unknown: treated as locked";
}

static void log_sent(agent *a, agent_host *h, const mtc_admin_action *act, const char *why, const char *result)
{
	const char *type = mtc_type_name(act->locked ? MTC_LOCKED : MTC_UNLOCKED);
	unsigned long n;

	if (!act->resend) {
		log_info("%s: %s (%s): %s; command %u", h->entry.name, type, why, result, act->seq);
		return;
	}
	/* Resent every resend interval while the host disagrees (commands
	 * dropped on the way): one line per interval, not one per resend. */
	a->resends++;
	snprintf(a->resend_last, sizeof(a->resend_last), "; last: %s %s command %u: %s", h->entry.name, type, act->seq,
		 result);
	if (mtc_ratelog_hit(&a->resend_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
		log_info("%s: %s (%s): %s; command %u (%lu resend(s) so far; at most one line per %d s)",
			 h->entry.name, type, why, result, act->seq, a->resends, MTC_DROP_LOG_INTERVAL_MS / 1000);
}

static void log_hold(agent *a, const agent_host *h, const mtc_admin_action *act, const mtc_admin_store *st)
{
	const char *want = h->adm.value != MTC_ADMIN_UNLOCKED ? "Locked" : "Unlocked";

	switch (act->rule) {
	case MTC_RULE_BEHIND:
		log_warn("%s: not corrected to %s: it applied command %u, newer than the last this agent %s (%u), and "
			 "%s %s: an agent that reaches %s ordered it", h->entry.name, want, h->adm.applied,
			 st->loaded ? "read from etcd or sent" : "sent", h->adm.order, a->store->name,
			 st->loaded ? "is unavailable" : "was not read yet", a->store->name);
		break;
	case MTC_RULE_OTHER_AGENT:
		log_warn("%s: not corrected to %s: it applied command %u, newer than any this agent issued or read (%u): "
			 "another agent is ordering %s: two controllers need store = etcd (or %s is older than the "
			 "host's state); shown unknown (locked) until an operator locks or unlocks it", h->entry.name,
			 want, h->adm.applied, h->adm.order, h->entry.name, a->cfg.state_file);
		break;
	case MTC_RULE_WRAP:
	case MTC_RULE_STORE_CORRUPT:
		log_err("%s: %s (host applied %u, stored %u): nothing newer can be sent; reset the node's command "
			"sequence file and the store's entry", h->entry.name, mtc_admin_rule_name(act->rule),
			h->adm.applied, h->adm.order);
		break;
	case MTC_RULE_NO_UNLOCK_UNAVAILABLE:
		log_warn("%s: not corrected to Unlocked: %s unavailable to order it", h->entry.name, a->store->name);
		break;
	default:
		log_notice("%s: %s pending: %s", h->entry.name, want, mtc_admin_rule_name(act->rule));
		break;
	}
}

static void store_state(agent *a, mtc_admin_store *st)
{
	a->store->state(a->store_data, st);
}

static void carry_out(agent *a, agent_host *h, const mtc_admin_action *act, const char *why);

/* A correction's put failed (or could not be made): decided again with
 * the store unavailable (Locked with this agent's own sequence, or hold). */
static void correction_failed(agent *a, agent_host *h, mtc_admin_event_kind kind, bool resend, const char *why)
{
	mtc_admin_event in = { .kind = kind };
	mtc_admin_store st;
	mtc_admin_action act;

	store_state(a, &st);
	act = mtc_admin_decide(&h->adm, &st, &in, util_now_ms(), (uint64_t)a->cfg.resend_interval_ms);
	act.resend = resend;
	carry_out(a, h, &act, act.rule == MTC_RULE_LOCAL_LOCK ? "correction, store unavailable" : why);
}

static void put(agent *a, agent_host *h, const mtc_admin_action *act, put_ctx *pc)
{
	a->store->put(a->store_data, h->entry.name, act->value, act->seq, act->if_version, pc);
}

static void carry_out(agent *a, agent_host *h, const mtc_admin_action *act, const char *why)
{
	mtc_admin_store st;
	char result[160];
	put_ctx *pc;

	switch (act->act) {
	case MTC_ADMIN_SEND:
		agent_send_cmd(a, h, act->locked, act->seq, result, sizeof(result));
		log_sent(a, h, act, why, result);
		break;
	case MTC_ADMIN_PUT:
		pc = calloc(1, sizeof(*pc));
		if (!pc) {
			correction_failed(a, h, MTC_ADMIN_EV_PUT_FAILED, act->resend, why);
			break;
		}
		pc->why = why;
		pc->resend = act->resend;
		put(a, h, act, pc);
		break;
	case MTC_ADMIN_READ:
		a->store->read(a->store_data);
		break;
	case MTC_ADMIN_HOLD:
		store_state(a, &st);
		if (act->log)
			log_hold(a, h, act, &st);
		break;
	default:
		break;
	}
}

void agent_admin_report(agent *a, agent_host *h, bool locked, bool alive, uint32_t applied, int net)
{
	mtc_admin_event ev = { .kind = MTC_ADMIN_EV_REPORT, .locked = locked, .alive = alive, .applied = applied };
	const char *admin = agent_admin_name(h); /* as judged, before the decision */
	bool known = mtc_admin_known(&h->adm);
	mtc_admin_store st;
	mtc_admin_action act;

	store_state(a, &st);
	act = mtc_admin_decide(&h->adm, &st, &ev, util_now_ms(), (uint64_t)a->cfg.resend_interval_ms);
	if (act.first)
		log_emit_fields(LOG_WARNING, MSGID_LOCK_CORRECTION,
				(const char *[]){ LOG_FIELD("MTC_HOST=%s", h->entry.name),
						  LOG_FIELD("MTC_ADMIN=%s", known ? admin : "unknown"),
						  LOG_FIELD("MTC_REPORTED=%s", locked ? "locked" : "unlocked"),
						  LOG_FIELD("MTC_NETWORK=%s", mtc_net_name((unsigned)net)), NULL },
				"%s mtcAlive reporting %s while %s ; correcting%s", h->entry.name,
				locked ? "locked" : "unlocked", admin,
				known ? "" : " (admin state unknown: treated as locked)");
	carry_out(a, h, &act, act.first ? "correction" : "correction resend");
}

void agent_set_admin(agent *a, agent_host *h, bool lock, agent_done_fn done, void *ctx)
{
	mtc_admin_event ev = { .kind = MTC_ADMIN_EV_OPERATOR, .locked = lock };
	mtc_admin_store st;
	mtc_admin_action act;
	char why[160];
	put_ctx *pc;

	store_state(a, &st);
	act = mtc_admin_decide(&h->adm, &st, &ev, util_now_ms(), (uint64_t)a->cfg.resend_interval_ms);
	if (act.act == MTC_ADMIN_REFUSE) {
		snprintf(why, sizeof(why), "%s: %s (host applied %u, stored %u); not changed", h->entry.name,
			 mtc_admin_rule_name(act.rule), h->adm.applied, h->adm.order);
		log_err("%s", why);
		done(a, h, -ERANGE, why, ctx);
		return;
	}
	pc = calloc(1, sizeof(*pc));
	if (!pc) {
		done(a, h, -ENOMEM, "out of memory; not changed", ctx);
		return;
	}
	*pc = (put_ctx){ .operator = true, .done = done, .ctx = ctx, .why = "operator" };
	put(a, h, &act, pc);
}

/* The store holds h at ev's entry: decided, logged if it changed. pc:
 * this agent's correction coming back, or NULL. */
static void on_stored(agent *a, agent_host *h, const mtc_store_event *ev, const put_ctx *pc, const char *why)
{
	bool correction = pc && !pc->operator;
	mtc_admin_event in = { .kind = MTC_ADMIN_EV_STORED, .correction = correction, .value = ev->value,
			       .version = ev->version, .seq = ev->seq };
	mtc_admin_store st;
	mtc_admin_action act;

	store_state(a, &st);
	act = mtc_admin_decide(&h->adm, &st, &in, util_now_ms(), (uint64_t)a->cfg.resend_interval_ms);
	if (act.changed && ev->why && ev->kind == MTC_STORE_CHANGED)
		log_notice("%s: admin state %s (%s revision %" PRId64 ", %s)", h->entry.name, value_name(h),
			   a->store->name, ev->version, ev->why);
	act.resend = correction && pc->resend;
	carry_out(a, h, &act, why);
}

static void on_put(agent *a, agent_host *h, const mtc_store_event *ev)
{
	put_ctx *pc = ev->ctx;

	if (ev->r == 0 && h && pc->operator)
		log_notice("%s: admin state %s (operator request%s%s)", h->entry.name,
			   ev->value == MTC_ADMIN_LOCKED ? "locked" : "unlocked", ev->why ? ", " : "",
			   ev->why ? ev->why : "");
	if (ev->r == 0 && h)
		on_stored(a, h, ev, pc, pc->why);
	else if (h && !pc->operator && ev->r != -ECANCELED) /* -ECANCELED: stopping, nothing more to send */
		correction_failed(a, h, ev->r == -EAGAIN ? MTC_ADMIN_EV_PUT_RACED : MTC_ADMIN_EV_PUT_FAILED, pc->resend,
				  pc->why);
	if (pc->operator && !h && ev->r == 0)
		pc->done(a, NULL, -ENOENT, "host no longer in the hosts file; the store has the change", pc->ctx);
	else if (pc->operator)
		pc->done(a, h, ev->r == 0 ? 0 : ev->r == -ECANCELED ? -ECANCELED : -EIO,
			 ev->r == 0 ? ev->why : ev->why ? ev->why : "not changed", pc->ctx);
	free(pc);
}

static void on_loaded(agent *a)
{
	if (a->store_loaded)
		return;
	a->store_loaded = true;
	for (size_t i = 0; i < a->n_hosts; i++)
		if (!mtc_admin_known(&a->hosts[i].adm))
			agent_log_unknown(a, &a->hosts[i]);
}

static void on_store_event(void *user, const mtc_store_event *ev)
{
	agent *a = user;
	agent_host *h = ev->host ? agent_find_host(a, ev->host) : NULL;

	switch (ev->kind) {
	case MTC_STORE_LOADED:
		on_loaded(a);
		break;
	case MTC_STORE_PUT:
		on_put(a, h, ev);
		break;
	case MTC_STORE_REWOUND:
		for (size_t i = 0; i < a->n_hosts; i++)
			mtc_admin_rebase(&a->hosts[i].adm);
		break;
	case MTC_STORE_CHANGED:
		if (h)
			on_stored(a, h, ev, NULL, ev->why ? ev->why : "read");
		else if (!a->store_loaded)
			log_info("%s: host %s is not in the hosts file", a->store->name, ev->host);
		break;
	}
}

int agent_store_open(agent *a)
{
	mtc_store_env env = { .event = a->event, .cfg = &a->cfg, .n_hosts = a->n_hosts, .on_event = on_store_event,
			      .user = a };

	return a->store->open(&env, &a->store_data);
}

void agent_store_close(agent *a)
{
	a->store->close(a->store_data);
	a->store_data = NULL;
}

void agent_admin_flush_logs(agent *a)
{
	mtc_daemon_flush_drop_log(&a->resend_log, "correction resend(s)", a->resend_last, a->resends);
}
