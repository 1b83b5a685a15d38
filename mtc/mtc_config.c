#include "mtc_config.h"
#include "fileops.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define FIELD_SIZE(f) sizeof(((mtc_config *)0)->f)
#define STR(sec, key, f, def, help) \
	{ sec, key, CONF_STR, offsetof(mtc_config, f), FIELD_SIZE(f), def, 0, 0, NULL, help }
#define INT(sec, key, f, def, lo, hi, help) \
	{ sec, key, CONF_INT, offsetof(mtc_config, f), 0, def, lo, hi, NULL, help }
#define NET(sec, i, aport, cport) \
	STR(sec, "address", net[i].address, "", "This side's IP address on the " sec " network; empty: not provisioned."), \
	STR(sec, "agent_address", net[i].agent_address, "", "The agent's IP address on the " sec " network (client side)."), \
	INT(sec, "agent_port", net[i].agent_port, aport, 1, 65535, "UDP port the agent receives on."), \
	INT(sec, "client_port", net[i].client_port, cport, 1, 65535, "UDP port the client receives on.")

static const conf_key mtc_keys[] = {
	STR("client", "hostname", hostname, "", "This node's name as in the agent's hosts file; empty: the system hostname."),
	INT("client", "alive_period", alive_period, "5", 1, 300, "Seconds between mtcAlive messages on each network."),
	INT("client", "recover_interval", recover_interval, "1", 1, 60, "Seconds between socket recovery attempts."),
	STR("client", "locked_file", locked_file, "/var/run/.node_locked", "Volatile lock flag read by hostwd."),
	STR("client", "locked_backup", locked_backup, "/var/persist/mtc/.node_locked", "Persistent copy of the lock flag, restored at start."),
	STR("client", "configured_file", configured_file, "/etc/platform/.initial_config_complete", "Present when the node is configured."),
	STR("agent", "hosts_file", hosts_file, "/etc/mtc/hosts.conf", "Nodes and their per-network addresses."),
	STR("agent", "state_file", state_file, "/var/lib/mtc/admin.state", "Admin lock state per host, persisted atomically."),
	STR("agent", "control_socket", control_socket, "/run/mtc/agent.sock", "Unix socket mtcctl talks to."),
	INT("agent", "resend_interval_ms", resend_interval_ms, "2000", 0, 600000, "Minimum time between correction resends to one host."),
	INT("agent", "rx_coalesce_ms", rx_coalesce_ms, "10", 0, 100,
	    "Under load, wake at most four times per this many ms on each network and read all that is queued "
	    "(at 10,000 hosts about a third less CPU); adds at most this much to a correction, only when busy. "
	    "0: wake for every datagram."),
	{ "auth", "enabled", CONF_BOOL, offsetof(mtc_config, auth_enabled), 0, "1", 0, 1, NULL,
	  "Authenticate every frame with HMAC-SHA256. 0 is for lab use only." },
	STR("auth", "key_file", key_file, "/etc/mtc/mtc.key", "32-byte shared key, mode 0600 (mtcctl keygen)."),
	NET("pxeboot", MTC_NET_PXEBOOT, "2102", "2119"),
	NET("mgmt", MTC_NET_MGMT, "2101", "2118"),
	NET("cluster", MTC_NET_CLUSTER, "2101", "2115"),
	{ "fit", "enabled", CONF_BOOL, offsetof(mtc_config, fit_enabled), 0, "0", 0, 1, NULL,
	  "Fault insertion for tests. Never in production." },
	STR("fit", "dir", fit_dir, "/run/mtc/fit", "Fault files: drop_rx_<net>, drop_tx_<net>, close_<net>."),
};

