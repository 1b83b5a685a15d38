/* mtc_admin: the agent's one decision. Named scenarios, one per rule, then
 * walks of every combination of store, admin state, order, report and
 * episode (as test_hwd_policy.c's walk_decision), each row checked against
 * the rules written out again here and against the invariants: never
 * Unlocked without the store's order, never a sequence the host cannot
 * take as newer, never anything while the store's first read is on its way. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mtc_admin.h"

#define INTERVAL 2000
#define ANY (-1)

static const mtc_admin_store FILE_STORE = { .shared = false, .loaded = true, .healthy = true };
static const mtc_admin_store ETCD_OK = { .shared = true, .loaded = true, .healthy = true };
static const mtc_admin_store ETCD_DOWN = { .shared = true, .loaded = true, .healthy = false };
static const mtc_admin_store ETCD_READING = { .shared = true, .loaded = false, .healthy = true, .reading = true };
static const mtc_admin_store ETCD_READ_FAILED = { .shared = true, .loaded = false, .healthy = false,
						  .read_failed_ms = 9500 };

static mtc_admin_action report(mtc_admin *s, const mtc_admin_store *st, bool locked, uint32_t applied, uint64_t now)
{
	mtc_admin_event ev = { .kind = MTC_ADMIN_EV_REPORT, .locked = locked, .alive = true, .applied = applied };

	return mtc_admin_decide(s, st, &ev, now, INTERVAL);
}

static mtc_admin_action stored(mtc_admin *s, const mtc_admin_store *st, mtc_admin_value v, int64_t version,
			       uint32_t seq, bool correction, uint64_t now)
{
	mtc_admin_event ev = { .kind = MTC_ADMIN_EV_STORED, .value = v, .version = version, .seq = seq,
			       .correction = correction };

	return mtc_admin_decide(s, st, &ev, now, INTERVAL);
}

static mtc_admin_action simple(mtc_admin *s, const mtc_admin_store *st, mtc_admin_event_kind kind, bool locked)
{
	mtc_admin_event ev = { .kind = kind, .locked = locked };

	return mtc_admin_decide(s, st, &ev, 10000, INTERVAL);
}

static void expect(mtc_admin_action a, mtc_admin_act act, mtc_admin_rule rule, int locked, long seq)
{
	if (a.act != act || a.rule != rule)
		fail_msg("got %s (%s), want %s (%s)", mtc_admin_act_name(a.act), mtc_admin_rule_name(a.rule),
			 mtc_admin_act_name(act), mtc_admin_rule_name(rule));
	if (locked != ANY)
		assert_int_equal(a.locked, locked);
	if (seq != ANY)
		assert_int_equal(a.seq, (uint32_t)seq);
}

/* Unknown is locked: a host with no entry disagreeing (it reports
 * unlocked) is locked, with a sequence the file store persists first. */
static void test_unknown_is_locked(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	expect(report(&s, &FILE_STORE, false, 4, 10000), MTC_ADMIN_PUT, MTC_RULE_ASK_SEQUENCE, ANY, 5);
	expect(stored(&s, &FILE_STORE, MTC_ADMIN_UNKNOWN, 1, 5, true, 10001), MTC_ADMIN_SEND, MTC_RULE_STORED_SEND,
	       true, 5);
	assert_false(mtc_admin_known(&s));
	assert_true(mtc_admin_locked(&s));
}

/* Issue 20 item 7: lock (command 1), the state file restored to an older
 * "node-1 unlocked 0": the host's applied command is newer than any this
 * agent issued or read. Not corrected (no Unlocked), logged once, shown
 * unknown (locked); an operator's lock or unlock goes above it. */
