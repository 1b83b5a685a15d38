/* common/fileops: the one way a daemon opens its files. Each row puts a
 * kind of thing at the path (file, FIFO, symlink, directory, device) and
 * says what the checked open, the kind check and the flag test make of it;
 * then the directory rule and the temp file of an atomic write with
 * something planted at its name. A hang fails the test (alarm). */
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

#include "fileops.h"

static char dir[64];

typedef enum { PUT_NOTHING, PUT_FILE, PUT_FIFO, PUT_SYMLINK, PUT_DIR, PUT_DANGLING } put_kind;

static void put(const char *path, put_kind k)
{
	char target[128];

	unlink(path);
	rmdir(path);
	snprintf(target, sizeof(target), "%s/target", dir);
	switch (k) {
	case PUT_NOTHING: break;
	case PUT_FILE: assert_int_equal(fileops_write_atomic(path, "1\n", 2, 0644), 0); break;
	case PUT_FIFO: assert_int_equal(mkfifo(path, 0600), 0); break;
	case PUT_SYMLINK:
		assert_int_equal(fileops_write_atomic(target, "1\n", 2, 0644), 0);
		assert_int_equal(symlink(target, path), 0);
		break;
	case PUT_DIR: assert_int_equal(mkdir(path, 0700), 0); break;
	case PUT_DANGLING: assert_int_equal(symlink("/nonexistent/x", path), 0); break;
	}
}

static const struct kind_row {
	const char *name;
	put_kind put;
	int open_rd, open_wr, kind; /* results of open O_RDONLY, O_WRONLY, check_kind(REG) */
	bool flag;
} kind_rows[] = {
	{ "absent", PUT_NOTHING, -ENOENT, -ENOENT, 0, false },
	{ "regular file", PUT_FILE, 0, 0, 0, true },
	{ "FIFO, no writer", PUT_FIFO, -EMEDIUMTYPE, -EMEDIUMTYPE, -EMEDIUMTYPE, false },
	{ "symlink to a file", PUT_SYMLINK, -ELOOP, -ELOOP, -ELOOP, false },
	{ "dangling symlink", PUT_DANGLING, -ELOOP, -ELOOP, -ELOOP, false },
	{ "directory", PUT_DIR, -EMEDIUMTYPE, -EMEDIUMTYPE, -EMEDIUMTYPE, false },
};

static void test_kinds(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/thing", dir);
	for (size_t i = 0; i < sizeof(kind_rows) / sizeof(kind_rows[0]); i++) {
		const struct kind_row *row = &kind_rows[i];
		int fd = -1, r;

		print_message("%s\n", row->name);
		put(path, row->put);
		alarm(5);
		r = fileops_open_checked(path, O_RDONLY, 0, FILEOPS_REG, &fd);
		assert_int_equal(r, row->open_rd);
		if (r == 0)
			close(fd);
		r = fileops_open_checked(path, O_WRONLY, 0, FILEOPS_REG, &fd);
		assert_int_equal(r, row->open_wr);
		if (r == 0)
			close(fd);
		alarm(0);
		assert_int_equal(fileops_check_kind(path, FILEOPS_REG), row->kind);
		assert_int_equal(fileops_flag_present(path), row->flag);
		put(path, PUT_NOTHING);
	}
}

/* A character device where the contract allows one (console), refused
 * where it does not (a count file). */
static void test_character_device(void **state)
{
	int fd = -1;
	char why[128];

	(void)state;
	assert_int_equal(fileops_open_checked("/dev/null", O_WRONLY, 0, FILEOPS_REG | FILEOPS_CHR, &fd), 0);
	assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, O_NONBLOCK);
	close(fd);
	assert_int_equal(fileops_open_checked("/dev/null", O_RDONLY, 0, FILEOPS_REG, &fd), -EMEDIUMTYPE);
	assert_string_equal(fileops_strerror("/dev/null", FILEOPS_REG, -EMEDIUMTYPE, why, sizeof(why)),
			    "is a character device, not a regular file");
}

/* The config loader follows links (configs live in root's /etc); nothing
 * else does. */
static void test_follow_only_when_asked(void **state)
{
	char path[128];
	int fd = -1;

	(void)state;
	snprintf(path, sizeof(path), "%s/link.conf", dir);
	put(path, PUT_SYMLINK);
	assert_int_equal(fileops_open_checked(path, O_RDONLY, 0, FILEOPS_REG | FILEOPS_FOLLOW, &fd), 0);
	close(fd);
	assert_int_equal(fileops_open_checked(path, O_RDONLY, 0, FILEOPS_REG, &fd), -ELOOP);
	put(path, PUT_NOTHING);
}

