/* Agent scale load generator: H simulated clients, each sending an
 * authenticated mtcAlive on pxeboot, mgmt and cluster every P seconds from
 * 100 loopback source addresses. Halfway through, F hosts start reporting
 * "locked" while their admin state is unlocked; the generator receives the
 * agent's Unlocked corrections and reports their latency from the first
 * mismatching mtcAlive.
 *
 *   bench_agent_load hosts FILE H                  write the agent's hosts file
 *   bench_agent_load run KEYFILE H SECONDS P F     generate load
 *
 * Loopback only: agent on 127.0.1.1 / 127.0.2.1 / 127.0.3.1; sources
 * 127.10.0.1-100; flipped hosts' addresses 127.30.0.1 / 127.31.0.1 /
 * 127.32.0.1 (the generator listens there). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "mtc_codec.h"
#include "mtc_config.h"
#include "mtc_net.h"
#include "util.h"

#define SOURCES 100

static const char *const agent_ip[3] = { "127.0.1.1", "127.0.2.1", "127.0.3.1" };
static const int agent_port[3] = { 2102, 2101, 2101 };
static const char *const listen_ip[3] = { "127.30.0.1", "127.31.0.1", "127.32.0.1" };
static const int client_port[3] = { 2119, 2118, 2115 };

typedef struct sim_host {
	uint32_t boot, seq;
	bool report_locked;
	uint64_t mismatch_sent_us; /* first mismatching alive, 0 = none */
	long correction_us;        /* -1 until the correction arrived */
} sim_host;

