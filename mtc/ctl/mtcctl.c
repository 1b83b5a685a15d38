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
#include "mtcctl.h"
#include "util.h"

#define WAIT_DEFAULT_S 60

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: mtcctl [-c FILE] [--socket PATH] lock [--wait[=SECONDS]] HOST...\n"
		"       mtcctl [-c FILE] [--socket PATH] unlock [--wait[=SECONDS]] HOST...\n"
		"       mtcctl [-c FILE] [--socket PATH] list [--json] [HOST...]\n"
		"       mtcctl keygen FILE\n"
		"       mtcctl --help | --version\n\n"
		"lock/unlock set a host's admin state in mtcagent, which sends it at once on\n"
		"pxeboot, mgmt and cluster. With --wait (default %d s) mtcctl returns once each\n"
		"node's own report (Ack or mtcAlive), received after the request, says the new\n"
		"state, and prints per host how long that took. list HOST... shows those hosts only.\n"
		"The agent's control socket is [agent] control_socket in the configuration\n"
		"(default %s).\n"
		"Exit status: 0 ok, 1 refused or failed, 2 usage, 3 agent not reachable,\n"
		"4 not confirmed in time (the hosts are named on stderr).\n",
		WAIT_DEFAULT_S,
		MTC_DEFAULT_CONFIG);
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

/* What --wait tracks for one host. */
typedef struct waited {
	const char *name;
	bool sent;          /* the agent took the request ("ok: ...") */
	bool confirmed;
	bool have_cmdseq;   /* cmdseq read after the request was taken */
	json_int_t cmdseq;
	uint64_t sent_ms;   /* when the request was sent */
	char last[160];     /* what the node reported last, for the timeout message */
} waited;

/* One host's entry of "list json HOST", or NULL (message in why). The
 * document is returned in *ret_doc for the caller to free. */
static json_t *fetch_host(const char *sock, const char *name, json_t **ret_doc, char *why, size_t size)
{
	reply rp = { .keep = true, .quiet = true };
	char req[128];
	json_t *d, *h;
	int r;

	snprintf(req, sizeof(req), "list json %s\n", name);
	r = ctl_exchange(sock, req, &rp);
	d = r == 0 && rp.ok ? json_loadb(rp.all, rp.len, 0, NULL) : NULL;
	if (!d)
		snprintf(why, size, "%s", r != 0 ? "agent not reachable" : rp.ok ? "reply is not JSON" : rp.all ? rp.all : "error");
	free(rp.all);
	h = json_array_get(json_object_get(d, "hosts"), 0);
	if (d && !json_is_object(h))
		snprintf(why, size, "host not in the agent's reply");
	*ret_doc = d;
	return json_is_object(h) ? h : NULL;
}

/* Networks the host's frames arrived on since ms_ago_limit: "pxeboot, mgmt". */
static void heard_via(json_t *h, json_int_t ms_ago_limit, char *buf, size_t size)
{
	static const char *const nets[] = { "pxeboot", "mgmt", "cluster" };
	json_t *seen = json_object_get(h, "last_seen_ms_ago");
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < 3 && used < size; i++) {
		json_t *v = json_object_get(seen, nets[i]);

		if (json_is_integer(v) && json_integer_value(v) <= ms_ago_limit)
			used += (size_t)snprintf(buf + used, size - used, "%s%s", used ? ", " : "", nets[i]);
	}
}

/* Confirmed: the node's own report, which arrived after the request, says
 * the new state and that it applied the command the request made. */
static void poll_host(const char *sock, waited *w, bool lock)
{
	json_t *doc, *h;
	char via[64], why[160];
	uint64_t now = util_now_ms();
	json_int_t since = (json_int_t)(now - w->sent_ms), applied;
	const char *reported;

	h = fetch_host(sock, w->name, &doc, why, sizeof(why));
	if (!h) {
		snprintf(w->last, sizeof(w->last), "%s", why);
		json_decref(doc);
		return;
	}
	if (!w->have_cmdseq) {
		w->cmdseq = json_integer_value(json_object_get(h, "cmdseq"));
		w->have_cmdseq = true;
	}
	reported = json_string_value(json_object_get(h, "reported"));
	applied = json_integer_value(json_object_get(h, "applied"));
	heard_via(h, since, via, sizeof(via));
	if (reported && strcmp(reported, lock ? "locked" : "unlocked") == 0 && applied >= w->cmdseq && via[0]) {
		w->confirmed = true;
		printf("%s: %s confirmed by the node after %.2f s (reported via %s)\n", w->name,
		       lock ? "locked" : "unlocked", (double)(util_now_ms() - w->sent_ms) / 1000.0, via);
		fflush(stdout);
	} else {
		snprintf(w->last, sizeof(w->last), "node reports %s, applied command %lld of %lld, %s",
			 reported ? reported : "?", (long long)applied, (long long)w->cmdseq,
			 via[0] ? "heard since the request" : "nothing heard from it since the request");
	}
	json_decref(doc);
}

/* Poll until every host that took the request is confirmed or wait_s has
 * passed since the requests; 0 or 4 (not confirmed, named on stderr). */