static const struct dir_row {
	const char *name;
	mode_t mode;
	int want;
} dir_rows[] = {
	{ "0700", 0700, 0 },
	{ "0755", 0755, 0 },
	{ "0775 (group writable)", 0775, -EPERM },
	{ "0757 (others writable)", 0757, -EPERM },
	{ "1777 (sticky, like /tmp)", 01777, -EPERM },
	{ "1770 (sticky, group)", 01770, -EPERM },
};

static void test_directory_modes(void **state)
{
	char sub[128], path[160], deep[200], why[256];

	(void)state;
	snprintf(sub, sizeof(sub), "%s/sub", dir);
	snprintf(path, sizeof(path), "%s/flag", sub);
	snprintf(deep, sizeof(deep), "%s/not/yet/flag", sub);
	assert_int_equal(mkdir(sub, 0700), 0);
	for (size_t i = 0; i < sizeof(dir_rows) / sizeof(dir_rows[0]); i++) {
		print_message("%s\n", dir_rows[i].name);
		assert_int_equal(chmod(sub, dir_rows[i].mode), 0);
		assert_int_equal(fileops_check_dir(path), dir_rows[i].want);
		/* A directory not made yet is judged by the one it would be made in. */
		assert_int_equal(fileops_check_dir(deep), dir_rows[i].want);
		assert_int_equal(fileops_write_atomic(path, "x", 1, 0644), dir_rows[i].want);
		if (dir_rows[i].want == 0) {
			unlink(path);
			continue;
		}
		assert_false(fileops_flag_present(path));
		fileops_strerror(path, FILEOPS_REG, -EPERM, why, sizeof(why));
		assert_non_null(strstr(why, sub));
		assert_non_null(strstr(why, "writable by"));
	}
	chmod(sub, 0700);
	unlink(path);
	rmdir(sub);
}

/* Whatever is at "<path>.tmp.<pid>" (a symlink to a file we must not
 * touch, a FIFO, a leftover) is removed as an entry and the write goes on. */
static void test_planted_temp_name(void **state)
{
	static const put_kind plants[] = { PUT_SYMLINK, PUT_DANGLING, PUT_FIFO, PUT_FILE };
	char path[128], tmp[160], target[128], buf[16];

	(void)state;
	snprintf(path, sizeof(path), "%s/.node_locked", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	snprintf(target, sizeof(target), "%s/target", dir);
	for (size_t i = 0; i < sizeof(plants) / sizeof(plants[0]); i++) {
		put(tmp, plants[i]);
		alarm(5);
		assert_int_equal(fileops_write_atomic(path, "locked\n", 7, 0644), 0);
		alarm(0);
		assert_true(fileops_flag_present(path));
		assert_int_equal(fileops_read_small(path, buf, sizeof(buf)), 7);
		assert_int_equal(access(tmp, F_OK), -1);
		if (plants[i] == PUT_SYMLINK) {
			assert_int_equal(fileops_read_small(target, buf, sizeof(buf)), 2);
			assert_string_equal(buf, "1\n"); /* the link's target untouched */
		}
		unlink(path);
	}
	unlink(target);
}

/* A symlink at the flag path is replaced by the rename, never written
 * through. */
static void test_write_replaces_symlink(void **state)
{
	char path[128], target[128], buf[16];

	(void)state;
	snprintf(path, sizeof(path), "%s/flag", dir);
	snprintf(target, sizeof(target), "%s/target", dir);
	put(path, PUT_SYMLINK);
	assert_int_equal(fileops_write_atomic(path, "new\n", 4, 0644), 0);
	assert_true(fileops_flag_present(path));
	assert_int_equal(fileops_read_small(target, buf, sizeof(buf)), 2);
	unlink(path);
	unlink(target);
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "%s/fileops.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
		cmocka_unit_test(test_character_device),
		cmocka_unit_test(test_follow_only_when_asked),
		cmocka_unit_test(test_directory_modes),
		cmocka_unit_test(test_planted_temp_name),
		cmocka_unit_test(test_write_replaces_symlink),
	};

	return cmocka_run_group_tests_name("fileops", tests, setup, teardown);
}
