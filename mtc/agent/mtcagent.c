/* mtcagent: on the controller. Holds each host's admin lock state, sends
 * Locked/Unlocked on pxeboot, mgmt and cluster, and corrects any host whose
 * mtcAlive disagrees, logging that once per episode. This file starts,
 * reloads and stops it and keeps the host table; see mtc_agent.h for the
 * other parts. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <systemd/sd-event.h>

#include "log.h"
#include "mtc_agent.h"
#include "mtc_metrics.h"
#include "notify.h"
#include "util.h"

static int host_cmp_name(const void *key, const void *elem)
{
	return strcmp(key, ((const agent_host *)elem)->entry.name);
}

static const char *host_name_at(const void *user, uint32_t i)
{
	return ((const agent *)user)->hosts[i].entry.name;
}

/* Hashed, as the hosts-file loader (issue 20 item 14); without the index
 * (out of memory) the table is still sorted. */
agent_host *agent_find_host(agent *a, const char *name)
{
	int64_t i;

	if (a->host_index.cap) {
		i = mtc_index_find(&a->host_index, name, host_name_at, a);
		return i < 0 ? NULL : &a->hosts[i];
	}
	return a->n_hosts ? bsearch(name, a->hosts, a->n_hosts, sizeof(a->hosts[0]), host_cmp_name) : NULL;
}

static void index_hosts(agent *a)
{
	mtc_index_free(&a->host_index);
	for (size_t i = 0; i < a->n_hosts; i++) {
		if (mtc_index_add(&a->host_index, (uint32_t)i, host_name_at, a) < 0) {
			mtc_index_free(&a->host_index);
			return;
		}
	}
}

const char *agent_admin_name(const agent_host *h)
{
	return mtc_admin_locked(&h->adm) ? "locked" : "unlocked";
}

static void set_unknown(agent_host *h)
{
	mtc_admin_init(&h->adm);
}