static void test_stale_state_file_holds(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	expect(stored(&s, &FILE_STORE, MTC_ADMIN_UNLOCKED, 1, 0, false, 9000), MTC_ADMIN_NONE,
	       MTC_RULE_STORED_APPLIED, ANY, ANY);
	mtc_admin_action a = report(&s, &FILE_STORE, true, 1, 10000);
	expect(a, MTC_ADMIN_HOLD, MTC_RULE_OTHER_AGENT, ANY, ANY);
	assert_true(a.log);
	assert_false(mtc_admin_known(&s));
	assert_true(mtc_admin_locked(&s));
	a = report(&s, &FILE_STORE, true, 1, 13000);
	expect(a, MTC_ADMIN_HOLD, MTC_RULE_OTHER_AGENT, ANY, ANY);
	assert_false(a.log); /* once */
	expect(simple(&s, &FILE_STORE, MTC_ADMIN_EV_OPERATOR, false), MTC_ADMIN_PUT, MTC_RULE_OPERATOR, ANY, 2);
}

/* A restarted file-store agent that lost its state: the operator locks
 * before the host's first mtcAlive (command 1), the host applied 3 before
 * the restart. The operator's command is lifted above it once (stored
 * first), not held as another agent's; the lifted command reaching the
 * host ends it. Found by mtc_files.sh (FIFO at state_file, then a lock). */
static void test_operator_before_heard_lifted(void **state)
{
	mtc_admin s;
	mtc_admin_action a;

	(void)state;
	mtc_admin_init(&s);
	expect(simple(&s, &FILE_STORE, MTC_ADMIN_EV_OPERATOR, true), MTC_ADMIN_PUT, MTC_RULE_OPERATOR, ANY, 1);
	expect(stored(&s, &FILE_STORE, MTC_ADMIN_LOCKED, 1, 1, false, 9000), MTC_ADMIN_NONE,
	       MTC_RULE_STORED_APPLIED, ANY, ANY);
	a = report(&s, &FILE_STORE, false, 3, 10000);
	expect(a, MTC_ADMIN_PUT, MTC_RULE_OPERATOR_ABOVE, ANY, 4);
	assert_int_equal(a.value, MTC_ADMIN_LOCKED);
	assert_true(mtc_admin_known(&s));
	expect(stored(&s, &FILE_STORE, MTC_ADMIN_LOCKED, 2, 4, true, 10001), MTC_ADMIN_SEND, MTC_RULE_STORED_SEND,
	       true, 4);
	expect(report(&s, &FILE_STORE, true, 4, 11000), MTC_ADMIN_NONE, MTC_RULE_AGREES, ANY, ANY);
	/* Once only: a later, newer command from elsewhere is another agent's. */
	expect(report(&s, &FILE_STORE, false, 6, 15000), MTC_ADMIN_HOLD, MTC_RULE_OTHER_AGENT, ANY, ANY);
	/* Heard before the request: nothing to lift, the old rule holds. */
	mtc_admin_init(&s);
	expect(report(&s, &FILE_STORE, false, 3, 10000), MTC_ADMIN_PUT, MTC_RULE_ASK_SEQUENCE, ANY, 4);
	expect(simple(&s, &FILE_STORE, MTC_ADMIN_EV_OPERATOR, true), MTC_ADMIN_PUT, MTC_RULE_OPERATOR, ANY, 4);
	assert_false(s.unseen);
}

/* Issue 20 item 8: two file-store agents for one node. A locked it (5);
 * B's state says unlocked 3: B holds instead of flipping the flag back. */
static void test_second_file_agent_holds(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	stored(&s, &FILE_STORE, MTC_ADMIN_UNLOCKED, 1, 3, false, 9000);
	expect(report(&s, &FILE_STORE, true, 5, 10000), MTC_ADMIN_HOLD, MTC_RULE_OTHER_AGENT, ANY, ANY);
	for (uint64_t t = 10100; t < 20000; t += 100)
		assert_int_not_equal(report(&s, &FILE_STORE, true, 5, t).act, MTC_ADMIN_SEND);
}

/* Issue 20 item 9: the host applied 4294967295: nothing newer exists, so
 * nothing is sent (command 0 would be dropped as older forever) and an
 * operator's request is refused; a stored 4294967295 is corrupt: unknown. */
