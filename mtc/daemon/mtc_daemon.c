#include "mtc_daemon.h"
#include "fileops.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>

static const char *const fit_names[MTC_FIT_KINDS] = { "drop_rx", "drop_tx", "close" };

const char *mtc_fit_name(mtc_fit_kind kind)
{
	return fit_names[kind];
}

bool mtc_fit_check(mtc_fit *f, const mtc_config *cfg, mtc_fit_kind kind, int net)
{
	char path[MTC_PATH_MAX + 32];
	bool on;

	if (!cfg->fit_enabled)
		return false;
	snprintf(path, sizeof(path), "%s/%s_%s", cfg->fit_dir, fit_names[kind], mtc_net_name((unsigned)net));
	on = util_path_exists(path);
	if (on != f->active[kind][net])
		log_emit(LOG_WARNING, MSGID_FIT, "FIT %s_%s: %s", fit_names[kind], mtc_net_name((unsigned)net),
			 on ? "injecting" : "cleared");
	f->active[kind][net] = on;
	if (on)
		f->hits[kind][net]++;
	return on;
}

int mtc_daemon_load_key(const mtc_config *cfg, mtc_key *key)
{
	char msg[512];
	int r;

	memset(key, 0, sizeof(*key));
	if (sodium_init() < 0) {
		log_err("libsodium initialisation failed");
		return -EIO;
	}
	if (!cfg->auth_enabled) {
		log_warn("[auth] enabled = 0: frames are NOT authenticated; anyone on these networks can lock or "
			 "unlock nodes. Lab use only.");
		return 0;
	}
	r = mtc_key_load(cfg->key_file, key, msg, sizeof(msg));
	if (r < 0)
		log_err("%s", msg);
	return r;
}

uint32_t mtc_daemon_boot_id(void)
{
	uint32_t id;

	do
		id = randombytes_random();
	while (id == 0);
	return id;
}

int mtc_counter_read(const char *path, uint32_t *ret)
{
	char buf[32], *end;
	unsigned long v;
	int r = fileops_read_small(path, buf, sizeof(buf));

	if (r < 0)
		return r;
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (end == buf || (*end && *end != '\n') || errno || v > UINT32_MAX)
		return -EBADMSG;
	*ret = (uint32_t)v;
	return 0;
}

int mtc_counter_write(const char *path, uint32_t value)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%u\n", value);

	return fileops_write_atomic(path, buf, (size_t)n, 0644);
}

uint32_t mtc_daemon_next_boot(const char *path, bool *ret_persisted, int *ret_error)
{
	uint32_t boot = 0;
	int r = mtc_counter_read(path, &boot);

	if (r < 0 || boot == UINT32_MAX) {
		time_t now = time(NULL);

		boot = now > 1 ? (uint32_t)now : 1;
	} else {
		boot++;
	}
	r = mtc_counter_write(path, boot);
	*ret_persisted = r == 0;
	*ret_error = r;
	return boot;
}

void mtc_netio_close(mtc_netio *io, int net)
{
	io->rx_src[net] = sd_event_source_unref(io->rx_src[net]);
	io->tx_src[net] = sd_event_source_unref(io->tx_src[net]);
	mtc_sock_close(&io->socks[net], &mtc_real_sock_ops, NULL);
}

static int netio_on_rx(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	mtc_netio *io = userdata;
	int net = -1;

	(void)revents;
	for (int i = 0; i < MTC_NET_COUNT; i++)
		if (io->rx_src[i] == s || io->tx_src[i] == s)
			net = i;
	if (net < 0)
		return 0;
	for (int i = 0; i < io->rx_budget; i++) {
		uint8_t buf[2048];
		struct sockaddr_in from = { 0 };
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				log_warn("receive on %s failed: %m; closing for recovery", mtc_net_name((unsigned)net));
				mtc_netio_close(io, net);
			}
			break;
		}
		io->rx[net]++;
		if (mtc_fit_check(io->fit, io->cfg, MTC_FIT_DROP_RX, net)) {
			if (n >= 4 && (buf[3] == MTC_LOCKED || buf[3] == MTC_UNLOCKED))
				log_notice("FIT: %s via %s dropped on receipt", mtc_type_name(buf[3]),
					   mtc_net_name((unsigned)net));
			continue;
		}
		io->on_frame(io->userdata, net, buf, (size_t)n, &from);
		/* The handler may have closed this network (a failed send). */
		if (io->socks[net].tx_fd < 0)
			break;
	}
	return 0;
}

