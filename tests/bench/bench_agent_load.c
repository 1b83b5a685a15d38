/* Agent load generator: H simulated clients, each sending an authenticated
 * mtcAlive on pxeboot, mgmt and cluster every P seconds, and acting on the
 * agent's Locked/Unlocked as mtcclient does: the frame is decoded and its
 * HMAC verified with the project's codec, the host name and the command's
 * nonce and sequence checked (mtc_replay, the client's own guard); a fresh
 * command sets the simulated flag, is acked on the network it came by and
 * answered by an mtcAlive on every network at once.
 *
 *   bench_agent_load hosts FILE H                  hosts file for run
 *   bench_agent_load run KEYFILE H SECONDS P F     steady load; halfway F
 *       hosts start reporting "locked" while unlocked; the latency of their
 *       Unlocked correction from the first mismatching mtcAlive
 *   bench_agent_load storm-hosts FILE H            hosts file for storm
 *   bench_agent_load storm KEYFILE H P WINDOW EVERY AGENT_PID
 *       warm-up until every EVERY-th host (h00000, h0000EVERY, ...), which
 *       the caller has admin-locked, has its flag; then every host restarts
 *       at a random time within WINDOW seconds (boot counter + 1, flag gone,
 *       last applied command kept, as mtcclient keeps it beside its boot
 *       counter) and the latency of each locked host's Locked is measured
 *       from its first mtcAlive after the restart; the agent's CPU (all
 *       threads' schedstat), RSS and the kernel's UDP drops over the storm
 *
 * Loopback only: agent on 127.0.1.1 / 127.0.2.1 / 127.0.3.1. run: sources
 * 127.10.0.1-100; flipped host i's addresses 127.30.X.Y / 127.31.X.Y /
 * 127.32.X.Y (X = i / 250, Y = i % 250 + 1; a hosts file gives each host
 * its own address per network; the generator listens on 0.0.0.0). storm: host i has addresses
 * 127.41.X.Y (pxeboot), 127.42.X.Y, 127.43.X.Y (X = i / 250, Y = i % 250 +
 * 1); the generator listens on the client ports of every address and sends
 * each host's frames from that host's own address (IP_PKTINFO), as its
 * mtcclient would. */
#include <arpa/inet.h>
#include <errno.h>
#include <glob.h>
#include <poll.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "mtc_codec.h"
#include "mtc_config.h"
#include "mtc_net.h"
#include "mtc_replay.h"
#include "util.h"

#define SOURCES 100
#define RX_MAX 6

static const char *const agent_ip[3] = { "127.0.1.1", "127.0.2.1", "127.0.3.1" };
static const int agent_port[3] = { 2102, 2101, 2101 };
static const int client_port[3] = { 2119, 2118, 2115 };

typedef struct sim_host {
	uint32_t boot, seq, applied;
	bool report_locked;    /* the simulated node has its flag */
	bool admin_locked;     /* storm: the caller locked it */
	bool awaiting;         /* a command is awaited and timed */
	bool want_locked;      /* ... Locked (else Unlocked) */
	bool measured;         /* awaited in the measured phase */
	uint64_t next_alive_us, restart_us;
	uint64_t wait_from_us; /* first mtcAlive sent while awaiting; 0: none yet */
	long lat_us;           /* -1 until the command arrived */
	mtc_replay replay;     /* nonces of its recent mtcAlives */
} sim_host;

/* What is due when: a min-heap of (time, host); an entry whose time is no
 * longer the host's next alive or restart is stale and skipped. */
typedef struct due {
	uint64_t at;
	int host;
} due;

typedef struct schedule {
	due *v;
	size_t n, cap;
} schedule;

typedef struct gen {
	mtc_key key;
	int H;
	uint64_t period_us;
	bool storm;           /* own address per host, sent with IP_PKTINFO */
	sim_host *hosts;
	struct sockaddr_in dst[3];
	int src_fd[SOURCES];  /* run */
	int tx_fd[3];         /* storm */
	int rx_fd[RX_MAX], n_rx;
	schedule q;
	int n_awaiting;
	unsigned long sent, send_errors, bad, cmds, refused[6]; /* by mtc_replay_verdict */
} gen;

