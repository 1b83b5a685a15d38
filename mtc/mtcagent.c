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
#include "notify.h"
#include "service.h"
#include "unixsock.h"
#include "util.h"

typedef struct agent_host {
	mtc_host_entry entry;
	struct sockaddr_in dest[MTC_NET_COUNT];
	bool has_dest[MTC_NET_COUNT];
	mtc_episode ep;
	bool have_nonce;
	uint8_t nonce[MTC_NONCE_LEN];
	bool have_seq;
	uint32_t boot, seq;                   /* newest frame applied to state */
	uint32_t net_seq[MTC_NET_COUNT];      /* newest frame per network */
	bool configured;
	uint64_t last_seen_ms[MTC_NET_COUNT]; /* 0: never */
	unsigned long alives, acks, commands_sent, stale, reordered;
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
	unsigned long unknown_host, stale;
} agent;

static int host_cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const agent_host *)elem)->entry.name);
}

static agent_host *find_host(agent *a, const char *name)
{
	return a->n_hosts ? bsearch(name, a->hosts, a->n_hosts, sizeof(a->hosts[0]), host_cmp_name) : NULL;
}

static int save_state(agent *a)
{
	size_t size = a->n_hosts * (MTC_HOSTNAME_MAX + 16) + 64, used = 0;
	char *buf = malloc(size);
	int r;

	if (!buf)
		return -ENOMEM;
	used += (size_t)snprintf(buf, size, "# mtcagent admin state: HOST locked|unlocked\n");
	for (size_t i = 0; i < a->n_hosts; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s %s\n", a->hosts[i].entry.name,
					 a->hosts[i].ep.admin_locked ? "locked" : "unlocked");
	r = atomic_write_file(a->cfg.state_file, buf, used, 0644);
	free(buf);
	if (r < 0)
		log_err("cannot persist admin state to %s: %s", a->cfg.state_file, strerror(-r));
	return r;
}

static void load_state(agent *a)
{
	FILE *f = fopen(a->cfg.state_file, "re");
	char line[256];
	unsigned lineno = 0;

	if (!f) {
		if (errno != ENOENT)
			log_warn("cannot read admin state %s: %m; all hosts start unlocked", a->cfg.state_file);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char name[MTC_HOSTNAME_MAX + 2], state[16];
		agent_host *h;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%64s %15s", name, state) != 2 ||
		    (strcmp(state, "locked") != 0 && strcmp(state, "unlocked") != 0)) {
			log_warn("%s:%u: malformed line ignored", a->cfg.state_file, lineno);
			continue;
		}
		h = find_host(a, name);
		if (!h) {
			log_info("%s:%u: host %s is no longer in the hosts file", a->cfg.state_file, lineno, name);
			continue;
		}
		mtc_episode_init(&h->ep, strcmp(state, "locked") == 0);
	}
	fclose(f);
}

static int send_cmd(agent *a, agent_host *h, int net, uint8_t type)
{
	mtc_frame f = { .type = type, .net = (uint8_t)net };
	uint8_t buf[MTC_FRAME_MAX];
	int n;

	if (!h->has_dest[net])
		return -EADDRNOTAVAIL;
	if (!mtc_sock_up(&a->io.socks[net]))
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
	if (sendto(a->io.socks[net].tx_fd, buf, (size_t)n, MSG_DONTWAIT, (struct sockaddr *)&h->dest[net],
		   sizeof(h->dest[net])) < 0) {
		a->tx_errors[net]++;
		return -errno;
	}
	a->tx[net]++;
	return 0;
}

/* The fix for the field bug: the admin state goes out on pxeboot too, not
 * only on the networks that may be the ones that are down. */
static void send_admin_state(agent *a, agent_host *h, const char *why)
{
	uint8_t type = h->ep.admin_locked ? MTC_LOCKED : MTC_UNLOCKED;
	char result[160];
	size_t used = 0;

	if (!h->have_nonce) {
		log_notice("%s: %s pending: no mtcAlive seen yet; it is sent on the first one", h->entry.name,
			   mtc_type_name(type));
		return;
	}
	a->seq++;
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		int r = send_cmd(a, h, net, type);

		used += (size_t)snprintf(result + used, sizeof(result) - used, "%s%s=%s", net ? ", " : "",
					 mtc_net_name((unsigned)net), r == 0 ? "sent" : strerror(-r));
		if (used >= sizeof(result))
			break;
	}
	h->commands_sent++;
	log_info("%s: %s (%s): %s", h->entry.name, mtc_type_name(type), why, result);
}