static void test_sequence_wrap_refused(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	stored(&s, &FILE_STORE, MTC_ADMIN_LOCKED, 1, 7, false, 9000);
	expect(report(&s, &FILE_STORE, false, UINT32_MAX, 10000), MTC_ADMIN_HOLD, MTC_RULE_WRAP, ANY, ANY);
	expect(simple(&s, &FILE_STORE, MTC_ADMIN_EV_OPERATOR, true), MTC_ADMIN_REFUSE, MTC_RULE_WRAP, ANY, ANY);
	mtc_admin_init(&s);
	expect(stored(&s, &FILE_STORE, MTC_ADMIN_UNLOCKED, 1, UINT32_MAX, false, 9000), MTC_ADMIN_HOLD,
	       MTC_RULE_STORE_CORRUPT, ANY, ANY);
	assert_int_equal(s.value, MTC_ADMIN_UNKNOWN);
	expect(report(&s, &FILE_STORE, false, 3, 10000), MTC_ADMIN_HOLD, MTC_RULE_WRAP, ANY, ANY);
}

/* The etcd store's first read is on its way: reports are recorded, not
 * judged (no flip of every unlocked node at each start). */
static void test_first_read_pending(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	mtc_admin_store st = ETCD_READING;
	st.reading = false;
	expect(report(&s, &st, false, 3, 10000), MTC_ADMIN_NONE, MTC_RULE_FIRST_READ, ANY, ANY);
	assert_int_equal(s.ep.reported, MTC_REPORTED_UNLOCKED);
	assert_false(s.ep.active);
}

/* Never read and no read failed in the last second: the store is asked
 * before acting on "unknown"; after a failure just now, unknown is
 * locked, with this agent's own sequence. */
static void test_read_first_then_local_lock(void **state)
{
	mtc_admin s;
	mtc_admin_store st = ETCD_READ_FAILED;

	(void)state;
	mtc_admin_init(&s);
	st.read_failed_ms = 0;
	expect(report(&s, &st, false, 3, 10000), MTC_ADMIN_READ, MTC_RULE_READ_FIRST, ANY, ANY);
	mtc_admin_init(&s);
	expect(report(&s, &ETCD_READ_FAILED, false, 3, 10000), MTC_ADMIN_SEND, MTC_RULE_LOCAL_LOCK, true, 4);
}

/* Cut off from etcd, the host applied a newer command than this agent
 * read or sent: another agent ordered it. Held, logged once. */
static void test_behind_while_cut_off(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	stored(&s, &ETCD_OK, MTC_ADMIN_LOCKED, 20, 20, false, 9000);
	mtc_admin_action a = report(&s, &ETCD_DOWN, false, 25, 10000);
	expect(a, MTC_ADMIN_HOLD, MTC_RULE_BEHIND, ANY, ANY);
	assert_true(a.log);
	a = report(&s, &ETCD_DOWN, false, 25, 13000);
	expect(a, MTC_ADMIN_HOLD, MTC_RULE_BEHIND, ANY, ANY);
	assert_false(a.log);
	/* back: the store orders a newer sequence */
	expect(report(&s, &ETCD_OK, false, 25, 16000), MTC_ADMIN_PUT, MTC_RULE_ASK_SEQUENCE, ANY, ANY);
}

/* A correction's re-put that comes back after the host agrees (the watch
 * delivered the same revision first) sends nothing more. */
