/* hostwd: the health socket: who may connect, reports in, status out. */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileops.h"
#include "hostwd.h"
#include "hwd_action.h"
#include "hwd_report.h"
#include "kvtext.h"
#include "log.h"
#include "unixsock.h"
#include "util.h"

/* The reply goes only into the socket the request carried: no address,
 * so it crosses network namespaces, and nobody else can answer in our
 * name. Only a unix datagram socket is written to, never blocking. */
static void reply_status(hostwd *h, int reply_fd)
{
	char buf[KV_MAX_MSG];
	int domain = 0, type = 0, n;
	socklen_t l1 = sizeof(domain), l2 = sizeof(type);

	h->n.status_requests++;
	if (getsockopt(reply_fd, SOL_SOCKET, SO_DOMAIN, &domain, &l1) < 0 ||
	    getsockopt(reply_fd, SOL_SOCKET, SO_TYPE, &type, &l2) < 0 || domain != AF_UNIX || type != SOCK_DGRAM) {
		h->n.malformed++;
		return;
	}
	n = hostwd_format_status(h, buf, sizeof(buf));
	if (send(reply_fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("status reply failed: %m");
}

/* Every descriptor a datagram brings is closed, whatever the datagram, or
 * anyone able to send could exhaust our fd table. A socket with a linger
 * time set could make close() wait: clear it first. */
static void close_received(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct linger off = { 0, 0 };

		setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &off, sizeof(off));
		close(fds[i]);
	}
}

static void handle_datagram(hostwd *h, const char *buf, ssize_t len, bool truncated, const struct ucred *cred,
			    const int *fds, unsigned n_fds)
{
	hwd_policy_cfg pc;
	hwd_report rep;
	hwd_event ev;
	int k = hwd_report_parse(buf, (size_t)len, &rep);

	switch (hwd_intake_classify(k, truncated, cred != NULL, cred && hwd_config_uid_allowed(&h->cfg, cred->uid), n_fds)) {
	case HWD_IN_MALFORMED:
		h->n.malformed++;
		return;
	case HWD_IN_STATUS:
		reply_status(h, fds[0]);
		return;
	case HWD_IN_REJECTED:
		h->n.rejected++;
		h->n.last_rejected_uid = cred ? (long)cred->uid : -1L;
		return;
	case HWD_IN_REPORT:
		break;
	}
	if (hostwd_fit_check(h, "drop_reports", &h->fit_drop_reports)) {
		h->n.dropped_fit++;
		return;
	}
	h->n.reports++;
	pc = hostwd_policy_cfg(&h->cfg);
	ev = hwd_policy_report(&h->policy, &pc, &rep, util_now_ms());
	hostwd_handle_event(h, ev);
}

int hostwd_on_health(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	hostwd *h = userdata;

	(void)s;
	(void)revents;
	/* Drain, bounded per wakeup so a flood cannot starve the timers (which
	 * also run at a higher priority); the fd stays readable if more wait. */
	for (int i = 0; i < 256; i++) {
		char buf[KV_MAX_MSG + 1];
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * HWD_MAX_RX_FDS)];
		} control;
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = &control, .msg_controllen = sizeof(control),
		};
		const struct ucred *cred = NULL;
		int fds[HWD_MAX_RX_FDS * 2];
		unsigned n_fds = 0;
		ssize_t n;

		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_warn("health socket receive failed: %m");
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
				cred = (const struct ucred *)CMSG_DATA(c);
			} else if (c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (size_t j = 0; j < k && n_fds < ARRAY_SIZE(fds); j++)
					memcpy(&fds[n_fds++], CMSG_DATA(c) + j * sizeof(int), sizeof(int));
			}
		}
		handle_datagram(h, buf, n, mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC), cred, fds, n_fds);
		close_received(fds, n_fds);
	}
	return 0;
}

static int resolve_group(const char *name, gid_t *ret)
{
	struct group gr, *res = NULL;
	char buf[1024];
	long v;

	if (util_parse_long(name, 0, 0x7fffffff, &v) == 0) {
		*ret = (gid_t)v;
		return 0;
	}
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return -ESRCH;
	*ret = res->gr_gid;
	return 0;
}

/* Who may connect at all is decided by the file system: the socket is
 * created closed (umask 0177) and then given its group and mode, so it is
 * never open to everyone, not even for a moment. */
int hostwd_health_open(const hwd_config *c, int *ret_fd)
{
	char dir[sizeof(c->health_socket)], *slash;
	int one = 1, rcvbuf = 1 << 20, fd, r;
	gid_t gid = (gid_t)-1;
	mode_t old;

	if (c->socket_group[0] && resolve_group(c->socket_group, &gid) < 0) {
		log_err("[health] socket_group '%s': no such group", c->socket_group);
		return -ESRCH;
	}
	snprintf(dir, sizeof(dir), "%s", c->health_socket);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		r = fileops_mkdir_parents(dir, 0755);
		if (r < 0)
			return r;
	}
	old = umask(0177);
	r = unixsock_bind(c->health_socket, SOCK_DGRAM, &fd);
	umask(old);
	if (r < 0)
		return r;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    (gid != (gid_t)-1 && chown(c->health_socket, (uid_t)-1, gid) < 0) ||
	    chmod(c->health_socket, c->socket_mode_bits) < 0) {
		r = -errno;
		close(fd);
		unlink(c->health_socket);
		return r;
	}
	/* Room for bursts; the queue length itself is net.unix.max_dgram_qlen. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	*ret_fd = fd;
	return 0;
}