static int wait_confirmed(const char *sock, waited *w, int n, bool lock, int wait_s)
{
	uint64_t deadline = util_now_ms() + (uint64_t)wait_s * MSEC_PER_SEC;
	int pending, left = 0;

	do {
		pending = 0;
		for (int i = 0; i < n; i++)
			if (w[i].sent && !w[i].confirmed) {
				poll_host(sock, &w[i], lock);
				pending += !w[i].confirmed;
			}
		if (pending)
			usleep(100 * 1000);
	} while (pending && util_now_ms() < deadline);
	for (int i = 0; i < n; i++)
		if (w[i].sent && !w[i].confirmed) {
			fprintf(stderr, "mtcctl: %s: %s not confirmed within %d s: %s\n", w[i].name,
				lock ? "locked" : "unlocked", wait_s, w[i].last);
			left++;
		}
	if (!left)
		return 0;
	fprintf(stderr, "mtcctl: not confirmed:");
	for (int i = 0; i < n; i++)
		if (w[i].sent && !w[i].confirmed)
			fprintf(stderr, " %s", w[i].name);
	fprintf(stderr, "\n");
	return 4;
}

/* lock|unlock HOST...: one request per host, in order; then, with
 * --wait, the nodes' own confirmation. The worst status wins. */
static int admin_hosts(const char *cmd, const char *sock, char **hosts, int n, int wait_s)
{
	bool lock = strcmp(cmd, "lock") == 0;
	waited *w = calloc((size_t)n, sizeof(*w));
	int rc = 0, r;

	if (!w)
		return 1;
	for (int i = 0; i < n; i++) {
		char req[128];

		w[i].name = hosts[i];
		w[i].sent_ms = util_now_ms();
		snprintf(req, sizeof(req), "%s %s\n", cmd, hosts[i]);
		r = ctl_request(sock, req, false);
		w[i].sent = r == 0;
		if (r > rc)
			rc = r;
	}
	fflush(stdout);
	if (wait_s >= 0) {
		r = wait_confirmed(sock, w, n, lock, wait_s);
		if (r > rc)
			rc = r;
	}
	free(w);
	return rc;
}

/* list HOST...: one filtered request per host; the header once. */
static int list_hosts(const char *sock, char **hosts, int n, bool json)
{
	json_t *all = json_array();
	int rc = 0;

	for (int i = 0; i < n; i++) {
		reply rp = { .keep = true, .quiet = true };
		char req[128];
		int r;

		snprintf(req, sizeof(req), "list%s %s\n", json ? " json" : "", hosts[i]);
		r = ctl_exchange(sock, req, &rp);
		if (r == 0 && !rp.ok) {
			fputs(rp.all, stderr);
			r = 1;
		} else if (r == 0 && json) {
			json_t *d = json_loadb(rp.all, rp.len, 0, NULL);

			r = d ? 0 : 1;
			if (!d)
				fprintf(stderr, "mtcctl: mtcagent's reply is not valid JSON\n");
			json_array_extend(all, json_object_get(d, "hosts"));
			json_decref(d);
		} else if (r == 0) {
			const char *rows = i ? strchr(rp.all, '\n') : rp.all;

			fputs(rows ? rows + (i ? 1 : 0) : "", stdout);
		}
		free(rp.all);
		if (r > rc)
			rc = r;
	}
	if (json) {
		json_t *d = json_pack("{s:o}", "hosts", all);

		if (json_dumpf(d, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0 || putchar('\n') == EOF)
			rc = 1;
		json_decref(d);
	} else {
		json_decref(all);
	}
	return rc;
}

/* Arguments after the command: --json, --wait[=SECONDS] and host names. */
typedef struct cmd_args {
	bool json;
	int wait_s;        /* -1: no --wait */
	char **hosts;
	int n_hosts;
} cmd_args;

static int parse_cmd_args(const char *cmd, int argc, char **argv, cmd_args *a)
{
	a->hosts = argv + optind;
	for (int i = optind; i < argc; i++) {
		long v;

		if (strcmp(argv[i], "--json") == 0) {
			a->json = true;
		} else if (strcmp(argv[i], "--wait") == 0) {
			a->wait_s = WAIT_DEFAULT_S;
		} else if (strncmp(argv[i], "--wait=", 7) == 0) {
			if (util_parse_long(argv[i] + 7, 0, 86400, &v) < 0) {
				fprintf(stderr, "mtcctl %s: --wait=SECONDS: '%s' is not 0..86400\n", cmd, argv[i] + 7);
				return 2;
			}
			a->wait_s = (int)v;
		} else if (!mtc_hostname_valid(argv[i])) {
			fprintf(stderr, "mtcctl %s: '%s' is not a valid HOST name\n", cmd, argv[i]);
			return 2;
		} else {
			a->hosts[a->n_hosts++] = argv[i];
		}
	}
	return 0;
}

static int agent_command(const char *cmd, const char *sock, int argc, char **argv, bool json)
{
	cmd_args a = { .json = json, .wait_s = -1 };
	char req[128];
	int r = parse_cmd_args(cmd, argc, argv, &a);

	if (r)
		return r;
	if (strcmp(cmd, "lock") == 0 || strcmp(cmd, "unlock") == 0) {
		if (a.n_hosts == 0) {
			fprintf(stderr, "mtcctl %s: need at least one HOST\n", cmd);
			return 2;
		}
		return admin_hosts(cmd, sock, a.hosts, a.n_hosts, a.wait_s);
	}
	if (strcmp(cmd, "list") == 0) {
		if (a.n_hosts)
			return list_hosts(sock, a.hosts, a.n_hosts, a.json);
		snprintf(req, sizeof(req), "list%s\n", a.json ? " json" : "");
		return ctl_request(sock, req, a.json);
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
	if (strcmp(cmd, "keygen") == 0)
		return keygen(argc, argv);
	if (!sock && !(sock = control_socket(config, explicit_config, &cfg)))
		return 2;
	return agent_command(cmd, sock, argc, argv, json);
}
