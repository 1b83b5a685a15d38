/* mtcagent's control socket: mtcctl's requests (list, lock, unlock), one
 * line in, a reply out, both driven by the event loop so no client can
 * hold it. */
#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "mtc_control.h"
#include "unixsock.h"
#include "util.h"

#define CONTROL_DEADLINE_USEC (5 * USEC_PER_SEC) /* a whole request and reply */
#define CONTROL_MAX_CONNS 32
typedef struct control_conn {
	agent *a;
	int fd;
	sd_event_source *io, *deadline;
	char req[256];
	size_t req_len;
	reply out;
	size_t out_pos;
	bool replying;
	bool pending;   /* the store has not answered yet */
	bool deferred;  /* ... and the reply is sent when it does */
	bool abandoned; /* ... and the client's deadline passed */
	bool lock;      /* the request was a lock (metrics) */
	uint64_t started_usec;
	struct control_conn *next;
} control_conn;

static void conn_reply(control_conn *c);
static void conn_close(control_conn *c);

static void admin_done(agent *a, agent_host *h, int r, const char *why, void *ctx)
{
	control_conn *c = ctx;
	reply *fd = &c->out;
	char out[512], hint[256];
	int n;

	c->pending = false;
	agent_metrics_admin_done(a, c->lock, r, util_now_usec() - c->started_usec);
	if (c->abandoned) {
		conn_close(c);
		return;
	}
	if (r < 0)
		n = snprintf(out, sizeof(out), "error: %s\n", why);
	else {
		agent_key_hint(a, h, hint, sizeof(hint));
		n = snprintf(out, sizeof(out), "ok: %s %s%s%s%s\n", h->entry.name, agent_admin_name(h), why ? "; " : "",
			     why ? why : "", hint);
	}
	write_all(fd, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
	if (c->deferred)
		conn_reply(c);
}

/* The reply goes into c->out; a lock/unlock may be answered later, by
 * the store (c->pending). */
static void handle_control(agent *a, control_conn *c, char *req)
{
	reply *fd = &c->out;
	char verb[16] = "", arg[MTC_HOSTNAME_MAX + 2] = "", arg2[MTC_HOSTNAME_MAX + 2] = "", out[256];
	agent_host *h;
	int n;

	sscanf(req, "%15s %64s %64s", verb, arg, arg2);
	if (strcmp(verb, "list") == 0) {
		/* "list [json] [HOST]": one host only (mtcctl list HOST, --wait). */
		const char *name = strcmp(arg, "json") == 0 ? arg2 : arg;

		h = name[0] ? agent_find_host(a, name) : NULL;
		if (name[0] && !h) {
			n = snprintf(out, sizeof(out), "error: unknown host '%s' (not in %s)\n", name, a->cfg.hosts_file);
			write_all(fd, out, (size_t)n);
		} else if (strcmp(arg, "json") == 0) {
			agent_reply_list_json(a, fd, h);
		} else {
			agent_reply_list_text(a, fd, h);
		}
		return;
	}
	if (strcmp(verb, "lock") != 0 && strcmp(verb, "unlock") != 0) {
		n = snprintf(out, sizeof(out), "error: unknown request '%s'\n", verb);
		write_all(fd, out, (size_t)n);
		return;
	}
	h = agent_find_host(a, arg);
	if (!h) {
		n = snprintf(out, sizeof(out), "error: unknown host '%s' (not in %s)\n", arg, a->cfg.hosts_file);
		write_all(fd, out, (size_t)n);
		return;
	}
	c->pending = true;
	c->lock = strcmp(verb, "lock") == 0;
	c->started_usec = util_now_usec();
	agent_set_admin(a, h, c->lock, admin_done, c);
	c->deferred = c->pending;
}

static void conn_close(control_conn *c)
{
	control_conn **pp;
	bool big;

	for (pp = &c->a->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->a->n_conns--;
	sd_event_source_unref(c->io);
	sd_event_source_unref(c->deadline);
	close(c->fd);
	big = c->out.cap > 64 * 1024;
	free(c->out.buf);
	free(c);
	/* A list of 10,000 hosts (JSON document and reply, many small blocks)
	 * would otherwise stay in the heap: 27 MiB more RSS after one
	 * mtcctl list --json, measured by bench 6/7. */
	if (big)
		malloc_trim(0);
}

static int conn_on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	control_conn *c = userdata;

	(void)s;
	(void)usec;
	if (c->pending) {
		/* The store holds c until it answers (its requests time out
		 * before this deadline); then c is closed unanswered. */
		log_notice("control client: no answer from the %s store within %d s", c->a->store->name,
			   (int)(CONTROL_DEADLINE_USEC / USEC_PER_SEC));
		c->abandoned = true;
		return 0;
	}
	log_notice("control client %s within %d s; connection closed",
		   c->replying ? "did not read its reply" : "sent no complete request",
		   (int)(CONTROL_DEADLINE_USEC / USEC_PER_SEC));
	conn_close(c);
	return 0;
}

/* Send what the socket takes now; true when the connection is finished. */
static bool conn_flush(control_conn *c)
{
	while (c->out_pos < c->out.len) {
		/* MSG_NOSIGNAL: a reader that went away (mtcctl list | head)
		 * must not kill the agent with SIGPIPE. */
		ssize_t n = send(c->fd, c->out.buf + c->out_pos, c->out.len - c->out_pos, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return false;
			log_debug("control reply cut short: %m");
			return true;
		}
		c->out_pos += (size_t)n;
	}
	return true;
}

static void conn_reply(control_conn *c)
{
	c->replying = true;
	if (c->out.failed)
		log_warn("control reply too large or out of memory; cut short");
	if (conn_flush(c) || sd_event_source_set_io_events(c->io, EPOLLOUT) < 0 ||
	    sd_event_source_set_enabled(c->io, SD_EVENT_ON) < 0)
		conn_close(c);
}

static int conn_on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	control_conn *c = userdata;
	ssize_t n;

	(void)s;
	if (c->replying) {
		if (conn_flush(c) || (revents & (EPOLLERR | EPOLLHUP)))
			conn_close(c);
		return 0;
	}
	n = recv(fd, c->req + c->req_len, sizeof(c->req) - 1 - c->req_len, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(c);
		return 0;
	}
	c->req_len += (size_t)n;
	c->req[c->req_len] = '\0';
	/* A request is one line; mtcctl also half-closes after it. */
	if (n > 0 && !strchr(c->req, '\n') && c->req_len < sizeof(c->req) - 1)
		return 0;
	if (c->req_len == 0) {
		conn_close(c);
		return 0;
	}
	sd_event_source_set_enabled(c->io, SD_EVENT_OFF);
	handle_control(c->a, c, c->req);
	if (!c->pending)
		conn_reply(c);
	return 0;
}