static struct in_addr storm_addr(int i, int net)
{
	struct in_addr a = { htonl(0x7f000000u | (uint32_t)(41 + net) << 16 | (uint32_t)(i / 250) << 8 |
				   (uint32_t)(i % 250 + 1)) };
	return a;
}

static int write_hosts(const char *path, int h, int flip, bool storm)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return 1;
	for (int i = 0; i < h; i++) {
		char a[3][INET_ADDRSTRLEN];

		for (int n = 0; n < 3 && storm; n++) {
			struct in_addr in = storm_addr(i, n);
			inet_ntop(AF_INET, &in, a[n], sizeof(a[n]));
		}
		if (storm)
			fprintf(f, "[host h%05d]\npxeboot = %s\nmgmt = %s\ncluster = %s\n", i, a[0], a[1], a[2]);
		else if (i < flip) /* each its own address (one per host and network): all reach the 0.0.0.0 socket */
			fprintf(f, "[host h%05d]\npxeboot = 127.30.%d.%d\nmgmt = 127.31.%d.%d\ncluster = 127.32.%d.%d\n", i,
				i / 250, i % 250 + 1, i / 250, i % 250 + 1, i / 250, i % 250 + 1);
		else
			fprintf(f, "[host h%05d]\npxeboot = 127.40.%d.%d\n", i, (i / 250) % 250, i % 250 + 1);
	}
	return fclose(f) ? 1 : 0;
}

static void sched_push(schedule *q, uint64_t at, int host)
{
	size_t i = q->n++;

	if (q->n > q->cap) {
		q->cap = q->cap ? 2 * q->cap : 1024;
		q->v = realloc(q->v, q->cap * sizeof(*q->v));
		if (!q->v)
			exit(1);
	}
	for (; i > 0 && q->v[(i - 1) / 2].at > at; i = (i - 1) / 2)
		q->v[i] = q->v[(i - 1) / 2];
	q->v[i] = (due){ at, host };
}

static due sched_pop(schedule *q)
{
	due top = q->v[0], last = q->v[--q->n];
	size_t i = 0, c;

	while ((c = 2 * i + 1) < q->n) {
		if (c + 1 < q->n && q->v[c + 1].at < q->v[c].at)
			c++;
		if (q->v[c].at >= last.at)
			break;
		q->v[i] = q->v[c];
		i = c;
	}
	q->v[i] = last;
	return top;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;
	return (x > y) - (x < y);
}

static int open_udp(const char *ip, int port)
{
	struct sockaddr_in l = { .sin_family = AF_INET };
	int fd, big = 8 << 20;

	inet_pton(AF_INET, ip, &l.sin_addr);
	fd = mtc_udp_open(&l, port);
	if (fd < 0) {
		fprintf(stderr, "cannot bind %s:%d: %s\n", ip, port, strerror(-fd));
		exit(1);
	}
	/* The generator must not be where frames are lost (root: past rmem_max). */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	return fd;
}

/* listen_any: take commands for any local address (flipped or storm
 * hosts, each with addresses of its own); else an address nobody uses,
 * so a real mtcclient beside the generator keeps its ports. */
