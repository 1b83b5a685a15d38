/* mtc decisions: agent episode logic, mtcAlive stopped/returned, client replay guard, the socket
 * recovery walk with injected failures, and the lock flag files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileops.h"
#include "mtc_config.h"
#include "mtc_daemon.h"
#include "mtc_episode.h"
#include "mtc_fleet.h"
#include "mtc_flag.h"
#include "mtc_net.h"
#include "mtc_order.h"
#include "mtc_replay.h"
#include "util.h"

/* ---- episode ---- */

typedef struct ep_step {
	char what;          /* 'r' report, 'L' admin lock, 'U' admin unlock, 0 end */
	bool reported_locked;
	uint64_t at_ms;
	bool want_log, want_send;
} ep_step;

typedef struct ep_row {
	const char *name;
	bool admin_locked;
	ep_step steps[12];
} ep_row;

static const ep_row ep_rows[] = {
	{ "agreeing host: never logs or sends", true, {
		{ 'r', true, 0, false, false }, { 'r', true, 5000, false, false }, { 0 } } },
	{ "field bug: unlocked while locked every 5 s logs once, resends rate-limited", true, {
		{ 'r', false, 0, true, true },
		{ 'r', false, 100, false, false },   /* same batch on another network */
		{ 'r', false, 5000, false, true },
		{ 'r', false, 10000, false, true },
		{ 'r', false, 10500, false, false },
		{ 'r', true, 11000, false, false },  /* corrected: episode over */
		{ 'r', true, 16000, false, false },
		{ 0 } } },
	{ "new mismatch after the host agreed is a new episode", true, {
		{ 'r', false, 0, true, true }, { 'r', true, 1000, false, false },
		{ 'r', false, 2000, true, true }, { 0 } } },
	{ "locked while unlocked is corrected too", false, {
		{ 'r', true, 0, true, true }, { 'r', true, 5000, false, true }, { 'r', false, 6000, false, false }, { 0 } } },
	{ "admin change ends the episode; the next mismatch logs again", true, {
		{ 'r', false, 0, true, true }, { 'U', false, 1000, false, false },
		{ 'r', false, 1500, false, false }, { 'L', false, 2000, false, false },
		{ 'r', false, 2500, true, true }, { 0 } } },
};

static void test_episode_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ep_rows) / sizeof(ep_rows[0]); i++) {
		const ep_row *row = &ep_rows[i];
		mtc_episode e;

		mtc_episode_init(&e, row->admin_locked);
		for (const ep_step *s = row->steps; s->what; s++) {
			mtc_decision d = { false, false };

			if (s->what == 'r')
				d = mtc_episode_on_report(&e, s->reported_locked, s->at_ms, 2000);
			else
				mtc_episode_set_admin(&e, s->what == 'L', s->at_ms);
			if (d.log != s->want_log || d.send != s->want_send)
				fail_msg("'%s' step %td: log=%d send=%d, want log=%d send=%d", row->name,
					 s - row->steps, d.log, d.send, s->want_log, s->want_send);
		}
	}
}

/* ---- fleet: one host's mtcAlive on one network (missing after 15 s) ---- */

typedef struct link_step {
	char what;        /* 'a' mtcAlive, 'c' check, 0 end */
	uint64_t at_ms;
	int want_event;   /* mtc_link_event */
	int want_state;   /* mtc_link_state after the step */
} link_step;

static const struct link_row {
	const char *name;
	link_step steps[10];
} link_rows[] = {
	{ "arriving every 5 s: never an event", {
		{ 'a', 1000, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 'c', 6000, MTC_LINK_NO_EVENT, MTC_LINK_UP },
		{ 'a', 6000, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 'c', 20999, MTC_LINK_NO_EVENT, MTC_LINK_UP },
		{ 'a', 21000, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 0 } } },
	{ "stops: logged once at 15 s, not again while silent", {
		{ 'a', 1000, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 'c', 15999, MTC_LINK_NO_EVENT, MTC_LINK_UP },
		{ 'c', 16000, MTC_LINK_STOPPED, MTC_LINK_MISSING }, { 'c', 17000, MTC_LINK_NO_EVENT, MTC_LINK_MISSING },
		{ 'c', 3600000, MTC_LINK_NO_EVENT, MTC_LINK_MISSING }, { 0 } } },
	{ "returns: logged once, then stops again: logged again", {
		{ 'a', 0, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 'c', 15000, MTC_LINK_STOPPED, MTC_LINK_MISSING },
		{ 'a', 40000, MTC_LINK_RETURNED, MTC_LINK_UP }, { 'a', 45000, MTC_LINK_NO_EVENT, MTC_LINK_UP },
		{ 'c', 59000, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 'c', 60000, MTC_LINK_STOPPED, MTC_LINK_MISSING },
		{ 'a', 61000, MTC_LINK_RETURNED, MTC_LINK_UP }, { 0 } } },
	{ "never arrives since watching started (field bug: mgmt down from boot): stopped at 15 s", {
		{ 'c', 14999, MTC_LINK_NO_EVENT, MTC_LINK_WAITING }, { 'c', 15000, MTC_LINK_STOPPED, MTC_LINK_MISSING },
		{ 'a', 30000, MTC_LINK_RETURNED, MTC_LINK_UP }, { 0 } } },
	{ "first mtcAlive while waiting is not a return", {
		{ 'a', 3000, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 'c', 17999, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 0 } } },
	{ "a clock that goes back is no stop", {
		{ 'a', 50000, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 'c', 1000, MTC_LINK_NO_EVENT, MTC_LINK_UP },
		{ 'a', 40000, MTC_LINK_NO_EVENT, MTC_LINK_UP }, { 'c', 64999, MTC_LINK_NO_EVENT, MTC_LINK_UP },
		{ 'c', 65000, MTC_LINK_STOPPED, MTC_LINK_MISSING }, { 0 } } },
};

