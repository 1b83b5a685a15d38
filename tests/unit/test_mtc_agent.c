/* The agent's seam: libmtcagent.a driven with a fake store (an ops table
 * the test answers by hand), a fake clock (util_now_ms wrapped) and fake
 * sockets (sendto wrapped: the frames are decoded and kept). mtcAlive
 * frames go in through agent_handle_frame as from the network. Drives a
 * lock, a report mismatch, a store outage and a second agent's newer order. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "mtc_agent.h"

#define MAX_FRAMES 64
#define MAX_PUTS 8

static agent A;
static uint64_t now_ms = 100000;
static mtc_frame sent[MAX_FRAMES];
static int n_sent;
static uint32_t client_seq;

uint64_t __wrap_util_now_ms(void);
ssize_t __wrap_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen);

uint64_t __wrap_util_now_ms(void)
{
	return now_ms;
}

ssize_t __wrap_sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *to, socklen_t tolen)
{
	mtc_frame f;

	(void)fd, (void)flags, (void)to, (void)tolen;
	if (mtc_decode(buf, n, &A.key, &f) == 0 && n_sent < MAX_FRAMES)
		sent[n_sent++] = f;
	return (ssize_t)n;
}

/* ---- the fake store: what it was asked, answered by the test ---- */

typedef struct fake_put {
	char host[MTC_HOSTNAME_MAX + 1];
	mtc_admin_value value;
	uint32_t seq;
	int64_t if_version;
	void *ctx;
} fake_put;

static struct {
	mtc_store_env env;
	bool shared, loaded, healthy;
	int reads;
	fake_put puts[MAX_PUTS];
	int n_puts;
} fake;

static int fake_open(const mtc_store_env *env, mtc_store **ret)
{
	fake.env = *env;
	*ret = (mtc_store *)&fake;
	return 0;
}

static void fake_close(mtc_store *s)
{
	(void)s;
}

static void fake_read(mtc_store *s)
{
	(void)s;
	fake.reads++;
}

static void fake_put_fn(mtc_store *s, const char *host, mtc_admin_value value, uint32_t seq, int64_t if_version,
			void *ctx)
{
	(void)s;
	assert_true(fake.n_puts < MAX_PUTS);
	fake_put *p = &fake.puts[fake.n_puts++];
	snprintf(p->host, sizeof(p->host), "%s", host);
	p->value = value;
	p->seq = seq;
	p->if_version = if_version;
	p->ctx = ctx;
}

static void fake_describe(mtc_store *s, char *buf, size_t size)
{
	(void)s;
	snprintf(buf, size, "fake");
}

static void fake_health(mtc_store *s, mtc_store_health *ret)
{
	(void)s;
	*ret = (mtc_store_health){ .loaded = fake.loaded, .healthy = fake.healthy };
}

static void fake_state(mtc_store *s, mtc_admin_store *ret)
{
	(void)s;
	*ret = (mtc_admin_store){ .shared = fake.shared, .loaded = fake.loaded, .healthy = fake.healthy };
}

static const mtc_store_ops fake_file = { "fake-file", false, fake_open, fake_close, fake_read, fake_put_fn,
					 fake_describe, fake_health, fake_state };
static const mtc_store_ops fake_etcd = { "fake-etcd", true, fake_open, fake_close, fake_read, fake_put_fn,
					 fake_describe, fake_health, fake_state };

static void store_event(mtc_store_event ev)
{
	fake.env.on_event(fake.env.user, &ev);
}

/* The store holds node-1 at value/version/seq (a read or a watched change). */
static void store_changed(mtc_admin_value value, int64_t version, uint32_t seq)
{
	store_event((mtc_store_event){ .kind = MTC_STORE_CHANGED, .host = "node-1", .value = value,
				       .version = version, .seq = seq, .why = "change" });
}

/* Answer put i: r = 0 stored at version (the file store's seq is the put's). */
static void answer_put(int i, int r, int64_t version, uint32_t seq)
{
	fake_put *p = &fake.puts[i];

	store_event((mtc_store_event){ .kind = MTC_STORE_PUT, .host = p->host, .value = p->value, .version = version,
				       .seq = seq, .r = r, .why = r ? "failed" : NULL, .ctx = p->ctx });
}

