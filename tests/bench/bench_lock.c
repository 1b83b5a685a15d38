/* Lock latency: request "lock HOST" on the agent's control socket (what
 * mtcctl does) and time until the node's flag appears (inotify on the
 * atomic rename, which happens after the fsync). Then unlock and wait for
 * the removal. Usage: bench_lock CONTROL_SOCKET FLAG_PATH HOST COUNT */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util.h"

static int request(const char *sock, const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[512];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	util_strcpy_bounded(sa.sun_path, sizeof(sa.sun_path), sock);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	if (write(fd, req, strlen(req)) < 0)
		exit(1);
	shutdown(fd, SHUT_WR);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n > 2 && strncmp(buf, "ok", 2) == 0 ? 0 : -1;
}

/* Wait until the flag's presence equals want; returns microseconds waited
 * from t0, or -1 on a 2 s timeout. */
static long wait_flag(int ino, const char *flag, int want, uint64_t t0)
{
	char buf[4096] __attribute__((aligned(8)));

	for (;;) {
		if (util_path_exists(flag) == want)
			return (long)(util_now_usec() - t0);
		struct pollfd p = { ino, POLLIN, 0 };
		long left = 2000 - (long)((util_now_usec() - t0) / 1000);
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return util_path_exists(flag) == want ? (long)(util_now_usec() - t0) : -1;
		while (read(ino, buf, sizeof(buf)) > 0)
			;
	}
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static void report(const char *what, long *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_long);
	printf("%s: n=%d p50=%.2f ms p99=%.2f ms max=%.2f ms\n", what, n, v[n / 2] / 1000.0,
	       v[(n * 99) / 100] / 1000.0, v[n - 1] / 1000.0);
}

int main(int argc, char **argv)
{
	char dir[PATH_MAX], req[128], *slash;
	long *lock_us, *unlock_us;
	int count, ino, fails = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: bench_lock CONTROL_SOCKET FLAG_PATH HOST COUNT\n");
		return 2;
	}
	count = atoi(argv[4]);
	lock_us = calloc((size_t)count, sizeof(long));
	unlock_us = calloc((size_t)count, sizeof(long));
	util_strcpy_bounded(dir, sizeof(dir), argv[2]);
	slash = strrchr(dir, '/');
	*slash = '\0';
	ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (ino < 0 || inotify_add_watch(ino, dir, IN_MOVED_TO | IN_DELETE | IN_CREATE) < 0) {
		perror("inotify");
		return 1;
	}
	for (int i = 0; i < count; i++) {
		uint64_t t0;

		snprintf(req, sizeof(req), "lock %s\n", argv[3]);
		t0 = util_now_usec();
		if (request(argv[1], req) < 0)
			return 1;
		lock_us[i] = wait_flag(ino, argv[2], 1, t0);
		snprintf(req, sizeof(req), "unlock %s\n", argv[3]);
		t0 = util_now_usec();
		if (request(argv[1], req) < 0)
			return 1;
		unlock_us[i] = wait_flag(ino, argv[2], 0, t0);
		if (lock_us[i] < 0 || unlock_us[i] < 0) {
			fails++;
			lock_us[i] = unlock_us[i] = 2000000;
		}
	}
	report("lock   -> flag written", lock_us, count);
	report("unlock -> flag removed", unlock_us, count);
	printf("timeouts (2 s): %d\n", fails);
	qsort(lock_us, (size_t)count, sizeof(long), cmp_long);
	printf("summary: lock latency p99 %.2f ms over %d locks (target <= 50 ms): %s\n",
	       lock_us[(count * 99) / 100] / 1000.0, count,
	       lock_us[(count * 99) / 100] <= 50000 && !fails ? "met" : "NOT met");
	free(lock_us);
	free(unlock_us);
	close(ino);
	return fails ? 1 : 0;
}
