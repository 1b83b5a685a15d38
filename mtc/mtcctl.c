/* mtcctl: operator CLI for mtcagent, and key generation. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "fileops.h"
#include "mtc_config.h"
#include "util.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mtcctl [-c FILE] [--socket PATH] lock HOST\n"
		"       mtcctl [-c FILE] [--socket PATH] unlock HOST\n"
		"       mtcctl [-c FILE] [--socket PATH] list [--json]\n"
		"       mtcctl keygen FILE\n"
		"       mtcctl --help | --version\n\n"
		"lock/unlock set a host's admin state in mtcagent, which sends it at once on\n"
		"pxeboot, mgmt and cluster. The agent's control socket is [agent] control_socket\n"
		"in the configuration (default %s).\n"
		"Exit status: 0 ok, 1 refused or failed, 2 usage, 3 agent not reachable.\n",
		MTC_DEFAULT_CONFIG);
}

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

typedef struct reply {
	bool started, ok;  /* got a first chunk; it was not "error ..." */
	bool keep;         /* collect (JSON) instead of streaming */
	char *all;
	size_t len, cap;
} reply;

/* One chunk of the reply: streamed to stdout (stderr for an error), or
 * kept for a JSON reply. -EFBIG past REPLY_MAX. */
static int reply_chunk(reply *rp, const char *chunk, size_t n)
{
	if (!rp->started)
		rp->ok = strncmp(chunk, "error", 5) != 0;
	rp->started = true;
	if (!rp->keep || !rp->ok) {
		fwrite(chunk, 1, n, rp->ok ? stdout : stderr);
		return 0;
	}
	if (rp->len + n > rp->cap) {
		size_t cap = rp->cap ? rp->cap * 2 : 64 << 10;
		char *b = cap <= REPLY_MAX ? realloc(rp->all, cap) : NULL;

		if (!b)
			return -EFBIG;
		rp->all = b;
		rp->cap = cap;
	}
	memcpy(rp->all + rp->len, chunk, n);
	rp->len += n;
	return 0;
}

/* Send req, then copy the reply to stdout (to stderr if it is an error).
 * A JSON reply is read whole and checked first. A reply cut short (read
 * error or the 5 s timeout) is a failure even if some of it was printed. */
static int request(const char *path, const char *req, bool json)
{
	reply rp = { .keep = json };
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
	while ((n = read(fd, chunk, sizeof(chunk))) > 0 && reply_chunk(&rp, chunk, (size_t)n) == 0)
		;
	r = n < 0 ? -errno : n > 0 ? -EFBIG : 0;
	close(fd);
	if (r == -EFBIG)
		fprintf(stderr, "mtcctl: mtcagent's reply is too large (over %u MiB)\n", REPLY_MAX >> 20);
	else if (r < 0)
		fprintf(stderr, "mtcctl: reading mtcagent's reply failed%s: %s\n", rp.started ? " midway" : "",
			r == -EAGAIN ? "no data for 5 s" : strerror(-r));
	else if (!rp.started)
		fprintf(stderr, "mtcctl: no answer from mtcagent\n");
	if (r < 0 || !rp.started)
		r = r == -EFBIG ? 1 : 3;
	else
		r = !rp.ok ? 1 : json ? print_json_reply(rp.all, rp.len) : 0;
	free(rp.all);
	return r;
}

static int keygen(int argc, char **argv)
{
	int r;

	if (optind != argc - 1) {
		fprintf(stderr, "mtcctl keygen: need exactly one FILE\n");
		return 2;
	}
	r = mtc_key_generate(argv[optind]);
	if (r < 0) {
		fprintf(stderr, "mtcctl: cannot write key %s: %s\n", argv[optind],
			r == -EEXIST ? "file exists (remove it first to replace the key)" :
				       fileops_strerror(argv[optind], FILEOPS_REG, r, (char[256]){ 0 }, 256));
		return 1;
	}
	printf("wrote a new 32-byte key to %s (mode 0600); copy it to every node's [auth] key_file\n", argv[optind]);
	return 0;
}

/* The agent's control socket from the config (defaults if the implicit
 * default config does not exist); NULL after printing the errors. */
static const char *control_socket(const char *config, bool explicit_config, mtc_config *cfg)
{
	conf_errors errs = { 0 };

	if (explicit_config || util_path_exists(config)) {
		if (mtc_config_load(cfg, config, &errs) < 0) {
			fprintf(stderr, "%s", errs.text);
			return NULL;
		}
	} else {
		mtc_config_load_string(cfg, "", &errs);
	}
	return cfg->control_socket;
}

static int agent_command(const char *cmd, const char *sock, int argc, char **argv, bool json)
{
	char req[128];

	if (strcmp(cmd, "lock") == 0 || strcmp(cmd, "unlock") == 0) {
		if (optind != argc - 1 || !mtc_hostname_valid(argv[optind])) {
			fprintf(stderr, "mtcctl %s: need one valid HOST name\n", cmd);
			return 2;
		}
		snprintf(req, sizeof(req), "%s %s\n", cmd, argv[optind]);
		return request(sock, req, false);
	}
	if (strcmp(cmd, "list") == 0) {
		snprintf(req, sizeof(req), "list%s\n", json ? " json" : "");
		return request(sock, req, json);
	}
	fprintf(stderr, "mtcctl: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' }, { "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { 0 }
	};
	const char *config = MTC_DEFAULT_CONFIG, *sock = NULL, *cmd;
	bool explicit_config = false, json = false;
	mtc_config cfg;
	int o;

	while ((o = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1) {
		switch (o) {
		case 'c': config = optarg; explicit_config = true; break;
		case 's': sock = optarg; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("mtcctl %s\n", PROJECT_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	/* Allow options after the command too: "list --json". */
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "--json") == 0)
			json = true;
	if (strcmp(cmd, "keygen") == 0)
		return keygen(argc, argv);
	if (!sock && !(sock = control_socket(config, explicit_config, &cfg)))
		return 2;
	return agent_command(cmd, sock, argc, argv, json);
}
