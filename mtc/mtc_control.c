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

#include <jansson.h>

#include "log.h"
#include "mtc_agent.h"
#include "unixsock.h"
#include "util.h"

static void format_age(uint64_t seen, uint64_t now, char *buf, size_t size)
{
	if (!seen)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.1fs", (double)(now - seen) / 1000.0);
}

static const char *reported_name(int r)
{
	return r == MTC_REPORTED_LOCKED ? "locked" : r == MTC_REPORTED_UNLOCKED ? "unlocked" : "unknown";
}

/* A reply is built in memory, then sent to mtcctl as the socket accepts
 * it, from the event loop: no control client, slow or silent, can hold
 * the loop (mtcAlive keeps being served meanwhile). */
typedef struct reply {
	char *buf;
	size_t len, cap;
	bool failed;
} reply;

#define CONTROL_DEADLINE_USEC (5 * USEC_PER_SEC) /* a whole request and reply */
#define CONTROL_MAX_CONNS 32
#define CONTROL_REPLY_MAX (64u << 20)

static int write_all(reply *rp, const char *p, size_t len)
{
	if (rp->failed)
		return -ENOMEM;
	if (rp->len + len > rp->cap) {
		size_t cap = rp->cap ? rp->cap : 4096;
		char *b;

		while (cap < rp->len + len)
			cap *= 2;
		b = cap <= CONTROL_REPLY_MAX ? realloc(rp->buf, cap) : NULL;
		if (!b) {
			rp->failed = true;
			return -ENOMEM;
		}
		rp->buf = b;
		rp->cap = cap;
	}
	memcpy(rp->buf + rp->len, p, len);
	rp->len += len;
	return 0;
}

/* Which store holds admin state, and whether it answers. */
static void reply_store(agent *a, reply *fd)
{
	char line[600];
	int n;

	a->store->describe(a->store_data, line + 7, sizeof(line) - 8);
	memcpy(line, "store: ", 7);
	n = (int)strlen(line);
	line[n++] = '\n';
	write_all(fd, line, (size_t)n);
}

/* "  (mtcAlive missing via mgmt, cluster)", or "". */
static void missing_note(const agent *a, const agent_host *h, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int net = 0; net < MTC_NET_COUNT && used < size; net++)
		if (agent_fleet_watched(a, h, net) && h->link[net].state == MTC_LINK_MISSING)
			used += (size_t)snprintf(buf + used, size - used, "%s%s",
						 used ? ", " : "  (mtcAlive missing via ", mtc_net_name((unsigned)net));
	if (used && used < size)
		snprintf(buf + used, size - used, ")");
}

static size_t missing_hosts(const agent *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n_hosts; i++)
		n += agent_host_missing(a, &a->hosts[i]);
	return n;
}

static void reply_list_text(agent *a, reply *fd)
{
	uint64_t now = util_now_ms();
	char line[512];
	int n;

	n = snprintf(line, sizeof(line), "%-20s %-9s %-9s %-10s %-8s %-8s %-8s %s\n", "HOST", "ADMIN", "REPORTED",
		     "CONFIGURED", "PXEBOOT", "MGMT", "CLUSTER", "MISMATCH");
	write_all(fd, line, (size_t)n);
	for (size_t i = 0; i < a->n_hosts && !fd->failed; i++) {
		agent_host *h = &a->hosts[i];
		char age[MTC_NET_COUNT][24], note[80];

		for (int net = 0; net < MTC_NET_COUNT; net++)
			format_age(h->order.last_seen_ms[net], now, age[net], sizeof(age[net]));
		missing_note(a, h, note, sizeof(note));
		n = snprintf(line, sizeof(line), "%-20s %-9s %-9s %-10s %-8s %-8s %-8s %s%s%s\n", h->entry.name,
			     agent_admin_name(h), reported_name(h->adm.ep.reported), h->configured ? "yes" : "no", age[0],
			     age[1], age[2], h->adm.ep.active ? "yes" : "no",
			     mtc_admin_known(&h->adm) ? "" : "  (admin state unknown: treated as locked)", note);
		write_all(fd, line, (size_t)n);
	}
	unsigned long rx = a->io.rx[0] + a->io.rx[1] + a->io.rx[2], tx = a->tx[0] + a->tx[1] + a->tx[2];

	n = snprintf(line, sizeof(line), "frames: rx=%lu tx=%lu; dropped: bad_auth=%lu malformed=%lu unknown_host=%lu stale=%lu "
		     "old_boot=%lu wrong_net=%lu\n", rx, tx, a->drops.bad_auth, a->drops.malformed, a->unknown_host, a->stale, a->old_boot,
		     a->drops.wrong_net);
	write_all(fd, line, (size_t)n);
	if (agent_missing_ms(a))
		n = snprintf(line, sizeof(line), "mtcAlive missing: %zu host(s) on at least one network (after %.0f s of "
			     "silence)\n", missing_hosts(a), (double)agent_missing_ms(a) / 1000.0);
	else
		n = snprintf(line, sizeof(line), "mtcAlive missing: not watched ([agent] alive_missing_periods = 0)\n");
	write_all(fd, line, (size_t)n);
}

