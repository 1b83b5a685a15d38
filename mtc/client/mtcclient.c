/* mtcclient: on every node. Sends mtcAlive on every network, applies
 * Locked/Unlocked commands to the lock flag hostwd reads. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>
#include <systemd/sd-event.h>

#include "fileops.h"
#include "log.h"
#include "mtc_codec.h"
#include "mtc_config.h"
#include "mtc_daemon.h"
#include "mtc_flag.h"
#include "mtc_metrics.h"
#include "mtc_net.h"
#include "mtc_order.h"
#include "mtc_replay.h"
#include "mtcclient.h"
#include "notify.h"
#include "service.h"
#include "util.h"


static bool flag_locked(const client *c)
{
	return fileops_flag_present(c->cfg.locked_file);
}

static void update_status(client *c)
{
	char buf[sizeof(c->last_status)];
	size_t used;

	used = (size_t)snprintf(buf, sizeof(buf), "%s; networks:", flag_locked(c) ? "locked" : "unlocked");
	for (int i = 0; i < MTC_NET_COUNT; i++) {
		if (!c->io.socks[i].provisioned)
			continue;
		used += (size_t)snprintf(buf + used, sizeof(buf) - used, " %s %s", mtc_net_name((unsigned)i),
					 mtc_sock_up(&c->io.socks[i])         ? "up" :
					 mtc_sock_can_send(&c->io.socks[i]) ? "send-only" : "down");
		if (used >= sizeof(buf))
			break;
	}
	if (strcmp(buf, c->last_status) != 0) {
		memcpy(c->last_status, buf, sizeof(buf));
		notify_status("%s", buf);
	}
}

/* To every agent on net (two controllers serve at once): -1 with errno
 * only if none took it. */
static int send_to_agents(client *c, int net, const uint8_t *buf, size_t n)
{
	int sent = 0, err = 0;

	for (int i = 0; i < c->n_agents[net]; i++) {
		if (sendto(c->io.socks[net].tx_fd, buf, n, MSG_DONTWAIT, (struct sockaddr *)&c->agent[net][i],
			   sizeof(c->agent[net][i])) < 0)
			err = errno;
		else
			sent++;
	}
	if (sent)
		return 0;
	errno = err;
	return -1;
}

static int send_frame(client *c, int net, mtc_frame *f)
{
	uint8_t buf[MTC_FRAME_MAX];
	int n;

	if (!mtc_sock_can_send(&c->io.socks[net]) || !c->agent_known[net])
		return -ENETDOWN;
	f->net = (uint8_t)net;
	f->boot = c->boot;
	f->seq = ++c->seq;
	strcpy(f->hostname, c->hostname);
	n = mtc_encode(f, &c->key, buf, sizeof(buf));
	if (n < 0)
		return n;
	if (mtc_fit_check(&c->fit, &c->cfg, MTC_FIT_DROP_TX, net)) {
		log_debug("FIT: %s via %s not sent", mtc_type_name(f->type), mtc_net_name((unsigned)net));
		return -ENETDOWN;
	}
	if (send_to_agents(c, net, buf, (size_t)n) < 0) {
		int r = -errno;

		if (c->nc[net].tx_errors++ == 0)
			log_warn("send on %s failed: %s", mtc_net_name((unsigned)net), strerror(-r));
		/* A socket the kernel no longer accepts is rebuilt by recovery. */
		if (r == -EBADF || r == -ENOTSOCK || r == -EADDRNOTAVAIL)
			mtc_netio_close(&c->io, net);
		return r;
	}
	c->nc[net].tx++;
	return 0;
}

static uint8_t current_flags(const client *c)
{
	return (uint8_t)((flag_locked(c) ? MTC_FLAG_LOCKED : 0) |
			 (util_path_exists(c->cfg.configured_file) ? MTC_FLAG_CONFIGURED : 0));
}

/* periodic: the alive timer's round; commands echoing the previous
 * periodic round (or an extra one since) stop applying from here. The
 * extra round after a command applied keeps them: a second command the
 * agent sent right after the first still applies. */
