/* pmon-hook: the gate/quorum evaluation (pure, table-driven), the config,
 * and libpmonhook against a real unix datagram socket in a temp dir. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "health_wire.h"
#include "pmh_config.h"
#include "pmh_eval.h"
#include "pmh_json.h"
#include "pmonhook.h"
#include "util.h"

static void test_evaluate_table(void **state)
{
	static const char *const gates[] = { "/etc/platform/.initial_config_complete", "/var/run/.goenabled" };
	static const char *const procs[] = { "sm", "mtcclient", "hbsClient" };
	static const struct {
		bool g0, g1;
		const char *running[3];
		size_t n_running;
		bool configured, quorum;
		const char *missing, *lost;
	} rows[] = {
		{ true, true, { "sm", "mtcclient", "hbsClient" }, 3, true, true, "", "" },
		{ false, true, { "sm", "mtcclient", "hbsClient" }, 3, false, true, "/etc/platform/.initial_config_complete", "" },
		{ true, false, { "sm", "mtcclient", "hbsClient" }, 3, false, true, "/var/run/.goenabled", "" },
		{ true, true, { "sm", "hbsClient" }, 2, true, false, "", "mtcclient" },
		{ true, true, { 0 }, 0, true, false, "", "sm" },
		{ false, false, { 0 }, 0, false, false, "/etc/platform/.initial_config_complete", "sm" },
		{ true, true, { "hbsClient", "mtcclient", "sm" }, 3, true, true, "", "" }, /* any order */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		bool present[2] = { rows[i].g0, rows[i].g1 };
		pmh_eval_result r;

		pmh_evaluate(gates, present, 2, procs, 3, rows[i].running, rows[i].n_running, &r);
		if (r.configured != rows[i].configured || r.quorum_ok != rows[i].quorum ||
		    strcmp(r.missing_gate, rows[i].missing) != 0 || strcmp(r.lost_process, rows[i].lost) != 0)
			fail_msg("row %zu: configured=%d quorum=%d missing='%s' lost='%s'", i, r.configured,
				 r.quorum_ok, r.missing_gate, r.lost_process);
	}
	/* No gates and no processes: configured, quorum ok. */
	pmh_eval_result r;
	pmh_evaluate(NULL, NULL, 0, NULL, 0, NULL, 0, &r);
	assert_true(r.configured);
	assert_true(r.quorum_ok);
}

static void test_split_list(void **state)
{
	char buf[128] = " a , b,,c ";
	char *items[4];

	(void)state;
	assert_int_equal(pmh_split_list(buf, items, 4), 3);
	assert_string_equal(items[0], "a");
	assert_string_equal(items[2], "c");
	strcpy(buf, "1,2,3,4,5");
	assert_int_equal(pmh_split_list(buf, items, 4), -E2BIG);
}

static void test_process_running(void **state)
{
	char pidfile[64];
	char comm[32] = "";
	FILE *f;

	(void)state;
	f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	assert_true(pmh_process_running("/proc", comm, NULL));
	assert_false(pmh_process_running("/proc", "no-such-procX", NULL));
	snprintf(pidfile, sizeof(pidfile), "/tmp/hwm-pid.%d", (int)getpid());
	f = fopen(pidfile, "w");
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	assert_true(pmh_process_running("/proc", pidfile, NULL));
	f = fopen(pidfile, "w");
	fprintf(f, "999999999\n");
	fclose(f);
	assert_false(pmh_process_running("/proc", pidfile, NULL));
	unlink(pidfile);
	assert_false(pmh_process_running("/proc", pidfile, NULL));
}

/* Issue 20 item 12: owner uid and executable path, not the name alone;
 * a pidfile's pid must not be a reused one. */