static void test_fleet_link_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(link_rows) / sizeof(link_rows[0]); i++) {
		const struct link_row *row = &link_rows[i];
		mtc_link l;

		mtc_link_init(&l, 0);
		for (const link_step *s = row->steps; s->what; s++) {
			mtc_link_event e = s->what == 'a' ? mtc_link_on_alive(&l, s->at_ms) :
							    mtc_link_check(&l, s->at_ms, 15000);

			if ((int)e != s->want_event || (int)l.state != s->want_state)
				fail_msg("'%s' step %td: event %d state %s, want event %d state %s", row->name,
					 s - row->steps, e, mtc_link_state_name(l.state), s->want_event,
					 mtc_link_state_name((mtc_link_state)s->want_state));
		}
	}
}

/* An hour of a dead network checked every second: one stop; 0 = off. */
static void test_fleet_link_once_and_off(void **state)
{
	mtc_link l, off;
	unsigned stops = 0;

	(void)state;
	mtc_link_init(&l, 0);
	mtc_link_init(&off, 0);
	mtc_link_on_alive(&l, 0);
	mtc_link_on_alive(&off, 0);
	for (uint64_t t = 0; t < 3600 * 1000; t += 1000) {
		stops += mtc_link_check(&l, t, 15000) == MTC_LINK_STOPPED;
		assert_int_equal(mtc_link_check(&off, t, 0), MTC_LINK_NO_EVENT);
	}
	assert_int_equal(stops, 1);
	assert_int_equal(l.stops, 1);
	assert_int_equal(l.missing_ms, 0);
}

/* An hour of the field bug at 3 networks x 5 s: exactly one log line. */
static void test_episode_one_log_per_hour(void **state)
{
	mtc_episode e;
	unsigned logs = 0, sends = 0;

	(void)state;
	mtc_episode_init(&e, true);
	for (uint64_t t = 0; t < 3600 * 1000; t += 5000)
		for (int net = 0; net < 3; net++) {
			mtc_decision d = mtc_episode_on_report(&e, false, t + (uint64_t)net, 2000);
			logs += d.log;
			sends += d.send;
		}
	assert_int_equal(logs, 1);
	assert_int_equal(sends, 720); /* one per alive period, not three */
}

/* ---- client command guard: apply / duplicate / stale / old ---- */

static mtc_frame cmd(const uint8_t nonce[MTC_NONCE_LEN], uint32_t cmdseq)
{
	mtc_frame f = { .type = MTC_LOCKED, .boot = 1, .seq = 1, .cmdseq = cmdseq };

	memcpy(f.nonce, nonce, MTC_NONCE_LEN);
	return f;
}

typedef struct guard_row {
	const char *name;
	uint32_t last_applied;
	bool nonce_recent;
	uint32_t cmdseq;
	mtc_replay_verdict want;
} guard_row;

static const guard_row guard_rows[] = {
	{ "newer command, recent nonce: apply", 4, true, 5, MTC_REPLAY_FRESH },
	{ "first command ever", 0, true, 1, MTC_REPLAY_FRESH },
	{ "same command via another network: duplicate", 5, true, 5, MTC_REPLAY_DUPLICATE },
	{ "stolen Locked replayed after a later Unlocked, nonce still recent: old", 6, true, 5, MTC_REPLAY_OLD },
	{ "stolen command, nonce aged out: old (order checked first)", 6, false, 5, MTC_REPLAY_OLD },
	{ "newer command with an unknown nonce: stale", 4, false, 5, MTC_REPLAY_STALE },
	{ "wiped client (0) and a captured command: the nonce still guards", 0, false, 9, MTC_REPLAY_STALE },
	{ "agent far ahead after its state loss fix-up: apply", 3, true, 1000, MTC_REPLAY_FRESH },
	{ "duplicate with an aged-out nonce: stale", 5, false, 5, MTC_REPLAY_STALE },
};

