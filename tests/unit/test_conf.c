/* common/conf: what a config file may be, and the holes an operator falls
 * into (a directory or FIFO given as -c, a key written twice, a NUL or
 * other control byte inside a value). Uses a small table of its own. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"

typedef struct tcfg {
	int period;
	char path[64];
	bool on;
} tcfg;

static const char *const none[] = { NULL };

static const conf_key keys[] = {
	{ "a", "period", CONF_INT, offsetof(tcfg, period), 0, "5", 1, 100, none, "period", 0 },
	{ "a", "path", CONF_STR, offsetof(tcfg, path), sizeof(((tcfg *)0)->path), "/x", 0, 0, none, "path", 0 },
	{ "b", "on", CONF_BOOL, offsetof(tcfg, on), 0, "0", 0, 0, none, "on", 0 },
};

static const conf_table table = { keys, sizeof(keys) / sizeof(keys[0]), NULL, NULL };

/* Extra sections "[item NAME]" take any key. */
static int extra(void *user, const char *section, bool section_start, const char *key, const char *value,
		 unsigned line, char *msg, size_t msglen)
{
	(void)line;
	(void)section_start;
	(void)key;
	(void)value;
	(*(int *)user)++;
	if (strncmp(section, "item ", 5) != 0) {
		snprintf(msg, msglen, "bad section [%s]", section);
		return -EINVAL;
	}
	return 0;
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/hwm-test-conf.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_bytes(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static void test_regular_file_loads(void **state)
{
	char path[128];
	tcfg c;
	conf_errors e = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/ok.conf", dir);
	write_bytes(path, "[a]\nperiod = 7\n", 15);
	assert_int_equal(conf_load_file(&table, &c, path, NULL, NULL, &e), 0);
	assert_int_equal(c.period, 7);
}

/* A directory used to read as an empty file: every default, silently. */
static void test_directory_rejected(void **state)
{
	tcfg c;
	conf_errors e = { 0 };

	(void)state;
	assert_int_equal(conf_load_file(&table, &c, dir, NULL, NULL, &e), -EINVAL);
	assert_int_equal(e.count, 1);
	assert_non_null(strstr(e.text, "not a regular file but a directory"));
	assert_non_null(strstr(e.text, dir));
}

/* A FIFO with no writer used to block the caller forever. */
static void test_fifo_rejected_without_blocking(void **state)
{
	char path[128];
	tcfg c;
	conf_errors e = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	alarm(5); /* a hang fails the test instead of the suite */
	assert_int_equal(conf_load_file(&table, &c, path, NULL, NULL, &e), -EINVAL);
	alarm(0);
	assert_non_null(strstr(e.text, "not a regular file but a FIFO"));
}

static void test_duplicate_key(void **state)
{
	tcfg c;
	conf_errors e = { 0 };

	(void)state;
	assert_int_equal(conf_load_string(&table, &c, "<s>", "[a]\nperiod = 7\n[b]\non = 1\n[a]\nperiod = 9\n",
					  NULL, NULL, &e), -EINVAL);
	assert_int_equal(e.count, 1);
	assert_non_null(strstr(e.text, "<s>:6: [a] period set again (first set on line 2)"));
	/* The first value stands; nothing was silently replaced. */
	assert_int_equal(c.period, 7);
	/* Every duplicate is reported in one pass, alongside other errors. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(conf_load_string(&table, &c, "<s>", "[a]\npath = /p\npath = /q\nperiod = x\n[b]\non = 1\non = 0\n",
					  NULL, NULL, &e), -EINVAL);
	assert_int_equal(e.count, 3);
	assert_non_null(strstr(e.text, "<s>:3: [a] path set again (first set on line 2)"));
	assert_non_null(strstr(e.text, "<s>:7: [b] on set again (first set on line 6)"));
}

static void test_duplicate_key_in_extra_section(void **state)
{
	tcfg c;
	conf_errors e = { 0 };
	int calls = 0;

	(void)state;
	assert_int_equal(conf_load_string(&table, &c, "<s>", "[item x]\nk = 1\nj = 2\nk = 3\n[item y]\nk = 4\n",
					  extra, &calls, &e), -EINVAL);
	assert_int_equal(e.count, 1);
	assert_non_null(strstr(e.text, "<s>:4: key 'k' set again in this section (first set on line 2)"));
	/* The same key in the next section is not a duplicate. */
	assert_int_equal(calls, 3);
}

/* inih keeps 49 bytes of a section name: 49 loads whole, 50 is an error
 * (it would have been cut into another name). */
static void test_long_section_name(void **state)
{
	char text[160], name[64];
	tcfg c;
	conf_errors e = { 0 };
	int calls = 0;

	(void)state;
	memset(name, 'n', sizeof(name));
	memcpy(name, "item ", 5);
	name[CONF_MAX_SECTION] = '\0';
	snprintf(text, sizeof(text), "[%s]\nk = 1\n", name);
	assert_int_equal(conf_load_string(&table, &c, "<s>", text, extra, &calls, &e), 0);
	assert_int_equal(calls, 1);
	name[CONF_MAX_SECTION] = 'n';
	name[CONF_MAX_SECTION + 1] = '\0';
	snprintf(text, sizeof(text), "[%s]\nk = 1\n", name);
	assert_int_equal(conf_load_string(&table, &c, "<s>", text, extra, &calls, &e), -EINVAL);
	assert_non_null(strstr(e.text, "<s>:1: section name longer than 49 characters: [item nnn"));
}

static void test_nul_and_control_bytes(void **state)
{
	static const struct {
		const char *text;
		size_t len;
		const char *want;
	} cases[] = {
		{ "[a]\npath = /etc/ok\0/evil\n", 25, "<f>:2: control character 0x00 in line" },
		{ "[a]\npath = /a\x1b[2J\n", 18, "<f>:2: control character 0x1b in line" },
		{ "[a]\nperiod = 7\x01\n", 16, "<f>:2: control character 0x01 in line" },
	};
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/ctl.conf", dir);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tcfg c;
		conf_errors e = { 0 };
		char want[300];

		write_bytes(path, cases[i].text, cases[i].len);
		assert_int_equal(conf_load_file(&table, &c, path, NULL, NULL, &e), -EINVAL);
		snprintf(want, sizeof(want), "%s:2: %s", path, cases[i].want + 7);
		if (!strstr(e.text, want))
			fail_msg("case %zu: want '%s' in '%s'", i, want, e.text);
		/* The default stands: nothing half-applied. */
		assert_string_equal(c.path, "/x");
	}
	/* Tabs and CRLF line ends are ordinary. */
	{
		tcfg c;
		conf_errors e = { 0 };

		write_bytes(path, "[a]\r\nperiod\t= 8\r\n", 17);
		assert_int_equal(conf_load_file(&table, &c, path, NULL, NULL, &e), 0);
		assert_int_equal(c.period, 8);
	}
}

/* Restart-only keys (CONF_RESTART): a reload keeps the running value and
 * names each key that changed; other keys take the new value. Table: which
 * fields change between run and next, what the reload keeps and reports. */
typedef struct rcfg {
	int period, mode;
	char socket[16];
	bool on;
} rcfg;

static const char *const modes[] = { "x", "y", NULL };
static const conf_key rkeys[] = {
	{ "a", "period", CONF_INT, offsetof(rcfg, period), 0, "5", 1, 100, NULL, "period", 0 },
	{ "a", "socket", CONF_STR, offsetof(rcfg, socket), sizeof(((rcfg *)0)->socket), "/s", 0, 0, NULL, "s",
	  CONF_RESTART },
	{ "a", "mode", CONF_ENUM, offsetof(rcfg, mode), 0, "x", 0, 0, modes, "mode", CONF_RESTART },
	{ "b", "on", CONF_BOOL, offsetof(rcfg, on), 0, "0", 0, 1, NULL, "on", CONF_RESTART },
};
static const conf_table rtable = { rkeys, sizeof(rkeys) / sizeof(rkeys[0]), NULL, NULL };

static void test_restart_keys_kept(void **state)
{
	static const struct {
		rcfg next;
		int changed;
		const char *names;
	} cases[] = {
		{ { 5, 0, "/s", false }, 0, "" },
		{ { 9, 0, "/s", false }, 0, "" },                       /* reloadable: taken */
		{ { 5, 0, "/t", false }, 1, "[a] socket" },
		{ { 5, 1, "/s", true }, 2, "[a] mode, [b] on" },
		{ { 7, 1, "/t", true }, 3, "[a] socket, [a] mode, [b] on" },
	};
	const rcfg run = { 5, 0, "/s", false };

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rcfg next = cases[i].next;
		char names[128];

		assert_int_equal(conf_keep_restart_keys(&rtable, &run, &next, names, sizeof(names)), cases[i].changed);
		assert_string_equal(names, cases[i].names);
		assert_int_equal(next.period, cases[i].next.period);
		assert_string_equal(next.socket, run.socket);
		assert_int_equal(next.mode, run.mode);
		assert_int_equal(next.on, run.on);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regular_file_loads),
		cmocka_unit_test(test_restart_keys_kept),
		cmocka_unit_test(test_directory_rejected),
		cmocka_unit_test(test_fifo_rejected_without_blocking),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_duplicate_key_in_extra_section),
		cmocka_unit_test(test_nul_and_control_bytes),
		cmocka_unit_test(test_long_section_name),
	};
	return cmocka_run_group_tests_name("conf", tests, setup, teardown);
}
