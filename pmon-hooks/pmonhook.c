#include "pmonhook.h"
#include "health_wire.h"
#include "kvtext.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct pmh {
	int fd;
	struct sockaddr_un addr;
	unsigned seq;
};

int pmh_open(const char *socket_path, pmh **ret)
{
	struct stat st;
	pmh *h;

	if (!socket_path || !ret)
		return -EINVAL;
	if (strlen(socket_path) >= sizeof(h->addr.sun_path))
		return -ENAMETOOLONG;
	if (stat(socket_path, &st) == 0 && !S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->addr.sun_family = AF_UNIX;
	strcpy(h->addr.sun_path, socket_path);
	h->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	/* Unbound: status replies come back over a socketpair passed with the
	 * request, never to an address anyone could send to. */
	if (h->fd < 0) {
		int r = -errno;
		free(h);
		return r;
	}
	*ret = h;
	return 0;
}

static int send_text(pmh *h, const char *text, size_t len)
{
	/* sendto each time, not connect: hostwd restarting replaces the socket. */
	if (sendto(h->fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL, (struct sockaddr *)&h->addr,
		   sizeof(h->addr)) < 0)
		return -errno;
	return 0;
}

static bool process_name_ok(const char *p)
{
	size_t n = strlen(p);

	if (n == 0 || n > 63)
		return false;
	for (; *p; p++)
		if (*p <= ' ' || *p > '~' || *p == '=')
			return false;
	return true;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* hostwd's queue is full (a burst, or someone flooding the socket): wait
 * for room on a connected socket, whose POLLOUT follows the receiver's
 * queue, and send as soon as there is. Bounded by timeout_ms. */
static int send_waiting(pmh *h, const char *text, size_t len, int timeout_ms)
{
	struct timespec t0;
	int fd, r;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&h->addr, sizeof(h->addr)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd p = { fd, POLLOUT, 0 };
		long left;

		if (send(fd, text, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
			r = 0;
			break;
		}
		if (errno != EAGAIN && errno != EINTR) {
			r = -errno;
			break;
		}
		left = timeout_ms - elapsed_ms(&t0);
		if (left <= 0) {
			r = -EAGAIN;
			break;
		}
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR) {
			r = -errno;
			break;
		}
	}
	close(fd);
	return r;
}

int pmh_report_wait(pmh *h, bool configured, bool quorum_ok, const char *process, int timeout_ms)
{
	char buf[160];
	int n, r;

	if (!h)
		return -EINVAL;
	if (process && *process && !process_name_ok(process))
		return -EINVAL;
	n = snprintf(buf, sizeof(buf), "v1 configured=%d quorum=%s%s%s seq=%u", configured ? 1 : 0,
		     quorum_ok ? "ok" : "lost", process && *process ? " process=" : "",
		     process && *process ? process : "", ++h->seq);
	r = send_text(h, buf, (size_t)n);
	if (r == -EAGAIN && timeout_ms > 0)
		r = send_waiting(h, buf, (size_t)n, timeout_ms);
	return r;
}

int pmh_report(pmh *h, bool configured, bool quorum_ok, const char *process)
{
	return pmh_report_wait(h, configured, quorum_ok, process, 0);
}

static void copy_field(char *dst, size_t size, const char *v)
{
	snprintf(dst, size, "%s", v ? v : "");
}

static unsigned long get_ul(const kvtext_msg *m, const char *key)
{
	const char *v = kvtext_get(m, key);

	return v ? strtoul(v, NULL, 10) : 0;
}

int pmh_status_parse(const char *data, unsigned long len, struct pmh_status *ret)
{
	health_reason reason;
	kvtext_msg m;
	const char *v;
	int r;

	r = kvtext_parse(data, len, &m);
	if (r < 0)
		return r;
	if (!kvtext_get(&m, "state") || !kvtext_get(&m, "quorum"))
		return -EBADMSG;
	memset(ret, 0, sizeof(*ret));
	copy_field(ret->state, sizeof(ret->state), kvtext_get(&m, "state"));
	copy_field(ret->quorum, sizeof(ret->quorum), kvtext_get(&m, "quorum"));
	copy_field(ret->action, sizeof(ret->action), kvtext_get(&m, "action"));
	ret->locked = get_ul(&m, "locked") == 1;
	ret->configured = get_ul(&m, "configured") == 1;
	ret->suppressed = get_ul(&m, "suppressed") == 1;
	ret->kicking = get_ul(&m, "kicking") == 1;
	ret->bad_periods = (unsigned)get_ul(&m, "bad_periods");
	ret->failure_threshold = (unsigned)get_ul(&m, "failure_threshold");
	v = kvtext_get(&m, "last_report_age_s");
	ret->last_report_age_s = v ? strtol(v, NULL, 10) : -1;
	ret->reports = get_ul(&m, "reports");
	ret->malformed = get_ul(&m, "malformed");
	ret->rejected = get_ul(&m, "rejected");
	ret->kicks = get_ul(&m, "kicks");
	ret->actions = get_ul(&m, "actions");
	v = kvtext_get(&m, "reason");
	if (!v)
		ret->reason[0] = '\0';
	else if (health_reason_parse(v, &reason) == 0)
		health_reason_text(reason, kvtext_get(&m, "reason_process"), ret->reason, sizeof(ret->reason));
	else
		copy_field(ret->reason, sizeof(ret->reason), v); /* a newer hostwd's code, as it is */
	return 0;
}

/* Waits up to timeout_ms for one datagram on fd into buf: its length or -errno. */
static int wait_reply(int fd, char *buf, unsigned long size, int timeout_ms)
{
	struct timespec t0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = timeout_ms - elapsed_ms(&t0);
		struct pollfd p = { fd, POLLIN, 0 };
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) < 0 && errno != EINTR)
			return -errno;
		n = recv(fd, buf, size - 1, MSG_DONTWAIT);
		if (n >= 0) {
			buf[n] = '\0';
			return (int)n;
		}
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

/* The request carries one end of a fresh socketpair (SCM_RIGHTS); hostwd
 * answers into it and closes it. Nothing but the holder of that end can
 * write to ours, and no address is involved, so this works across network
 * namespaces (abstract unix addresses do not). */
int pmh_status_text(pmh *h, char *buf, unsigned long size, int timeout_ms)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { (void *)"v1 status", 9 };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = &control, .msg_controllen = sizeof(control),
	};
	struct cmsghdr *c;
	int sv[2], r;

	if (!h || !buf || size < 2)
		return -EINVAL;
	if (timeout_ms <= 0)
		timeout_ms = 1000;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	mh.msg_name = &h->addr;
	mh.msg_namelen = sizeof(h->addr);
	memset(&control, 0, sizeof(control));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &sv[1], sizeof(int));
	r = sendmsg(h->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) < 0 ? -errno : 0;
	close(sv[1]);
	if (r == 0)
		r = wait_reply(sv[0], buf, size, timeout_ms);
	close(sv[0]);
	return r;
}

int pmh_status(pmh *h, struct pmh_status *ret, int timeout_ms)
{
	char buf[KV_MAX_MSG + 1];
	int n;

	if (!h || !ret)
		return -EINVAL;
	n = pmh_status_text(h, buf, sizeof(buf), timeout_ms);
	if (n < 0)
		return n;
	return pmh_status_parse(buf, (unsigned long)n, ret);
}

void pmh_close(pmh *h)
{
	if (!h)
		return;
	close(h->fd);
	free(h);
}