static void test_command_guard_rows(void **state)
{
	uint8_t recent[MTC_NONCE_LEN], unknown[MTC_NONCE_LEN];
	mtc_replay r;

	(void)state;
	memset(recent, 0x11, sizeof(recent));
	memset(unknown, 0x22, sizeof(unknown));
	mtc_replay_init(&r);
	mtc_replay_add_nonce(&r, recent);
	for (size_t i = 0; i < sizeof(guard_rows) / sizeof(guard_rows[0]); i++) {
		const guard_row *g = &guard_rows[i];
		mtc_frame f = cmd(g->nonce_recent ? recent : unknown, g->cmdseq);
		mtc_replay_verdict v = mtc_replay_check(&r, g->last_applied, &f);

		if (v != g->want)
			fail_msg("'%s': verdict %d, want %d", g->name, v, g->want);
	}
}

static void test_replay_nonce_window(void **state)
{
	mtc_replay r;
	uint8_t n[40][MTC_NONCE_LEN];
	mtc_frame f;

	(void)state;
	for (int i = 0; i < 40; i++)
		memset(n[i], i + 1, MTC_NONCE_LEN);
	mtc_replay_init(&r);
	f = cmd(n[0], 1);
	assert_int_equal(mtc_replay_check(&r, 0, &f), MTC_REPLAY_STALE); /* no nonce sent yet */
	mtc_replay_add_nonce(&r, n[0]);
	assert_int_equal(mtc_replay_check(&r, 0, &f), MTC_REPLAY_FRESH);
	/* Age the nonce out: a captured command replayed later is stale. */
	for (int i = 1; i <= MTC_RECENT_NONCES; i++)
		mtc_replay_add_nonce(&r, n[i]);
	assert_int_equal(mtc_replay_check(&r, 0, &f), MTC_REPLAY_STALE);
	f = cmd(n[MTC_RECENT_NONCES], 1);
	assert_int_equal(mtc_replay_check(&r, 0, &f), MTC_REPLAY_FRESH);
}

/* ---- agent: ordering of a host's frames ---- */

typedef struct order_step {
	uint32_t boot, seq;
	int net;
	uint64_t at_ms;
	mtc_rx_verdict want;
} order_step;

typedef struct order_row {
	const char *name;
	order_step steps[10];
} order_row;

#define SILENCE 60000
#define END { 0, 0, -1, 0, 0 }

static const order_row order_rows[] = {
	{ "first frame, then in order on every network", {
		{ 10, 1, 0, 0, MTC_RX_NEW_BOOT }, { 10, 2, 1, 1, MTC_RX_ACCEPT }, { 10, 3, 2, 2, MTC_RX_ACCEPT }, END } },
	{ "reordered across networks: seen, not applied", {
		{ 10, 5, 0, 0, MTC_RX_NEW_BOOT }, { 10, 4, 1, 1, MTC_RX_REORDERED }, { 10, 6, 1, 2, MTC_RX_ACCEPT }, END } },
	{ "replay of an old frame of this boot: stale", {
		{ 10, 5, 0, 0, MTC_RX_NEW_BOOT }, { 10, 5, 0, 1, MTC_RX_STALE }, { 10, 3, 0, 2, MTC_RX_STALE }, END } },
	{ "issue 11 attack: old boot and old frame alternately never reset", {
		{ 10, 1, 0, 0, MTC_RX_NEW_BOOT }, { 10, 7, 0, 5000, MTC_RX_ACCEPT },
		{ 9, 100, 0, 5100, MTC_RX_OLD_BOOT }, { 10, 1, 0, 5200, MTC_RX_STALE },
		{ 9, 100, 0, 5300, MTC_RX_OLD_BOOT }, { 10, 1, 0, 5400, MTC_RX_STALE },
		{ 10, 8, 0, 10000, MTC_RX_ACCEPT }, END } },
	{ "client restart: higher boot resets ordering", {
		{ 10, 900, 0, 0, MTC_RX_NEW_BOOT }, { 11, 1, 0, 1000, MTC_RX_NEW_BOOT }, { 11, 2, 1, 1001, MTC_RX_ACCEPT },
		{ 10, 901, 0, 1002, MTC_RX_OLD_BOOT }, END } },
	{ "lower boot after silence on every network: wiped node, reset", {
		{ 10, 5, 0, 0, MTC_RX_NEW_BOOT }, { 10, 6, 1, 10, MTC_RX_ACCEPT },
		{ 1, 1, 0, 10 + SILENCE - 1, MTC_RX_OLD_BOOT }, { 1, 1, 0, 10 + SILENCE, MTC_RX_BOOT_RESET },
		{ 1, 2, 1, 10 + SILENCE + 1, MTC_RX_ACCEPT }, END } },
	{ "lower boot while one network still hears the host: no reset", {
		{ 10, 5, 0, 0, MTC_RX_NEW_BOOT }, { 10, 6, 2, SILENCE, MTC_RX_ACCEPT },
		{ 1, 1, 0, SILENCE + 100, MTC_RX_OLD_BOOT }, END } },
	{ "dropped frames do not count as heard", {
		{ 10, 5, 0, 0, MTC_RX_NEW_BOOT }, { 10, 5, 0, SILENCE - 1, MTC_RX_STALE },
		{ 1, 1, 0, SILENCE, MTC_RX_BOOT_RESET }, END } },
};