/* ---- the agent ---- */

static void setup_agent(const mtc_store_ops *ops, bool loaded)
{
	agent_host *h;

	memset(&A, 0, sizeof(A));
	memset(&fake, 0, sizeof(fake));
	fake.shared = ops->shared;
	fake.loaded = loaded;
	fake.healthy = true;
	n_sent = 0;
	conf_set_defaults(&mtc_conf_table, &A.cfg);
	A.key.enabled = true;
	memset(A.key.bytes, 7, sizeof(A.key.bytes));
	A.hosts = calloc(1, sizeof(*A.hosts));
	assert_non_null(A.hosts);
	A.n_hosts = 1;
	h = &A.hosts[0];
	mtc_admin_init(&h->adm);
	strcpy(h->entry.name, "node-1");
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		h->has_dest[net] = true;
		h->dest[net].sin_family = AF_INET;
		h->dest[net].sin_port = htons(2119);
		h->dest[net].sin_addr.s_addr = htonl(0x7f000101u + (unsigned)net);
		A.io.socks[net].provisioned = true;
		A.io.socks[net].tx_fd = 1000 + net; /* sendto is wrapped */
		A.io.socks[net].rx_fd = -1;
	}
	agent_fleet_watch(h, NULL, now_ms);
	A.store = ops;
	assert_int_equal(agent_store_open(&A), 0);
	if (loaded)
		store_event((mtc_store_event){ .kind = MTC_STORE_LOADED });
}

static void teardown_agent(void)
{
	agent_store_close(&A);
	free(A.hosts);
}

/* node-1's mtcAlive (via pxeboot), as the client sends it. */
static void alive(bool locked, uint32_t applied)
{
	mtc_frame f = { .type = MTC_ALIVE, .net = MTC_NET_PXEBOOT, .boot = 1, .seq = ++client_seq, .cmdseq = applied,
			.flags = MTC_FLAG_CONFIGURED | (locked ? MTC_FLAG_LOCKED : 0) };
	struct sockaddr_in from = { .sin_family = AF_INET, .sin_port = htons(2118) };
	uint8_t buf[MTC_FRAME_MAX];
	int n;

	from.sin_addr.s_addr = htonl(0x7f000909u);
	strcpy(f.hostname, "node-1");
	memset(f.nonce, 0x5a, sizeof(f.nonce));
	n = mtc_encode(&f, &A.key, buf, sizeof(buf));
	assert_true(n > 0);
	agent_handle_frame(&A, MTC_NET_PXEBOOT, buf, (size_t)n, &from);
}

/* The last command sent went out on all three networks as type/cmdseq. */
static void expect_sent(int frames_before, uint8_t type, uint32_t cmdseq)
{
	assert_int_equal(n_sent, frames_before + MTC_NET_COUNT);
	for (int i = frames_before; i < n_sent; i++) {
		assert_int_equal(sent[i].type, type);
		assert_int_equal(sent[i].cmdseq, cmdseq);
		assert_int_equal(sent[i].net, i - frames_before);
	}
}

static int done_r = 1;

static void on_done(agent *a, agent_host *h, int r, const char *why, void *ctx)
{
	(void)a, (void)h, (void)why, (void)ctx;
	done_r = r;
}

/* A lock: stored first (nothing sent before the store answers), then sent
 * with a sequence above the host's; a failed put sends nothing. */