static bool ipv4_ok(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

static void check(void *data, const conf_origin *o)
{
	const mtc_config *cfg = data;

	for (int i = 0; i < MTC_NET_COUNT; i++) {
		const char *sec = mtc_net_name((unsigned)i);
		const mtc_net_config *n = &cfg->net[i];

		if (n->address[0] && !ipv4_ok(n->address))
			conf_key_error(o, sec, "address", "[%s] address = %s: not an IPv4 address", sec, n->address);
		if (n->agent_address[0] && !ipv4_ok(n->agent_address))
			conf_key_error(o, sec, "agent_address", "[%s] agent_address = %s: not an IPv4 address", sec,
				       n->agent_address);
	}
	if (cfg->hostname[0] && !mtc_hostname_valid(cfg->hostname))
		conf_key_error(o, "client", "hostname",
			       "[client] hostname = %s: letters, digits, '-', '.', '_' only, at most %d", cfg->hostname,
			       MTC_HOSTNAME_MAX);
}

const conf_table mtc_conf_table = { mtc_keys, ARRAY_SIZE(mtc_keys), check };

int mtc_config_load(mtc_config *cfg, const char *path, conf_errors *errs)
{
	return conf_load_file(&mtc_conf_table, cfg, path, NULL, NULL, errs);
}

int mtc_config_load_string(mtc_config *cfg, const char *text, conf_errors *errs)
{
	return conf_load_string(&mtc_conf_table, cfg, "<string>", text, NULL, NULL, errs);
}

/* The hosts file has no fixed keys: every section is "[host NAME]". */
static const conf_table hosts_table = { NULL, 0, NULL };

static int hosts_extra(void *user, const char *section, bool section_start, const char *key, const char *value,
		       char *msg, size_t msglen)
{
	mtc_host_list *l = user;
	mtc_host_entry *h;
	int net;

	if (strncmp(section, "host ", 5) != 0 || !mtc_hostname_valid(section + 5)) {
		snprintf(msg, msglen, "section [%s]: expected [host NAME] with a valid host name", section);
		return -EINVAL;
	}
	/* Every [host NAME] header starts a new entry, created before the
	 * key is checked so a bad first key cannot leave the section without
	 * one. */
	if (section_start || l->n == 0 || strcmp(l->v[l->n - 1].name, section + 5) != 0) {
		for (size_t i = 0; i < l->n; i++) {
			if (strcmp(l->v[i].name, section + 5) == 0) {
				snprintf(msg, msglen, "[%s] defined twice", section);
				return -EINVAL;
			}
		}
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 16;
			mtc_host_entry *v = realloc(l->v, cap * sizeof(*v));

			if (!v) {
				snprintf(msg, msglen, "out of memory");
				return -ENOMEM;
			}
			l->v = v;
			l->cap = cap;
		}
		memset(&l->v[l->n], 0, sizeof(l->v[0]));
		strcpy_bounded(l->v[l->n].name, sizeof(l->v[0].name), section + 5);
		l->n++;
	}
	net = mtc_net_from_name(key);
	if (net < 0) {
		snprintf(msg, msglen, "[%s] unknown key '%s' (expected pxeboot, mgmt or cluster)", section, key);
		return -EINVAL;
	}
	if (value[0] && !ipv4_ok(value)) {
		snprintf(msg, msglen, "[%s] %s = %s: not an IPv4 address", section, key, value);
		return -EINVAL;
	}
	h = &l->v[l->n - 1];
	strcpy_bounded(h->addr[net], sizeof(h->addr[net]), value);
	return 0;
}

static int host_cmp(const void *a, const void *b)
{
	return strcmp(((const mtc_host_entry *)a)->name, ((const mtc_host_entry *)b)->name);
}

static int hosts_finish(mtc_host_list *list, int r)
{
	if (r < 0) {
		mtc_hosts_free(list);
		return r;
	}
	if (list->n)
		qsort(list->v, list->n, sizeof(list->v[0]), host_cmp);
	return 0;
}

int mtc_hosts_load(mtc_host_list *list, const char *path, conf_errors *errs)
{
	memset(list, 0, sizeof(*list));
	return hosts_finish(list, conf_load_file(&hosts_table, NULL, path, hosts_extra, list, errs));
}

int mtc_hosts_load_string(mtc_host_list *list, const char *text, conf_errors *errs)
{
	memset(list, 0, sizeof(*list));
	return hosts_finish(list, conf_load_string(&hosts_table, NULL, "<string>", text, hosts_extra, list, errs));
}

void mtc_hosts_free(mtc_host_list *list)
{
	free(list->v);
	memset(list, 0, sizeof(*list));
}

int mtc_key_load(const char *path, mtc_key *key, char *msg, size_t msglen)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	struct stat st;
	uint8_t buf[MTC_KEY_LEN + 1];
	ssize_t n;

	if (fd < 0) {
		snprintf(msg, msglen, "cannot open key file %s: %s (create one with: mtcctl keygen %s)", path,
			 strerror(errno), path);
		return -errno;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "key file %s is not a regular file", path);
		return -EINVAL;
	}
	if (st.st_mode & 0077) {
		snprintf(msg, msglen, "key file %s has mode %04o: it must not be accessible by group or others "
			 "(chmod 600 %s)", path, (unsigned)(st.st_mode & 07777), path);
		return -EPERM;
	}
	n = read(fd, buf, sizeof(buf));
	if (n != MTC_KEY_LEN) {
		snprintf(msg, msglen, "key file %s must hold exactly %d bytes, has %s%zd", path, MTC_KEY_LEN,
			 n > MTC_KEY_LEN ? "more than " : "", n > MTC_KEY_LEN ? (ssize_t)MTC_KEY_LEN : n);
		sodium_memzero(buf, sizeof(buf));
		return -EINVAL;
	}
	memcpy(key->bytes, buf, MTC_KEY_LEN);
	key->enabled = true;
	sodium_memzero(buf, sizeof(buf));
	return 0;
}

int mtc_key_generate(const char *path)
{
	uint8_t k[MTC_KEY_LEN];
	int r;

	if (sodium_init() < 0)
		return -EIO;
	if (path_exists(path))
		return -EEXIST;
	crypto_auth_hmacsha256_keygen(k);
	r = atomic_write_file(path, k, sizeof(k), 0600);
	sodium_memzero(k, sizeof(k));
	return r;
}
