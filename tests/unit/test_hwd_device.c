/* The kernel watchdog path of hwd_device with the driver faked by --wrap
 * (ioctl, write): /dev/null is a real character device, so the code takes
 * the ioctl branch exactly as with /dev/watchdog. Built without
 * _FORTIFY_SOURCE so the wraps are not bypassed. */
#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hwd_device.h"

/* The fake driver: rounds the timeout up to a multiple of 4 s like some
 * hardware does, counts keepalives, records magic-close writes. */
static struct {
	int timeout;
	int keepalives;
	int settimeout_errno;
	char written[16];
	size_t n_written;
	char ops[16]; /* S: SETTIMEOUT, K: KEEPALIVE, in order */
	size_t n_ops;
} drv;

static void op(char c)
{
	if (drv.n_ops + 1 < sizeof(drv.ops))
		drv.ops[drv.n_ops++] = c;
}

int __real_ioctl(int fd, unsigned long req, ...);
ssize_t __real_write(int fd, const void *buf, size_t n);

int __wrap_ioctl(int fd, unsigned long req, ...)
{
	va_list ap;
	int *arg;

	(void)fd;
	va_start(ap, req);
	arg = va_arg(ap, int *);
	va_end(ap);
	switch (req) {
	case WDIOC_SETTIMEOUT:
		op('S');
		if (drv.settimeout_errno) {
			errno = drv.settimeout_errno;
			return -1;
		}
		drv.timeout = (*arg + 3) / 4 * 4;
		return 0;
	case WDIOC_GETTIMEOUT:
		*arg = drv.timeout;
		return 0;
	case WDIOC_KEEPALIVE:
		op('K');
		drv.keepalives++;
		return 0;
	default:
		errno = ENOTTY;
		return -1;
	}
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
	(void)fd;
	if (drv.n_written + n < sizeof(drv.written)) {
		memcpy(drv.written + drv.n_written, buf, n);
		drv.n_written += n;
	}
	return (ssize_t)n;
}

static int reset(void **state)
{
	(void)state;
	memset(&drv, 0, sizeof(drv));
	return 0;
}

static void test_kernel_open_reads_back_timeout(void **state)
{
	hwd_device *d;
	int t = 0;

	(void)state;
	assert_int_equal(hwd_device_open("/dev/null", 181, &d, &t), 0);
	assert_int_equal(hwd_device_get_kind(d), HWD_DEV_KERNEL);
	assert_int_equal(t, 184); /* what the driver chose, not what we asked */
	assert_int_equal(hwd_device_set_timeout(d, 30, &t), 0);
	assert_int_equal(t, 32);
	hwd_device_close(d, 1);
}

static void test_kernel_kick_and_magic_close(void **state)
{
	hwd_device *d;
	int t;

	(void)state;
	assert_int_equal(hwd_device_open("/dev/null", 60, &d, &t), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(hwd_device_kick(d), 0);
	assert_int_equal(drv.keepalives, 5);
	assert_int_equal(drv.n_written, 0); /* kicks are ioctls, not writes */
	hwd_device_close(d, 1);
	assert_int_equal(drv.n_written, 1);
	assert_int_equal(drv.written[0], 'V');
}

static void test_kernel_no_magic_close_when_not_disarming(void **state)
{
	hwd_device *d;
	int t;

	(void)state;
	assert_int_equal(hwd_device_open("/dev/null", 60, &d, &t), 0);
	hwd_device_close(d, 0); /* after the action: the watchdog must still fire */
	assert_int_equal(drv.n_written, 0);
}

static void test_kernel_settimeout_failure_disarms(void **state)
{
	hwd_device *d = NULL;
	int t;

	(void)state;
	drv.settimeout_errno = EINVAL;
	assert_int_equal(hwd_device_open("/dev/null", 60, &d, &t), -EINVAL);
	assert_null(d);
	/* A half-opened device is left disarmed, not ticking toward a reset. */
	assert_int_equal(drv.n_written, 1);
	assert_int_equal(drv.written[0], 'V');
}

static void test_file_and_none_kinds(void **state)
{
	char path[] = "/tmp/hwm-wd.XXXXXX", fake[64];
	hwd_device *d;
	int t, fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(fake, sizeof(fake), "file:%s", path);
	assert_int_equal(hwd_device_open(fake, 60, &d, &t), 0);
	assert_int_equal(hwd_device_get_kind(d), HWD_DEV_FILE);
	assert_int_equal(t, 60);
	assert_int_equal(hwd_device_kick(d), 0);
	assert_int_equal(drv.n_written, 1); /* one byte per kick */
	assert_int_equal(drv.keepalives, 0);
	hwd_device_close(d, 0);
	unlink(path);
	/* file: creates a missing fake */
	assert_int_equal(hwd_device_open(fake, 60, &d, &t), 0);
	assert_int_equal(hwd_device_get_kind(d), HWD_DEV_FILE);
	hwd_device_close(d, 0);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);
	assert_int_equal(hwd_device_open("", 60, &d, &t), 0);
	assert_int_equal(hwd_device_get_kind(d), HWD_DEV_NONE);
	assert_int_equal(hwd_device_kick(d), 0);
	hwd_device_close(d, 1);
	assert_int_equal(hwd_device_open("file:/nonexistent-dir/wd", 60, &d, &t), -ENOENT);
}