static void test_lock(void **state)
{
	int before;

	(void)state;
	setup_agent(&fake_file, true);
	store_changed(MTC_ADMIN_UNLOCKED, 1, 3);
	alive(false, 3);
	assert_int_equal(n_sent, 0); /* agrees */
	agent_set_admin(&A, &A.hosts[0], true, on_done, NULL);
	assert_int_equal(fake.n_puts, 1);
	assert_int_equal(fake.puts[0].value, MTC_ADMIN_LOCKED);
	assert_int_equal(fake.puts[0].seq, 4);
	assert_int_equal(fake.puts[0].if_version, -1);
	assert_int_equal(n_sent, 0);
	answer_put(0, 0, 2, 4);
	assert_int_equal(done_r, 0);
	expect_sent(0, MTC_LOCKED, 4);
	/* unlock refused by the store: nothing changes, nothing sent */
	before = n_sent;
	agent_set_admin(&A, &A.hosts[0], false, on_done, NULL);
	answer_put(1, -EIO, 0, 0);
	assert_int_equal(done_r, -EIO);
	assert_int_equal(n_sent, before);
	assert_true(mtc_admin_locked(&A.hosts[0].adm));
	teardown_agent();
}

/* A host reports unlocked while locked: the command it has not applied
 * is resent, once per resend interval; one it applied needs a newer
 * sequence, which the (file) store persists before it is sent. */
static void test_report_mismatch(void **state)
{
	(void)state;
	setup_agent(&fake_file, true);
	store_changed(MTC_ADMIN_LOCKED, 1, 5);
	alive(false, 3);
	expect_sent(0, MTC_LOCKED, 5);
	now_ms += 100;
	alive(false, 3);
	assert_int_equal(n_sent, 3); /* resend not due */
	now_ms += (uint64_t)A.cfg.resend_interval_ms;
	alive(false, 3);
	expect_sent(3, MTC_LOCKED, 5);
	/* applied 5 and still unlocked: a newer sequence, stored first */
	now_ms += (uint64_t)A.cfg.resend_interval_ms;
	alive(false, 5);
	assert_int_equal(n_sent, 6);
	assert_int_equal(fake.n_puts, 1);
	assert_int_equal(fake.puts[0].seq, 6);
	assert_int_equal(fake.puts[0].if_version, 1);
	answer_put(0, 0, 2, 6);
	expect_sent(6, MTC_LOCKED, 6);
	teardown_agent();
}

/* etcd unavailable: Locked still goes out (this agent's own sequence);
 * Unlocked is never sent without the store's order; a failed re-put falls
 * back to the same. */
static void test_store_outage(void **state)
{
	(void)state;
	setup_agent(&fake_etcd, true);
	store_changed(MTC_ADMIN_LOCKED, 20, 20);
	fake.healthy = false;
	alive(false, 20);
	expect_sent(0, MTC_LOCKED, 21);
	assert_int_equal(fake.n_puts, 0);
	teardown_agent();

	setup_agent(&fake_etcd, true);
	store_changed(MTC_ADMIN_UNLOCKED, 20, 20);
	alive(true, 20);
	assert_int_equal(fake.n_puts, 1); /* healthy: the store orders a newer one */
	fake.healthy = false;
	answer_put(0, -EIO, 0, 0);
	assert_int_equal(n_sent, 0);
	teardown_agent();

	/* the first read on its way: nothing judged; never read: read first */
	setup_agent(&fake_etcd, false);
	alive(false, 0);
	assert_int_equal(n_sent, 0);
	assert_int_equal(fake.reads, 0);
	fake.healthy = false;
	now_ms += 5000;
	alive(false, 0);
	assert_int_equal(fake.reads, 1);
	assert_int_equal(n_sent, 0);
	teardown_agent();
}

/* Another agent's newer order: through etcd it is applied and sent; with
 * the file store (the host applied a command this agent never issued) it
 * is held, not fought over, and shown unknown. */
