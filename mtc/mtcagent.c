/* mtcagent: on the controller. Holds each host's admin lock state, sends
 * Locked/Unlocked on pxeboot, mgmt and cluster, and corrects any host whose
 * mtcAlive disagrees, logging that once per episode. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-event.h>

#include "fileops.h"
#include "log.h"
#include "mtc_codec.h"
#include "mtc_config.h"
#include "mtc_daemon.h"
#include "mtc_episode.h"
#include "mtc_net.h"
#include "mtc_order.h"
#include "notify.h"
#include "service.h"
#include "unixsock.h"
#include "util.h"

typedef struct agent_host {
	mtc_host_entry entry;
	struct sockaddr_in dest[MTC_NET_COUNT];
	bool has_dest[MTC_NET_COUNT];
	/* The client's mtcAlive source (its tx socket) per network: commands
	 * go there too, so a squatter on the client port cannot block them. */
	struct sockaddr_in src[MTC_NET_COUNT];
	bool has_src[MTC_NET_COUNT];
	mtc_episode ep;
	bool admin_known;                     /* false: no saved state; treated as locked */
	uint32_t cmdseq;                      /* newest command sequence for this host (persisted) */
	uint32_t applied;                     /* last command the host reported applied */
	bool have_nonce;
	uint8_t nonce[MTC_NONCE_LEN];
	mtc_order order;                      /* (boot, seq) ordering of its frames */
	bool configured;
	unsigned long alives, acks, commands_sent, stale, reordered, old_boot;
} agent_host;

typedef struct agent {
	service svc;
	mtc_config cfg;
	mtc_key key;
	sd_event *event;
	mtc_netio io;
	sd_event_source *recover_timer, *control_src;
	int control_fd;
	agent_host *hosts;
	size_t n_hosts;
	mtc_fit fit;
	uint32_t boot, seq;
	unsigned long tx[MTC_NET_COUNT], tx_errors[MTC_NET_COUNT];
	mtc_rx_drops drops;
	unsigned long unknown_host, stale, old_boot;
	mtc_ratelog unknown_host_log, stale_log, old_boot_log;
	bool state_suspect; /* the state file could not be read or parsed: kept aside before rewriting */
	struct control_conn *conns;
	int n_conns;
} agent;

static int host_cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const agent_host *)elem)->entry.name);
}

static agent_host *find_host(agent *a, const char *name)
{
	return a->n_hosts ? bsearch(name, a->hosts, a->n_hosts, sizeof(a->hosts[0]), host_cmp_name) : NULL;
}

static const char *admin_name(const agent_host *h)
{
	return h->ep.admin_locked ? "locked" : "unlocked";
}

static int save_state(agent *a)
{
	size_t size = a->n_hosts * (MTC_HOSTNAME_MAX + 32) + 128, used = 0;
	char *buf, aside[MTC_PATH_MAX + 16];
	int r;

	/* A file we could not read or parse may hold what an operator needs:
	 * keep it aside instead of silently replacing it. */
	if (a->state_suspect) {
		snprintf(aside, sizeof(aside), "%s.corrupt", a->cfg.state_file);
		if (rename(a->cfg.state_file, aside) < 0 && errno != ENOENT) {
			r = -errno;
			log_err("cannot keep unreadable admin state %s aside as %s: %s; not overwriting it",
				a->cfg.state_file, aside, strerror(-r));
			return r;
		}
		log_warn("unreadable admin state %s kept as %s", a->cfg.state_file, aside);
		a->state_suspect = false;
	}
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	used += (size_t)snprintf(buf, size, "# mtcagent admin state: HOST locked|unlocked COMMAND-SEQUENCE\n"
					    "# hosts not listed are unknown, and treated as locked\n");
	for (size_t i = 0; i < a->n_hosts; i++) {
		const agent_host *h = &a->hosts[i];

		if (h->admin_known)
			used += (size_t)snprintf(buf + used, size - used, "%s %s %u\n", h->entry.name, admin_name(h),
						 h->cmdseq);
		else if (h->cmdseq)
			used += (size_t)snprintf(buf + used, size - used, "%s unknown %u\n", h->entry.name, h->cmdseq);
	}
	r = atomic_write_file(a->cfg.state_file, buf, used, 0644);
	free(buf);
	if (r < 0)
		log_err("cannot persist admin state to %s: %s", a->cfg.state_file, strerror(-r));
	return r;
}