/* A new rx socket's receive buffer, as configured: the kernel caps it at
 * net.core.rmem_max (and doubles what it grants for its bookkeeping). */
static void netio_rcvbuf(const mtc_netio *io, int net, int fd)
{
	int got = 0;
	socklen_t len = sizeof(got);

	if (io->rx_buffer_bytes <= 0)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &io->rx_buffer_bytes, sizeof(io->rx_buffer_bytes)) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) < 0)
		log_warn("%s: receive buffer of %d KiB not set: %s", mtc_net_name((unsigned)net),
			 io->rx_buffer_bytes / 1024, strerror(errno));
	else if (got / 2 < io->rx_buffer_bytes)
		log_warn("%s: receive buffer %d KiB, not the %d KiB asked (rx_buffer_kb): the kernel's "
			 "net.core.rmem_max is lower; raise it to keep a storm's frames", mtc_net_name((unsigned)net),
			 got / 2 / 1024, io->rx_buffer_bytes / 1024);
	else
		log_notice("%s: receive buffer %d KiB (rx_buffer_kb)", mtc_net_name((unsigned)net), got / 2 / 1024);
}

static int netio_add_rx(mtc_netio *io, sd_event_source **src, int fd)
{
	int r = sd_event_add_io(io->event, src, fd, EPOLLIN, netio_on_rx, io);

	/* A busy socket is put to sleep for the rest of the interval after four
	 * wakeups and then drained in one; a quiet one is read at once. Below
	 * four datagrams per interval nothing changes (the sleep costs a timer
	 * and two epoll_ctl calls, a loss at low rates). */
	if (r >= 0 && io->rx_coalesce_usec)
		r = sd_event_source_set_ratelimit(*src, io->rx_coalesce_usec, 4);
	return r;
}

void mtc_netio_recover(mtc_netio *io)
{
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		bool was = io->fit->active[MTC_FIT_CLOSE][net];

		if (mtc_fit_check(io->fit, io->cfg, MTC_FIT_CLOSE, net) && !was && io->socks[net].provisioned) {
			log_warn("FIT: closing %s sockets to force recovery", mtc_net_name((unsigned)net));
			mtc_netio_close(io, net);
			io->was_up[net] = false;
		}
	}
	mtc_net_recover_all(io->socks, &mtc_real_sock_ops, NULL, NULL);
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		mtc_sock *s = &io->socks[net];
		bool up;

		if (s->rx_fd >= 0 && !io->rx_src[net]) {
			netio_rcvbuf(io, net, s->rx_fd);
			if (netio_add_rx(io, &io->rx_src[net], s->rx_fd) < 0)
				mtc_netio_close(io, net);
		}
		if (io->rx_on_tx && s->tx_fd >= 0 && !io->tx_src[net] &&
		    netio_add_rx(io, &io->tx_src[net], s->tx_fd) < 0)
			mtc_netio_close(io, net);
		up = mtc_sock_up(s);
		if (s->provisioned && mtc_sock_can_send(s) && !up && s->last_error != io->logged_error[net]) {
			/* Send-only: the rx port is taken (a squatter, or a
			 * daemon still running). Say who to look for. */
			log_warn("%s: cannot bind %s:%d: %s%s; sending works, retrying every %ds",
				 mtc_net_name((unsigned)net), inet_ntoa(s->local.sin_addr), s->rx_port,
				 strerror(-s->last_error),
				 s->last_error == -EADDRINUSE ? " (another process holds this address and port)" : "",
				 io->retry_s);
			io->logged_error[net] = s->last_error;
		}
		if (up != io->was_up[net] && s->provisioned) {
			if (up)
				log_notice("%s socket up on %s:%d", mtc_net_name((unsigned)net),
					   inet_ntoa(s->local.sin_addr), s->rx_port);
			else if (!mtc_sock_can_send(s))
				log_warn("%s socket down: %s (retrying every %ds)", mtc_net_name((unsigned)net),
					 s->last_error ? strerror(-s->last_error) : "closed", io->retry_s);
		}
		if (up)
			io->logged_error[net] = 0;
		io->was_up[net] = up;
	}
}