static void test_process_identity(void **state)
{
	char comm[32] = "", exe[256], spec[512], pidfile[64];
	ssize_t n;
	FILE *f;

	(void)state;
	f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	assert_true(n > 0);
	exe[n] = '\0';
	snprintf(spec, sizeof(spec), "%s:%u:%s", comm, (unsigned)getuid(), exe);
	assert_true(pmh_process_running("/proc", spec, NULL));
	snprintf(spec, sizeof(spec), "%s:%u", comm, (unsigned)getuid());
	assert_true(pmh_process_running("/proc", spec, NULL));
	snprintf(spec, sizeof(spec), "%s::%s", comm, exe);
	assert_true(pmh_process_running("/proc", spec, NULL));
	/* Same name, another owner or another executable: not ours. */
	snprintf(spec, sizeof(spec), "%s:%u:%s", comm, (unsigned)getuid() + 4242, exe);
	assert_false(pmh_process_running("/proc", spec, NULL));
	snprintf(spec, sizeof(spec), "%s:%u:/usr/bin/no-such-exe", comm, (unsigned)getuid());
	assert_false(pmh_process_running("/proc", spec, NULL));
	/* Pidfile with uid and exe: our pid matches, another uid does not. */
	snprintf(pidfile, sizeof(pidfile), "/tmp/hwm-pid2.%d", (int)getpid());
	f = fopen(pidfile, "w");
	assert_non_null(f);
	fprintf(f, "%d\n", (int)getpid());
	fclose(f);
	snprintf(spec, sizeof(spec), "%s:%u:%s", pidfile, (unsigned)getuid(), exe);
	assert_true(pmh_process_running("/proc", spec, NULL));
	snprintf(spec, sizeof(spec), "%s:%u", pidfile, (unsigned)getuid() + 4242);
	assert_false(pmh_process_running("/proc", spec, NULL));
	unlink(pidfile);
}

/* A fake /proc/PID: stat with a start time, status with a uid, exe. */
static void fake_proc(const char *root, long pid, unsigned long long start)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%ld", root, pid);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%ld/stat", root, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%ld (q p) x) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 %llu 0 0\n", pid, start);
	fclose(f);
	snprintf(path, sizeof(path), "%s/%ld/status", root, pid);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "Name:\tqp\nUid:\t0\t0\t0\t0\n");
	fclose(f);
	snprintf(path, sizeof(path), "%s/%ld/exe", root, pid);
	unlink(path);
	assert_int_equal(symlink("/usr/sbin/qp", path), 0);
}

/* Pidfile and PID reuse: the daemon (pid 4242, started at tick 1000) dies,
 * its pidfile stays, another process gets pid 4242 (tick 5000): not the
 * daemon. A rewritten pidfile is learnt afresh. */
static void test_pidfile_reuse(void **state)
{
	char root[64], pidfile[96], spec[160];
	struct timespec later[2] = { { .tv_sec = 2000000000 }, { .tv_sec = 2000000000 } };
	pmh_pid_memo memo = { 0 };
	FILE *f;

	(void)state;
	snprintf(root, sizeof(root), "/tmp/hwm-fakeproc.%d", (int)getpid());
	mkdir(root, 0755);
	snprintf(pidfile, sizeof(pidfile), "%s/qp.pid", root);
	f = fopen(pidfile, "w");
	assert_non_null(f);
	fprintf(f, "4242\n");
	fclose(f);
	fake_proc(root, 4242, 1000);
	snprintf(spec, sizeof(spec), "%s:0:/usr/sbin/qp", pidfile);
	assert_true(pmh_process_running(root, spec, &memo));
	assert_true(pmh_process_running(root, spec, &memo));
	fake_proc(root, 4242, 5000); /* reused */
	assert_false(pmh_process_running(root, spec, &memo));
	assert_false(pmh_process_running(root, spec, &memo));
	/* The daemon restarted and wrote its pidfile again (same pid by
	 * chance): the new process is learnt. */
	assert_int_equal(utimensat(AT_FDCWD, pidfile, later, 0), 0);
	assert_true(pmh_process_running(root, spec, &memo));
	/* Wrong uid or exe at the pid: not the daemon, memo or not. */
	snprintf(spec, sizeof(spec), "%s:7", pidfile);
	assert_false(pmh_process_running(root, spec, NULL));
	snprintf(spec, sizeof(spec), "%s:0:/usr/sbin/other", pidfile);
	assert_false(pmh_process_running(root, spec, NULL));
	snprintf(spec, sizeof(spec), "%s/4242/stat", root);
	unlink(spec);
	snprintf(spec, sizeof(spec), "%s/4242/status", root);
	unlink(spec);
	snprintf(spec, sizeof(spec), "%s/4242/exe", root);
	unlink(spec);
	snprintf(spec, sizeof(spec), "%s/4242", root);
	rmdir(spec);
	unlink(pidfile);
	rmdir(root);
}

typedef struct spec_row {
	const char *spec;
	int want;
	bool forgeable;
} spec_row;