void agent_log_unknown(const agent *a, const agent_host *h)
{
	char where[MTC_PATH_MAX + 64];

	a->store->describe(a->store_data, where, sizeof(where));
	log_warn("%s: admin state unknown (not in %s): treated as locked until an operator sets it; "
		 "Unlocked is never sent for it", h->entry.name, where);
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
		agent_host *h = &hosts[i], *old = agent_find_host(a, list.v[i].name);

		if (old)
			*h = *old;
		else
			set_unknown(h);
		h->entry = list.v[i];
		if (!old && log_new)
			agent_log_unknown(a, h);
		agent_fleet_watch(h, old, util_now_ms());
		for (int net = 0; net < MTC_NET_COUNT; net++) {
			h->has_dest[net] = h->entry.addr[net][0] != '\0';
			/* Moved: its old mtcAlive source is not the host's any more. */
			if (old && strcmp(old->entry.addr[net], h->entry.addr[net]) != 0)
				h->has_src[net] = false;
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
	index_hosts(a);
	mtc_hosts_free(&list);
	return 0;
}

/* The store keeps what it opened with (its threads read their own copy):
 * [agent] store and [etcd] are restart-only keys (CONF_RESTART). */
static void keep_store_config(const mtc_config *run, mtc_config *next)
{
	char changed[256];

	if (conf_keep_restart_keys(&mtc_conf_table, run, next, changed, sizeof(changed)) > 0)
		log_warn("reload: %s changed: they take effect at restart; keeping the running values", changed);
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
	keep_store_config(&a->cfg, &next);
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
	a->io.rx_buffer_bytes = next.rx_buffer_kb * 1024; /* the sockets reopen below */
	mtc_netio_recover(&a->io);
	log_notice("configuration reloaded: %zu hosts", a->n_hosts);
	return 0;
}

static int open_sources(agent *a)
{
	int r;

	r = sd_event_default(&a->event);
	if (r < 0)
		return r;
	r = service_signals(&a->svc, a->event, reload, a);
	if (r < 0)
		return r;
	sd_event_set_watchdog(a->event, true);
	a->io = (mtc_netio){ .event = a->event, .cfg = &a->cfg, .fit = &a->fit, .on_frame = agent_handle_frame,
			     .userdata = a, .rx_budget = 256, .retry_s = 1,
			     .rx_coalesce_usec = (uint64_t)a->cfg.rx_coalesce_ms * USEC_PER_MSEC,
			     .rx_buffer_bytes = a->cfg.rx_buffer_kb * 1024 };
	for (int net = 0; net < MTC_NET_COUNT; net++)
		mtc_sock_config(&a->io.socks[net], a->cfg.net[net].address, a->cfg.net[net].agent_port);
	mtc_netio_recover(&a->io);
	r = agent_control_open(a);
	if (r < 0)
		return r;
	return sd_event_add_time_relative(a->event, &a->recover_timer, CLOCK_MONOTONIC, USEC_PER_SEC,
					  50 * USEC_PER_MSEC, agent_on_recover_timer, a);
}

static void stop(agent *a)
{
	for (int net = 0; net < MTC_NET_COUNT; net++)
		mtc_netio_close(&a->io, net);
	/* The store first: it answers control requests still waiting on it. */
	if (a->store_data)
		agent_store_close(a);
	agent_control_close(a);
	sd_event_source_unref(a->recover_timer);
	sd_event_unref(a->event);
	free(a->hosts);
	agent_metrics_free(a);
	mtc_index_free(&a->host_index);
	sodium_memzero(&a->key, sizeof(a->key));
	log_notice("stopped: bad auth %lu, malformed %lu, unknown host %lu, stale %lu", a->drops.bad_auth,
		   a->drops.malformed, a->unknown_host, a->stale);
}

static int run(agent *a)
{
	char where[MTC_PATH_MAX + 64];
	int r;

	a->store = mtc_store_for(&a->cfg);
	if (mtc_daemon_load_key(&a->cfg, &a->key) < 0)
		return -EINVAL;
	if (load_hosts(a, &a->cfg, false) < 0)
		return -EINVAL;
	if (a->cfg.fit_enabled)
		log_emit(LOG_WARNING, MSGID_FIT, "FIT enabled: fault files in %s are honoured; never use in production",
			 a->cfg.fit_dir);
	a->boot = mtc_daemon_boot_id();
	a->seq = randombytes_random();
	a->drops.peer_at = agent_peer_at; /* "key mismatch with node-1?" */
	a->drops.peer_user = a;
	r = open_sources(a);
	if (r >= 0)
		r = agent_store_open(a);
	if (r < 0) {
		stop(a);
		return r;
	}
	a->store->describe(a->store_data, where, sizeof(where));
	log_notice("started: %zu hosts, state %s, control %s, auth %s", a->n_hosts, where, a->cfg.control_socket,
		   a->key.enabled ? "hmac-sha256" : "DISABLED");
	r = service_loop(a->event);
	stop(a);
	return r;
}

/* --check-config also reads the hosts file and says how many hosts. */
static int check_config(agent *a)
{
	mtc_host_list l;
	conf_errors errs = { 0 };

	if (service_load_config(&a->svc, &a->cfg) < 0)
		return 1;
	if (mtc_hosts_load(&l, a->cfg.hosts_file, &errs) < 0) {
		fprintf(stderr, "%s", errs.text);
		return 1;
	}
	printf("%s: configuration valid; %s: %zu hosts\n", a->svc.config_path, a->cfg.hosts_file, l.n);
	mtc_hosts_free(&l);
	return 0;
}

int mtcagent_main(int argc, char **argv)
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
	int r;

	a.svc.metrics = mtc_agent_metric_defs;
	a.svc.n_metrics = mtc_agent_n_metric_defs;
	r = service_parse_cli(&a.svc, argc, argv);
	if (r >= 0)
		return r;
	log_open("mtcagent");
	if (a.svc.mode == SERVICE_CHECK_CONFIG)
		return check_config(&a);
	r = service_config_or_exit(&a.svc, &a.cfg);
	if (r >= 0)
		return r;
	return service_exit_status(run(&a));
}
