#include "pmonhook.h"
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
	struct sockaddr_un self = { .sun_family = AF_UNIX };
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
	/* Autobind an abstract address so hostwd can reply to status. */
	if (h->fd < 0 || bind(h->fd, (struct sockaddr *)&self, sizeof(sa_family_t)) < 0) {
		int r = -errno;
		if (h->fd >= 0)
			close(h->fd);
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

int pmh_report(pmh *h, bool configured, bool quorum_ok, const char *process)
{
	char buf[160];
	int n;

	if (!h)
		return -EINVAL;
	if (process && *process && !process_name_ok(process))
		return -EINVAL;
	n = snprintf(buf, sizeof(buf), "v1 configured=%d quorum=%s%s%s seq=%u", configured ? 1 : 0,
		     quorum_ok ? "ok" : "lost", process && *process ? " process=" : "",
		     process && *process ? process : "", ++h->seq);
	return send_text(h, buf, (size_t)n);
}

static void copy_field(char *dst, size_t size, const char *v)
{
	snprintf(dst, size, "%s", v ? v : "");
}

static unsigned long get_ul(const kv_msg *m, const char *key)
{
	const char *v = kv_get(m, key);

	return v ? strtoul(v, NULL, 10) : 0;
}

int pmh_status_parse(const char *data, unsigned long len, struct pmh_status *ret)
{
	kv_msg m;
	const char *v;
	int r;

	r = kv_parse(data, len, &m);
	if (r < 0)
		return r;
	if (!kv_get(&m, "state") || !kv_get(&m, "quorum"))
		return -EBADMSG;
	memset(ret, 0, sizeof(*ret));
	copy_field(ret->state, sizeof(ret->state), kv_get(&m, "state"));
	copy_field(ret->quorum, sizeof(ret->quorum), kv_get(&m, "quorum"));
	copy_field(ret->action, sizeof(ret->action), kv_get(&m, "action"));
	ret->locked = get_ul(&m, "locked") == 1;
	ret->configured = get_ul(&m, "configured") == 1;
	ret->suppressed = get_ul(&m, "suppressed") == 1;
	ret->kicking = get_ul(&m, "kicking") == 1;
	ret->bad_periods = (unsigned)get_ul(&m, "bad_periods");
	ret->failure_threshold = (unsigned)get_ul(&m, "failure_threshold");
	v = kv_get(&m, "last_report_age_s");
	ret->last_report_age_s = v ? strtol(v, NULL, 10) : -1;
	ret->reports = get_ul(&m, "reports");
	ret->malformed = get_ul(&m, "malformed");
	ret->rejected = get_ul(&m, "rejected");
	ret->kicks = get_ul(&m, "kicks");
	ret->actions = get_ul(&m, "actions");
	v = kv_get(&m, "reason");
	if (!v || strcmp(v, "none") == 0)
		ret->reason[0] = '\0';
	else if (strcmp(v, "no-report") == 0)
		copy_field(ret->reason, sizeof(ret->reason), "no report");
	else if (strcmp(v, "process-lost") == 0)
		snprintf(ret->reason, sizeof(ret->reason), "process %s lost", kv_get(&m, "reason_process") ?: "?");
	else if (strcmp(v, "quorum-lost") == 0)
		copy_field(ret->reason, sizeof(ret->reason), "quorum lost");
	else
		copy_field(ret->reason, sizeof(ret->reason), v);
	return 0;
}

static long elapsed_ms(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

int pmh_status(pmh *h, struct pmh_status *ret, int timeout_ms)
{
	char buf[KV_MAX_MSG + 1];
	struct timespec t0;
	int r;

	if (!h || !ret)
		return -EINVAL;
	if (timeout_ms <= 0)
		timeout_ms = 1000;
	/* Drop replies to earlier requests that timed out. */
	while (recv(h->fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		;
	r = send_text(h, "v1 status", 9);
	if (r < 0)
		return r;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left = timeout_ms - elapsed_ms(&t0);
		struct pollfd p = { h->fd, POLLIN, 0 };
		ssize_t n;

		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)left);
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r <= 0)
			continue;
		n = recv(h->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			continue;
		if (pmh_status_parse(buf, (unsigned long)n, ret) == 0)
			return 0;
	}
}

void pmh_close(pmh *h)
{
	if (!h)
		return;
	close(h->fd);
	free(h);
}