static void test_proc_spec_rows(void **state)
{
	static const spec_row rows[] = {
		{ "sm", 0, true },
		{ "sm:0:/usr/bin/sm", 0, false },
		{ "sm:0", 0, false },
		{ "sm::/usr/bin/sm", 0, false },
		{ "/run/sm.pid", 0, false },
		{ "/run/sm.pid:0:/usr/bin/sm", 0, false },
		{ "sm:root:/usr/bin/sm", -EINVAL, false },
		{ "sm:0:usr/bin/sm", -EINVAL, false },
		{ "sm:-1", -EINVAL, false },
		{ "averyveryverylongname:0", -ENAMETOOLONG, false },
		{ ":0:/usr/bin/sm", -ENAMETOOLONG, false },
	};
	pmh_proc_spec p;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int r = pmh_proc_spec_parse(rows[i].spec, &p);

		if (r != rows[i].want)
			fail_msg("'%s': %d, want %d", rows[i].spec, r, rows[i].want);
		if (r == 0 && pmh_proc_spec_forgeable(&p) != rows[i].forgeable)
			fail_msg("'%s': forgeable %d", rows[i].spec, !rows[i].forgeable);
	}
}

static void test_config(void **state)
{
	pmh_config c, d;
	conf_errors e = { 0 };

	(void)state;
	assert_int_equal(pmh_config_load_string(&c, "", &e), 0);
	assert_int_equal(c.report_period, 30);
	assert_int_equal(c.n_gates, 2);
	assert_string_equal(c.gates[1], "/var/run/.goenabled");
	assert_int_equal(c.n_procs, 0);
	assert_int_equal(pmh_config_load_string(&c, "[hook]\nquorum_processes = sm, mtcclient\n", &e), 0);
	assert_int_equal(c.n_procs, 2);
	pmh_config_copy(&d, &c);
	memset(&c, 0, sizeof(c));
	assert_string_equal(d.procs[1], "mtcclient"); /* points into d, not c */
	memset(&e, 0, sizeof(e));
	assert_int_equal(pmh_config_load_string(&c, "[hook]\nquorum_processes = averyveryverylongname\n", &e), -EINVAL);
	assert_non_null(strstr(e.text, "longer than a /proc comm name"));
	memset(&e, 0, sizeof(e));
	assert_int_equal(pmh_config_load_string(&c, "[hook]\nreport_period = 0\n", &e), -EINVAL);
	assert_non_null(strstr(e.text, "<string>:2: [hook] report_period"));
}

/* A fake hostwd: a bound datagram socket we read from and answer. */
static char sock_path[108];
static int server_fd = -1;