static void test_second_agent(void **state)
{
	int i;

	(void)state;
	setup_agent(&fake_etcd, true);
	store_changed(MTC_ADMIN_LOCKED, 20, 20);
	alive(true, 20);
	store_changed(MTC_ADMIN_UNLOCKED, 30, 30);
	expect_sent(0, MTC_UNLOCKED, 30);
	store_changed(MTC_ADMIN_LOCKED, 25, 25); /* old news */
	assert_int_equal(n_sent, 3);
	teardown_agent();

	setup_agent(&fake_file, true);
	store_changed(MTC_ADMIN_UNLOCKED, 1, 2);
	for (i = 0; i < 20; i++) {
		alive(true, 5);
		now_ms += 500;
	}
	assert_int_equal(n_sent, 0);
	assert_int_equal(fake.n_puts, 0);
	assert_false(mtc_admin_known(&A.hosts[0].adm));
	assert_string_equal(agent_admin_name(&A.hosts[0]), "locked");
	/* the operator settles it: above the other agent's command */
	agent_set_admin(&A, &A.hosts[0], false, on_done, NULL);
	assert_int_equal(fake.puts[0].seq, 6);
	answer_put(0, 0, 2, 6);
	expect_sent(0, MTC_UNLOCKED, 6);
	teardown_agent();
}

/* ---- the file store alone: no agent, only its events ---- */

static mtc_store_event got[8];
static char got_host[8][MTC_HOSTNAME_MAX + 1];
static int n_got;

static void collect(void *user, const mtc_store_event *ev)
{
	(void)user;
	assert_true(n_got < 8);
	got[n_got] = *ev;
	snprintf(got_host[n_got], sizeof(got_host[n_got]), "%s", ev->host ? ev->host : "");
	n_got++;
}

static void expect_got(int i, mtc_store_event_kind kind, const char *host, mtc_admin_value value, uint32_t seq)
{
	assert_int_equal(got[i].kind, kind);
	assert_string_equal(got_host[i], host);
	assert_int_equal(got[i].value, value);
	assert_int_equal(got[i].seq, seq);
}

/* The file store reads its log (the last line of a host wins, a line cut
 * by a crash is ignored), reports each entry and LOADED, and a put is
 * appended, answered, and read back after a restart. */
static void test_file_store(void **state)
{
	char dir[] = "/tmp/test_mtc_agent.XXXXXX", path[64], line[64];
	mtc_config cfg;
	mtc_store *fs;
	mtc_store_env env = { .cfg = &cfg, .n_hosts = 3, .on_event = collect };
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	conf_set_defaults(&mtc_conf_table, &cfg);
	snprintf(path, sizeof(path), "%s/admin.state", dir);
	snprintf(cfg.state_file, sizeof(cfg.state_file), "%s", path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# x\nnode-1 locked 3\nnode-2 unlocked 1\nnode-1 unlocked 4\nnode-3 unknown 7\nnode-2 locked 9", f);
	fclose(f);
	n_got = 0;
	assert_int_equal(mtc_store_file_ops.open(&env, &fs), 0);
	assert_int_equal(n_got, 4);
	expect_got(0, MTC_STORE_CHANGED, "node-1", MTC_ADMIN_UNLOCKED, 4);
	expect_got(1, MTC_STORE_CHANGED, "node-2", MTC_ADMIN_UNLOCKED, 1);
	expect_got(2, MTC_STORE_CHANGED, "node-3", MTC_ADMIN_UNKNOWN, 7);
	assert_int_equal(got[3].kind, MTC_STORE_LOADED);
	assert_true(got[0].version > 0 && got[1].version > 0);
	mtc_store_file_ops.put(fs, "node-2", MTC_ADMIN_LOCKED, 10, -1, &n_got);
	expect_got(4, MTC_STORE_PUT, "node-2", MTC_ADMIN_LOCKED, 10);
	assert_int_equal(got[4].r, 0);
	assert_ptr_equal(got[4].ctx, &n_got);
	assert_true(got[4].version > got[1].version);
	mtc_store_file_ops.close(fs);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		;
	fclose(f);
	assert_string_equal(line, "node-2 locked 10\n");
	n_got = 0;
	assert_int_equal(mtc_store_file_ops.open(&env, &fs), 0);
	expect_got(1, MTC_STORE_CHANGED, "node-2", MTC_ADMIN_LOCKED, 10);
	mtc_store_file_ops.close(fs);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock),
		cmocka_unit_test(test_report_mismatch),
		cmocka_unit_test(test_store_outage),
		cmocka_unit_test(test_second_agent),
		cmocka_unit_test(test_file_store),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
