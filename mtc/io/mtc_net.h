/* Per-network UDP sockets and their recovery. The walk is the fix for the
 * reference system's bug: it tries every network, pxeboot first, then mgmt,
 * then cluster, and one failure never stops the others. */
#ifndef MTC_NET_H
#define MTC_NET_H

#include <netinet/in.h>
#include <stdbool.h>

#include "mtc_codec.h"

typedef struct mtc_sock {
	bool provisioned;          /* an address is configured */
	struct sockaddr_in local;  /* this side's address */
	int rx_port;               /* 0: no rx socket on this network */
	int rx_fd, tx_fd;          /* -1 when down */
	int last_error;            /* -errno of the last failed open, 0 if none; with
				    * tx_fd open and rx_fd not, the rx bind's */
	unsigned long failures;    /* failed open attempts */
	unsigned long recoveries;  /* successful re-opens after a failure or close */
} mtc_sock;

/* How sockets are made: real ones in the daemons, failing ones in tests. */
typedef struct mtc_sock_ops {
	int (*open_udp)(void *user, int net, const struct sockaddr_in *addr, int port);
	void (*close_fd)(void *user, int fd);
} mtc_sock_ops;

extern const mtc_sock_ops mtc_real_sock_ops;

/* Set up slot net from an address string ("" = not provisioned). */
int mtc_sock_config(mtc_sock *s, const char *address, int rx_port);

/* Both sockets open (nothing left for recovery to do). */
bool mtc_sock_up(const mtc_sock *s);

/* The tx socket is open: sending works, even if the rx port could not be
 * bound (held by another process; recovery retries it). */
bool mtc_sock_can_send(const mtc_sock *s);

/* Try to open every provisioned network that is down, in order pxeboot,
 * mgmt, cluster, each independently. order_out (optional) records the
 * networks attempted in order; returns how many were attempted. */
int mtc_net_recover_all(mtc_sock socks[MTC_NET_COUNT], const mtc_sock_ops *ops, void *user,
			int order_out[MTC_NET_COUNT]);

/* Close both sockets of one network (failure seen, or FIT close_<net>). */
void mtc_sock_close(mtc_sock *s, const mtc_sock_ops *ops, void *user);

/* A non-blocking UDP socket bound to addr:port (port 0 = any). */
int mtc_udp_open(const struct sockaddr_in *addr, int port);

#endif