static void test_agent_order_rows(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(order_rows) / sizeof(order_rows[0]); i++) {
		const order_row *row = &order_rows[i];
		mtc_order o;

		memset(&o, 0, sizeof(o));
		for (const order_step *s = row->steps; s->net >= 0; s++) {
			mtc_rx_verdict v = mtc_order_check(&o, s->boot, s->seq, s->net, s->at_ms, SILENCE);

			if (v != s->want)
				fail_msg("'%s' step %td: %s, want %s", row->name, s - row->steps, mtc_rx_verdict_name(v),
					 mtc_rx_verdict_name(s->want));
			mtc_order_apply(&o, v, s->boot, s->seq, s->net, s->at_ms);
		}
	}
	assert_true(mtc_order_in_order(MTC_RX_ACCEPT) && mtc_order_in_order(MTC_RX_NEW_BOOT) &&
		    mtc_order_in_order(MTC_RX_BOOT_RESET));
	assert_false(mtc_order_in_order(MTC_RX_REORDERED) || mtc_order_in_order(MTC_RX_STALE) ||
		     mtc_order_in_order(MTC_RX_OLD_BOOT));
}

static void test_ratelog(void **state)
{
	mtc_ratelog r = { 0 };
	unsigned long n = 0, lines = 0, total = 0;

	(void)state;
	/* 100,000 hits over 20 s: the first at once, then one per interval. */
	for (uint64_t i = 0; i < 100000; i++) {
		uint64_t t = i / 5;

		if (mtc_ratelog_hit(&r, t, 10000, &n)) {
			lines++;
			total += n;
		}
		if (i % 1000 == 0 && mtc_ratelog_flush(&r, t, 10000, &n)) {
			lines++;
			total += n;
		}
	}
	assert_true(lines <= 3);
	if (mtc_ratelog_flush(&r, 40000, 10000, &n))
		total += n;
	assert_int_equal(total, 100000); /* every hit is in some line */
	/* Quiet for a whole interval: the next hit logs at once again. */
	assert_false(mtc_ratelog_flush(&r, 60000, 10000, &n));
	assert_true(mtc_ratelog_hit(&r, 60001, 10000, &n));
	assert_int_equal(n, 1);
}

/* ---- recovery walk ---- */

typedef struct fake_net {
	bool fail[MTC_NET_COUNT];
	bool fail_tx[MTC_NET_COUNT]; /* only the unbound-port (tx) open fails */
	bool fail_rx[MTC_NET_COUNT]; /* only the fixed-port (rx) open fails: EADDRINUSE */
	int attempts[MTC_NET_COUNT];
	int order[16];
	int n_order;
	int next_fd;
	int closed;
} fake_net;

static int fake_open(void *user, int net, const struct sockaddr_in *addr, int port)
{
	fake_net *f = user;

	(void)addr;
	f->attempts[net]++;
	if (f->n_order < 16)
		f->order[f->n_order++] = net;
	if (f->fail[net] || (port == 0 && f->fail_tx[net]))
		return -EADDRNOTAVAIL;
	if (port != 0 && f->fail_rx[net])
		return -EADDRINUSE;
	return 100 + f->next_fd++;
}

static void fake_close(void *user, int fd)
{
	(void)fd;
	((fake_net *)user)->closed++;
}

static const mtc_sock_ops fake_ops = { fake_open, fake_close };

static void setup_socks(mtc_sock s[MTC_NET_COUNT], bool pxe, bool mgmt, bool cluster)
{
	mtc_sock_config(&s[MTC_NET_PXEBOOT], pxe ? "10.0.1.2" : "", 2119);
	mtc_sock_config(&s[MTC_NET_MGMT], mgmt ? "10.0.2.2" : "", 2118);
	mtc_sock_config(&s[MTC_NET_CLUSTER], cluster ? "10.0.3.2" : "", 2115);
}