static json_t *ms_ago(uint64_t seen, uint64_t now)
{
	return seen ? json_integer((json_int_t)(now - seen)) : json_null();
}

/* Per network: "up", "missing", "waiting" (none yet since the agent
 * started watching) or "none" (not provisioned for this host). */
static json_t *alive_json(const agent *a, const agent_host *h)
{
	const char *s[MTC_NET_COUNT];

	for (int net = 0; net < MTC_NET_COUNT; net++)
		s[net] = agent_fleet_watched(a, h, net) ? mtc_link_state_name(h->link[net].state) : "none";
	return json_pack("{s:s, s:s, s:s}", "pxeboot", s[0], "mgmt", s[1], "cluster", s[2]);
}

/* One host of list --json; NULL when out of memory. */
static json_t *host_json(const agent *a, const agent_host *h, uint64_t now)
{
	const uint64_t *seen = h->order.last_seen_ms;

	return json_pack("{s:s, s:s, s:b, s:s, s:b, s:{s:o, s:o, s:o}, s:o, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "name", h->entry.name, "admin", agent_admin_name(h), "admin_known", mtc_admin_known(&h->adm),
			 "reported", reported_name(h->adm.ep.reported), "configured", h->configured, "last_seen_ms_ago",
			 "pxeboot", ms_ago(seen[0], now), "mgmt", ms_ago(seen[1], now), "cluster", ms_ago(seen[2], now),
			 "alive", alive_json(a, h),
			 "mismatch", h->adm.ep.active, "episodes", (json_int_t)h->adm.ep.episodes, "alives", (json_int_t)h->alives,
			 "acks", (json_int_t)h->acks, "stale", (json_int_t)h->stale, "reordered", (json_int_t)h->reordered,
			 "old_boot", (json_int_t)h->old_boot, "boot", (json_int_t)h->order.boot, "cmdseq",
			 (json_int_t)h->adm.order, "applied", (json_int_t)h->adm.applied);
}

/* Store text carries paths and libcurl's words, cut to a length that may
 * split a UTF-8 sequence, which jansson refuses (and the whole list with
 * it): keep printable ASCII, '?' for anything else. */
static char *ascii_only(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return s;
}

/* The store's health as data: what the "store:" line says in words. */
static json_t *store_health_json(agent *a)
{
	mtc_store_health sh;

	a->store->health(a->store_data, &sh);
	return json_pack("{s:s, s:b, s:b, s:I, s:f, s:s}", "kind", a->store->name, "loaded", sh.loaded, "healthy",
			 sh.healthy, "revision", (json_int_t)sh.revision, "unavailable_s", sh.unavailable_s, "error",
			 ascii_only(sh.error));
}

