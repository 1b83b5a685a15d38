#include "mtc_daemon.h"
#include "log.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

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
	on = path_exists(path);
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

void mtc_netio_close(mtc_netio *io, int net)
{
	io->rx_src[net] = sd_event_source_unref(io->rx_src[net]);
	mtc_sock_close(&io->socks[net], &mtc_real_sock_ops, NULL);
}

static int netio_on_rx(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	mtc_netio *io = userdata;
	int net = -1;

	(void)revents;
	for (int i = 0; i < MTC_NET_COUNT; i++)
		if (io->rx_src[i] == s)
			net = i;
	if (net < 0)
		return 0;
	for (int i = 0; i < io->rx_budget; i++) {
		uint8_t buf[2048];
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

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
		io->on_frame(io->userdata, net, buf, (size_t)n);
		/* The handler may have closed this network (a failed send). */
		if (!io->rx_src[net])
			break;
	}
	return 0;
}

static int netio_add_rx(mtc_netio *io, int net, int fd)
{
	int r = sd_event_add_io(io->event, &io->rx_src[net], fd, EPOLLIN, netio_on_rx, io);

	/* A busy socket is put to sleep for the rest of the interval after four
	 * wakeups and then drained in one; a quiet one is read at once. Below
	 * four datagrams per interval nothing changes (the sleep costs a timer
	 * and two epoll_ctl calls, a loss at low rates). */
	if (r >= 0 && io->rx_coalesce_usec)
		r = sd_event_source_set_ratelimit(io->rx_src[net], io->rx_coalesce_usec, 4);
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
		bool up = mtc_sock_up(s);

		if (up && !io->rx_src[net] && netio_add_rx(io, net, s->rx_fd) < 0) {
			mtc_netio_close(io, net);
			up = false;
		}
		if (up != io->was_up[net] && s->provisioned) {
			if (up)
				log_notice("%s socket up on %s:%d", mtc_net_name((unsigned)net),
					   inet_ntoa(s->local.sin_addr), s->rx_port);
			else
				log_warn("%s socket down: %s (retrying every %ds)", mtc_net_name((unsigned)net),
					 s->last_error ? strerror(-s->last_error) : "closed", io->retry_s);
		}
		io->was_up[net] = up;
	}
}

int mtc_daemon_decode(const mtc_key *key, int net, const uint8_t *buf, size_t len, unsigned want_types,
		      mtc_rx_drops *d, mtc_frame *ret)
{
	int r = mtc_decode(buf, len, key, ret);

	if (r == -EKEYREJECTED) {
		if (d->bad_auth++ % 100 == 0)
			log_warn("frame via %s failed authentication; dropped (%lu so far)", mtc_net_name((unsigned)net),
				 d->bad_auth);
		return r;
	}
	if (r < 0) {
		if (d->malformed++ % 100 == 0)
			log_warn("malformed frame via %s dropped: %s (%lu so far)", mtc_net_name((unsigned)net),
				 strerror(-r), d->malformed);
		return r;
	}
	if (!(want_types & MTC_TYPE_BIT(ret->type))) {
		d->wrong_type++;
		return -EBADMSG;
	}
	return 0;
}