/* Every subset of failing networks: the walk tries all, in order, and the
 * healthy ones come up whatever fails before or after them. */
static void test_recovery_all_failure_combinations(void **state)
{
	(void)state;
	for (int mask = 0; mask < 8; mask++) {
		fake_net f = { 0 };
		mtc_sock s[MTC_NET_COUNT];
		int order[MTC_NET_COUNT];

		for (int i = 0; i < MTC_NET_COUNT; i++)
			f.fail[i] = mask & (1 << i);
		setup_socks(s, true, true, true);
		assert_int_equal(mtc_net_recover_all(s, &fake_ops, &f, order), 3);
		assert_int_equal(order[0], MTC_NET_PXEBOOT);
		assert_int_equal(order[1], MTC_NET_MGMT);
		assert_int_equal(order[2], MTC_NET_CLUSTER);
		for (int i = 0; i < MTC_NET_COUNT; i++) {
			if (mtc_sock_up(&s[i]) == f.fail[i])
				fail_msg("mask %d: net %d up=%d", mask, i, mtc_sock_up(&s[i]));
			if (f.fail[i])
				assert_int_equal(s[i].last_error, -EADDRNOTAVAIL);
		}
	}
}

static void test_recovery_retries_only_failed(void **state)
{
	fake_net f = { .fail = { true, false, false } };
	mtc_sock s[MTC_NET_COUNT];
	int order[MTC_NET_COUNT];

	(void)state;
	setup_socks(s, true, true, true);
	mtc_net_recover_all(s, &fake_ops, &f, order);
	assert_false(mtc_sock_up(&s[MTC_NET_PXEBOOT]));
	assert_true(mtc_sock_up(&s[MTC_NET_MGMT]));
	/* Next tick: only pxeboot is retried; it now succeeds. */
	f.fail[MTC_NET_PXEBOOT] = false;
	assert_int_equal(mtc_net_recover_all(s, &fake_ops, &f, order), 1);
	assert_int_equal(order[0], MTC_NET_PXEBOOT);
	assert_true(mtc_sock_up(&s[MTC_NET_PXEBOOT]));
	assert_int_equal(s[MTC_NET_PXEBOOT].recoveries, 1);
	/* Closed (FIT close_mgmt): recovered next tick, alone. */
	mtc_sock_close(&s[MTC_NET_MGMT], &fake_ops, &f);
	assert_int_equal(mtc_net_recover_all(s, &fake_ops, &f, order), 1);
	assert_int_equal(order[0], MTC_NET_MGMT);
	assert_int_equal(mtc_net_recover_all(s, &fake_ops, &f, order), 0);
}

static void test_recovery_skips_unprovisioned(void **state)
{
	fake_net f = { 0 };
	mtc_sock s[MTC_NET_COUNT];
	int order[MTC_NET_COUNT];

	(void)state;
	setup_socks(s, true, false, false); /* only pxeboot provisioned */
	assert_int_equal(mtc_net_recover_all(s, &fake_ops, &f, order), 1);
	assert_true(mtc_sock_up(&s[MTC_NET_PXEBOOT]));
	assert_int_equal(f.attempts[MTC_NET_MGMT], 0);
}

static void test_recovery_half_open_closed(void **state)
{
	/* rx opens, tx fails: the rx socket is closed again, nothing stays
	 * half open, and the next tick retries both. */
	fake_net f = { .fail_tx = { false, true, false } };
	mtc_sock s[MTC_NET_COUNT];

	(void)state;
	setup_socks(s, true, true, true);
	mtc_net_recover_all(s, &fake_ops, &f, NULL);
	assert_false(mtc_sock_up(&s[MTC_NET_MGMT]));
	assert_int_equal(s[MTC_NET_MGMT].rx_fd, -1);
	assert_int_equal(f.closed, 1);
	assert_true(mtc_sock_up(&s[MTC_NET_CLUSTER]));
	f.fail_tx[MTC_NET_MGMT] = false;
	mtc_net_recover_all(s, &fake_ops, &f, NULL);
	assert_true(mtc_sock_up(&s[MTC_NET_MGMT]));
	assert_int_equal(f.attempts[MTC_NET_MGMT], 4); /* rx+tx twice */
}