static int append_to_reply(const char *buf, size_t size, void *userdata)
{
	return write_all(userdata, buf, size) < 0 ? -1 : 0;
}

/* list --json: the same fields and order as ever, written by jansson so
 * every string is escaped. A document that cannot be built is cut short
 * (mtcctl then says the reply is not JSON), like a reply that outgrows
 * its buffer. */
static void reply_list_json(agent *a, reply *fd)
{
	uint64_t now = util_now_ms();
	json_t *hosts = json_array(), *d;

	for (size_t i = 0; i < a->n_hosts && hosts; i++)
		if (json_array_append_new(hosts, host_json(a, &a->hosts[i], now)) < 0) {
			json_decref(hosts);
			hosts = NULL;
		}
	d = !hosts ? NULL :
	    json_pack("{s:o, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "hosts", hosts, "frames", "rx",
		      (json_int_t)(a->io.rx[0] + a->io.rx[1] + a->io.rx[2]), "tx",
		      (json_int_t)(a->tx[0] + a->tx[1] + a->tx[2]), "tx_errors",
		      (json_int_t)(a->tx_errors[0] + a->tx_errors[1] + a->tx_errors[2]), "dropped", "bad_auth",
		      (json_int_t)a->drops.bad_auth, "malformed", (json_int_t)a->drops.malformed, "unknown_host",
		      (json_int_t)a->unknown_host, "stale", (json_int_t)a->stale, "old_boot", (json_int_t)a->old_boot, "wrong_net", (json_int_t)a->drops.wrong_net);
	if (d) {
		char store[512];

		/* Which store holds admin state, and whether it answers (as the
		 * text list's last line). */
		a->store->describe(a->store_data, store, sizeof(store));
		if (json_object_set_new(d, "store", json_string(ascii_only(store))) < 0 ||
		    json_object_set_new(d, "store_health", store_health_json(a)) < 0 ||
		    json_object_set_new(d, "alive_missing", json_pack("{s:I, s:I}", "after_ms",
				(json_int_t)agent_missing_ms(a), "hosts", (json_int_t)missing_hosts(a))) < 0) {
			json_decref(d);
			d = NULL;
		}
	}
	if (!d || json_dump_callback(d, append_to_reply, fd, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0)
		fd->failed = true;
	else
		write_all(fd, "\n", 1);
	json_decref(d);
}

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
	struct control_conn *next;
} control_conn;

static void conn_reply(control_conn *c);
static void conn_close(control_conn *c);

static void admin_done(agent *a, agent_host *h, int r, const char *why, void *ctx)
{
	control_conn *c = ctx;
	reply *fd = &c->out;
	char out[512];
	int n;

	(void)a;
	c->pending = false;
	if (c->abandoned) {
		conn_close(c);
		return;
	}
	if (r < 0)
		n = snprintf(out, sizeof(out), "error: %s\n", why);
	else
		n = snprintf(out, sizeof(out), "ok: %s %s%s%s%s\n", h->entry.name, agent_admin_name(h), why ? "; " : "",
			     why ? why : "", h->adm.heard ? "; sent on pxeboot, mgmt, cluster" : "; pending its first mtcAlive");
	write_all(fd, out, (size_t)n < sizeof(out) ? (size_t)n : sizeof(out) - 1);
	if (c->deferred)
		conn_reply(c);
}

/* The reply goes into c->out; a lock/unlock may be answered later, by
 * the store (c->pending). */
static void handle_control(agent *a, control_conn *c, char *req)
{
	reply *fd = &c->out;
	char verb[16] = "", arg[MTC_HOSTNAME_MAX + 2] = "", out[256];
	agent_host *h;
	int n;

	sscanf(req, "%15s %64s", verb, arg);
	if (strcmp(verb, "list") == 0) {
		if (strcmp(arg, "json") == 0) {
			reply_list_json(a, fd);
		} else {
			reply_list_text(a, fd);
			reply_store(a, fd);
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
	agent_set_admin(a, h, strcmp(verb, "lock") == 0, admin_done, c);
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