static void send_alive_all(client *c, bool periodic)
{
	uint8_t flags = current_flags(c);

	if (periodic)
		mtc_replay_new_round(&c->replay);
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		/* cmdseq: the agent orders its next command after this one,
		 * even if it lost its own state. */
		mtc_frame f = { .type = MTC_ALIVE, .flags = flags, .cmdseq = c->last_applied };

		if (!mtc_sock_can_send(&c->io.socks[net]) || !c->agent_known[net])
			continue;
		/* Fresh nonce per frame: a command must echo one of these. */
		randombytes_buf(f.nonce, sizeof(f.nonce));
		mtc_replay_add_nonce(&c->replay, f.nonce);
		send_frame(c, net, &f);
	}
	update_status(c);
}

/* A failed backup never blocks the flag nor the ack: logged once per
 * episode (until a write takes or the node is unlocked). */
static void note_backup(client *c, int r)
{
	if (r < 0 && !c->backup_missing) {
		c->backup_errors++;
		log_err("lock flag %s written, but its persistent backup %s could not be: %s; the node is locked "
			"until a reboot, after which the lock is lost unless this heals (retried every %d s, logged "
			"once)", c->cfg.locked_file, c->cfg.locked_backup, strerror(-r), c->cfg.alive_period);
	} else if (r == 0 && c->backup_missing) {
		log_notice("persistent backup %s of the lock flag written", c->cfg.locked_backup);
	}
	c->backup_missing = r < 0;
}

static void retry_backup(client *c)
{
	if (!c->backup_missing)
		return;
	if (!flag_locked(c)) {
		c->backup_missing = false;
		return;
	}
	note_backup(c, mtc_flag_backup_write(c->cfg.locked_backup, c->hostname));
}

static int apply_command(client *c, const mtc_frame *cmd, int net)
{
	int r, backup_err = 0;

	if (cmd->type == MTC_LOCKED) {
		r = mtc_flag_lock(c->cfg.locked_file, c->cfg.locked_backup, c->hostname, &backup_err);
		if (r < 0) {
			c->flag_errors++;
			log_err("Locked via %s: cannot write %s: %s", mtc_net_name((unsigned)net), c->cfg.locked_file,
				strerror(-r));
			return r;
		}
		note_backup(c, backup_err);
		c->locks_applied++;
		log_emit_fields(LOG_NOTICE, MSGID_FLAG_WRITTEN,
				(const char *[]){ LOG_FIELD("MTC_NETWORK=%s", mtc_net_name((unsigned)net)),
						  LOG_FIELD("MTC_CMDSEQ=%u", cmd->cmdseq), NULL },
				"Locked via %s: lock flag %s written (backup %s)", mtc_net_name((unsigned)net),
				c->cfg.locked_file, c->cfg.locked_backup);
	} else {
		r = mtc_flag_unlock(c->cfg.locked_file, c->cfg.locked_backup);
		if (r < 0) {
			c->flag_errors++;
			log_err("Unlocked via %s: cannot remove %s / %s: %s", mtc_net_name((unsigned)net),
				c->cfg.locked_file, c->cfg.locked_backup, strerror(-r));
			return r;
		}
		c->unlocks_applied++;
		c->backup_missing = false;
		log_emit_fields(LOG_NOTICE, MSGID_FLAG_REMOVED,
				(const char *[]){ LOG_FIELD("MTC_NETWORK=%s", mtc_net_name((unsigned)net)),
						  LOG_FIELD("MTC_CMDSEQ=%u", cmd->cmdseq), NULL },
				"Unlocked via %s: lock flag %s removed", mtc_net_name((unsigned)net), c->cfg.locked_file);
	}
	/* After the flag: a crash in between leaves the older sequence, so
	 * the same command may apply again (harmless), never a newer one
	 * counted as applied without its effect. */
	c->last_applied = cmd->cmdseq;
	r = mtc_counter_write(c->cmdseq_path, c->last_applied);
	if (r < 0) {
		c->flag_errors++;
		log_err("cannot persist command sequence %u to %s: %s", c->last_applied, c->cmdseq_path,
			strerror(-r));
	}
	return 0;
}