static int on_control(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	agent *a = userdata;
	struct ucred cred;
	socklen_t len;
	int cfd;

	(void)s;
	(void)revents;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		control_conn *c;
		uint64_t now;

		len = sizeof(cred);
		if (a->n_conns >= CONTROL_MAX_CONNS) {
			log_warn("control: %d connections open; refusing another", CONTROL_MAX_CONNS);
			close(cfd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (!c) {
			close(cfd);
			continue;
		}
		c->a = a;
		c->fd = cfd;
		c->next = a->conns;
		a->conns = c;
		a->n_conns++;
		sd_event_now(a->event, CLOCK_MONOTONIC, &now);
		if (sd_event_add_io(a->event, &c->io, cfd, EPOLLIN, conn_on_io, c) < 0 ||
		    sd_event_add_time(a->event, &c->deadline, CLOCK_MONOTONIC, now + CONTROL_DEADLINE_USEC,
				      100 * USEC_PER_MSEC, conn_on_deadline, c) < 0) {
			conn_close(c);
			continue;
		}
		if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
		    (cred.uid != 0 && cred.uid != geteuid())) {
			write_all(&c->out, "error: permission denied\n", 25);
			conn_reply(c);
		}
	}
	return 0;
}

static int control_listen(const char *path, int *ret)
{
	int fd, r;

	r = unixsock_bind(path, SOCK_STREAM, &fd);
	if (r < 0)
		return r;
	if (listen(fd, 16) < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	chmod(path, 0600);
	*ret = fd;
	return 0;
}

int agent_control_open(agent *a)
{
	int r = control_listen(a->cfg.control_socket, &a->control_fd);

	if (r < 0) {
		log_err("cannot open control socket %s: %s", a->cfg.control_socket,
			r == -EEXIST ? "path exists and is not a socket" : strerror(-r));
		return r;
	}
	return sd_event_add_io(a->event, &a->control_src, a->control_fd, EPOLLIN, on_control, a);
}

void agent_control_close(agent *a)
{
	while (a->conns)
		conn_close(a->conns);
	a->control_src = sd_event_source_unref(a->control_src);
	if (a->control_fd >= 0) {
		close(a->control_fd);
		unlink(a->cfg.control_socket);
	}
	a->control_fd = -1;
}
