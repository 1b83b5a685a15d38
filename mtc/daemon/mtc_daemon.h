/* Plumbing shared by mtcclient and mtcagent (not by the pure modules):
 * loading the key with operator-facing messages, fault insertion, the
 * per-network sockets in the event loop. */
#ifndef MTC_DAEMON_H
#define MTC_DAEMON_H

#include <stdbool.h>

#include <systemd/sd-event.h>

#include "mtc_codec.h"
#include "mtc_config.h"
#include "mtc_net.h"
#include "mtc_order.h"

/* Dropped-frame classes are logged at most once per this interval. */
#define MTC_DROP_LOG_INTERVAL_MS 10000

typedef enum mtc_fit_kind { MTC_FIT_DROP_RX, MTC_FIT_DROP_TX, MTC_FIT_CLOSE, MTC_FIT_KINDS } mtc_fit_kind;

typedef struct mtc_fit {
	bool active[MTC_FIT_KINDS][MTC_NET_COUNT]; /* as last seen, for log-once */
	unsigned long hits[MTC_FIT_KINDS][MTC_NET_COUNT];
} mtc_fit;

/* Is fault kind on net injected right now? With FIT disabled in the
 * config, always false whatever files exist. Logs start and stop. */
bool mtc_fit_check(mtc_fit *f, const mtc_config *cfg, mtc_fit_kind kind, int net);
const char *mtc_fit_name(mtc_fit_kind kind);

/* The shared key, or auth disabled with a warning. Logs why on failure. */
int mtc_daemon_load_key(const mtc_config *cfg, mtc_key *key);

/* The per-network sockets of a daemon wired into its event loop: the
 * recovery walk, FIT close_<net>, rx event sources, and logs of each
 * network going up or down. */
/* One received datagram, after FIT drop_rx_<net> let it through. */
typedef void (*mtc_frame_handler)(void *userdata, int net, const uint8_t *buf, size_t len,
				  const struct sockaddr_in *from);

typedef struct mtc_netio {
	sd_event *event;
	const mtc_config *cfg;          /* for FIT */
	mtc_fit *fit;
	mtc_frame_handler on_frame;     /* called with userdata */
	void *userdata;
	int rx_budget;                  /* datagrams read per wakeup, so timers still run */
	uint64_t rx_coalesce_usec;      /* 0, or: at most four wakeups per network in this time */
	int rx_buffer_bytes;            /* 0, or: SO_RCVBUF of each new rx socket */
	int retry_s;                    /* for the "down" log line */
	bool rx_on_tx;                  /* also read the tx sockets (client: commands
					 * sent back to the mtcAlive source port) */
	mtc_sock socks[MTC_NET_COUNT];
	sd_event_source *rx_src[MTC_NET_COUNT], *tx_src[MTC_NET_COUNT];
	int logged_error[MTC_NET_COUNT]; /* last bind error logged, for log-once */
	bool was_up[MTC_NET_COUNT];
	unsigned long rx[MTC_NET_COUNT]; /* datagrams received, FIT drops included */
} mtc_netio;

/* Close both sockets of net and drop its event source. */
void mtc_netio_close(mtc_netio *io, int net);

/* Apply FIT close_<net> (once per appearance of the file), reopen every
 * provisioned network that is down (pxeboot, mgmt, cluster, each on its
 * own), wire new rx sockets into the loop, log transitions. */
void mtc_netio_recover(mtc_netio *io);

/* What a daemon drops on receipt, for status and logs. */
typedef struct mtc_rx_drops {
	unsigned long bad_auth, malformed, wrong_type, wrong_net;
	mtc_ratelog bad_auth_log, malformed_log, wrong_net_log;
	/* The last frame per network that failed authentication: where from,
	 * when (util_now_ms; 0: none). */
	struct sockaddr_in bad_auth_from[MTC_NET_COUNT];
	uint64_t bad_auth_ms[MTC_NET_COUNT];
	/* Optional: the configured peer at from on net (a host's name, "the
	 * agent"), or NULL; named in the bad-auth line as a likely key
	 * mismatch. */
	const char *(*peer_at)(void *user, int net, const struct sockaddr_in *from);
	void *peer_user;
} mtc_rx_drops;

#define MTC_TYPE_BIT(t) (1u << (t))

/* Decode and verify one received frame; accept only the types in
 * want_types (MTC_TYPE_BIT mask). Drops are counted in d and logged at
 * most once per MTC_DROP_LOG_INTERVAL_MS per class, naming the last sender.
 * Returns 0 with *ret filled, or -errno. */
int mtc_daemon_decode(const mtc_key *key, int net, const uint8_t *buf, size_t len, const struct sockaddr_in *from,
		      unsigned want_types, mtc_rx_drops *d, mtc_frame *ret);

/* From a timer: the summary lines of drops suppressed in the last interval. */
void mtc_daemon_flush_drop_logs(mtc_rx_drops *d);

/* From a timer, for one drop class: if rl held lines back and its interval
 * is over, "N more WHAT in the last 10 s[TAIL] (TOTAL so far)". */
void mtc_daemon_flush_drop_log(mtc_ratelog *rl, const char *what, const char *tail, unsigned long total);

/* "a.b.c.d:port" of a sender, in a static buffer per call site slot (0, 1). */
const char *mtc_addr_str(const struct sockaddr_in *sa, char *buf, size_t size);

/* Random non-zero 32-bit id for this start (the agent's). */
uint32_t mtc_daemon_boot_id(void);

/* The client's boot counter: read path, add one, write it back atomically
 * (fsync) before any frame is sent. Missing or unreadable: start from the
 * wall clock in seconds, above any counter a previous install reached.
 * *ret_persisted false if it could not be written (logged by the caller). */
uint32_t mtc_daemon_next_boot(const char *path, bool *ret_persisted, int *ret_error);

/* A small persisted unsigned counter (decimal text): read, and write
 * atomically. Read: 0 and -ENOENT if missing, -EBADMSG if not a number. */
int mtc_counter_read(const char *path, uint32_t *ret);
int mtc_counter_write(const char *path, uint32_t value);

#endif