static void set_unknown(agent_host *h)
{
	mtc_episode_init(&h->ep, true);
	h->admin_known = false;
}

static void load_state(agent *a)
{
	FILE *f = fopen(a->cfg.state_file, "re");
	char line[256];
	unsigned lineno = 0;

	if (!f) {
		if (errno != ENOENT) {
			log_err("cannot read admin state %s: %m; every host's admin state is unknown and treated as "
				"locked", a->cfg.state_file);
			a->state_suspect = true;
		}
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char name[MTC_HOSTNAME_MAX + 2], state[16], extra[2];
		unsigned long seq = 0;
		int n;
		agent_host *h;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		n = sscanf(line, "%64s %15s %lu %1s", name, state, &seq, extra);
		if ((n != 2 && n != 3) || seq > UINT32_MAX ||
		    (strcmp(state, "locked") != 0 && strcmp(state, "unlocked") != 0 && strcmp(state, "unknown") != 0)) {
			log_err("%s:%u: malformed line; hosts without a valid line are unknown and treated as locked",
				a->cfg.state_file, lineno);
			a->state_suspect = true;
			continue;
		}
		h = find_host(a, name);
		if (!h) {
			log_info("%s:%u: host %s is no longer in the hosts file", a->cfg.state_file, lineno, name);
			continue;
		}
		h->cmdseq = (uint32_t)seq;
		if (strcmp(state, "unknown") == 0)
			continue;
		mtc_episode_init(&h->ep, strcmp(state, "locked") == 0);
		h->admin_known = true;
	}
	fclose(f);
}

static void log_unknown(const agent *a, const agent_host *h)
{
	log_warn("%s: admin state unknown (not in %s): treated as locked until an operator sets it; "
		 "Unlocked is never sent for it", h->entry.name, a->cfg.state_file);
}

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
 * only on the networks that may be the ones that are down. */
static void send_admin_state(agent *a, agent_host *h, const char *why)
{
	uint8_t type = h->ep.admin_locked ? MTC_LOCKED : MTC_UNLOCKED;
	uint32_t cmdseq;
	char result[160];
	size_t used = 0;

	/* Never Unlocked for a host whose state we do not know (cannot
	 * happen: unknown is locked; kept as the last line of defence). */
	if (type == MTC_UNLOCKED && !h->admin_known)
		return;
	if (!h->have_nonce) {
		log_notice("%s: %s pending: no mtcAlive seen yet; it is sent on the first one", h->entry.name,
			   mtc_type_name(type));
		return;
	}
	/* The host applied our newest command (or one of an agent that lost
	 * its state) and still disagrees: a newer command. Not saved here (a
	 * state write per correction would cost an fsync each): after a
	 * restart the agent learns the host's last applied sequence from its
	 * first mtcAlive, before it can send anything, and an admin change
	 * always goes above it. */
	cmdseq = mtc_order_send_cmdseq(h->cmdseq, h->applied);
	h->cmdseq = cmdseq;
	a->seq++;
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		int r = send_cmd(a, h, net, type, cmdseq);

		used += (size_t)snprintf(result + used, sizeof(result) - used, "%s%s=%s", net ? ", " : "",
					 mtc_net_name((unsigned)net), r == 0 ? "sent" : strerror(-r));
		if (used >= sizeof(result))
			break;
	}
	h->commands_sent++;
	log_info("%s: %s (%s): %s; command %u", h->entry.name, mtc_type_name(type), why, result, cmdseq);
}