static void gen_open(gen *g, const char *keyfile, int H, int period, bool storm, bool listen_any)
{
	char msg[256];

	memset(g, 0, sizeof(*g));
	g->H = H;
	g->period_us = (uint64_t)period * USEC_PER_SEC;
	g->storm = storm;
	g->hosts = calloc((size_t)H, sizeof(*g->hosts));
	if (!g->hosts || sodium_init() < 0 || mtc_key_load(keyfile, &g->key, msg, sizeof(msg)) < 0) {
		fprintf(stderr, "key: %s\n", msg);
		exit(1);
	}
	for (int n = 0; n < 3; n++) {
		g->dst[n] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)agent_port[n]) };
		inet_pton(AF_INET, agent_ip[n], &g->dst[n].sin_addr);
		g->rx_fd[g->n_rx++] = open_udp(listen_any ? "0.0.0.0" : "127.30.255.255", client_port[n]);
		if (storm)
			g->tx_fd[n] = g->rx_fd[g->n_rx++] = open_udp("0.0.0.0", 0);
	}
	for (int s = 0; s < SOURCES && !storm; s++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "127.10.0.%d", s + 1);
		g->src_fd[s] = open_udp(ip, 0);
	}
	for (int i = 0; i < H; i++) {
		g->hosts[i].boot = randombytes_random() >> 1 | 1;
		g->hosts[i].lat_us = -1;
		/* Spread evenly over the period. */
		g->hosts[i].next_alive_us = util_now_usec() + g->period_us * (uint64_t)i / (uint64_t)H;
		sched_push(&g->q, g->hosts[i].next_alive_us, i);
	}
}

