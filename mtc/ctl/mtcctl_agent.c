/* mtcctl's side of the agent's control socket: connect, send the whole
 * request, read the whole (bounded) reply. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "mtcctl.h"
#include "util.h"

/* The agent's whole reply; bounded (the agent caps its own at 64 MiB). */
#define REPLY_MAX (65u << 20)

/* The agent's JSON is parsed before it is printed: a script reading
 * mtcctl list --json gets a valid document or an error, never a broken
 * one. Printed again through jansson, in the agent's field order. */
static int print_json_reply(const char *buf, size_t len)
{
	json_error_t err;
	json_t *d = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	int r;

	if (!json_is_object(d)) {
		if (d)
			fprintf(stderr, "mtcctl: mtcagent's reply is JSON but not an object\n");
		else
			fprintf(stderr, "mtcctl: mtcagent's reply is not valid JSON: %s (line %d, column %d)\n", err.text,
				err.line, err.column);
		json_decref(d);
		return 1;
	}
	r = json_dumpf(d, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	if (r < 0 || putchar('\n') == EOF || fflush(stdout) == EOF) {
		fprintf(stderr, "mtcctl: cannot write the list: %s\n", strerror(errno));
		return 1;
	}
	return 0;
}

static int connect_agent(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { 5, 0 };
	int fd;

	if (util_strcpy_bounded(sa.sun_path, sizeof(sa.sun_path), path) < 0) {
		fprintf(stderr, "mtcctl: socket path too long: %s\n", path);
		return -2;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "mtcctl: cannot reach mtcagent at %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -3;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* The whole request or -errno: a short write is not a sent request. */
static int send_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* One chunk of the reply: streamed to stdout (stderr for an error), or
 * kept for a JSON reply. -EFBIG past REPLY_MAX. */
static int reply_chunk(reply *rp, const char *chunk, size_t n)
{
	if (!rp->started)
		rp->ok = strncmp(chunk, "error", 5) != 0;
	rp->started = true;
	if (!rp->quiet && (!rp->keep || !rp->ok)) {
		fwrite(chunk, 1, n, rp->ok ? stdout : stderr);
		return 0;
	}
	if (rp->len + n + 1 > rp->cap) {
		size_t cap = rp->cap ? rp->cap * 2 : 64 << 10;
		char *b = cap <= REPLY_MAX ? realloc(rp->all, cap) : NULL;

		if (!b)
			return -EFBIG;
		rp->all = b;
		rp->cap = cap;
	}
	memcpy(rp->all + rp->len, chunk, n);
	rp->len += n;
	rp->all[rp->len] = '\0';
	return 0;
}

/* Send req and read the whole reply into rp (see reply_chunk). Returns 0
 * or the exit status (1 reply too large, 3 agent not reachable or silent). */
int ctl_exchange(const char *path, const char *req, reply *rp)
{
	char chunk[4096];
	ssize_t n;
	int fd, r;

	fd = connect_agent(path);
	if (fd < 0)
		return -fd;
	r = send_all(fd, req, strlen(req));
	if (r < 0) {
		fprintf(stderr, "mtcctl: send failed: %s\n", strerror(-r));
		close(fd);
		return 3;
	}
	shutdown(fd, SHUT_WR);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && reply_chunk(rp, chunk, (size_t)n) == 0)
		;
	r = n < 0 ? -errno : n > 0 ? -EFBIG : 0;
	close(fd);
	if (r == -EFBIG)
		fprintf(stderr, "mtcctl: mtcagent's reply is too large (over %u MiB)\n", REPLY_MAX >> 20);
	else if (r < 0)
		fprintf(stderr, "mtcctl: reading mtcagent's reply failed%s: %s\n", rp->started ? " midway" : "",
			r == -EAGAIN ? "no data for 5 s" : strerror(-r));
	else if (!rp->started)
		fprintf(stderr, "mtcctl: no answer from mtcagent\n");
	if (r < 0 || !rp->started)
		return r == -EFBIG ? 1 : 3;
	return 0;
}

int ctl_request(const char *path, const char *req, bool json)
{
	reply rp = { .keep = json };
	int r = ctl_exchange(path, req, &rp);

	if (r == 0)
		r = !rp.ok ? 1 : json ? print_json_reply(rp.all, rp.len) : 0;
	free(rp.all);
	return r;
}