static void test_reput_after_agreement_sends_nothing(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	stored(&s, &ETCD_OK, MTC_ADMIN_LOCKED, 20, 20, false, 9000);
	mtc_admin_action a = report(&s, &ETCD_OK, false, 20, 10000);
	expect(a, MTC_ADMIN_PUT, MTC_RULE_ASK_SEQUENCE, ANY, ANY);
	assert_int_equal(a.if_version, 20);
	expect(report(&s, &ETCD_OK, false, 20, 10100), MTC_ADMIN_NONE, MTC_RULE_RESEND_NOT_DUE, ANY, ANY);
	expect(stored(&s, &ETCD_OK, MTC_ADMIN_LOCKED, 30, 30, false, 10200), MTC_ADMIN_SEND, MTC_RULE_STORED_SEND, true,
	       30);
	expect(report(&s, &ETCD_OK, true, 30, 10300), MTC_ADMIN_NONE, MTC_RULE_AGREES, ANY, ANY);
	expect(stored(&s, &ETCD_OK, MTC_ADMIN_LOCKED, 30, 30, true, 10400), MTC_ADMIN_NONE, MTC_RULE_OLD_NEWS, ANY,
	       ANY);
	assert_false(s.asking);
}

/* The corrected entry is below the host's sequence (it served another
 * store's agent): sent above it. A raced put-if reads first. */
static void test_above_store_and_raced(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	stored(&s, &ETCD_OK, MTC_ADMIN_LOCKED, 20, 20, false, 9000);
	expect(report(&s, &ETCD_OK, false, 50, 10000), MTC_ADMIN_PUT, MTC_RULE_ASK_SEQUENCE, ANY, ANY);
	expect(report(&s, &ETCD_OK, false, 50, 13000), MTC_ADMIN_NONE, MTC_RULE_ASKING, ANY, ANY);
	expect(stored(&s, &ETCD_OK, MTC_ADMIN_LOCKED, 31, 31, true, 13100), MTC_ADMIN_SEND, MTC_RULE_ABOVE_STORE, true,
	       51);
	expect(report(&s, &ETCD_OK, false, 51, 16000), MTC_ADMIN_PUT, MTC_RULE_ASK_SEQUENCE, ANY, ANY);
	expect(simple(&s, &ETCD_OK, MTC_ADMIN_EV_PUT_RACED, false), MTC_ADMIN_READ, MTC_RULE_RACED, ANY, ANY);
	assert_false(s.asking);
}

/* The store fails a correction's put-if: Locked goes out with this
 * agent's own sequence; Unlocked is not sent (no order for it). */
static void test_put_failed(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	stored(&s, &ETCD_OK, MTC_ADMIN_LOCKED, 20, 20, false, 9000);
	report(&s, &ETCD_OK, false, 20, 10000);
	expect(simple(&s, &ETCD_DOWN, MTC_ADMIN_EV_PUT_FAILED, false), MTC_ADMIN_SEND, MTC_RULE_LOCAL_LOCK, true, 21);
	mtc_admin_init(&s);
	stored(&s, &ETCD_OK, MTC_ADMIN_UNLOCKED, 20, 20, false, 9000);
	report(&s, &ETCD_OK, true, 20, 10000);
	expect(simple(&s, &ETCD_DOWN, MTC_ADMIN_EV_PUT_FAILED, false), MTC_ADMIN_HOLD,
	       MTC_RULE_NO_UNLOCK_UNAVAILABLE, ANY, ANY);
}

/* A resend: the same command while the host has not applied it, at most
 * once per resend interval. */
static void test_resend_same(void **state)
{
	mtc_admin s;

	(void)state;
	mtc_admin_init(&s);
	stored(&s, &FILE_STORE, MTC_ADMIN_LOCKED, 1, 8, false, 9000);
	mtc_admin_action a = report(&s, &FILE_STORE, false, 7, 10000);
	expect(a, MTC_ADMIN_SEND, MTC_RULE_RESEND_SAME, true, 8);
	assert_true(a.first);
	expect(report(&s, &FILE_STORE, false, 7, 11000), MTC_ADMIN_NONE, MTC_RULE_RESEND_NOT_DUE, ANY, ANY);
	a = report(&s, &FILE_STORE, false, 7, 12000);
	expect(a, MTC_ADMIN_SEND, MTC_RULE_RESEND_SAME, true, 8);
	assert_true(a.resend && !a.first);
}

/* ---- the walks ---- */