const char *mtc_addr_str(const struct sockaddr_in *sa, char *buf, size_t size)
{
	char a[INET_ADDRSTRLEN] = "?";

	if (!sa || sa->sin_family != AF_INET) {
		snprintf(buf, size, "?");
		return buf;
	}
	inet_ntop(AF_INET, &sa->sin_addr, a, sizeof(a));
	snprintf(buf, size, "%s:%u", a, ntohs(sa->sin_port));
	return buf;
}

static void note_bad_auth(mtc_rx_drops *d, int net, const struct sockaddr_in *from)
{
	const char *peer;
	unsigned long n;
	char who[32];

	d->bad_auth++;
	if (net >= 0 && net < MTC_NET_COUNT && from) {
		d->bad_auth_from[net] = *from;
		d->bad_auth_ms[net] = util_now_ms();
	}
	if (!mtc_ratelog_hit(&d->bad_auth_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
		return;
	/* Looked up only for the line (at most one per interval). */
	peer = d->peer_at && from ? d->peer_at(d->peer_user, net, from) : NULL;
	if (peer)
		log_warn("%lu frame(s) via %s failed authentication; dropped (last from %s, the configured address of "
			 "%s: key mismatch with %s?; %lu so far)", n, mtc_net_name((unsigned)net),
			 mtc_addr_str(from, who, sizeof(who)), peer, peer, d->bad_auth);
	else
		log_warn("%lu frame(s) via %s failed authentication; dropped (last from %s, %lu so far)", n,
			 mtc_net_name((unsigned)net), mtc_addr_str(from, who, sizeof(who)), d->bad_auth);
}

int mtc_daemon_decode(const mtc_key *key, int net, const uint8_t *buf, size_t len, const struct sockaddr_in *from,
		      unsigned want_types, mtc_rx_drops *d, mtc_frame *ret)
{
	int r = mtc_decode(buf, len, key, ret);
	unsigned long n;
	char who[32];

	if (r == -EKEYREJECTED) {
		note_bad_auth(d, net, from);
		return r;
	}
	if (r < 0) {
		d->malformed++;
		if (mtc_ratelog_hit(&d->malformed_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
			log_warn("malformed frame via %s dropped: %s (%lu in this line, last from %s, %lu so far)",
				 mtc_net_name((unsigned)net), strerror(-r), n, mtc_addr_str(from, who, sizeof(who)),
				 d->malformed);
		return r;
	}
	if (!(want_types & MTC_TYPE_BIT(ret->type))) {
		d->wrong_type++;
		return -EBADMSG;
	}
	/* Authentic, but signed for another network: a copy moved across
	 * networks, which would make that network look alive (and order it
	 * as this one). Every sender signs the network it sends on. */
	if (ret->net != net) {
		d->wrong_net++;
		if (mtc_ratelog_hit(&d->wrong_net_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
			log_warn("frame for %s received via %s dropped: sent on another network (copied across?) "
				 "(%lu in this line, last from %s, %lu so far)", mtc_net_name(ret->net),
				 mtc_net_name((unsigned)net), n, mtc_addr_str(from, who, sizeof(who)), d->wrong_net);
		return -EBADMSG;
	}
	return 0;
}

void mtc_daemon_flush_drop_log(mtc_ratelog *rl, const char *what, const char *tail, unsigned long total)
{
	unsigned long n;

	if (mtc_ratelog_flush(rl, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
		log_warn("%lu more %s in the last %d s%s (%lu so far)", n, what, MTC_DROP_LOG_INTERVAL_MS / 1000, tail,
			 total);
}

void mtc_daemon_flush_drop_logs(mtc_rx_drops *d)
{
	mtc_daemon_flush_drop_log(&d->bad_auth_log, "frame(s) failed authentication", "", d->bad_auth);
	mtc_daemon_flush_drop_log(&d->malformed_log, "malformed frame(s) dropped", "", d->malformed);
	mtc_daemon_flush_drop_log(&d->wrong_net_log, "frame(s) sent on another network dropped", "", d->wrong_net);
}