static void handle_report(agent *a, agent_host *h, const mtc_frame *f, int net)
{
	bool locked = f->flags & MTC_FLAG_LOCKED;
	mtc_decision d;

	/* Replays are caught per network: within one client boot each
	 * network's seq only grows. Across networks frames may be read out of
	 * order (three sockets); an older one still proves the network works
	 * but must not override newer state. */
	if (h->have_seq && f->boot == h->boot && f->seq <= h->net_seq[net]) {
		h->stale++;
		a->stale++;
		return;
	}
	if (!h->have_seq || f->boot != h->boot) {
		h->have_seq = true;
		h->boot = f->boot;
		h->seq = 0;
		memset(h->net_seq, 0, sizeof(h->net_seq));
	}
	h->net_seq[net] = f->seq;
	h->last_seen_ms[net] = now_ms();
	if (f->seq < h->seq) {
		h->reordered++;
		return;
	}
	h->seq = f->seq;
	h->configured = f->flags & MTC_FLAG_CONFIGURED;
	if (f->type == MTC_ALIVE) {
		h->alives++;
		h->have_nonce = true;
		memcpy(h->nonce, f->nonce, sizeof(h->nonce));
	} else {
		h->acks++;
		log_info("%s: Ack via %s: %s", h->entry.name, mtc_net_name((unsigned)net), locked ? "locked" : "unlocked");
	}
	d = mtc_episode_on_report(&h->ep, locked, now_ms(), (uint64_t)a->cfg.resend_interval_ms);
	if (d.log)
		log_emit(LOG_WARNING, MSGID_LOCK_CORRECTION, "%s mtcAlive reporting %s while %s ; correcting",
			 h->entry.name, locked ? "locked" : "unlocked", h->ep.admin_locked ? "locked" : "unlocked");
	if (d.send)
		send_admin_state(a, h, d.log ? "correction" : "correction resend");
}

static void handle_frame(void *userdata, int net, const uint8_t *buf, size_t len)
{
	agent *a = userdata;
	agent_host *h;
	mtc_frame f;

	if (mtc_daemon_decode(&a->key, net, buf, len, MTC_TYPE_BIT(MTC_ALIVE) | MTC_TYPE_BIT(MTC_ACK),
			      &a->drops, &f) < 0)
		return;
	h = find_host(a, f.hostname);
	if (!h) {
		if (a->unknown_host++ % 100 == 0)
			log_warn("%s from unknown host '%s' via %s dropped", mtc_type_name(f.type), f.hostname,
				 mtc_net_name((unsigned)net));
		return;
	}
	handle_report(a, h, &f, net);
}

static void recover(agent *a)
{
	mtc_netio_recover(&a->io);
}

static int on_recover_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	agent *a = userdata;

	recover(a);
	sd_event_source_set_time(s, usec + USEC_PER_SEC);
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* Build the host table from the hosts file, keeping the runtime state of
 * hosts that were already known. */
static int load_hosts(agent *a, const mtc_config *cfg)
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
			mtc_episode_init(&h->ep, false);
		h->entry = list.v[i];
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

/* Replies go to mtcctl over a stream socket. MSG_NOSIGNAL: a reader that
 * went away (mtcctl list | head) must not kill the agent with SIGPIPE; the
 * deadline bounds how long one slow reader can hold the event loop. */
typedef struct reply {
	int fd;
	uint64_t deadline_ms;
	bool failed;
} reply;

