/* mtcagent's own modules: the host table and the agent state they share.
 *   mtcagent.c        start, reload, stop, host table
 *   mtc_agent_net.c   the network side: mtcAlive/Ack in, Locked/Unlocked out
 *   mtc_agent_admin.c carries out mtc_admin's decisions: the store's events
 *                     in, puts, reads, frames and log lines out
 *   mtc_agent_fleet.c which hosts' mtcAlive stopped or returned, per network
 *   mtc_control.c     the control socket mtcctl talks to (list output:
 *                     mtc_control_list.c; both share mtc_control.h)
 *   mtc_store*.c      where admin state is kept (they do not include this header)
 * All but main() (mtcagent_main.c) are libmtcagent.a, which the agent and
 * its unit test (tests/unit/test_mtc_agent.c) link; not a library API. */
#ifndef MTC_AGENT_H
#define MTC_AGENT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "mtc_admin.h"
#include "mtc_codec.h"
#include "mtc_config.h"
#include "mtc_daemon.h"
#include "metrics.h"
#include "mtc_episode.h"
#include "mtc_fleet.h"
#include "mtc_net.h"
#include "mtc_order.h"
#include "mtc_store.h"
#include "service.h"

typedef struct agent_host {
	mtc_host_entry entry;
	struct sockaddr_in dest[MTC_NET_COUNT];
	bool has_dest[MTC_NET_COUNT];
	/* The client's mtcAlive source (its tx socket) per network: commands
	 * go there too, so a squatter on the client port cannot block them. */
	struct sockaddr_in src[MTC_NET_COUNT];
	bool has_src[MTC_NET_COUNT];
	mtc_admin adm;                        /* admin state, order, applied, episode: mtc_admin's */
	uint8_t nonce[MTC_NONCE_LEN];
	mtc_order order;                      /* (boot, seq) ordering of its frames */
	mtc_link link[MTC_NET_COUNT];         /* is its mtcAlive arriving on each network */
	bool configured;
	bool other_src_logged[MTC_NET_COUNT]; /* mtcAlive from another address than dest: said once */
	unsigned long alives, acks, commands_sent, stale, reordered, old_boot;
} agent_host;

struct control_conn;
struct agent;

/* An operator's lock/unlock answered: r = 0 stored and sent (h its host;
 * why NULL or what the store knows, e.g. "committed at etcd revision N");
 * r < 0: not done and why says exactly what is known (one line, no
 * newline): not changed, refused, or unknown (etcd: a request that timed
 * out may still commit). */
typedef void (*agent_done_fn)(struct agent *a, agent_host *h, int r, const char *why, void *ctx);

/* mtc_agent_metrics.c: [metrics] agent_textfile and what only it counts. */
typedef struct agent_metrics {
	bool ready;                           /* histograms set up */
	metrics_buf buf;
	metrics_hist latency[2];              /* [lock, unlock]: request to the store's answer */
	unsigned long requests[2][2];         /* [lock, unlock][ok, error] */
	uint64_t last_write_ms;
	int error;                            /* last write's result, for log-once */
} agent_metrics;

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
	mtc_index host_index;                 /* hosts by name (empty: bsearch) */
	mtc_fit fit;
	uint32_t boot, seq;
	unsigned long tx[MTC_NET_COUNT], tx_errors[MTC_NET_COUNT];
	mtc_rx_drops drops;
	unsigned long unknown_host, stale, old_boot;
	mtc_ratelog unknown_host_log, stale_log, old_boot_log;
	unsigned long other_src;              /* host networks whose mtcAlive came from elsewhere */
	mtc_ratelog other_src_log;
	const mtc_store_ops *store;
	mtc_store *store_data;                /* the store's own state */
	bool store_loaded;                    /* a full read finished */
	unsigned long resends;                /* correction resends sent */
	mtc_ratelog resend_log;               /* one line per interval for them */
	char resend_last[320];                /* the last one, for that line */
	bool fleet_net_up[MTC_NET_COUNT];     /* the agent's own socket was up at the last check */
	unsigned fleet_lines;                 /* stop/return lines logged this second */
	unsigned long fleet_quiet[2];         /* stops, returns over that budget: summarised */
	struct control_conn *conns;
	int n_conns;
	agent_metrics metrics;
} agent;

/* mtcagent.c: start, reload, stop (mtcagent_main.c calls it). */
int mtcagent_main(int argc, char **argv);
agent_host *agent_find_host(agent *a, const char *name);
const char *agent_admin_name(const agent_host *h);
void agent_log_unknown(const agent *a, const agent_host *h);

/* mtc_agent_net.c */
/* Locked (locked) or Unlocked with cmdseq on every network; result: one
 * "pxeboot=sent, mgmt=..." line. */
void agent_send_cmd(agent *a, agent_host *h, bool locked, uint32_t cmdseq, char *result, size_t size);
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

/* mtc_agent_admin.c */
int agent_store_open(agent *a);
void agent_store_close(agent *a);
/* An operator's lock/unlock of h: done is called once, maybe at once. */
void agent_set_admin(agent *a, agent_host *h, bool lock, agent_done_fn done, void *ctx);
/* An in-order mtcAlive (alive) or Ack of h. */
void agent_admin_report(agent *a, agent_host *h, bool locked, bool alive, uint32_t applied, int net);
/* Once a second: the summary of correction resends. */
void agent_admin_flush_logs(agent *a);

/* mtc_agent_metrics.c: from the 1 s timer; writes every alive_period. */
void agent_metrics_publish(agent *a, uint64_t now);
/* An operator's lock (or unlock) was answered by the store after usec. */
void agent_metrics_admin_done(agent *a, bool lock, int r, uint64_t usec);
void agent_metrics_free(agent *a);

/* Issue 20 item 11: the host whose configured address on net is from's
 * (O(hosts): for log lines and replies, not per frame); the same as a
 * mtc_rx_drops.peer_at hook (user: the agent). */
agent_host *agent_host_at_addr(agent *a, int net, const struct sockaddr_in *from);
const char *agent_peer_at(void *user, int net, const struct sockaddr_in *from);
/* An in-order mtcAlive of h via net came from from: a source other than
 * the hosts file's address is counted once (until it comes from there),
 * and logged at most once per interval. */
void agent_on_alive_source(agent *a, agent_host *h, int net, const struct sockaddr_in *from);
/* For mtcctl lock/unlock replies: "; sent on ..." or why it is pending
 * (never heard with this key; frames from its address failing auth). */
void agent_key_hint(const agent *a, const agent_host *h, char *buf, size_t size);

/* mtc_control.c */
int agent_control_open(agent *a);
void agent_control_close(agent *a);

#endif
