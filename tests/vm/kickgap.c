/* LD_PRELOAD shim for the VM bed: records the time of every
 * WDIOC_KEEPALIVE hostwd sends to the real watchdog driver, one line per
 * kick ("<monotonic ms> <gap ms>") appended to $KICKGAP_FILE, so the test
 * sees the gaps between kicks as the card saw them. Passes every call
 * through unchanged. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/watchdog.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long last_ms = -1;
static int out_fd = -2;

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static void record(void)
{
	char line[64];
	long long now = mono_ms();
	int n;

	if (out_fd == -2) {
		const char *p = getenv("KICKGAP_FILE");

		out_fd = p ? open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644) : -1;
	}
	if (out_fd < 0)
		return;
	n = snprintf(line, sizeof(line), "%lld %lld\n", now, last_ms < 0 ? 0 : now - last_ms);
	last_ms = now;
	if (write(out_fd, line, (size_t)n) < 0)
		return;
}

int ioctl(int fd, unsigned long req, ...)
{
	static int (*real)(int, unsigned long, ...);
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	r = real(fd, req, arg);
	if (req == WDIOC_KEEPALIVE && r == 0)
		record();
	return r;
}
