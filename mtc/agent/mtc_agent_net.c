/* mtcagent's network side: mtcAlive and Ack in, Locked/Unlocked out on
 * pxeboot, mgmt and cluster, corrections of hosts that disagree. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "log.h"
#include "mtc_agent.h"
#include "service.h"
#include "util.h"

static int send_to(agent *a, int net, int fd, const uint8_t *buf, size_t n, const struct sockaddr_in *to)
{
	if (sendto(fd, buf, n, MSG_DONTWAIT, (const struct sockaddr *)to, sizeof(*to)) < 0) {
		a->tx_errors[net]++;
		return -errno;
	}
	a->tx[net]++;
	return 0;
}

static int send_cmd(agent *a, agent_host *h, int net, uint8_t type, uint32_t cmdseq)
{
	mtc_frame f = { .type = type, .net = (uint8_t)net, .cmdseq = cmdseq };
	uint8_t buf[MTC_FRAME_MAX];
	int n, r;

	if (!h->has_dest[net])
		return -EADDRNOTAVAIL;
	if (!mtc_sock_can_send(&a->io.socks[net]))
		return -ENETDOWN;
	f.boot = a->boot;
	f.seq = a->seq; /* same seq on every network: the client acts once */
	memcpy(f.nonce, h->nonce, sizeof(f.nonce));
	strcpy(f.hostname, h->entry.name);
	n = mtc_encode(&f, &a->key, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (mtc_fit_check(&a->fit, &a->cfg, MTC_FIT_DROP_TX, net))
		return -ENETDOWN;
	r = send_to(a, net, a->io.socks[net].tx_fd, buf, (size_t)n, &h->dest[net]);
	/* Also to the port the client sends from: if another process holds
	 * the client port, the command still reaches mtcclient. Sent from the
	 * port the mtcAlive went to, so to a stateful firewall on the node it
	 * is the reply of that flow. */
	if (h->has_src[net] && h->src[net].sin_port != h->dest[net].sin_port) {
		int fd = a->io.socks[net].rx_fd >= 0 ? a->io.socks[net].rx_fd : a->io.socks[net].tx_fd;

		if (send_to(a, net, fd, buf, (size_t)n, &h->src[net]) == 0)
			r = 0;
	}
	return r;
}

/* The fix for the field bug: the admin state goes out on pxeboot too, not
 * only on the networks that may be the ones that are down. Which command
 * and sequence is mtc_admin's decision. */
void agent_send_cmd(agent *a, agent_host *h, bool locked, uint32_t cmdseq, char *result, size_t size)
{
	size_t used = 0;

	result[0] = '\0';
	a->seq++;
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		int r = send_cmd(a, h, net, locked ? MTC_LOCKED : MTC_UNLOCKED, cmdseq);

		used += (size_t)snprintf(result + used, size - used, "%s%s=%s", net ? ", " : "",
					 mtc_net_name((unsigned)net), r == 0 ? "sent" : strerror(-r));
		if (used >= size)
			break;
	}
	h->commands_sent++;
}