static int write_all(reply *rp, const char *p, size_t len)
{
	while (len > 0 && !rp->failed) {
		ssize_t n;

		if (now_ms() > rp->deadline_ms) {
			rp->failed = true;
			return -ETIMEDOUT;
		}
		n = send(rp->fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rp->failed = true;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return rp->failed ? -EPIPE : 0;
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
			format_age(h->last_seen_ms[net], now, age[net], sizeof(age[net]));
		if (json) {
			char seen[MTC_NET_COUNT][24];

			for (int net = 0; net < MTC_NET_COUNT; net++) {
				if (h->last_seen_ms[net])
					snprintf(seen[net], sizeof(seen[net]), "%llu",
						 (unsigned long long)(now - h->last_seen_ms[net]));
				else
					snprintf(seen[net], sizeof(seen[net]), "null");
			}
			n = snprintf(line, sizeof(line),
				     "%s{\"name\":\"%s\",\"admin\":\"%s\",\"reported\":\"%s\",\"configured\":%s,"
				     "\"last_seen_ms_ago\":{\"pxeboot\":%s,\"mgmt\":%s,\"cluster\":%s},"
				     "\"mismatch\":%s,\"episodes\":%lu,\"alives\":%lu,\"acks\":%lu,\"stale\":%lu,\"reordered\":%lu}",
				     i ? "," : "", h->entry.name, h->ep.admin_locked ? "locked" : "unlocked",
				     reported_name(h->ep.reported), h->configured ? "true" : "false", seen[0], seen[1],
				     seen[2], h->ep.active ? "true" : "false", h->ep.episodes, h->alives, h->acks, h->stale,
				     h->reordered);
		} else {
			n = snprintf(line, sizeof(line), "%-20s %-9s %-9s %-10s %-8s %-8s %-8s %s\n", h->entry.name,
				     h->ep.admin_locked ? "locked" : "unlocked", reported_name(h->ep.reported),
				     h->configured ? "yes" : "no", age[0], age[1], age[2], h->ep.active ? "yes" : "no");
		}
		write_all(fd, line, (size_t)n);
	}
	unsigned long rx = a->io.rx[0] + a->io.rx[1] + a->io.rx[2], tx = a->tx[0] + a->tx[1] + a->tx[2];

	if (json)
		n = snprintf(line, sizeof(line),
			     "],\"frames\":{\"rx\":%lu,\"tx\":%lu,\"tx_errors\":%lu},"
			     "\"dropped\":{\"bad_auth\":%lu,\"malformed\":%lu,\"unknown_host\":%lu,\"stale\":%lu}}\n",
			     rx, tx, a->tx_errors[0] + a->tx_errors[1] + a->tx_errors[2], a->drops.bad_auth, a->drops.malformed,
			     a->unknown_host, a->stale);
	else
		n = snprintf(line, sizeof(line), "frames: rx=%lu tx=%lu; dropped: bad_auth=%lu malformed=%lu unknown_host=%lu stale=%lu\n",
			     rx, tx, a->drops.bad_auth, a->drops.malformed, a->unknown_host, a->stale);
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
	bool was = h->ep.admin_locked;
	mtc_episode_set_admin(&h->ep, lock, now_ms());
	if (save_state(a) < 0) {
		mtc_episode_set_admin(&h->ep, was, now_ms());
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

static int on_control(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	agent *a = userdata;
	struct timeval tv = { 1, 0 };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	char req[256];
	ssize_t n;
	int cfd;

	(void)s;
	(void)revents;
	cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	if (cfd < 0)
		return 0;
	/* Bounded: a stuck mtcctl cannot hold the loop for more than 1 s. */
	setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	reply rp = { cfd, now_ms() + 2000, false };
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		write_all(&rp, "error: permission denied\n", 25);
		close(cfd);
		return 0;
	}
	n = recv(cfd, req, sizeof(req) - 1, 0);
	if (n > 0) {
		req[n] = '\0';
		handle_control(a, &rp, req);
	}
	if (rp.failed)
		log_debug("control reply cut short: reader gone or too slow");
	close(cfd);
	return 0;
}

static int control_open(const char *path, int *ret)
{
	int fd, r;

	r = unix_socket_bind(path, SOCK_STREAM, &fd);
	if (r < 0)
		return r;
	if (listen(fd, 16) < 0) {
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
	if (load_hosts(a, &next) < 0) {
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
	if (load_hosts(a, &a->cfg) < 0)
		return -EINVAL;
	load_state(a);
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
