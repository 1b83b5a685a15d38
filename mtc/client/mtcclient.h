/* mtcclient's parts (mtc/client/): the daemon (mtcclient.c: frames, flag,
 * timers, reload, main) and its start (mtcclient_start.c: hostname, flag
 * restore, order state, networks). Not a library: mtcclient only. */
#ifndef MTCCLIENT_H
#define MTCCLIENT_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>
#include <systemd/sd-event.h>

#include "metrics.h"
#include "mtc_codec.h"
#include "mtc_config.h"
#include "mtc_daemon.h"
#include "mtc_replay.h"
#include "service.h"

typedef struct net_counters {
	unsigned long tx, tx_errors, commands, acks;
} net_counters;

typedef struct client {
	service svc;
	mtc_config cfg;
	mtc_key key;
	char hostname[MTC_HOSTNAME_MAX + 1];
	sd_event *event;
	sd_event_source *alive_timer, *recover_timer;
	mtc_netio io;
	struct sockaddr_in agent[MTC_NET_COUNT][MTC_AGENTS_MAX]; /* every controller's agent */
	int n_agents[MTC_NET_COUNT];
	bool agent_known[MTC_NET_COUNT];
	mtc_replay replay;
	mtc_fit fit;
	uint32_t boot, seq;
	uint32_t last_applied;         /* cmdseq of the last command applied, persisted */
	char boot_path[MTC_PATH_MAX + 32], cmdseq_path[MTC_PATH_MAX + 32];
	net_counters nc[MTC_NET_COUNT];
	mtc_rx_drops drops;
	unsigned long stale, old, duplicates, wrong_host, superseded, corrupt;
	mtc_ratelog stale_log, old_log, wrong_host_log, superseded_log, corrupt_log;
	unsigned long locks_applied, unlocks_applied, flag_errors, backup_errors;
	bool backup_missing;           /* locked, the backup write failed: retried each period */
	char last_status[256];
	metrics_buf metrics;
	int metrics_error;             /* last write's result, for log-once */
} client;

/* mtcclient_start.c */
const char *client_agent_at(void *user, int net, const struct sockaddr_in *from);
int client_setup_networks(client *c);
int client_restore_flag(client *c);
int client_load_order_state(client *c);
int client_set_hostname(client *c);
void client_restore_despite_config_error(client *c);

#endif