static void drop_log(mtc_ratelog *rl, const char *what, const agent_host *h, const mtc_frame *f, int net,
		     const struct sockaddr_in *from, unsigned long total)
{
	unsigned long n;
	char who[32];

	if (mtc_ratelog_hit(rl, now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
		log_warn("%lu frame(s) dropped: %s (last: %s of %s boot %u seq %u via %s from %s; known boot %u; "
			 "%lu so far)", n, what, mtc_type_name(f->type), h->entry.name, f->boot, f->seq,
			 mtc_net_name((unsigned)net), mtc_addr_str(from, who, sizeof(who)), h->order.boot, total);
}

static void handle_report(agent *a, agent_host *h, const mtc_frame *f, int net, const struct sockaddr_in *from)
{
	bool locked = f->flags & MTC_FLAG_LOCKED;
	uint64_t now = now_ms();
	mtc_rx_verdict v;
	mtc_decision d;

	v = mtc_order_check(&h->order, f->boot, f->seq, net, now, (uint64_t)a->cfg.boot_reset_silence_s * 1000);
	switch (v) {
	case MTC_RX_STALE:
		h->stale++;
		a->stale++;
		drop_log(&a->stale_log, "not newer than the last of its boot on its network (replay)", h, f, net,
			 from, a->stale);
		return;
	case MTC_RX_OLD_BOOT:
		h->old_boot++;
		a->old_boot++;
		drop_log(&a->old_boot_log, "of an older boot of a host that is alive (replay)", h, f, net, from,
			 a->old_boot);
		return;
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
	if (!mtc_order_in_order(v)) {
		/* Older than the state, newer on its network: the network
		 * works, the frame must not override newer state. */
		h->reordered++;
		return;
	}
	h->configured = f->flags & MTC_FLAG_CONFIGURED;
	if (f->type == MTC_ALIVE) {
		h->alives++;
		h->have_nonce = true;
		memcpy(h->nonce, f->nonce, sizeof(h->nonce));
		h->applied = f->cmdseq;
		/* Only from the host's own address: never a reflector. */
		h->has_src[net] = h->has_dest[net] && from->sin_addr.s_addr == h->dest[net].sin_addr.s_addr;
		if (h->has_src[net])
			h->src[net] = *from;
	} else {
		h->acks++;
		if (f->cmdseq > h->applied)
			h->applied = f->cmdseq;
		log_info("%s: Ack of %u via %s: %s", h->entry.name, f->cmdseq, mtc_net_name((unsigned)net),
			 locked ? "locked" : "unlocked");
	}
	d = mtc_episode_on_report(&h->ep, locked, now, (uint64_t)a->cfg.resend_interval_ms);
	if (d.log)
		log_emit(LOG_WARNING, MSGID_LOCK_CORRECTION, "%s mtcAlive reporting %s while %s ; correcting%s",
			 h->entry.name, locked ? "locked" : "unlocked", admin_name(h),
			 h->admin_known ? "" : " (admin state unknown: treated as locked)");
	if (d.send)
		send_admin_state(a, h, d.log ? "correction" : "correction resend");
}

static void handle_frame(void *userdata, int net, const uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	agent *a = userdata;
	agent_host *h;
	mtc_frame f;
	unsigned long n;
	char who[32];

	if (mtc_daemon_decode(&a->key, net, buf, len, from, MTC_TYPE_BIT(MTC_ALIVE) | MTC_TYPE_BIT(MTC_ACK),
			      &a->drops, &f) < 0)
		return;
	h = find_host(a, f.hostname);
	if (!h) {
		a->unknown_host++;
		if (mtc_ratelog_hit(&a->unknown_host_log, now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
			log_warn("%lu frame(s) from unknown hosts dropped (last: %s from '%s' via %s, %s)", n,
				 mtc_type_name(f.type), f.hostname, mtc_net_name((unsigned)net),
				 mtc_addr_str(from, who, sizeof(who)));
		return;
	}
	handle_report(a, h, &f, net, from);
}

static void recover(agent *a)
{
	mtc_netio_recover(&a->io);
}

static int on_recover_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	agent *a = userdata;
	unsigned long n;

	recover(a);
	mtc_daemon_flush_drop_logs(&a->drops);
	if (mtc_ratelog_flush(&a->stale_log, now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
		log_warn("%lu more stale frame(s) dropped in the last %d s (%lu so far)", n,
			 MTC_DROP_LOG_INTERVAL_MS / 1000, a->stale);
	if (mtc_ratelog_flush(&a->old_boot_log, now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
		log_warn("%lu more frame(s) of an older boot dropped in the last %d s (%lu so far)", n,
			 MTC_DROP_LOG_INTERVAL_MS / 1000, a->old_boot);
	mtc_ratelog_flush(&a->unknown_host_log, now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n);
	sd_event_source_set_time(s, usec + USEC_PER_SEC);
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* Build the host table from the hosts file, keeping the runtime state of
 * hosts that were already known. */
static int load_hosts(agent *a, const mtc_config *cfg, bool log_new)
{
	mtc_host_list list;
	conf_errors errs = { 0 };
	agent_host *hosts;
	int r;

	r = mtc_hosts_load(&list, cfg->hosts_file, &errs);
	if (r < 0) {
		log_err("hosts file: %s", errs.text);
		return r;
	}
	hosts = calloc(list.n ? list.n : 1, sizeof(*hosts));
	if (!hosts) {
		mtc_hosts_free(&list);
		return -ENOMEM;
	}
	for (size_t i = 0; i < list.n; i++) {
		agent_host *h = &hosts[i], *old = find_host(a, list.v[i].name);

		if (old)
			*h = *old;
		else
			set_unknown(h);
		h->entry = list.v[i];
		if (!old && log_new)
			log_unknown(a, h);
		for (int net = 0; net < MTC_NET_COUNT; net++) {
			h->has_dest[net] = h->entry.addr[net][0] != '\0';
			if (!h->has_dest[net])
				continue;
			h->dest[net].sin_family = AF_INET;
			h->dest[net].sin_port = htons((uint16_t)cfg->net[net].client_port);
			inet_pton(AF_INET, h->entry.addr[net], &h->dest[net].sin_addr);
		}
	}
	free(a->hosts);
	a->hosts = hosts;
	a->n_hosts = list.n;
	mtc_hosts_free(&list);
	return 0;
}

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

static void reply_list(agent *a, reply *fd, bool json)
{
	uint64_t now = now_ms();
	char line[512];
	int n;

	if (json)
		write_all(fd, "{\"hosts\":[", 10);
	else {
		n = snprintf(line, sizeof(line), "%-20s %-9s %-9s %-10s %-8s %-8s %-8s %s\n", "HOST", "ADMIN", "REPORTED",
			     "CONFIGURED", "PXEBOOT", "MGMT", "CLUSTER", "MISMATCH");
		write_all(fd, line, (size_t)n);
	}
	for (size_t i = 0; i < a->n_hosts && !fd->failed; i++) {
		agent_host *h = &a->hosts[i];
		char age[MTC_NET_COUNT][24];

		for (int net = 0; net < MTC_NET_COUNT; net++)
			format_age(h->order.last_seen_ms[net], now, age[net], sizeof(age[net]));
		if (json) {
			char seen[MTC_NET_COUNT][24];

			for (int net = 0; net < MTC_NET_COUNT; net++) {
				if (h->order.last_seen_ms[net])
					snprintf(seen[net], sizeof(seen[net]), "%llu",
						 (unsigned long long)(now - h->order.last_seen_ms[net]));
				else
					snprintf(seen[net], sizeof(seen[net]), "null");
			}
			n = snprintf(line, sizeof(line),
				     "%s{\"name\":\"%s\",\"admin\":\"%s\",\"admin_known\":%s,\"reported\":\"%s\","
				     "\"configured\":%s,\"last_seen_ms_ago\":{\"pxeboot\":%s,\"mgmt\":%s,\"cluster\":%s},"
				     "\"mismatch\":%s,\"episodes\":%lu,\"alives\":%lu,\"acks\":%lu,\"stale\":%lu,"
				     "\"reordered\":%lu,\"old_boot\":%lu,\"boot\":%u,\"cmdseq\":%u,\"applied\":%u}",
				     i ? "," : "", h->entry.name, admin_name(h), h->admin_known ? "true" : "false",
				     reported_name(h->ep.reported), h->configured ? "true" : "false", seen[0], seen[1],
				     seen[2], h->ep.active ? "true" : "false", h->ep.episodes, h->alives, h->acks, h->stale,
				     h->reordered, h->old_boot, h->order.boot, h->cmdseq, h->applied);
		} else {
			n = snprintf(line, sizeof(line), "%-20s %-9s %-9s %-10s %-8s %-8s %-8s %s%s\n", h->entry.name,
				     admin_name(h), reported_name(h->ep.reported), h->configured ? "yes" : "no", age[0],
				     age[1], age[2], h->ep.active ? "yes" : "no",
				     h->admin_known ? "" : "  (admin state unknown: treated as locked)");
		}
		write_all(fd, line, (size_t)n);
	}
	unsigned long rx = a->io.rx[0] + a->io.rx[1] + a->io.rx[2], tx = a->tx[0] + a->tx[1] + a->tx[2];

	if (json)
		n = snprintf(line, sizeof(line),
			     "],\"frames\":{\"rx\":%lu,\"tx\":%lu,\"tx_errors\":%lu},"
			     "\"dropped\":{\"bad_auth\":%lu,\"malformed\":%lu,\"unknown_host\":%lu,\"stale\":%lu,"
			     "\"old_boot\":%lu}}\n",
			     rx, tx, a->tx_errors[0] + a->tx_errors[1] + a->tx_errors[2], a->drops.bad_auth, a->drops.malformed,
			     a->unknown_host, a->stale, a->old_boot);
	else
		n = snprintf(line, sizeof(line), "frames: rx=%lu tx=%lu; dropped: bad_auth=%lu malformed=%lu unknown_host=%lu stale=%lu "
			     "old_boot=%lu\n", rx, tx, a->drops.bad_auth, a->drops.malformed, a->unknown_host, a->stale, a->old_boot);
	write_all(fd, line, (size_t)n);
}

static void handle_control(agent *a, reply *fd, char *req)
{
	char verb[16] = "", arg[MTC_HOSTNAME_MAX + 2] = "", out[256];
	agent_host *h;
	int n;

	sscanf(req, "%15s %64s", verb, arg);
	if (strcmp(verb, "list") == 0) {
		reply_list(a, fd, strcmp(arg, "json") == 0);
		return;
	}
	if (strcmp(verb, "lock") != 0 && strcmp(verb, "unlock") != 0) {
		n = snprintf(out, sizeof(out), "error: unknown request '%s'\n", verb);
		write_all(fd, out, (size_t)n);
		return;
	}
	h = find_host(a, arg);
	if (!h) {
		n = snprintf(out, sizeof(out), "error: unknown host '%s' (not in %s)\n", arg, a->cfg.hosts_file);
		write_all(fd, out, (size_t)n);
		return;
	}
	bool lock = strcmp(verb, "lock") == 0;
	bool was = h->ep.admin_locked, was_known = h->admin_known;
	uint32_t was_seq = h->cmdseq;
	mtc_episode_set_admin(&h->ep, lock, now_ms());
	h->admin_known = true;
	/* Every admin change is a new command, newer than any the host applied. */
	h->cmdseq = mtc_order_new_cmdseq(h->cmdseq, h->applied);
	if (save_state(a) < 0) {
		mtc_episode_set_admin(&h->ep, was, now_ms());
		h->admin_known = was_known;
		h->cmdseq = was_seq;
		n = snprintf(out, sizeof(out), "error: cannot persist admin state to %s; %s unchanged\n",
			     a->cfg.state_file, h->entry.name);
		write_all(fd, out, (size_t)n);
		return;
	}
	log_notice("%s: admin state %s (operator request)", h->entry.name, lock ? "locked" : "unlocked");
	send_admin_state(a, h, "operator");
	n = snprintf(out, sizeof(out), "ok: %s %s%s\n", h->entry.name, lock ? "locked" : "unlocked",
		     h->have_nonce ? "; sent on pxeboot, mgmt, cluster" : "; pending its first mtcAlive");
	write_all(fd, out, (size_t)n);
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
	struct control_conn *next;
} control_conn;

static void conn_close(control_conn *c)
{
	control_conn **pp;

	for (pp = &c->a->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	c->a->n_conns--;
	sd_event_source_unref(c->io);
	sd_event_source_unref(c->deadline);
	close(c->fd);
	free(c->out.buf);
	free(c);
}

static int conn_on_deadline(sd_event_source *s, uint64_t usec, void *userdata)
{
	control_conn *c = userdata;

	(void)s;
	(void)usec;
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
	if (conn_flush(c) || sd_event_source_set_io_events(c->io, EPOLLOUT) < 0)
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
	handle_control(c->a, &c->out, c->req);
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

static int control_open(const char *path, int *ret)
{
	int fd, r;

	r = unix_socket_bind(path, SOCK_STREAM, &fd);
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

static int reload(void *userdata)
{
	agent *a = userdata;
	mtc_config next;
	mtc_key key;

	if (service_load_config(&a->svc, &next) < 0 || mtc_daemon_load_key(&next, &key) < 0) {
		log_err("reload of %s failed; keeping the running configuration", a->svc.config_path);
		return 0;
	}
	if (load_hosts(a, &next, true) < 0) {
		log_err("reload: hosts file unusable; keeping the running host table");
		return 0;
	}
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		mtc_netio_close(&a->io, net);
		mtc_sock_config(&a->io.socks[net], next.net[net].address, next.net[net].agent_port);
	}
	a->cfg = next;
	a->key = key;
	a->io.rx_coalesce_usec = (uint64_t)next.rx_coalesce_ms * USEC_PER_MSEC;
	recover(a);
	log_notice("configuration reloaded: %zu hosts", a->n_hosts);
	return 0;
}

static int run(agent *a)
{
	int r;

	if (mtc_daemon_load_key(&a->cfg, &a->key) < 0)
		return -EINVAL;
	if (load_hosts(a, &a->cfg, false) < 0)
		return -EINVAL;
	load_state(a);
	for (size_t i = 0; i < a->n_hosts; i++)
		if (!a->hosts[i].admin_known)
			log_unknown(a, &a->hosts[i]);
	if (a->cfg.fit_enabled)
		log_emit(LOG_WARNING, MSGID_FIT, "FIT enabled: fault files in %s are honoured; never use in production",
			 a->cfg.fit_dir);
	a->boot = mtc_daemon_boot_id();
	a->seq = randombytes_random();
	r = sd_event_default(&a->event);
	if (r < 0)
		return r;
	r = service_signals(&a->svc, a->event, reload, a);
	if (r < 0)
		return r;
	sd_event_set_watchdog(a->event, true);
	a->io = (mtc_netio){ .event = a->event, .cfg = &a->cfg, .fit = &a->fit, .on_frame = handle_frame, .userdata = a,
			     .rx_budget = 256, .retry_s = 1,
			     .rx_coalesce_usec = (uint64_t)a->cfg.rx_coalesce_ms * USEC_PER_MSEC };
	for (int net = 0; net < MTC_NET_COUNT; net++)
		mtc_sock_config(&a->io.socks[net], a->cfg.net[net].address, a->cfg.net[net].agent_port);
	recover(a);
	r = control_open(a->cfg.control_socket, &a->control_fd);
	if (r < 0) {
		log_err("cannot open control socket %s: %s", a->cfg.control_socket,
			r == -EEXIST ? "path exists and is not a socket" : strerror(-r));
		return r;
	}
	r = sd_event_add_io(a->event, &a->control_src, a->control_fd, EPOLLIN, on_control, a);
	if (r >= 0)
		r = sd_event_add_time_relative(a->event, &a->recover_timer, CLOCK_MONOTONIC, USEC_PER_SEC,
					       50 * USEC_PER_MSEC, on_recover_timer, a);
	if (r < 0)
		return r;
	log_notice("started: %zu hosts, state %s, control %s, auth %s", a->n_hosts, a->cfg.state_file,
		   a->cfg.control_socket, a->key.enabled ? "hmac-sha256" : "DISABLED");
	notify_ready();
	r = sd_event_loop(a->event);
	for (int net = 0; net < MTC_NET_COUNT; net++)
		mtc_netio_close(&a->io, net);
	while (a->conns)
		conn_close(a->conns);
	sd_event_source_unref(a->control_src);
	sd_event_source_unref(a->recover_timer);
	sd_event_unref(a->event);
	close(a->control_fd);
	unlink(a->cfg.control_socket);
	free(a->hosts);
	sodium_memzero(&a->key, sizeof(a->key));
	log_notice("stopped: bad auth %lu, malformed %lu, unknown host %lu, stale %lu", a->drops.bad_auth, a->drops.malformed,
		   a->unknown_host, a->stale);
	return r;
}

int main(int argc, char **argv)
{
	static agent a = {
		.svc = { .name = "mtcagent",
			 .about = "Maintenance agent: keeps each host's admin lock state and delivers it over\n"
				  "pxeboot, mgmt and cluster, correcting hosts that report otherwise.",
			 .check_what = "the configuration and the hosts file",
			 .footer = "Signals: SIGHUP reloads the configuration, SIGTERM stops cleanly.",
			 .table = &mtc_conf_table,
			 .config_path = MTC_DEFAULT_CONFIG },
		.control_fd = -1,
	};
	int r = service_parse_cli(&a.svc, argc, argv);

	if (r >= 0)
		return r;
	log_open("mtcagent");
	if (service_load_config(&a.svc, &a.cfg) < 0)
		return 1;
	if (a.svc.mode == SERVICE_CHECK_CONFIG) {
		mtc_host_list l;
		conf_errors errs = { 0 };

		if (mtc_hosts_load(&l, a.cfg.hosts_file, &errs) < 0) {
			fprintf(stderr, "%s", errs.text);
			return 1;
		}
		printf("%s: configuration valid; %s: %zu hosts\n", a.svc.config_path, a.cfg.hosts_file, l.n);
		mtc_hosts_free(&l);
		return 0;
	}
	if (a.svc.mode == SERVICE_DUMP_CONFIG) {
		conf_dump(&mtc_conf_table, &a.cfg, stdout);
		return 0;
	}
	return run(&a) < 0 ? 1 : 0;
}