/* A device path that is not a character device is an error, never a file
 * quietly "kicked": a typo must not disable the hardware backstop. */
static void test_device_path_must_be_a_chardev(void **state)
{
	char path[] = "/tmp/hwm-wd.XXXXXX", fake[64];
	hwd_device *d = NULL;
	int t, fd;

	(void)state;
	assert_int_equal(hwd_device_open("/dev/watchdog-typo-hwm", 60, &d, &t), -ENOENT);
	assert_int_equal(access("/dev/watchdog-typo-hwm", F_OK), -1); /* not created */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(hwd_device_open(path, 60, &d, &t), -ENODEV);   /* regular file */
	assert_int_equal(hwd_device_open("/tmp", 60, &d, &t), -ENODEV);  /* directory */
	assert_int_equal(hwd_device_open("file:/tmp", 60, &d, &t), -ENODEV); /* a fake must be a file or FIFO */
	assert_int_equal(hwd_device_open("file:", 60, &d, &t), -EINVAL);
	assert_null(d);
	assert_int_equal(drv.n_written, 0);
	unlink(path);
	snprintf(fake, sizeof(fake), "file:%s", path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(hwd_device_open(fake, 60, &d, &t), 0); /* FIFO fake, no reader: no block */
	assert_int_equal(hwd_device_get_kind(d), HWD_DEV_FILE);
	hwd_device_close(d, 0);
	unlink(path);
}

/* Right before 'c': the crashdump timeout is set, read back (the driver's
 * value is what hostwd reports) and the count restarted with one kick,
 * in that order; never a magic close. */
static void test_prepare_crashdump(void **state)
{
	char path[] = "/tmp/hwm-wd.XXXXXX", fake[64];
	hwd_device *d;
	int t = 0, fd;

	(void)state;
	assert_int_equal(hwd_device_open("/dev/null", 180, &d, &t), 0);
	drv.n_ops = 0;
	memset(drv.ops, 0, sizeof(drv.ops));
	assert_int_equal(hwd_device_prepare_crashdump(d, 601, &t), 0);
	assert_int_equal(t, 604);
	assert_string_equal(drv.ops, "SK");
	assert_int_equal(drv.n_written, 0);
	/* a driver refusing the timeout: the error, and still the one kick */
	drv.settimeout_errno = EINVAL;
	t = 0;
	assert_int_equal(hwd_device_prepare_crashdump(d, 9999, &t), -EINVAL);
	assert_int_equal(t, 0);
	assert_int_equal(drv.keepalives, 2);
	hwd_device_close(d, 0);
	assert_int_equal(drv.n_written, 0);
	/* the file fake records "T<seconds>" and the kick byte */
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	snprintf(fake, sizeof(fake), "file:%s", path);
	drv.n_written = 0;
	assert_int_equal(hwd_device_open(fake, 60, &d, &t), 0);
	assert_int_equal(hwd_device_prepare_crashdump(d, 600, &t), 0);
	assert_int_equal(t, 600);
	assert_int_equal(drv.n_written, 6);
	assert_memory_equal(drv.written, "T600\nk", 6);
	hwd_device_close(d, 0);
	unlink(path);
	/* no device: nothing */
	drv.n_written = 0;
	assert_int_equal(hwd_device_open("", 60, &d, &t), 0);
	assert_int_equal(hwd_device_prepare_crashdump(d, 600, &t), 0);
	assert_int_equal(t, 600);
	assert_int_equal(drv.n_written, 0);
	hwd_device_close(d, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_kernel_open_reads_back_timeout, reset),
		cmocka_unit_test_setup(test_kernel_kick_and_magic_close, reset),
		cmocka_unit_test_setup(test_kernel_no_magic_close_when_not_disarming, reset),
		cmocka_unit_test_setup(test_kernel_settimeout_failure_disarms, reset),
		cmocka_unit_test_setup(test_file_and_none_kinds, reset),
		cmocka_unit_test_setup(test_device_path_must_be_a_chardev, reset),
		cmocka_unit_test_setup(test_prepare_crashdump, reset),
	};
	return cmocka_run_group_tests_name("hwd_device", tests, NULL, NULL);
}