static int server_setup(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	snprintf(sock_path, sizeof(sock_path), "/tmp/hwm-pmh.%d.sock", (int)getpid());
	strcpy(sa.sun_path, sock_path);
	unlink(sock_path);
	server_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (server_fd < 0 || bind(server_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return 0;
}

static int server_teardown(void **state)
{
	(void)state;
	close(server_fd);
	unlink(sock_path);
	return 0;
}

static void test_lib_report(void **state)
{
	char buf[600];
	pmh *h;
	ssize_t n;

	(void)state;
	assert_int_equal(pmh_open(sock_path, &h), 0);
	assert_int_equal(pmh_report(h, true, true, NULL), 0);
	n = recv(server_fd, buf, sizeof(buf) - 1, 0);
	buf[n] = '\0';
	assert_string_equal(buf, "v1 configured=1 quorum=ok seq=1");
	assert_int_equal(pmh_report(h, false, false, "sm"), 0);
	n = recv(server_fd, buf, sizeof(buf) - 1, 0);
	buf[n] = '\0';
	assert_string_equal(buf, "v1 configured=0 quorum=lost process=sm seq=2");
	assert_int_equal(pmh_report(h, true, false, "bad name"), -EINVAL);
	assert_int_equal(pmh_report(h, true, false, "a=b"), -EINVAL);
	pmh_close(h);
}

/* The fake hostwd answers one status request the way hostwd does: into
 * the socket passed with it. Before that, a forger that knows the client's
 * address (any local process can read it from /proc/net/unix) sends a
 * forged reply there; the client must never take it. */
static void serve_one_status(const char *reply)
{
	const char *forged = "v1 state=failed locked=0 configured=0 quorum=lost bad_periods=3 failure_threshold=3 "
			     "suppressed=0 action=crashdump last_report_age_s=-1 reason=no-report kicks=1 actions=1";
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct sockaddr_un peer;
	char buf[600];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_name = &peer, .msg_namelen = sizeof(peer), .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = &control, .msg_controllen = sizeof(control) };
	int reply_fd = -1;
	ssize_t n = recvmsg(server_fd, &mh, 0);

	if (n != 9 || memcmp(buf, "v1 status", 9) != 0)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			memcpy(&reply_fd, CMSG_DATA(c), sizeof(int));
	if (mh.msg_namelen > sizeof(sa_family_t)) {
		int forger = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		sendto(forger, forged, strlen(forged), 0, (struct sockaddr *)&peer, mh.msg_namelen);
		close(forger);
		usleep(50 * 1000);
	}
	if (reply_fd >= 0)
		send(reply_fd, reply, strlen(reply), 0);
	else if (mh.msg_namelen > sizeof(sa_family_t))
		sendto(server_fd, reply, strlen(reply), 0, (struct sockaddr *)&peer, mh.msg_namelen);
}

static void test_lib_status(void **state)
{
	struct pmh_status st;
	char buf[600];
	const char *reply = "v1 state=suppressed locked=1 configured=0 quorum=lost bad_periods=2 failure_threshold=3 "
			    "suppressed=1 action=crashdump last_report_age_s=4 reason=process-lost reason_process=sm "
			    "reports=9 malformed=1 rejected=0 kicks=77 actions=0 kicking=1";
	pid_t pid;
	pmh *h;

	(void)state;
	assert_int_equal(pmh_open(sock_path, &h), 0);
	/* No answer: bounded wait, then -ETIMEDOUT. */
	assert_int_equal(pmh_status(h, &st, 100), -ETIMEDOUT);
	recv(server_fd, buf, sizeof(buf), 0);
	/* Answer the next request, after a forger tried to answer first. */
	pid = fork();
	if (pid == 0) {
		serve_one_status(reply);
		_exit(0);
	}
	assert_int_equal(pmh_status(h, &st, 2000), 0);
	waitpid(pid, NULL, 0);
	assert_string_equal(st.state, "suppressed");
	assert_true(st.locked);
	assert_false(st.configured);
	assert_string_equal(st.quorum, "lost");
	assert_int_equal(st.bad_periods, 2);
	assert_int_equal(st.failure_threshold, 3);
	assert_string_equal(st.reason, "process sm lost");
	assert_int_equal(st.kicks, 77);
	assert_int_equal(st.last_report_age_s, 4);
	pmh_close(h);
	assert_int_equal(pmh_status_parse("v1 state=ok", 11, &st), -EBADMSG);
	assert_int_equal(pmh_status_parse("v9 state=ok quorum=ok", 21, &st), -EPROTO);
}

static char *status_json(const char *reply)
{
	struct pmh_status st;
	pmh_status_extra x;
	char *json = NULL;

	assert_int_equal(pmh_status_parse(reply, strlen(reply), &st), 0);
	pmh_status_extra_parse(reply, strlen(reply), &x);
	assert_int_equal(pmh_status_json(&st, &x, &json), 0);
	return json;
}

/* pmon-hook status --json: the fields and types of the hand-written JSON it
 * replaces, byte for byte, and strings escaped whatever hostwd sends. */
static void test_status_json(void **state)
{
	static const struct {
		const char *key, *value;
	} odd[] = {
		{ "state", "a\"b" }, { "quorum", "q\\" }, { "action", "x\"y" },
		{ "reason", "process p\\\"q}, lost" }, { "device", "d\\u0041" },
	};
	json_error_t err;
	json_t *d;
	char *json;

	(void)state;
	json = status_json("v1 state=degraded locked=0 configured=1 quorum=lost bad_periods=2 failure_threshold=3 "
			   "suppressed=0 action=crashdump last_report_age_s=-1 reason=process-lost reason_process=sm "
			   "reports=9 malformed=1 rejected=0 kicks=77 actions=0 kicking=1 device=file action_ready=1 "
			   "consecutive_actions=0 max_consecutive=3 log_only=0 timeout_s=10 waiting_for_configuration=0 "
			   "configure_timeout_s=0");
	assert_string_equal(json,
			    "{\"state\":\"degraded\",\"locked\":false,\"configured\":true,\"quorum\":\"lost\","
			    "\"bad_periods\":2,\"failure_threshold\":3,\"suppressed\":false,\"action\":\"crashdump\","
			    "\"last_report_age_s\":-1,\"reason\":\"process sm lost\",\"reports\":9,\"malformed\":1,"
			    "\"rejected\":0,\"kicks\":77,\"actions\":0,\"kicking\":true,\"device\":\"file\","
			    "\"action_ready\":true,\"consecutive_actions\":0,\"max_consecutive\":3,\"log_only\":false,"
			    "\"timeout_s\":10,\"waiting_for_configuration\":false,\"configure_timeout_s\":0}");
	free(json);
	/* An older hostwd: the extra fields are "-" and null. */
	json = status_json("v1 state=ok quorum=ok");
	assert_non_null(strstr(json, "\"device\":\"-\",\"action_ready\":null,\"consecutive_actions\":null,"
				     "\"max_consecutive\":null,\"log_only\":null,\"timeout_s\":null,"
				     "\"waiting_for_configuration\":null,\"configure_timeout_s\":null}"));
	free(json);
	json = status_json("v1 state=a\"b quorum=q\\ action=x\"y reason=process-lost reason_process=p\\\"q}, "
			   "device=d\\u0041 consecutive_actions=1x max_consecutive=-1 timeout_s=\"10\"");
	d = json_loads(json, 0, &err);
	assert_non_null(d);
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++)
		assert_string_equal(json_string_value(json_object_get(d, odd[i].key)), odd[i].value);
	assert_true(json_is_null(json_object_get(d, "consecutive_actions")));
	assert_int_equal(json_integer_value(json_object_get(d, "max_consecutive")), -1);
	assert_true(json_is_null(json_object_get(d, "timeout_s")));
	json_decref(d);
	free(json);
}

