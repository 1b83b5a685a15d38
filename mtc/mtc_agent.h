/* mtcagent's own modules: the host table and the agent state they share.
 *   mtcagent.c        start, reload, stop, host table
 *   mtc_agent_net.c   the network side: mtcAlive/Ack in, Locked/Unlocked out
 *   mtc_agent_fleet.c which hosts' mtcAlive stopped or returned, per network
 *   mtc_control.c     the control socket mtcctl talks to
 *   mtc_store*.c      where admin state is kept (mtc_store_file.c: state_file)
 * Not a library API: only the agent links these. */
#ifndef MTC_AGENT_H
#define MTC_AGENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "mtc_codec.h"
#include "mtc_config.h"
#include "mtc_daemon.h"
#include "mtc_episode.h"
#include "mtc_fleet.h"
#include "mtc_net.h"
#include "mtc_order.h"
#include "service.h"

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
	int64_t store_rev;                    /* etcd: mod_revision of the state applied (0: none) */
	int64_t store_mod;                    /* etcd: the key's mod_revision as read (0: missing, deleted) */
	bool store_txn;                       /* etcd: a correction's re-put is on its way */
	bool store_behind;                    /* etcd: not corrected while cut off (logged once) */
	bool have_nonce;
	uint8_t nonce[MTC_NONCE_LEN];
	mtc_order order;                      /* (boot, seq) ordering of its frames */
	mtc_link link[MTC_NET_COUNT];         /* is its mtcAlive arriving on each network */
	bool configured;
	unsigned long alives, acks, commands_sent, stale, reordered, old_boot;
} agent_host;

typedef struct mtc_store_ops mtc_store_ops;
struct control_conn;

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
	const mtc_store_ops *store;
	void *store_data;                     /* the store's own state */
	bool fleet_net_up[MTC_NET_COUNT];     /* the agent's own socket was up at the last check */
	unsigned fleet_lines;                 /* stop/return lines logged this second */
	unsigned long fleet_quiet[2];         /* stops, returns over that budget: summarised */
	struct control_conn *conns;
	int n_conns;
} agent;

agent_host *agent_find_host(agent *a, const char *name);
const char *agent_admin_name(const agent_host *h);
void agent_log_unknown(const agent *a, const agent_host *h);

/* mtc_agent_net.c */
void agent_send_admin_state(agent *a, agent_host *h, const char *why);
void agent_handle_frame(void *userdata, int net, const uint8_t *buf, size_t len, const struct sockaddr_in *from);
int agent_on_recover_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* mtc_agent_fleet.c */
#define MSGID_ALIVE_STOPPED "78cfe1689f754c06b023ddf325438462"
#define MSGID_ALIVE_RETURNED "e8bf19c92fbe4c77ae992b8b61d8b277"
/* Start watching h's networks (start, reload); old: h before a reload
 * (its links are kept where the address did not change), or NULL. */
void agent_fleet_watch(agent_host *h, const agent_host *old, uint64_t now);
void agent_fleet_on_alive(agent *a, agent_host *h, int net, uint64_t now);
/* Once a second: log hosts whose mtcAlive stopped (once each). */
void agent_fleet_check(agent *a, uint64_t now);
/* How long a network must be silent to count as missing; 0: not watched. */
uint64_t agent_missing_ms(const agent *a);
/* Is h's mtcAlive on net watched: h has an address there and so does the
 * agent (a network the agent is not on is nobody's silence). */
bool agent_fleet_watched(const agent *a, const agent_host *h, int net);
/* Is h's mtcAlive missing on any watched network. */
bool agent_host_missing(const agent *a, const agent_host *h);

/* mtc_control.c */
int agent_control_open(agent *a);
void agent_control_close(agent *a);

#endif
