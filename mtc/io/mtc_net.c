#include "mtc_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int mtc_udp_open(const struct sockaddr_in *addr, int port)
{
	struct sockaddr_in sa = *addr;
	int fd, r;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	sa.sin_port = htons((uint16_t)port);
	/* No SO_REUSEADDR / SO_REUSEPORT: with either, any local user could
	 * bind the same address and port and take our datagrams. */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

static int real_open(void *user, int net, const struct sockaddr_in *addr, int port)
{
	(void)user;
	(void)net;
	return mtc_udp_open(addr, port);
}

static void real_close(void *user, int fd)
{
	(void)user;
	close(fd);
}

const mtc_sock_ops mtc_real_sock_ops = { real_open, real_close };

int mtc_sock_config(mtc_sock *s, const char *address, int rx_port)
{
	memset(s, 0, sizeof(*s));
	s->rx_fd = s->tx_fd = -1;
	s->rx_port = rx_port;
	if (!address || !*address)
		return 0;
	s->local.sin_family = AF_INET;
	if (inet_pton(AF_INET, address, &s->local.sin_addr) != 1)
		return -EINVAL;
	s->provisioned = true;
	return 0;
}

bool mtc_sock_can_send(const mtc_sock *s)
{
	return s->provisioned && s->tx_fd >= 0;
}

bool mtc_sock_up(const mtc_sock *s)
{
	return s->provisioned && s->tx_fd >= 0 && (s->rx_port == 0 || s->rx_fd >= 0);
}

void mtc_sock_close(mtc_sock *s, const mtc_sock_ops *ops, void *user)
{
	if (s->rx_fd >= 0)
		ops->close_fd(user, s->rx_fd);
	if (s->tx_fd >= 0)
		ops->close_fd(user, s->tx_fd);
	s->rx_fd = s->tx_fd = -1;
}

static int open_one(mtc_sock *s, int net, const mtc_sock_ops *ops, void *user)
{
	bool was_tried = s->failures > 0 || s->last_error != 0;
	int fd, rx_error = 0;

	if (s->rx_port && s->rx_fd < 0) {
		fd = ops->open_udp(user, net, &s->local, s->rx_port);
		if (fd >= 0)
			s->rx_fd = fd;
		else
			rx_error = fd; /* e.g. the port is held by another process */
	}
	if (s->tx_fd < 0) {
		fd = ops->open_udp(user, net, &s->local, 0);
		if (fd < 0)
			goto fail;
		s->tx_fd = fd;
	}
	if (rx_error) {
		/* Send-only is still worth having: mtcAlive goes out, and a
		 * client takes commands on its tx socket too. Retried. */
		s->failures++;
		s->last_error = rx_error;
		return rx_error;
	}
	if (was_tried)
		s->recoveries++;
	s->last_error = 0;
	return 0;
fail:
	/* No tx socket is not up: close what we got so the next try starts clean. */
	mtc_sock_close(s, ops, user);
	s->failures++;
	s->last_error = fd;
	return fd;
}

int mtc_net_recover_all(mtc_sock socks[MTC_NET_COUNT], const mtc_sock_ops *ops, void *user,
			int order_out[MTC_NET_COUNT])
{
	static const int order[MTC_NET_COUNT] = { MTC_NET_PXEBOOT, MTC_NET_MGMT, MTC_NET_CLUSTER };
	int attempted = 0;

	for (int i = 0; i < MTC_NET_COUNT; i++) {
		mtc_sock *s = &socks[order[i]];

		if (!s->provisioned || mtc_sock_up(s))
			continue;
		if (order_out)
			order_out[attempted] = order[i];
		attempted++;
		/* The result is recorded in the slot; never stop the walk. */
		(void)open_one(s, order[i], ops, user);
	}
	return attempted;
}