static void drop_log(mtc_ratelog *rl, const char *what, const mtc_frame *f, int net, const struct sockaddr_in *from,
		     unsigned long total)
{
	unsigned long n;
	char who[32];

	if (mtc_ratelog_hit(rl, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
		log_warn("%lu command(s) dropped: %s (last: %s seq %u via %s from %s; %lu so far)", n, what,
			 mtc_type_name(f->type), f->cmdseq, mtc_net_name((unsigned)net),
			 mtc_addr_str(from, who, sizeof(who)), total);
}

/* The replay guard's verdict, applied: 1 applied now, 0 duplicate (ack
 * only), -1 dropped. */
static int judge_command(client *c, const mtc_frame *f, int net, const struct sockaddr_in *from)
{
	unsigned long n;

	switch (mtc_replay_check(&c->replay, c->last_applied, f)) {
	case MTC_REPLAY_STALE:
		c->stale++;
		drop_log(&c->stale_log, "does not echo a recent nonce (replayed or too old)", f, net, from, c->stale);
		return -1;
	case MTC_REPLAY_OLD:
		c->old++;
		drop_log(&c->old_log, "older than the last command applied (replayed or delayed)", f, net, from,
			 c->old);
		return -1;
	case MTC_REPLAY_SUPERSEDED:
		c->superseded++;
		drop_log(&c->superseded_log, "echoes an mtcAlive older than our latest (superseded or held back; "
			 "the agent corrects on our next mtcAlive)", f, net, from, c->superseded);
		return -1;
	case MTC_REPLAY_CORRUPT:
		c->corrupt++;
		if (mtc_ratelog_hit(&c->corrupt_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
			log_err("%lu command(s) with command sequence %u (UINT32_MAX) refused as corrupt: the agent's "
				"sequence must never reach it (last: %s via %s; %lu so far)", n, f->cmdseq,
				mtc_type_name(f->type), mtc_net_name((unsigned)net), c->corrupt);
		return -1;
	case MTC_REPLAY_DUPLICATE:
		c->duplicates++;
		log_debug("%s via %s: duplicate of command %u already applied", mtc_type_name(f->type),
			  mtc_net_name((unsigned)net), f->cmdseq);
		return 0;
	case MTC_REPLAY_FRESH:
		break;
	}
	/* not applied: no ack, the agent resends */
	return apply_command(c, f, net) < 0 ? -1 : 1;
}

static void handle_frame(void *userdata, int net, const uint8_t *buf, size_t len, const struct sockaddr_in *from)
{
	client *c = userdata;
	mtc_frame f, ack = { .type = MTC_ACK };
	bool fresh;
	int r;

	if (mtc_daemon_decode(&c->key, net, buf, len, from, MTC_TYPE_BIT(MTC_LOCKED) | MTC_TYPE_BIT(MTC_UNLOCKED),
			      &c->drops, &f) < 0)
		return;
	if (strcmp(f.hostname, c->hostname) != 0) {
		unsigned long n;

		c->wrong_host++;
		if (mtc_ratelog_hit(&c->wrong_host_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
			log_warn("%lu command(s) for another host dropped (last: %s via %s for '%s')", n,
				 mtc_type_name(f.type), mtc_net_name((unsigned)net), f.hostname);
		return;
	}
	c->nc[net].commands++;
	r = judge_command(c, &f, net, from);
	if (r < 0)
		return;
	fresh = r > 0;
	ack.flags = current_flags(c);
	ack.cmdseq = f.cmdseq;
	memcpy(ack.nonce, f.nonce, sizeof(ack.nonce));
	if (send_frame(c, net, &ack) == 0)
		c->nc[net].acks++;
	/* Tell the agent the new state at once, on every network. */
	if (fresh)
		send_alive_all(c, false);
}

static void recover(client *c)
{
	mtc_netio_recover(&c->io);
	update_status(c);
}

/* [metrics] client_textfile, from the alive timer: counters the client
 * keeps anyway; a failed write is logged once until one succeeds. */
static void publish_metrics(client *c)
{
	mtc_client_metrics_in in = {
		.flag = flag_locked(c), .backup = util_path_exists(c->cfg.locked_backup), .last_applied = c->last_applied,
		.locks_applied = c->locks_applied, .unlocks_applied = c->unlocks_applied, .duplicates = c->duplicates,
		.flag_errors = c->flag_errors, .stale = c->stale, .old = c->old, .wrong_host = c->wrong_host,
		.bad_auth = c->drops.bad_auth, .malformed = c->drops.malformed, .wrong_net = c->drops.wrong_net,
	};

	if (!c->cfg.metrics_client[0])
		return;
	for (int net = 0; net < MTC_NET_COUNT; net++) {
		const mtc_sock *s = &c->io.socks[net];

		in.provisioned[net] = s->provisioned;
		in.up[net] = mtc_sock_up(s);
		in.commands[net] = c->nc[net].commands;
		in.acks[net] = c->nc[net].acks;
		in.alives[net] = c->nc[net].tx - c->nc[net].acks;
		in.tx_errors[net] = c->nc[net].tx_errors;
		in.recoveries[net] = s->recoveries;
		in.open_failures[net] = s->failures;
	}
	metrics_buf_reset(&c->metrics);
	mtc_client_metrics_format(&in, &c->metrics);
	service_publish_metrics(c->cfg.metrics_client, &c->metrics, &c->metrics_error);
}

static int on_alive_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	client *c = userdata;

	retry_backup(c);
	send_alive_all(c, true);
	publish_metrics(c);
	return service_rearm(s, usec, (uint64_t)c->cfg.alive_period * USEC_PER_SEC);
}

static int on_recover_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	client *c = userdata;
	unsigned long n;

	recover(c);
	mtc_daemon_flush_drop_logs(&c->drops);
	mtc_daemon_flush_drop_log(&c->stale_log, "command(s) dropped", ": no recent nonce", c->stale);
	mtc_daemon_flush_drop_log(&c->old_log, "command(s) dropped", ": older than the last applied", c->old);
	mtc_daemon_flush_drop_log(&c->superseded_log, "command(s) dropped", ": superseded (an earlier mtcAlive)",
				  c->superseded);
	mtc_ratelog_flush(&c->corrupt_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n);
	mtc_ratelog_flush(&c->wrong_host_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n);
	return service_rearm(s, usec, (uint64_t)c->cfg.recover_interval * USEC_PER_SEC);
}


static int reload(void *userdata)
{
	client *c = userdata;
	mtc_config next;
	mtc_key key;

	if (service_load_config(&c->svc, &next) < 0) {
		log_err("reload of %s failed; keeping the running configuration", c->svc.config_path);
		return 0;
	}
	if (mtc_daemon_load_key(&next, &key) < 0) {
		log_err("reload: key unusable; keeping the running configuration");
		return 0;
	}
	for (int net = 0; net < MTC_NET_COUNT; net++)
		mtc_netio_close(&c->io, net);
	c->cfg = next;
	c->key = key;
	c->io.retry_s = c->cfg.recover_interval;
	/* boot_file / cmdseq_file keep the paths of this start: the counter
	 * was taken from them. */
	client_setup_networks(c);
	recover(c);
	log_notice("configuration reloaded from %s", c->svc.config_path);
	return 0;
}


static int add_timers(client *c)
{
	uint64_t t0;
	int r;

	sd_event_now(c->event, CLOCK_MONOTONIC, &t0);
	r = sd_event_add_time(c->event, &c->alive_timer, CLOCK_MONOTONIC, t0, 10 * USEC_PER_MSEC, on_alive_timer, c);
	if (r >= 0)
		r = sd_event_add_time(c->event, &c->recover_timer, CLOCK_MONOTONIC,
				      t0 + (uint64_t)c->cfg.recover_interval * USEC_PER_SEC, 50 * USEC_PER_MSEC,
				      on_recover_timer, c);
	return r;
}

static void stop(client *c)
{
	for (int net = 0; net < MTC_NET_COUNT; net++)
		mtc_netio_close(&c->io, net);
	sd_event_source_unref(c->alive_timer);
	sd_event_source_unref(c->recover_timer);
	sd_event_unref(c->event);
	sodium_memzero(&c->key, sizeof(c->key));
	metrics_buf_free(&c->metrics);
	log_notice("stopped: locks %lu, unlocks %lu, stale %lu, old %lu, bad auth %lu, malformed %lu",
		   c->locks_applied, c->unlocks_applied, c->stale, c->old, c->drops.bad_auth, c->drops.malformed);
}

static int run(client *c)
{
	int r, hr;

	/* The flag must be right before anyone (hostwd, the agent) looks,
	 * and before anything that can fail (the key, the hostname, the
	 * sockets): a locked node must not lose its flag at boot for an
	 * error that has nothing to do with it. */
	hr = client_set_hostname(c);
	r = client_restore_flag(c);
	if (r < 0)
		return r;
	if (hr < 0)
		return hr;
	if (mtc_daemon_load_key(&c->cfg, &c->key) < 0)
		return -EINVAL;
	if (c->cfg.fit_enabled)
		log_emit(LOG_WARNING, MSGID_FIT, "FIT enabled: fault files in %s are honoured; never use in production",
			 c->cfg.fit_dir);
	r = client_load_order_state(c);
	if (r < 0)
		return r;
	mtc_replay_init(&c->replay);
	c->drops.peer_at = client_agent_at;
	c->drops.peer_user = c;

	r = sd_event_default(&c->event);
	if (r < 0)
		return r;
	r = service_signals(&c->svc, c->event, reload, c);
	if (r < 0)
		return r;
	sd_event_set_watchdog(c->event, true);
	c->io = (mtc_netio){ .event = c->event, .cfg = &c->cfg, .fit = &c->fit, .on_frame = handle_frame, .userdata = c,
			     .rx_budget = 32, .retry_s = c->cfg.recover_interval, .rx_on_tx = true };
	client_setup_networks(c);
	recover(c);
	r = add_timers(c);
	if (r < 0)
		return r;
	log_notice("started as %s (boot %u, last command %u): alive every %ds, flag %s, backup %s, auth %s",
		   c->hostname, c->boot, c->last_applied, c->cfg.alive_period, c->cfg.locked_file, c->cfg.locked_backup,
		   c->key.enabled ? "hmac-sha256" : "DISABLED");
	r = service_loop(c->event);
	stop(c);
	return r;
}


int main(int argc, char **argv)
{
	static client c = {
		.svc = { .name = "mtcclient",
			 .about = "Maintenance client: sends mtcAlive on the pxeboot, mgmt and cluster networks\n"
				  "and applies Locked/Unlocked commands to the node's lock flag.",
			 .check_what = "the configuration",
			 .footer = "Signals: SIGHUP reloads the configuration, SIGTERM stops cleanly.",
			 .table = &mtc_conf_table,
			 .config_path = MTC_DEFAULT_CONFIG },
	};
	int r;

	c.svc.metrics = mtc_client_metric_defs;
	c.svc.n_metrics = mtc_client_n_metric_defs;
	r = service_parse_cli(&c.svc, argc, argv);
	if (r >= 0)
		return r;
	log_open("mtcclient");
	r = service_config_or_exit(&c.svc, &c.cfg);
	if (r == 1 && c.svc.mode == SERVICE_RUN)
		client_restore_despite_config_error(&c);
	if (r >= 0)
		return r;
	return service_exit_status(run(&c));
}