/* storm: from the host's own address on that network, as its client. */
static ssize_t send_from(int fd, const uint8_t *buf, size_t len, const struct sockaddr_in *to, struct in_addr src)
{
	union {
		char b[CMSG_SPACE(sizeof(struct in_pktinfo))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { (void *)buf, len };
	struct msghdr m = { .msg_name = (void *)to, .msg_namelen = sizeof(*to), .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl.b, .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	struct in_pktinfo pi = { .ipi_spec_dst = src };

	memset(ctl.b, 0, sizeof(ctl.b));
	c->cmsg_level = IPPROTO_IP;
	c->cmsg_type = IP_PKTINFO;
	c->cmsg_len = CMSG_LEN(sizeof(pi));
	memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	return sendmsg(fd, &m, MSG_DONTWAIT);
}

static void send_frame(gen *g, int i, int net, mtc_frame *f)
{
	sim_host *h = &g->hosts[i];
	uint8_t buf[MTC_FRAME_MAX];
	ssize_t r;
	int len;

	f->net = (uint8_t)net;
	f->boot = h->boot;
	f->seq = ++h->seq;
	f->flags = (uint8_t)(MTC_FLAG_CONFIGURED | (h->report_locked ? MTC_FLAG_LOCKED : 0));
	snprintf(f->hostname, sizeof(f->hostname), "h%05d", i);
	len = mtc_encode(f, &g->key, buf, sizeof(buf));
	if (g->storm)
		r = send_from(g->tx_fd[net], buf, (size_t)len, &g->dst[net], storm_addr(i, net));
	else
		r = sendto(g->src_fd[i % SOURCES], buf, (size_t)len, MSG_DONTWAIT, (struct sockaddr *)&g->dst[net],
			   sizeof(g->dst[net]));
	if (r < 0)
		g->send_errors++;
	else
		g->sent++;
}

/* periodic: the alive timer's round (mtcclient starts a new command
 * window there), not the extra one after a command applied. */
static void send_alive(gen *g, int i, uint64_t now, bool periodic)
{
	sim_host *h = &g->hosts[i];

	if (periodic)
		mtc_replay_new_round(&h->replay);

	if (h->awaiting && !h->wait_from_us)
		h->wait_from_us = now;
	for (int net = 0; net < 3; net++) {
		mtc_frame f = { .type = MTC_ALIVE, .cmdseq = h->applied };

		randombytes_buf(f.nonce, sizeof(f.nonce));
		mtc_replay_add_nonce(&h->replay, f.nonce);
		send_frame(g, i, net, &f);
	}
}

static void await(gen *g, sim_host *h, bool want_locked, bool measured)
{
	g->n_awaiting += !h->awaiting;
	h->awaiting = true;
	h->want_locked = want_locked;
	h->measured = measured;
	h->wait_from_us = 0;
	h->lat_us = -1;
}

/* A host index from "hNNNNN", or -1. */
static int host_index(const gen *g, const char *name)
{
	char back[MTC_HOSTNAME_MAX + 1];
	int i = atoi(name + 1);

	snprintf(back, sizeof(back), "h%05d", i);
	return i >= 0 && i < g->H && strcmp(back, name) == 0 ? i : -1;
}

/* What mtcclient does with a decoded command (mtcclient.c handle_frame). */
static void on_command(gen *g, const mtc_frame *f, int net, uint64_t now)
{
	int i = host_index(g, f->hostname);
	sim_host *h = i < 0 ? NULL : &g->hosts[i];
	mtc_replay_verdict v = h ? mtc_replay_check(&h->replay, h->applied, f) : MTC_REPLAY_STALE;
	mtc_frame ack = { .type = MTC_ACK, .cmdseq = f->cmdseq };

	if (v != MTC_REPLAY_FRESH && v != MTC_REPLAY_DUPLICATE) {
		g->refused[v]++;
		return;
	}
	g->cmds++;
	if (v == MTC_REPLAY_FRESH) {
		h->report_locked = f->type == MTC_LOCKED;
		h->applied = f->cmdseq;
		if (h->awaiting && h->want_locked == h->report_locked) {
			h->lat_us = (long)(now - h->wait_from_us);
			h->awaiting = false;
			g->n_awaiting--;
		}
	}
	memcpy(ack.nonce, f->nonce, sizeof(ack.nonce));
	send_frame(g, i, net, &ack);
	if (v == MTC_REPLAY_FRESH)
		send_alive(g, i, now, false);
}

static void drain(gen *g)
{
	for (int k = 0; k < g->n_rx; k++) {
		uint8_t buf[2048];
		ssize_t len;
		mtc_frame f;

		while ((len = recv(g->rx_fd[k], buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			if (mtc_decode(buf, (size_t)len, &g->key, &f) != 0 ||
			    (f.type != MTC_LOCKED && f.type != MTC_UNLOCKED) || f.net > 2)
				g->bad++;
			else
				on_command(g, &f, f.net, util_now_usec());
		}
	}
}

/* storm: the node restarts with a new boot counter and no flag; it keeps
 * the last command applied (beside the boot counter) and says so at once. */
static void restart(gen *g, sim_host *h, uint64_t now)
{
	h->boot++;
	h->seq = 0;
	mtc_replay_init(&h->replay);
	h->report_locked = false;
	h->restart_us = 0;
	h->next_alive_us = now;
	if (h->admin_locked)
		await(g, h, true, true);
}

/* Send what is due; returns when the next thing is. */
static uint64_t tick(gen *g)
{
	uint64_t now = util_now_usec();

	while (g->q.n && g->q.v[0].at <= now) {
		due d = sched_pop(&g->q);
		sim_host *h = &g->hosts[d.host];

		if (h->restart_us && d.at == h->restart_us)
			restart(g, h, now); /* its first mtcAlive at once */
		else if (d.at != h->next_alive_us)
			continue; /* stale */
		send_alive(g, d.host, now, true);
		h->next_alive_us += g->period_us;
		if (h->next_alive_us <= now) /* fell behind: no burst */
			h->next_alive_us = now + g->period_us;
		sched_push(&g->q, h->next_alive_us, d.host);
	}
	return g->q.n ? g->q.v[0].at : now + 5000;
}

/* One round: send what is due, wait for commands until the next is due. */
static void step(gen *g)
{
	uint64_t next = tick(g), now = util_now_usec();
	struct pollfd p[RX_MAX];
	int ms = next > now ? (int)((next - now + 999) / 1000) : 0;

	for (int k = 0; k < g->n_rx; k++)
		p[k] = (struct pollfd){ g->rx_fd[k], POLLIN, 0 };
	if (poll(p, (nfds_t)g->n_rx, ms) > 0)
		drain(g);
}

/* The latencies of the measured hosts, sorted; *got of *n arrived. */
static long *latencies(const gen *g, int *n, int *got)
{
	long *lat = calloc((size_t)g->H, sizeof(long));

	*n = *got = 0;
	for (int i = 0; i < g->H && lat; i++) {
		if (!g->hosts[i].measured)
			continue;
		(*n)++;
		if (g->hosts[i].lat_us >= 0)
			lat[(*got)++] = g->hosts[i].lat_us;
	}
	if (lat)
		qsort(lat, (size_t)*got, sizeof(long), cmp_long);
	return lat;
}

static long pct(const long *v, int n, int p)
{
	return n ? v[(n * p) / 100 < n ? (n * p) / 100 : n - 1] : -1;
}

static int run_load(const char *keyfile, int H, int secs, int period, int flip)
{
	gen g;
	uint64_t start, end, flip_at;
	bool flipped = false;
	int n, got;
	long *lat;

	gen_open(&g, keyfile, H, period, false, flip > 0);
	start = util_now_usec();
	end = start + (uint64_t)secs * USEC_PER_SEC;
	flip_at = start + (uint64_t)secs * USEC_PER_SEC / 2;
	while (util_now_usec() < end) {
		if (!flipped && util_now_usec() >= flip_at) {
			for (int i = 0; i < flip && i < H; i++) {
				g.hosts[i].report_locked = true;
				await(&g, &g.hosts[i], false, true);
			}
			flipped = true;
		}
		step(&g);
	}
	lat = latencies(&g, &n, &got);
	printf("load: %d hosts x 3 networks every %d s for %d s: %lu frames sent (%.0f/s), %lu send errors\n", H,
	       period, secs, g.sent, (double)g.sent / secs, g.send_errors);
	printf("load: corrections for %d flipped hosts: %d received (%lu commands), bad %lu, refused: no recent nonce %lu, "
	       "older than applied %lu, superseded %lu\n", n, got, g.cmds, g.bad, g.refused[MTC_REPLAY_STALE], g.refused[MTC_REPLAY_OLD],
	       g.refused[MTC_REPLAY_SUPERSEDED]);
	if (got)
		printf("load: correction latency from first mismatching mtcAlive: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n",
		       pct(lat, got, 50) / 1000.0, pct(lat, got, 99) / 1000.0, lat[got - 1] / 1000.0);
	printf("frames_sent=%lu corrections_p99_us=%ld corrections=%d\n", g.sent, pct(lat, got, 99), got);
	free(lat);
	free(g.hosts);
	free(g.q.v);
	return 0;
}

/* The agent's on-CPU time, every thread, from the scheduler (ns), in µs. */
static long long agent_cpu_us(int pid)
{
	char pat[64];
	long long sum = 0;
	glob_t gl;

	snprintf(pat, sizeof(pat), "/proc/%d/task/*/schedstat", pid);
	if (glob(pat, 0, NULL, &gl) != 0)
		return -1;
	for (size_t k = 0; k < gl.gl_pathc; k++) {
		FILE *f = fopen(gl.gl_pathv[k], "r");
		unsigned long long ns = 0;

		if (f && fscanf(f, "%llu", &ns) == 1)
			sum += (long long)ns;
		if (f)
			fclose(f);
	}
	globfree(&gl);
	return sum / 1000;
}

static long status_kb(int pid, const char *key)
{
	char path[64], line[256];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0)
			v = atol(line + strlen(key));
	if (f)
		fclose(f);
	return v;
}

/* The kernel's UDP receive-buffer drops in this network namespace:
 * out[0] RcvbufErrors (/proc/net/snmp), out[1] drops on the agent's
 * sockets (ports 2101, 2102), out[2] on every other socket (/proc/net/udp). */
static void udp_drops(long out[3])
{
	char line[512], head[512] = "";
	FILE *f = fopen("/proc/net/snmp", "r");

	out[0] = out[1] = out[2] = 0;
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "Udp: ", 5) != 0)
			continue;
		if (!head[0]) {
			snprintf(head, sizeof(head), "%s", line);
			continue;
		}
		char *hs = NULL, *vs = NULL, *h = strtok_r(head, " \n", &hs), *v = strtok_r(line, " \n", &vs);
		for (; h && v; h = strtok_r(NULL, " \n", &hs), v = strtok_r(NULL, " \n", &vs))
			if (strcmp(h, "RcvbufErrors") == 0)
				out[0] = atol(v);
	}
	if (f)
		fclose(f);
	f = fopen("/proc/net/udp", "r");
	while (f && fgets(line, sizeof(line), f)) {
		unsigned port;
		long drops;

		if (sscanf(line, " %*d: %*8x:%4x %*s %*s %*s %*s %*s %*s %*s %*s %*s %*s %ld", &port, &drops) == 2)
			out[port == 2101 || port == 2102 ? 1 : 2] += drops;
	}
	if (f)
		fclose(f);
}

/* The generator's own CPU (user + system), in µs: it must not be the
 * bottleneck at 50,000 hosts. */
static long long self_cpu_us(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (long long)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000LL + u.ru_utime.tv_usec + u.ru_stime.tv_usec;
}

typedef struct storm_probe {
	int pid;
	uint64_t t0, t1, next_sample;
	long long cpu0, cpu1;
	long rss_start, rss_max, hwm, drops0[3], drops1[3];
	long long self0, self1; /* the generator's own CPU */
} storm_probe;

static void probe_sample(storm_probe *p, uint64_t now)
{
	long rss;

	if (now < p->next_sample)
		return;
	rss = status_kb(p->pid, "VmRSS:");
	if (!p->rss_start)
		p->rss_start = rss;
	if (rss > p->rss_max)
		p->rss_max = rss;
	p->next_sample = now + 100 * USEC_PER_MSEC;
}

/* Until every locked host has its flag and every host was heard once. */
static int warm_up(gen *g)
{
	uint64_t start = util_now_usec(), deadline = start + 3 * g->period_us + 60 * USEC_PER_SEC;
	int missing = 0;

	for (int i = 0; i < g->H; i++)
		if (g->hosts[i].admin_locked)
			await(g, &g->hosts[i], true, false);
	while (util_now_usec() < deadline &&
	       (g->n_awaiting || util_now_usec() < start + g->period_us + USEC_PER_SEC))
		step(g);
	missing = g->n_awaiting;
	printf("storm: warm-up %.1f s: %d locked hosts without their flag\n",
	       (double)(util_now_usec() - start) / 1e6, missing);
	return missing;
}

/* Every host restarts at a random time within window_s; until every
 * locked one has its Locked again (or 2 periods + 1 s past the window). */
static void storm_run(gen *g, int window_s, storm_probe *p)
{
	uint64_t window = (uint64_t)window_s * USEC_PER_SEC, deadline;

	p->t0 = util_now_usec();
	deadline = p->t0 + window + 2 * g->period_us + USEC_PER_SEC;
	for (int i = 0; i < g->H; i++) {
		g->hosts[i].restart_us = p->t0 + 1 + randombytes_uniform((uint32_t)window);
		sched_push(&g->q, g->hosts[i].restart_us, i);
	}
	p->cpu0 = agent_cpu_us(p->pid);
	p->self0 = self_cpu_us();
	udp_drops(p->drops0);
	p->next_sample = p->t0;
	for (uint64_t now = p->t0; now < deadline; now = util_now_usec()) {
		step(g);
		probe_sample(p, now);
		if (now >= p->t0 + window && !g->n_awaiting)
			break;
	}
	p->t1 = util_now_usec();
	p->cpu1 = agent_cpu_us(p->pid);
	p->self1 = self_cpu_us();
	udp_drops(p->drops1);
	p->hwm = status_kb(p->pid, "VmHWM:");
}

static void storm_report(const gen *g, const storm_probe *p, int window_s)
{
	int n, got, over = 0;
	long *lat = latencies(g, &n, &got), target = (long)(g->period_us + 100 * USEC_PER_MSEC);
	uint64_t last = p->t0;
	double secs = (double)(p->t1 - p->t0) / 1e6, cpu = (double)(p->cpu1 - p->cpu0) / 1e4 / secs;

	for (int i = 0; i < g->H; i++) {
		const sim_host *h = &g->hosts[i];

		if (h->measured && h->lat_us >= 0 && h->wait_from_us + (uint64_t)h->lat_us > last)
			last = h->wait_from_us + (uint64_t)h->lat_us;
		over += h->measured && (h->lat_us < 0 || h->lat_us > target);
	}
	printf("storm: %d hosts restarted within %d s, %d of them admin-locked: Locked received by %d\n", g->H,
	       window_s, n, got);
	printf("storm: first mtcAlive after the restart -> Locked: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; "
	       "%d over %.0f ms (or never); last Locked %.2f s after the storm began\n",
	       pct(lat, got, 50) / 1e3, pct(lat, got, 90) / 1e3, pct(lat, got, 99) / 1e3,
	       got ? lat[got - 1] / 1e3 : -1.0, over, target / 1e3, (double)(last - p->t0) / 1e6);
	printf("storm: agent over the storm (%.1f s): CPU %.1f %% of one core (all threads, schedstat), RSS %ld KiB at "
	       "its start, %ld KiB at most (sampled every 100 ms; VmHWM %ld KiB)\n", secs, cpu, p->rss_start, p->rss_max,
	       p->hwm);
	printf("storm: UDP receive drops during the storm: RcvbufErrors +%ld; agent sockets +%ld, others +%ld\n",
	       p->drops1[0] - p->drops0[0], p->drops1[1] - p->drops0[1], p->drops1[2] - p->drops0[2]);
	printf("storm: generator's own CPU over the storm: %.1f %% of one core\n",
	       (double)(p->self1 - p->self0) / 1e4 / secs);
	printf("storm: generator: %lu frames sent, %lu send errors, %lu commands taken (fresh or duplicate), refused: "
	       "no recent nonce %lu, older than applied %lu, superseded %lu; %lu bad\n", g->sent, g->send_errors, g->cmds,
	       g->refused[MTC_REPLAY_STALE], g->refused[MTC_REPLAY_OLD], g->refused[MTC_REPLAY_SUPERSEDED], g->bad);
	printf("storm_result locked=%d got=%d over=%d p50_us=%ld p99_us=%ld max_us=%ld last_ms=%lu cpu_pct=%.1f "
	       "rss_kb=%ld hwm_kb=%ld rcvbuf_errors=%ld frames_sent=%lu\n", n, got, over, pct(lat, got, 50),
	       pct(lat, got, 99), got ? lat[got - 1] : -1, (unsigned long)((last - p->t0) / 1000), cpu, p->rss_max,
	       p->hwm, p->drops1[0] - p->drops0[0], g->sent);
	free(lat);
}

static int storm(const char *keyfile, int H, int period, int window_s, int every, int pid)
{
	storm_probe p = { .pid = pid };
	gen g;

	gen_open(&g, keyfile, H, period, true, true);
	for (int i = 0; i < H; i++)
		g.hosts[i].admin_locked = every > 0 && i % every == 0;
	if (warm_up(&g) != 0)
		return 1;
	storm_run(&g, window_s, &p);
	storm_report(&g, &p, window_s);
	free(g.hosts);
	free(g.q.v);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[1], "hosts") == 0)
		return write_hosts(argv[2], atoi(argv[3]), 100, false);
	if (argc == 4 && strcmp(argv[1], "storm-hosts") == 0)
		return write_hosts(argv[2], atoi(argv[3]), 0, true);
	if (argc == 7 && strcmp(argv[1], "run") == 0)
		return run_load(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]));
	if (argc == 8 && strcmp(argv[1], "storm") == 0)
		return storm(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
	fprintf(stderr, "usage: bench_agent_load hosts FILE H | run KEYFILE H SECONDS PERIOD FLIP\n"
			"       bench_agent_load storm-hosts FILE H | storm KEYFILE H PERIOD WINDOW EVERY AGENT_PID\n");
	return 2;
}