enum { ORD_NONE, ORD_BELOW, ORD_EQUAL, ORD_ABOVE, ORD_MAX, APPLIED_MAX, ORD_N };
enum { EP_NEW, EP_NOT_DUE, EP_DUE, EP_N };

typedef struct row {
	int shared, loaded, healthy, read_recent, value, ord, version, agrees, ep, alive, asking;
} row;

#define CHECK(cond, fmt, ...)                                                                                    \
	do {                                                                                                     \
		if (!(cond))                                                                                     \
			fail_msg("shared=%d loaded=%d healthy=%d read_recent=%d value=%d ord=%d version=%d "     \
				 "agrees=%d ep=%d alive=%d asking=%d: " fmt,                                     \
				 r->shared, r->loaded, r->healthy, r->read_recent, r->value, r->ord, r->version, \
				 r->agrees, r->ep, r->alive, r->asking, ##__VA_ARGS__);                          \
	} while (0)

static const uint32_t ord_order[ORD_N] = { 0, 5, 10, 12, UINT32_MAX, 12 };

/* The rules, in order, as the design states them (docs/design.md's list). */
static mtc_admin_rule want_rule(const row *r, uint32_t order, uint32_t applied)
{
	bool want_locked = r->value != MTC_ADMIN_UNLOCKED;
	bool knows_nothing = r->value == MTC_ADMIN_UNKNOWN && order == 0;
	bool unavailable = !r->loaded || !r->healthy;

	if (!r->loaded && r->healthy)
		return MTC_RULE_FIRST_READ;
	if (r->agrees)
		return MTC_RULE_AGREES;
	if (r->ep == EP_NOT_DUE)
		return MTC_RULE_RESEND_NOT_DUE;
	if (!r->alive)
		return MTC_RULE_NOT_HEARD;
	if (r->shared && !r->loaded && !r->read_recent)
		return MTC_RULE_READ_FIRST;
	if (order == UINT32_MAX || applied == UINT32_MAX)
		return MTC_RULE_WRAP;
	if (applied > order && !knows_nothing && !r->shared)
		return MTC_RULE_OTHER_AGENT;
	if (applied > order && !knows_nothing && unavailable)
		return MTC_RULE_BEHIND;
	if (applied < order)
		return MTC_RULE_RESEND_SAME;
	if (unavailable || (r->shared && !r->version))
		return want_locked ? MTC_RULE_LOCAL_LOCK : MTC_RULE_NO_UNLOCK_UNAVAILABLE;
	return r->asking ? MTC_RULE_ASKING : MTC_RULE_ASK_SEQUENCE;
}

static void setup_row(const row *r, mtc_admin *s, mtc_admin_store *st, uint32_t *applied)
{
	*st = (mtc_admin_store){ .shared = r->shared, .loaded = r->loaded, .healthy = r->healthy,
				 .read_failed_ms = r->read_recent ? 9800 : 0 };
	*applied = r->ord == APPLIED_MAX ? UINT32_MAX : 10;
	mtc_admin_init(s);
	s->value = (mtc_admin_value)r->value;
	s->order = ord_order[r->ord];
	s->version = r->version ? 7 : 0;
	s->applied = *applied;
	s->asking = r->asking;
	s->ep.admin_locked = r->value != MTC_ADMIN_UNLOCKED;
	s->ep.active = r->ep != EP_NEW;
	s->ep.last_send_ms = r->ep == EP_NOT_DUE ? 9900 : 1000;
}

static void walk_decision(const row *r)
{
	mtc_admin s;
	mtc_admin_store st;
	uint32_t applied, order;
	bool want_locked = r->value != MTC_ADMIN_UNLOCKED;
	mtc_admin_event ev = { .kind = MTC_ADMIN_EV_REPORT, .alive = r->alive };
	mtc_admin_action a;
	mtc_admin_rule want;

	setup_row(r, &s, &st, &applied);
	order = s.order;
	ev.applied = applied;
	ev.locked = r->agrees ? want_locked : !want_locked;
	a = mtc_admin_decide(&s, &st, &ev, 10000, INTERVAL);
	want = want_rule(r, order, applied);
	CHECK(a.rule == want, "rule '%s', want '%s'", mtc_admin_rule_name(a.rule), mtc_admin_rule_name(want));
	/* invariants, whatever the rule */
	if (a.act == MTC_ADMIN_SEND) {
		CHECK(a.seq > applied, "sent %u, not newer than the applied %u", a.seq, applied);
		CHECK(a.locked || (r->value == MTC_ADMIN_UNLOCKED && a.seq == order), "Unlocked without the store's order");
		CHECK(r->alive, "sent to a host never heard");
	}
	if (a.act == MTC_ADMIN_PUT)
		CHECK(a.seq > applied && a.if_version == s.version && s.asking, "put %u at %lld", a.seq,
		      (long long)a.if_version);
	CHECK(a.first == (want != MTC_RULE_FIRST_READ && !r->agrees && r->ep == EP_NEW), "first %d", a.first);
	CHECK(a.act != MTC_ADMIN_HOLD || a.log, "a first hold is logged");
	CHECK(mtc_admin_known(&s) == (r->value != MTC_ADMIN_UNKNOWN && want != MTC_RULE_OTHER_AGENT), "known");
}

static void test_report_walk(void **state)
{
	row r;

	(void)state;
	for (r.shared = 0; r.shared < 2; r.shared++)
	for (r.loaded = 0; r.loaded < 2; r.loaded++)
	for (r.healthy = 0; r.healthy < 2; r.healthy++)
	for (r.read_recent = 0; r.read_recent < 2; r.read_recent++)
	for (r.value = 0; r.value < 3; r.value++)
	for (r.ord = 0; r.ord < ORD_N; r.ord++)
	for (r.version = 0; r.version < 2; r.version++)
	for (r.agrees = 0; r.agrees < 2; r.agrees++)
	for (r.ep = 0; r.ep < EP_N; r.ep++)
	for (r.alive = 0; r.alive < 2; r.alive++)
	for (r.asking = 0; r.asking < 2; r.asking++)
		walk_decision(&r);
}

enum { SEQ_BELOW, SEQ_EQUAL, SEQ_ABOVE, SEQ_MAX, SEQ_N };
enum { REP_NONE, REP_LOCKED, REP_UNLOCKED, REP_N };

/* The store's news for a host: every value, version old or new, sequence
 * against what the host applied, heard or not, the host's last report,
 * an operator's put or this agent's correction. */
static void walk_stored(int value, int newer, int seq_rel, int heard, int rep, int correction)
{
	static const uint32_t seqs[SEQ_N] = { 5, 10, 15, UINT32_MAX };
	uint32_t seq = seqs[seq_rel], applied = 10, pre_order = 8;
	mtc_admin_value now_value = seq == UINT32_MAX && newer ? MTC_ADMIN_UNKNOWN : (mtc_admin_value)value;
	mtc_admin s;
	mtc_admin_action a;
	mtc_admin_rule want;
	bool disagrees, kept;

	mtc_admin_init(&s);
	s.value = MTC_ADMIN_LOCKED;
	s.order = pre_order;
	s.version = 20;
	s.applied = applied;
	s.heard = heard;
	s.ep.reported = rep == REP_NONE ? MTC_REPORTED_UNKNOWN : rep == REP_LOCKED ? MTC_REPORTED_LOCKED
										      : MTC_REPORTED_UNLOCKED;
	a = stored(&s, &ETCD_OK, (mtc_admin_value)value, newer ? 21 : 20, seq, correction, 10000);
	kept = !newer;
	disagrees = rep != REP_NONE && (rep == REP_LOCKED) != ((kept ? MTC_ADMIN_LOCKED : now_value) != MTC_ADMIN_UNLOCKED);
	if (kept)
		want = correction && heard && disagrees ? MTC_RULE_ABOVE_STORE : MTC_RULE_OLD_NEWS;
	else if (seq == UINT32_MAX)
		want = MTC_RULE_STORE_CORRUPT;
	else if (heard && applied < seq)
		want = MTC_RULE_STORED_SEND;
	else if (correction && heard && disagrees)
		want = MTC_RULE_ABOVE_STORE;
	else
		want = MTC_RULE_STORED_APPLIED;
	if (a.rule != want)
		fail_msg("value=%d newer=%d seq=%u heard=%d rep=%d correction=%d: rule '%s', want '%s'", value, newer, seq,
			 heard, rep, correction, mtc_admin_rule_name(a.rule), mtc_admin_rule_name(want));
	if (a.act == MTC_ADMIN_SEND) {
		assert_true(a.seq > applied);
		/* Unlocked: the store's order, or above the host's sequence
		 * once the store took this agent's Unlocked (its put-if held) */
		assert_true(a.locked || (now_value == MTC_ADMIN_UNLOCKED && (a.seq == seq || (correction && newer))));
	}
	assert_int_equal(s.value, kept ? MTC_ADMIN_LOCKED : now_value);
	assert_int_equal(s.version, kept ? 20 : 21);
}

static void test_stored_walk(void **state)
{
	(void)state;
	for (int value = 0; value < 3; value++)
	for (int newer = 0; newer < 2; newer++)
	for (int seq_rel = 0; seq_rel < SEQ_N; seq_rel++)
	for (int heard = 0; heard < 2; heard++)
	for (int rep = 0; rep < REP_N; rep++)
	for (int correction = 0; correction < 2; correction++)
		walk_stored(value, newer, seq_rel, heard, rep, correction);
}

/* An operator's change goes above everything this agent issued and the
 * host applied; at 4294967295 nothing is above: refused. */
static void test_operator_walk(void **state)
{
	static const uint32_t v[] = { 0, 1, 10, UINT32_MAX - 1, UINT32_MAX };

	(void)state;
	for (size_t i = 0; i < 5; i++)
	for (size_t j = 0; j < 5; j++)
	for (int lock = 0; lock < 2; lock++) {
		mtc_admin s;
		uint32_t base = v[i] > v[j] ? v[i] : v[j];
		mtc_admin_action a;

		mtc_admin_init(&s);
		s.order = v[i];
		s.applied = v[j];
		a = simple(&s, &ETCD_OK, MTC_ADMIN_EV_OPERATOR, lock);
		if (base == UINT32_MAX) {
			expect(a, MTC_ADMIN_REFUSE, MTC_RULE_WRAP, ANY, ANY);
			continue;
		}
		expect(a, MTC_ADMIN_PUT, MTC_RULE_OPERATOR, ANY, (long)base + 1);
		assert_int_equal(a.value, lock ? MTC_ADMIN_LOCKED : MTC_ADMIN_UNLOCKED);
		assert_int_equal(a.if_version, -1);
	}
}

/* Every rule has a name (the log and the table use them). */
static void test_rule_names(void **state)
{
	(void)state;
	for (int r = 0; r < MTC_RULE_COUNT; r++)
		assert_string_not_equal(mtc_admin_rule_name((mtc_admin_rule)r), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unknown_is_locked),
		cmocka_unit_test(test_stale_state_file_holds),
		cmocka_unit_test(test_operator_before_heard_lifted),
		cmocka_unit_test(test_second_file_agent_holds),
		cmocka_unit_test(test_sequence_wrap_refused),
		cmocka_unit_test(test_first_read_pending),
		cmocka_unit_test(test_read_first_then_local_lock),
		cmocka_unit_test(test_behind_while_cut_off),
		cmocka_unit_test(test_reput_after_agreement_sends_nothing),
		cmocka_unit_test(test_above_store_and_raced),
		cmocka_unit_test(test_put_failed),
		cmocka_unit_test(test_resend_same),
		cmocka_unit_test(test_report_walk),
		cmocka_unit_test(test_stored_walk),
		cmocka_unit_test(test_operator_walk),
		cmocka_unit_test(test_rule_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
