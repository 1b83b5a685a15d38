#include "hwd_device.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct hwd_device_ops {
	hwd_device_kind kind;
	int (*kick)(hwd_device *d);
	int (*set_timeout)(hwd_device *d, int timeout_s, int *ret_timeout_s);
	int (*disarm)(hwd_device *d);
	int (*mark_timeout)(hwd_device *d, int timeout_s); /* the fake records a crashdump timeout */
} hwd_device_ops;

struct hwd_device {
	const hwd_device_ops *ops;
	int fd;
};

static int kernel_kick(hwd_device *d)
{
	int dummy = 0;

	if (ioctl(d->fd, WDIOC_KEEPALIVE, &dummy) < 0)
		return -errno;
	return 0;
}

static int kernel_set_timeout(hwd_device *d, int timeout_s, int *ret_timeout_s)
{
	int t = timeout_s;

	if (ioctl(d->fd, WDIOC_SETTIMEOUT, &t) < 0)
		return -errno;
	/* Read back what the driver really uses: some round or clamp. */
	if (ioctl(d->fd, WDIOC_GETTIMEOUT, &t) < 0)
		return -errno;
	*ret_timeout_s = t;
	return 0;
}

static int kernel_disarm(hwd_device *d)
{
	if (write(d->fd, "V", 1) != 1)
		return -errno;
	return 0;
}

static int file_kick(hwd_device *d)
{
	ssize_t n = write(d->fd, "k", 1);

	if (n < 0)
		return -errno;
	return n == 1 ? 0 : -EIO;
}

static int file_set_timeout(hwd_device *d, int timeout_s, int *ret_timeout_s)
{
	(void)d;
	*ret_timeout_s = timeout_s;
	return 0;
}

static int file_disarm(hwd_device *d)
{
	/* The fake records the magic close so tests can see a clean stop. */
	return write(d->fd, "V", 1) == 1 ? 0 : -errno;
}

static int file_mark_timeout(hwd_device *d, int timeout_s)
{
	char line[24];
	int n = snprintf(line, sizeof(line), "T%d\n", timeout_s);
	ssize_t w = write(d->fd, line, (size_t)n);

	if (w < 0)
		return -errno;
	return w == n ? 0 : -EIO;
}

static int none_kick(hwd_device *d)
{
	(void)d;
	return 0;
}

static int none_disarm(hwd_device *d)
{
	(void)d;
	return 0;
}

static const hwd_device_ops kernel_ops = { HWD_DEV_KERNEL, kernel_kick, kernel_set_timeout, kernel_disarm, NULL };
static const hwd_device_ops file_ops = { HWD_DEV_FILE, file_kick, file_set_timeout, file_disarm, file_mark_timeout };
static const hwd_device_ops none_ops = { HWD_DEV_NONE, none_kick, file_set_timeout, none_disarm, NULL };

/* The test fake is asked for by name, never guessed from the file type:
 * a typo in a real device path must not become one. */
static int open_fake(const char *fake, int *ret_fd)
{
	struct stat st;
	int fd;

	if (!*fake)
		return -EINVAL;
	if (stat(fake, &st) == 0 && S_ISFIFO(st.st_mode))
		/* O_RDWR: never blocks waiting for a reader, never ENXIO. */
		fd = open(fake, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	else if (stat(fake, &st) == 0 && !S_ISREG(st.st_mode))
		return -ENODEV;
	else
		fd = open(fake, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

/* A real device: it must exist (ENOENT for a typo) and be a character device. */
static int open_kernel(const char *path, int *ret_fd)
{
	struct stat st;
	int fd;

	if (stat(path, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENODEV;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_fd = fd;
	return 0;
}

int hwd_device_open(const char *path, int timeout_s, hwd_device **ret, int *ret_timeout_s)
{
	hwd_device *d;
	int r = 0;

	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->fd = -1;
	if (!path || !*path) {
		d->ops = &none_ops;
	} else if (strncmp(path, HWD_DEVICE_FAKE_PREFIX, strlen(HWD_DEVICE_FAKE_PREFIX)) == 0) {
		d->ops = &file_ops;
		r = open_fake(path + strlen(HWD_DEVICE_FAKE_PREFIX), &d->fd);
	} else {
		d->ops = &kernel_ops;
		r = open_kernel(path, &d->fd);
	}
	if (r >= 0)
		r = d->ops->set_timeout(d, timeout_s, ret_timeout_s);
	if (r < 0) {
		/* Leave a half-opened kernel watchdog disarmed, not ticking. */
		if (d->fd >= 0) {
			d->ops->disarm(d);
			close(d->fd);
		}
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

int hwd_device_kick(hwd_device *d)
{
	return d->ops->kick(d);
}

int hwd_device_set_timeout(hwd_device *d, int timeout_s, int *ret_timeout_s)
{
	return d->ops->set_timeout(d, timeout_s, ret_timeout_s);
}

int hwd_device_prepare_crashdump(hwd_device *d, int timeout_s, int *ret_timeout_s)
{
	int t = timeout_s, r, k;

	if (d->ops->kind == HWD_DEV_NONE) {
		*ret_timeout_s = timeout_s;
		return 0;
	}
	r = d->ops->set_timeout(d, timeout_s, &t);
	if (r == 0 && d->ops->mark_timeout)
		r = d->ops->mark_timeout(d, t);
	/* Kicked even when the timeout could not be set: the old one then
	 * at least starts at the byte, not at the last periodic kick. */
	k = d->ops->kick(d);
	if (r < 0 || k < 0)
		return r < 0 ? r : k;
	*ret_timeout_s = t;
	return 0;
}

void hwd_device_close(hwd_device *d, int disarm)
{
	if (!d)
		return;
	if (disarm)
		d->ops->disarm(d);
	if (d->fd >= 0)
		close(d->fd);
	free(d);
}

hwd_device_kind hwd_device_get_kind(const hwd_device *d)
{
	return d->ops->kind;
}

const char *hwd_device_kind_name(hwd_device_kind k)
{
	switch (k) {
	case HWD_DEV_KERNEL: return "kernel";
	case HWD_DEV_FILE: return "file";
	default: return "none";
	}
}