static void test_recovery_rx_port_squatted(void **state)
{
	/* Another process holds the rx port: the tx socket still opens (mtcAlive
	 * goes out, commands come back to it), the rx bind is retried alone. */
	fake_net f = { .fail_rx = { true, false, false } };
	mtc_sock s[MTC_NET_COUNT];

	(void)state;
	setup_socks(s, true, true, true);
	mtc_net_recover_all(s, &fake_ops, &f, NULL);
	assert_false(mtc_sock_up(&s[MTC_NET_PXEBOOT]));
	assert_true(mtc_sock_can_send(&s[MTC_NET_PXEBOOT]));
	assert_int_equal(s[MTC_NET_PXEBOOT].last_error, -EADDRINUSE);
	assert_int_equal(f.closed, 0);
	assert_true(mtc_sock_up(&s[MTC_NET_MGMT]));
	mtc_net_recover_all(s, &fake_ops, &f, NULL);
	assert_int_equal(f.attempts[MTC_NET_PXEBOOT], 3); /* rx, tx, then rx alone */
	f.fail_rx[MTC_NET_PXEBOOT] = false;
	mtc_net_recover_all(s, &fake_ops, &f, NULL);
	assert_true(mtc_sock_up(&s[MTC_NET_PXEBOOT]));
	assert_int_equal(s[MTC_NET_PXEBOOT].last_error, 0);
}

/* ---- lock flag files ---- */

static char dir[64];
static char flag[128], backup[128];

static int flag_setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/hwm-flag.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(flag, sizeof(flag), "%s/run/.node_locked", dir);
	snprintf(backup, sizeof(backup), "%s/persist/mtc/.node_locked", dir);
	return 0;
}

static int flag_teardown(void **state)
{
	char cmdline[128];

	(void)state;
	snprintf(cmdline, sizeof(cmdline), "rm -rf %s", dir);
	return system(cmdline) == 0 ? 0 : -1;
}

/* A writer killed between open and rename leaves "<flag>.tmp.<pid>": the
 * next start removes it, and only it. */
static void test_stale_tmp_removed(void **state)
{
	char path[256], keep[6][256];
	const char *keep_fmt[] = { "%s.tmp.%d", "%s.tmp.1", "%s.tmp.abc", "%s.tmpx.%d", "%s.tmp.", "%s.tmp.-%d" };
	pid_t dead = fork();

	(void)state;
	if (dead == 0)
		_exit(0);
	assert_true(dead > 0);
	assert_int_equal(waitpid(dead, NULL, 0), dead);
	assert_int_equal(fileops_write_atomic(flag, "x", 1, 0644), 0);
	snprintf(path, sizeof(path), "%s.tmp.%d", flag, (int)dead);
	assert_int_equal(fileops_write_atomic(path, "half", 4, 0644), 0);
	/* ours (a write in progress), pid 1 (alive), not a pid, other names */
	for (int i = 0; i < 6; i++) {
		snprintf(keep[i], sizeof(keep[i]), keep_fmt[i], flag, i == 0 ? (int)getpid() : (int)dead);
		assert_int_equal(fileops_write_atomic(keep[i], "k", 1, 0644), 0);
	}
	assert_int_equal(fileops_remove_stale_tmp(flag), 1);
	assert_false(util_path_exists(path));
	assert_true(util_path_exists(flag));
	for (int i = 0; i < 6; i++)
		assert_true(util_path_exists(keep[i]));
	assert_int_equal(fileops_remove_stale_tmp(flag), 0);
	assert_int_equal(fileops_remove_stale_tmp(backup), 0); /* directory absent: nothing to do */
}

static void test_flag_lifecycle(void **state)
{
	char want[160], have[160];
	int n;

	(void)state;
	assert_int_equal(mtc_flag_restore_at_start(flag, backup, "n1"), MTC_FLAG_UNCHANGED_UNLOCKED);
	assert_int_equal(mtc_flag_lock(flag, backup, "n1"), 0);
	n = mtc_flag_content("n1", want, sizeof(want));
	assert_int_equal(fileops_read_small(flag, have, sizeof(have)), n);
	assert_memory_equal(have, want, (size_t)n);
	assert_int_equal(fileops_read_small(backup, have, sizeof(have)), n);
	assert_int_equal(mtc_flag_lock(flag, backup, "n1"), 0); /* duplicate is harmless */
	assert_int_equal(mtc_flag_restore_at_start(flag, backup, "n1"), MTC_FLAG_UNCHANGED_LOCKED);
	/* Reboot: /var/run is empty, the backup survives. */
	unlink(flag);
	assert_int_equal(mtc_flag_restore_at_start(flag, backup, "n1"), MTC_FLAG_RESTORED);
	assert_true(util_path_exists(flag));
	assert_int_equal(mtc_flag_unlock(flag, backup), 0);
	assert_false(util_path_exists(flag));
	assert_false(util_path_exists(backup));
	assert_int_equal(mtc_flag_unlock(flag, backup), 0); /* duplicate is harmless */
	/* Crash between the two removals of an unlock: flag without backup. */
	assert_int_equal(mtc_flag_lock(flag, backup, "n1"), 0);
	unlink(backup);
	assert_int_equal(mtc_flag_restore_at_start(flag, backup, "n1"), MTC_FLAG_STALE_REMOVED);
	assert_false(util_path_exists(flag));
	/* A torn or foreign backup is rewritten whole. */
	fileops_mkdir_parents(dir, 0755);
	assert_int_equal(fileops_write_atomic(backup, "x", 1, 0644), 0);
	assert_int_equal(mtc_flag_restore_at_start(flag, backup, "n1"), MTC_FLAG_RESTORED);
	assert_int_equal(fileops_read_small(backup, have, sizeof(have)), n);
}