/* A full queue (net.unix.max_dgram_qlen) fails a plain report with -EAGAIN;
 * pmh_report_wait waits for room, bounded, instead of losing it. */
static void test_lib_report_wait(void **state)
{
	char buf[600];
	int filled = 0, r;
	pid_t pid;
	pmh *h;

	(void)state;
	assert_int_equal(pmh_open(sock_path, &h), 0);
	while ((r = pmh_report(h, false, false, NULL)) == 0 && filled < 10000)
		filled++;
	assert_int_equal(r, -EAGAIN);
	assert_true(filled > 0);
	assert_int_equal(pmh_report_wait(h, true, true, NULL, 50), -EAGAIN); /* nobody drains: bounded */
	pid = fork();
	if (pid == 0) {
		usleep(100 * 1000);
		for (int i = 0; i < filled; i++)
			recv(server_fd, buf, sizeof(buf), 0);
		_exit(0);
	}
	assert_int_equal(pmh_report_wait(h, true, true, NULL, 3000), 0);
	waitpid(pid, NULL, 0);
	pmh_close(h);
}

static void test_lib_errors(void **state)
{
	char path[64];
	pmh *h;

	(void)state;
	/* hostwd not running: open works, report says so. */
	snprintf(path, sizeof(path), "/tmp/hwm-none.%d.sock", (int)getpid());
	assert_int_equal(pmh_open(path, &h), 0);
	assert_int_equal(pmh_report(h, true, true, NULL), -ENOENT);
	pmh_close(h);
	/* A path that is not a socket. */
	assert_int_equal(pmh_open("/etc/hostname", &h), -ENOTSOCK);
	assert_int_equal(pmh_open(NULL, &h), -EINVAL);
	assert_int_equal(pmh_report(NULL, true, true, NULL), -EINVAL);
	pmh_close(NULL);
}

/* Both sides of the health socket name reasons and defaults from one
 * place; the public header repeats the socket path, so check it. */
static void test_wire_vocabulary(void **state)
{
	static const struct {
		const char *code, *text;
	} rows[] = {
		{ "none", "" }, { "no-report", "no report" }, { "unconfigured", "unconfigured" },
		{ "quorum-lost", "quorum lost" }, { "process-lost", "process sm lost" },
	};
	health_reason r;
	char buf[96];

	(void)state;
	assert_string_equal(PMH_DEFAULT_SOCKET, HEALTH_DEFAULT_SOCKET);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		assert_int_equal(health_reason_parse(rows[i].code, &r), 0);
		assert_string_equal(health_reason_code(r), rows[i].code);
		health_reason_text(r, "sm", buf, sizeof(buf));
		assert_string_equal(buf, rows[i].text);
	}
	assert_int_equal(health_reason_parse("meteor-strike", &r), -EINVAL);
	assert_int_equal(health_reason_parse(NULL, &r), -EINVAL);
	health_reason_text(HEALTH_REASON_PROCESS_LOST, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "process ? lost");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_evaluate_table),
		cmocka_unit_test(test_wire_vocabulary),
		cmocka_unit_test(test_split_list),
		cmocka_unit_test(test_process_running),
		cmocka_unit_test(test_process_identity),
		cmocka_unit_test(test_pidfile_reuse),
		cmocka_unit_test(test_proc_spec_rows),
		cmocka_unit_test(test_config),
		cmocka_unit_test_setup_teardown(test_lib_report, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_lib_status, server_setup, server_teardown),
		cmocka_unit_test_setup_teardown(test_lib_report_wait, server_setup, server_teardown),
		cmocka_unit_test(test_lib_errors),
		cmocka_unit_test(test_status_json),
	};
	return cmocka_run_group_tests_name("pmonhook", tests, NULL, NULL);
}