static void drop_log(mtc_ratelog *rl, const char *what, const agent_host *h, const mtc_frame *f, int net,
		     const struct sockaddr_in *from, unsigned long total)
{
	unsigned long n;
	char who[32];

	if (mtc_ratelog_hit(rl, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
		log_warn("%lu frame(s) dropped: %s (last: %s of %s boot %u seq %u via %s from %s; known boot %u; "
			 "%lu so far)", n, what, mtc_type_name(f->type), h->entry.name, f->boot, f->seq,
			 mtc_net_name((unsigned)net), mtc_addr_str(from, who, sizeof(who)), h->order.boot, total);
}

/* Order the frame against what the host sent before; false: drop it. */
static bool order_frame(agent *a, agent_host *h, const mtc_frame *f, int net, const struct sockaddr_in *from,
			uint64_t now)
{
	mtc_rx_verdict v;

	v = mtc_order_check(&h->order, f->boot, f->seq, net, now, (uint64_t)a->cfg.boot_reset_silence_s * 1000);
	switch (v) {
	case MTC_RX_STALE:
		h->stale++;
		a->stale++;
		drop_log(&a->stale_log, "not newer than the last of its boot on its network (replay)", h, f, net,
			 from, a->stale);
		return false;
	case MTC_RX_OLD_BOOT:
		h->old_boot++;
		a->old_boot++;
		drop_log(&a->old_boot_log, "of an older boot of a host that is alive (replay)", h, f, net, from,
			 a->old_boot);
		return false;
	case MTC_RX_BOOT_RESET:
		log_warn("%s: frames of boot %u, below the known boot %u, after %d s of silence on every network: "
			 "taking the node's persistent state as wiped and its ordering as reset",
			 h->entry.name, f->boot, h->order.boot, a->cfg.boot_reset_silence_s);
		break;
	case MTC_RX_NEW_BOOT:
		if (h->order.have)
			log_info("%s: new boot %u (was %u)", h->entry.name, f->boot, h->order.boot);
		break;
	default:
		break;
	}
	mtc_order_apply(&h->order, v, f->boot, f->seq, net, now);
	if (f->type == MTC_ALIVE) /* in order or not, the network carries it */
		agent_fleet_on_alive(a, h, net, now);
	if (!mtc_order_in_order(v)) {
		/* Older than the state, newer on its network: the network
		 * works, the frame must not override newer state. */
		h->reordered++;
		return false;
	}
	return true;
}

static void handle_report(agent *a, agent_host *h, const mtc_frame *f, int net, const struct sockaddr_in *from)
{
	bool locked = f->flags & MTC_FLAG_LOCKED;

	if (!order_frame(a, h, f, net, from, util_now_ms()))
		return;
	h->configured = f->flags & MTC_FLAG_CONFIGURED;
	if (f->type == MTC_ALIVE) {
		h->alives++;
		memcpy(h->nonce, f->nonce, sizeof(h->nonce));
		/* Only from the host's own address: never a reflector. */
		h->has_src[net] = h->has_dest[net] && from->sin_addr.s_addr == h->dest[net].sin_addr.s_addr;
		if (h->has_src[net])
			h->src[net] = *from;
		agent_on_alive_source(a, h, net, from);
	} else {
		h->acks++;
		log_info("%s: Ack of %u via %s: %s", h->entry.name, f->cmdseq, mtc_net_name((unsigned)net),
			 locked ? "locked" : "unlocked");
	}
	agent_admin_report(a, h, locked, f->type == MTC_ALIVE, f->cmdseq, net);
}

void agent_handle_frame(void *userdata, int net, const uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	agent *a = userdata;
	agent_host *h;
	mtc_frame f;
	unsigned long n;
	char who[32];

	if (mtc_daemon_decode(&a->key, net, buf, len, from, MTC_TYPE_BIT(MTC_ALIVE) | MTC_TYPE_BIT(MTC_ACK),
			      &a->drops, &f) < 0)
		return;
	h = agent_find_host(a, f.hostname);
	if (!h) {
		a->unknown_host++;
		if (mtc_ratelog_hit(&a->unknown_host_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
			log_warn("%lu frame(s) from unknown hosts dropped (last: %s from '%s' via %s, %s)", n,
				 mtc_type_name(f.type), f.hostname, mtc_net_name((unsigned)net),
				 mtc_addr_str(from, who, sizeof(who)));
		return;
	}
	handle_report(a, h, &f, net, from);
}

int agent_on_recover_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	agent *a = userdata;
	unsigned long n;

	mtc_netio_recover(&a->io);
	agent_fleet_check(a, util_now_ms());
	mtc_daemon_flush_drop_logs(&a->drops);
	mtc_daemon_flush_drop_log(&a->stale_log, "stale frame(s) dropped", "", a->stale);
	mtc_daemon_flush_drop_log(&a->old_boot_log, "frame(s) of an older boot dropped", "", a->old_boot);
	mtc_ratelog_flush(&a->unknown_host_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n);
	agent_admin_flush_logs(a);
	agent_metrics_publish(a, util_now_ms());
	return service_rearm(s, usec, USEC_PER_SEC);
}

/* Build the host table from the hosts file, keeping the runtime state of
 * hosts that were already known. */