static void test_flag_write_failure_reported(void **state)
{
	char bad[200];

	(void)state;
	if (geteuid() == 0) {
		/* root ignores permissions: use a path under a regular file. */
		snprintf(bad, sizeof(bad), "%s/file", dir);
		fileops_write_atomic(bad, "x", 1, 0644);
		strcat(bad, "/sub/.node_locked");
	} else {
		snprintf(bad, sizeof(bad), "/proc/hwm-no-such/.node_locked");
	}
	assert_true(mtc_flag_lock(flag, bad, "n1") < 0);
	/* Backup failed first: the flag was not written either. */
	assert_false(util_path_exists(flag));
}

/* ---- config ---- */

static void test_config_and_hosts(void **state)
{
	mtc_config c;
	mtc_host_list l;
	conf_errors e = { 0 };

	(void)state;
	assert_int_equal(mtc_config_load_string(&c, "", &e), 0);
	assert_int_equal(c.alive_period, 5);
	assert_int_equal(c.net[MTC_NET_PXEBOOT].agent_port, 2102);
	assert_int_equal(c.net[MTC_NET_MGMT].agent_port, 2101);
	assert_int_equal(c.net[MTC_NET_CLUSTER].agent_port, 2101);
	assert_int_equal(c.net[MTC_NET_PXEBOOT].client_port, 2119);
	assert_int_equal(c.net[MTC_NET_MGMT].client_port, 2118);
	assert_int_equal(c.net[MTC_NET_CLUSTER].client_port, 2115);
	assert_string_equal(c.locked_backup, "/var/persist/mtc/.node_locked");
	assert_true(c.auth_enabled);
	assert_false(c.fit_enabled);

	memset(&e, 0, sizeof(e));
	assert_int_equal(mtc_config_load_string(&c, "[mgmt]\naddress = 10.0.0.300\n", &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:2: [mgmt] address = 10.0.0.300: not an IPv4 address"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(mtc_config_load_string(&c, "[cluster]\nclient_port = 70000\n", &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:2: [cluster] client_port"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(mtc_config_load_string(&c, "[client]\nhostname = a b\n", &e), -EINVAL);

	memset(&e, 0, sizeof(e));
	assert_int_equal(mtc_hosts_load_string(&l, "[host b]\npxeboot = 10.0.1.3\n[host a]\nmgmt = 10.0.2.2\n"
						   "pxeboot = 10.0.1.2\n", &e), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].name, "a"); /* sorted */
	assert_string_equal(l.v[0].addr[MTC_NET_MGMT], "10.0.2.2");
	assert_string_equal(l.v[0].addr[MTC_NET_CLUSTER], "");
	mtc_hosts_free(&l);
	memset(&e, 0, sizeof(e));
	assert_int_equal(mtc_hosts_load_string(&l, "[host a]\npxeboot = 1.2.3.4\n[host a]\nmgmt = 1.2.3.5\n", &e), -EINVAL);
	assert_non_null(strstr(e.text, "defined twice"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(mtc_hosts_load_string(&l, "[host a]\noam = 1.2.3.4\n", &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:2: [host a] unknown key 'oam'"));
	/* A bad first key must not leave the section without an entry
	 * (fuzzer finding: the next key wrote through v[-1]). */
	memset(&e, 0, sizeof(e));
	assert_int_equal(mtc_hosts_load_string(&l, "[host a]\noam = 1.2.3.4\npxeboot = 1.2.3.4\n", &e), -EINVAL);
	memset(&e, 0, sizeof(e));
	assert_int_equal(mtc_hosts_load_string(&l, "[hots a]\npxeboot = 1.2.3.4\n", &e), -EINVAL);
}

/* The client's boot counter and command sequence files. */
static void test_boot_counter(void **state)
{
	char path[160], buf[32];
	mtc_config cfg;
	conf_errors e = { 0 };
	uint32_t v = 0, b1, b2;
	bool persisted = false;
	int err = 0;

	(void)state;
	snprintf(path, sizeof(path), "%s/persist/mtc/.boot_count", dir);
	assert_int_equal(mtc_counter_read(path, &v), -ENOENT);
	/* Missing: from the wall clock, above any counter of an earlier install. */
	b1 = mtc_daemon_next_boot(path, &persisted, &err);
	assert_true(persisted);
	assert_true(b1 > 1700000000u);
	b2 = mtc_daemon_next_boot(path, &persisted, &err);
	assert_int_equal(b2, b1 + 1);
	assert_int_equal(mtc_counter_read(path, &v), 0);
	assert_int_equal(v, b2);
	fileops_write_atomic(path, "41\n", 3, 0644);
	assert_int_equal(mtc_daemon_next_boot(path, &persisted, &err), 42);
	fileops_write_atomic(path, "junk", 4, 0644);
	assert_int_equal(mtc_counter_read(path, &v), -EBADMSG);
	assert_true(mtc_daemon_next_boot(path, &persisted, &err) > 1700000000u);
	/* Unwritable: reported, so the client can refuse to start. */
	snprintf(path, sizeof(path), "%s/persist/mtc/.boot_count/sub", dir);
	mtc_daemon_next_boot(path, &persisted, &err);
	assert_false(persisted);
	assert_true(err < 0);
	/* Default paths sit beside locked_backup. */
	assert_int_equal(mtc_config_load_string(&cfg, "[client]\nlocked_backup = /p/mtc/.node_locked\n", &e), 0);
	mtc_client_state_path(&cfg, cfg.boot_file, ".boot_count", buf, sizeof(buf));
	assert_string_equal(buf, "/p/mtc/.boot_count");
	mtc_client_state_path(&cfg, "/x/seq", ".cmdseq", buf, sizeof(buf));
	assert_string_equal(buf, "/x/seq");
}

static void test_key_file_rules(void **state)
{
	char path[160], msg[256];
	mtc_key k;

	(void)state;
	snprintf(path, sizeof(path), "%s/mtc.key", dir);
	assert_int_equal(mtc_key_load(path, &k, msg, sizeof(msg)), -ENOENT);
	assert_non_null(strstr(msg, "mtcctl keygen"));
	assert_int_equal(mtc_key_generate(path), 0);
	assert_int_equal(mtc_key_generate(path), -EEXIST);
	assert_int_equal(mtc_key_load(path, &k, msg, sizeof(msg)), 0);
	assert_true(k.enabled);
	chmod(path, 0644);
	assert_int_equal(mtc_key_load(path, &k, msg, sizeof(msg)), -EPERM);
	assert_non_null(strstr(msg, "chmod 600"));
	unlink(path);
	fileops_write_atomic(path, "short", 5, 0600);
	assert_int_equal(mtc_key_load(path, &k, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "exactly 32 bytes"));
	/* A FIFO must not hang the start; a directory is named as such. */
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(mtc_key_load(path, &k, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "a FIFO"));
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mtc_key_load(path, &k, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "a directory"));
	rmdir(path);
	/* Owned by someone else (only testable as root). */
	assert_int_equal(mtc_key_generate(path), 0);
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 65534, 65534), 0);
		assert_int_equal(mtc_key_load(path, &k, msg, sizeof(msg)), -EPERM);
		assert_non_null(strstr(msg, "owned by uid 65534"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_episode_rows),
		cmocka_unit_test(test_episode_one_log_per_hour),
		cmocka_unit_test(test_fleet_link_rows),
		cmocka_unit_test(test_fleet_link_once_and_off),
		cmocka_unit_test(test_command_guard_rows),
		cmocka_unit_test(test_replay_nonce_window),
		cmocka_unit_test(test_agent_order_rows),
		cmocka_unit_test(test_ratelog),
		cmocka_unit_test(test_recovery_all_failure_combinations),
		cmocka_unit_test(test_recovery_retries_only_failed),
		cmocka_unit_test(test_recovery_skips_unprovisioned),
		cmocka_unit_test(test_recovery_half_open_closed),
		cmocka_unit_test(test_recovery_rx_port_squatted),
		cmocka_unit_test_setup_teardown(test_flag_lifecycle, flag_setup, flag_teardown),
		cmocka_unit_test_setup_teardown(test_stale_tmp_removed, flag_setup, flag_teardown),
		cmocka_unit_test_setup_teardown(test_flag_write_failure_reported, flag_setup, flag_teardown),
		cmocka_unit_test(test_config_and_hosts),
		cmocka_unit_test_setup_teardown(test_key_file_rules, flag_setup, flag_teardown),
		cmocka_unit_test_setup_teardown(test_boot_counter, flag_setup, flag_teardown),
	};
	return cmocka_run_group_tests_name("mtc_logic", tests, NULL, NULL);
}