static int write_hosts(const char *path, int h, int flip)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return 1;
	for (int i = 0; i < h; i++) {
		if (i < flip)
			fprintf(f, "[host h%05d]\npxeboot = %s\nmgmt = %s\ncluster = %s\n", i, listen_ip[0], listen_ip[1],
				listen_ip[2]);
		else
			fprintf(f, "[host h%05d]\npxeboot = 127.40.%d.%d\n", i, (i / 250) % 250, i % 250 + 1);
	}
	return fclose(f) ? 1 : 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "hosts") == 0)
		return write_hosts(argv[2], atoi(argv[3]), 100);
	if (argc != 7 || strcmp(argv[1], "run") != 0) {
		fprintf(stderr, "usage: bench_agent_load hosts FILE H | run KEYFILE H SECONDS PERIOD FLIP\n");
		return 2;
	}
	int H = atoi(argv[3]), secs = atoi(argv[4]), period = atoi(argv[5]), flip = atoi(argv[6]);
	struct sockaddr_in dst[3], src;
	int src_fd[SOURCES], rx_fd[3];
	char msg[256];
	mtc_key key;
	sim_host *hosts = calloc((size_t)H, sizeof(*hosts));
	unsigned long sent = 0, send_errors = 0, corrections = 0, bad = 0;

	if (sodium_init() < 0 || mtc_key_load(argv[2], &key, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "key: %s\n", msg);
		return 1;
	}
	for (int n = 0; n < 3; n++) {
		memset(&dst[n], 0, sizeof(dst[n]));
		dst[n].sin_family = AF_INET;
		dst[n].sin_port = htons((uint16_t)agent_port[n]);
		inet_pton(AF_INET, agent_ip[n], &dst[n].sin_addr);
		struct sockaddr_in l = { .sin_family = AF_INET };
		inet_pton(AF_INET, listen_ip[n], &l.sin_addr);
		rx_fd[n] = mtc_udp_open(&l, client_port[n]);
		if (rx_fd[n] < 0) {
			fprintf(stderr, "cannot listen on %s:%d: %s\n", listen_ip[n], client_port[n], strerror(-rx_fd[n]));
			return 1;
		}
	}
	for (int s = 0; s < SOURCES; s++) {
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(0x7f0a0000u + (uint32_t)s + 1); /* 127.10.0.x */
		src_fd[s] = mtc_udp_open(&src, 0);
		if (src_fd[s] < 0)
			return 1;
	}
	for (int i = 0; i < H; i++) {
		hosts[i].boot = randombytes_random() | 1;
		hosts[i].correction_us = -1;
	}

	/* Every host sends its three frames once per period, spread evenly. */
	uint64_t start = util_now_usec(), end = start + (uint64_t)secs * USEC_PER_SEC;
	uint64_t flip_at = start + (uint64_t)secs * USEC_PER_SEC / 2;
	uint64_t slot_us = (uint64_t)period * USEC_PER_SEC / (uint64_t)H;
	uint64_t next = start;
	long idx = 0;
	bool flipped = false;

	while (util_now_usec() < end) {
		uint64_t now = util_now_usec();

		if (!flipped && now >= flip_at) {
			for (int i = 0; i < flip && i < H; i++)
				hosts[i].report_locked = true;
			flipped = true;
		}
		while (next <= now) {
			sim_host *h = &hosts[idx % H];
			mtc_frame f = { .type = MTC_ALIVE, .boot = h->boot };
			uint8_t buf[MTC_FRAME_MAX];

			snprintf(f.hostname, sizeof(f.hostname), "h%05ld", idx % H);
			f.flags = (uint8_t)(MTC_FLAG_CONFIGURED | (h->report_locked ? MTC_FLAG_LOCKED : 0));
			if (h->report_locked && !h->mismatch_sent_us)
				h->mismatch_sent_us = util_now_usec();
			for (int n = 0; n < 3; n++) {
				f.net = (uint8_t)n;
				f.seq = ++h->seq;
				randombytes_buf(f.nonce, sizeof(f.nonce));
				int len = mtc_encode(&f, &key, buf, sizeof(buf));
				if (sendto(src_fd[idx % SOURCES], buf, (size_t)len, 0, (struct sockaddr *)&dst[n],
					   sizeof(dst[n])) < 0)
					send_errors++;
				else
					sent++;
			}
			idx++;
			next += slot_us;
		}
		/* Corrections for flipped hosts. */
		struct pollfd p[3] = { { rx_fd[0], POLLIN, 0 }, { rx_fd[1], POLLIN, 0 }, { rx_fd[2], POLLIN, 0 } };
		long wait_ms = (long)((next > util_now_usec() ? next - util_now_usec() : 0) / 1000);
		if (poll(p, 3, wait_ms > 5 ? 5 : (int)wait_ms) > 0) {
			for (int n = 0; n < 3; n++) {
				uint8_t buf[2048];
				ssize_t len;
				mtc_frame g;

				while ((len = recv(rx_fd[n], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
					if (mtc_decode(buf, (size_t)len, &key, &g) != 0 || g.type != MTC_UNLOCKED) {
						bad++;
						continue;
					}
					int i = atoi(g.hostname + 1);
					if (i < 0 || i >= H || !hosts[i].report_locked)
						continue;
					corrections++;
					/* First correction closes the case: the host now "applies" it. */
					hosts[i].correction_us = (long)(util_now_usec() - hosts[i].mismatch_sent_us);
					hosts[i].report_locked = false;
				}
			}
		}
	}

	long *lat = calloc((size_t)(flip ? flip : 1), sizeof(long));
	int got = 0;
	for (int i = 0; i < flip && i < H; i++)
		if (hosts[i].correction_us >= 0)
			lat[got++] = hosts[i].correction_us;
	qsort(lat, (size_t)got, sizeof(long), cmp_long);
	printf("load: %d hosts x 3 networks every %d s for %d s: %lu frames sent (%.0f/s), %lu send errors\n", H,
	       period, secs, sent, (double)sent / secs, send_errors);
	printf("load: corrections for %d flipped hosts: %d received (%lu frames), bad %lu\n", flip, got, corrections, bad);
	if (got)
		printf("load: correction latency from first mismatching mtcAlive: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       lat[got / 2] / 1000.0, lat[(got * 99) / 100] / 1000.0, lat[got - 1] / 1000.0);
	printf("frames_sent=%lu corrections_p99_us=%ld corrections=%d\n", sent, got ? lat[(got * 99) / 100] : -1, got);
	free(lat);
	free(hosts);
	return 0;
}
