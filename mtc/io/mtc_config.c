#include "mtc_config.h"
#include "health_wire.h"
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
	{ sec, key, CONF_STR, offsetof(mtc_config, f), FIELD_SIZE(f), def, 0, 0, NULL, help, 0 }
/* Restart-only (CONF_RESTART): a reload keeps the running value. */
#define STR_RESTART(sec, key, f, def, help) \
	{ sec, key, CONF_STR, offsetof(mtc_config, f), FIELD_SIZE(f), def, 0, 0, NULL, help, CONF_RESTART }
#define INT(sec, key, f, def, lo, hi, help) \
	{ sec, key, CONF_INT, offsetof(mtc_config, f), 0, def, lo, hi, NULL, help, 0 }
#define NET(sec, i, aport, cport) \
	STR(sec, "address", net[i].address, "", "This side's IP address on the " sec " network; empty: not provisioned."), \
	STR(sec, "agent_address", net[i].agent_address, "", "The agents' IP addresses on the " sec " network, comma-separated (client side; at most 2)."), \
	INT(sec, "agent_port", net[i].agent_port, aport, 1, 65535, "UDP port the agent receives on."), \
	INT(sec, "client_port", net[i].client_port, cport, 1, 65535, "UDP port the client receives on.")

static const char *const store_names[] = { "file", "etcd", NULL };

static const conf_key mtc_keys[] = {
	STR("client", "hostname", hostname, "", "This node's name as in the agent's hosts file; empty: the system hostname."),
	INT("client", "alive_period", alive_period, "5", 1, 300, "Seconds between mtcAlive messages on each network."),
	INT("client", "recover_interval", recover_interval, "1", 1, 60, "Seconds between socket recovery attempts."),
	STR("client", "locked_file", locked_file, HEALTH_DEFAULT_LOCK_FILE, "Volatile lock flag read by hostwd."),
	STR("client", "locked_backup", locked_backup, "/var/persist/mtc/.node_locked", "Persistent copy of the lock flag, restored at start."),
	STR("client", "boot_file", boot_file, "",
	    "Persistent boot counter, incremented and fsynced at every start; frames of an older boot are "
	    "ignored by the agent. Empty: .boot_count beside locked_backup."),
	STR("client", "cmdseq_file", cmdseq_file, "",
	    "Persistent sequence of the last command applied; older commands are refused. "
	    "Empty: .cmdseq beside locked_backup."),
	STR("client", "configured_file", configured_file, "/etc/platform/.initial_config_complete", "Present when the node is configured."),
	STR("agent", "hosts_file", hosts_file, "/etc/mtc/hosts.conf", "Nodes and their per-network addresses."),
	{ "agent", "store", CONF_ENUM, offsetof(mtc_config, store), 0, "file", 0, 0, store_names,
	  "Where admin state is kept: file (state_file, this controller only) or etcd ([etcd], shared by "
	  "every agent).", CONF_RESTART },
	STR("agent", "state_file", state_file, "/var/lib/mtc/admin.state", "Admin lock state per host, persisted atomically."),
	STR("agent", "control_socket", control_socket, "/run/mtc/agent.sock", "Unix socket mtcctl talks to."),
	INT("agent", "resend_interval_ms", resend_interval_ms, "2000", 0, 600000, "Minimum time between correction resends to one host."),
	INT("agent", "alive_missing_periods", alive_missing_periods, "3", 0, 1000,
	    "A host's mtcAlive is missing on a network after this many [client] alive_period of silence "
	    "(the nodes' period, as set in this file): logged once when it stops and once when it returns, "
	    "shown by mtcctl list. 0: not watched."),
	INT("agent", "boot_reset_silence_s", boot_reset_silence_s, "60", 1, 86400,
	    "A host's frames of a lower boot counter than known (its persistent state was wiped) are believed "
	    "only after it has been silent on every network this long; until then they are dropped as replays."),
	INT("agent", "rx_coalesce_ms", rx_coalesce_ms, "10", 0, 100,
	    "Under load, wake at most four times per this many ms on each network and read all that is queued "
	    "(at 10,000 hosts about a third less CPU); adds at most this much to a correction, only when busy. "
	    "0: wake for every datagram."),
	INT("agent", "rx_buffer_kb", rx_buffer_kb, "0", 0, 1048576,
	    "Receive buffer (SO_RCVBUF) of each network's socket, in KiB; 0: the kernel's net.core.rmem_default. "
	    "The kernel grants at most net.core.rmem_max (the agent logs what it got). At 50,000 hosts a "
	    "reboot storm overflowed the default 208 KiB; see docs/operations.md for 4096 and rmem_max."),
	STR_RESTART("etcd", "endpoints", etcd_endpoints, "http://127.0.0.1:2379",
	    "etcd members' client URLs, comma-separated; tried in turn ([agent] store = etcd)."),
	STR_RESTART("etcd", "prefix", etcd_prefix, "/mtc/admin/", "Key prefix: host H's admin state is the key PREFIX+H."),
	STR_RESTART("etcd", "cacert", etcd_cacert, "", "CA bundle to verify the members (https endpoints); empty: system CAs."),
	STR_RESTART("etcd", "cert", etcd_cert, "", "Client certificate for etcd; empty: none."),
	STR_RESTART("etcd", "key", etcd_key, "", "Private key of the client certificate."),
	STR_RESTART("etcd", "user", etcd_user, "",
	    "etcd user the agent authenticates as (etcd RBAC: a role with readwrite on the prefix); empty: none."),
	STR_RESTART("etcd", "password_file", etcd_password_file, "",
	    "File holding that user's password, one line; mode 0600 or 0400, owned by root or the agent's user."),
	{ "auth", "enabled", CONF_BOOL, offsetof(mtc_config, auth_enabled), 0, "1", 0, 1, NULL,
	  "Authenticate every frame with HMAC-SHA256. 0 is for lab use only.", 0 },
	STR("auth", "key_file", key_file, "/etc/mtc/mtc.key", "32-byte shared key, mode 0600 (mtcctl keygen)."),
	NET("pxeboot", MTC_NET_PXEBOOT, "2102", "2119"),
	NET("mgmt", MTC_NET_MGMT, "2101", "2118"),
	NET("cluster", MTC_NET_CLUSTER, "2101", "2115"),
	{ "fit", "enabled", CONF_BOOL, offsetof(mtc_config, fit_enabled), 0, "0", 0, 1, NULL,
	  "Fault insertion for tests. Never in production.", 0 },
	STR("fit", "dir", fit_dir, "/run/mtc/fit", "Fault files: drop_rx_<net>, drop_tx_<net>, close_<net>."),
	STR("metrics", "client_textfile", metrics_client, "",
	    "mtcclient's Prometheus text file, rewritten every alive_period (temp file and rename) for node_exporter's textfile collector; empty: no metrics."),
	STR("metrics", "agent_textfile", metrics_agent, "",
	    "mtcagent's Prometheus text file, rewritten every second; empty: no metrics."),
};

static bool ipv4_ok(const char *s)
{
	struct in_addr a;

	return inet_pton(AF_INET, s, &a) == 1;
}

/* "A" or "A,B": the client's agent_address (two controllers). */
static bool ipv4_list_ok(const char *s)
{
	char buf[MTC_ADDR_MAX * 2], *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", s);
	for (char *t = strtok_r(buf, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
		if (++n > MTC_AGENTS_MAX || !ipv4_ok(t))
			return false;
	return n > 0;
}

static void check(void *data, const conf_origin *o)
{
	const mtc_config *cfg = data;

	for (int i = 0; i < MTC_NET_COUNT; i++) {
		const char *sec = mtc_net_name((unsigned)i);
		const mtc_net_config *n = &cfg->net[i];

		if (n->address[0] && !ipv4_ok(n->address))
			conf_key_error(o, sec, "address", "[%s] address = %s: not an IPv4 address", sec, n->address);
		if (n->agent_address[0] && !ipv4_list_ok(n->agent_address))
			conf_key_error(o, sec, "agent_address", "[%s] agent_address = %s: not an IPv4 address", sec,
				       n->agent_address);
	}
	if (!strchr(cfg->locked_backup, '/') && (!cfg->boot_file[0] || !cfg->cmdseq_file[0]))
		conf_key_error(o, "client", "locked_backup",
			       "[client] locked_backup = %s: must be a path with a directory (boot_file and "
			       "cmdseq_file default beside it)", cfg->locked_backup);
	if (cfg->store == MTC_STORE_ETCD && (!cfg->etcd_prefix[0] || !cfg->etcd_endpoints[0]))
		conf_key_error(o, "etcd", "prefix", "[agent] store = etcd needs [etcd] endpoints and a non-empty prefix");
	if (!cfg->etcd_user[0] != !cfg->etcd_password_file[0])
		conf_key_error(o, "etcd", cfg->etcd_user[0] ? "password_file" : "user",
			       "[etcd] %s is set but [etcd] %s is not: both or neither",
			       cfg->etcd_user[0] ? "user" : "password_file", cfg->etcd_user[0] ? "password_file" : "user");
	if (cfg->hostname[0] && !mtc_hostname_valid(cfg->hostname))
		conf_key_error(o, "client", "hostname",
			       "[client] hostname = %s: letters, digits, '-', '.', '_' only, at most %d", cfg->hostname,
			       MTC_HOSTNAME_MAX);
}

/* The files as they are now (daemon start, SIGHUP, --check-config): one
 * table for client and agent, so each checks the other's paths too. */
static void check_files(void *data, const conf_origin *o)
{
	const mtc_config *cfg = data;
	char path[MTC_PATH_MAX];

	conf_check_path(o, "client", "locked_file", cfg->locked_file, FILEOPS_REG, true);
	conf_check_path(o, "client", "locked_backup", cfg->locked_backup, FILEOPS_REG, true);
	mtc_client_state_path(cfg, cfg->boot_file, ".boot_count", path, sizeof(path));
	conf_check_path(o, "client", "boot_file", path, FILEOPS_REG, true);
	mtc_client_state_path(cfg, cfg->cmdseq_file, ".cmdseq", path, sizeof(path));
	conf_check_path(o, "client", "cmdseq_file", path, FILEOPS_REG, true);
	if (cfg->store == MTC_STORE_FILE)
		conf_check_path(o, "agent", "state_file", cfg->state_file, FILEOPS_REG, true);
	conf_check_path(o, "auth", "key_file", cfg->key_file, FILEOPS_REG, false);
	if (cfg->store == MTC_STORE_ETCD && cfg->etcd_password_file[0])
		mtc_password_check(o, cfg->etcd_password_file);
}

const conf_table mtc_conf_table = { mtc_keys, ARRAY_SIZE(mtc_keys), check, check_files };

int mtc_config_load(mtc_config *cfg, const char *path, conf_errors *errs)
{
	return conf_load_file(&mtc_conf_table, cfg, path, NULL, NULL, errs);
}

int mtc_config_load_string(mtc_config *cfg, const char *text, conf_errors *errs)
{
	return conf_load_string(&mtc_conf_table, cfg, "<string>", text, NULL, NULL, errs);
}

/* The hosts file has no fixed keys: every section is "[host NAME]". */
static const conf_table hosts_table = { NULL, 0, NULL, NULL };

/* Names and addresses of the hosts being loaded, hashed (mtc_index, open
 * addressing, FNV-1a): the load stays linear; a scan per new host made 80k
 * hosts take 11 s. Slots hold an entry's index + 1 (0: empty). */
static size_t str_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	return (size_t)(h ^ (h >> 32));
}

int64_t mtc_index_find(const mtc_index *x, const char *key, mtc_key_of_fn key_of, const void *user)
{
	if (!x->cap)
		return -1;
	for (size_t i = str_hash(key) & (x->cap - 1);; i = (i + 1) & (x->cap - 1)) {
		if (!x->slot[i])
			return -1;
		if (strcmp(key_of(user, x->slot[i] - 1), key) == 0)
			return x->slot[i] - 1;
	}
}

static void idx_put(mtc_index *x, uint32_t entry, const char *key)
{
	size_t i = str_hash(key) & (x->cap - 1);

	while (x->slot[i])
		i = (i + 1) & (x->cap - 1);
	x->slot[i] = entry + 1;
	x->n++;
}

int mtc_index_add(mtc_index *x, uint32_t entry, mtc_key_of_fn key_of, const void *user)
{
	if (2 * (x->n + 1) > x->cap) {
		mtc_index bigger = { calloc(x->cap ? 2 * x->cap : 64, sizeof(uint32_t)), x->cap ? 2 * x->cap : 64, 0 };

		if (!bigger.slot)
			return -ENOMEM;
		for (size_t i = 0; i < x->cap; i++)
			if (x->slot[i])
				idx_put(&bigger, x->slot[i] - 1, key_of(user, x->slot[i] - 1));
		free(x->slot);
		*x = bigger;
	}
	idx_put(x, entry, key_of(user, entry));
	return 0;
}

void mtc_index_free(mtc_index *x)
{
	free(x->slot);
	memset(x, 0, sizeof(*x));
}

/* Which host holds an address on a network, and where it was set. */
typedef struct addr_use {
	char key[MTC_ADDR_MAX + 2]; /* network digit, then the address */
	uint32_t host;
	unsigned line;
} addr_use;

typedef struct hosts_loader {
	mtc_host_list *l;
	mtc_index names, addrs;
	addr_use *uses;
	size_t n_uses, cap_uses;
} hosts_loader;

static const char *name_of(const void *user, uint32_t i)
{
	return ((const hosts_loader *)user)->l->v[i].name;
}

static const char *use_key_of(const void *user, uint32_t i)
{
	return ((const hosts_loader *)user)->uses[i].key;
}

static int grow(void **v, size_t *cap, size_t n, size_t size)
{
	void *bigger;

	if (n < *cap)
		return 0;
	bigger = realloc(*v, (*cap ? *cap * 2 : 16) * size);
	if (!bigger)
		return -ENOMEM;
	*v = bigger;
	*cap = *cap ? *cap * 2 : 16;
	return 0;
}

static int new_host(hosts_loader *hl, const char *section, char *msg, size_t msglen)
{
	mtc_host_list *l = hl->l;

	if (mtc_index_find(&hl->names, section + 5, name_of, hl) >= 0) {
		snprintf(msg, msglen, "[%s] defined twice", section);
		return -EINVAL;
	}
	if (grow((void **)&l->v, &l->cap, l->n, sizeof(l->v[0])) < 0) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	util_strcpy_bounded(l->v[l->n].name, sizeof(l->v[0].name), section + 5);
	l->n++;
	if (mtc_index_add(&hl->names, (uint32_t)(l->n - 1), name_of, hl) < 0) {
		snprintf(msg, msglen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* One address per host and network: a second host with the same one would
 * never get its commands (they go to the first), silently. */
static int claim_address(hosts_loader *hl, int net, const char *value, unsigned line, char *msg, size_t msglen)
{
	addr_use u = { .host = (uint32_t)(hl->l->n - 1), .line = line };
	int64_t other;

	if (!value[0])
		return 0;
	u.key[0] = (char)('0' + net);
	util_strcpy_bounded(u.key + 1, sizeof(u.key) - 1, value);
	other = mtc_index_find(&hl->addrs, u.key, use_key_of, hl);
	if (other >= 0) {
		snprintf(msg, msglen, "[host %s] %s = %s: the same %s address as [host %s] (line %u); each host needs "
			 "its own (commands for %s would reach %s)", hl->l->v[u.host].name, mtc_net_name((unsigned)net),
			 value, mtc_net_name((unsigned)net), hl->l->v[hl->uses[other].host].name, hl->uses[other].line,
			 hl->l->v[u.host].name, hl->l->v[hl->uses[other].host].name);
		return -EINVAL;
	}
	if (grow((void **)&hl->uses, &hl->cap_uses, hl->n_uses, sizeof(u)) < 0)
		return -ENOMEM;
	hl->uses[hl->n_uses++] = u;
	return mtc_index_add(&hl->addrs, (uint32_t)(hl->n_uses - 1), use_key_of, hl);
}

static int hosts_extra(void *user, const char *section, bool section_start, const char *key, const char *value,
		       unsigned line, char *msg, size_t msglen)
{
	hosts_loader *hl = user;
	mtc_host_list *l = hl->l;
	mtc_host_entry *h;
	int net, r;

	if (strncmp(section, "host ", 5) != 0 || !mtc_hostname_valid(section + 5)) {
		snprintf(msg, msglen, "section [%s]: expected [host NAME] with a valid host name", section);
		return -EINVAL;
	}
	/* Every [host NAME] header starts a new entry, created before the
	 * key is checked so a bad first key cannot leave the section without
	 * one. */
	if (section_start || l->n == 0 || strcmp(l->v[l->n - 1].name, section + 5) != 0) {
		r = new_host(hl, section, msg, msglen);
		if (r < 0)
			return r;
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
	r = claim_address(hl, net, value, line, msg, msglen);
	if (r < 0)
		return r;
	h = &l->v[l->n - 1];
	util_strcpy_bounded(h->addr[net], sizeof(h->addr[net]), value);
	return 0;
}

static int host_cmp(const void *a, const void *b)
{
	return strcmp(((const mtc_host_entry *)a)->name, ((const mtc_host_entry *)b)->name);
}

static int hosts_finish(hosts_loader *hl, int r)
{
	mtc_host_list *list = hl->l;

	mtc_index_free(&hl->names);
	mtc_index_free(&hl->addrs);
	free(hl->uses);
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
	hosts_loader hl = { .l = list };

	memset(list, 0, sizeof(*list));
	return hosts_finish(&hl, conf_load_file(&hosts_table, NULL, path, hosts_extra, &hl, errs));
}

int mtc_hosts_load_string(mtc_host_list *list, const char *text, conf_errors *errs)
{
	hosts_loader hl = { .l = list };

	memset(list, 0, sizeof(*list));
	return hosts_finish(&hl, conf_load_string(&hosts_table, NULL, "<string>", text, hosts_extra, &hl, errs));
}

void mtc_hosts_free(mtc_host_list *list)
{
	free(list->v);
	memset(list, 0, sizeof(*list));
}

int mtc_secret_file_ok(const char *what, const char *path, const struct stat *st, char *msg, size_t msglen)
{
	if (!S_ISREG(st->st_mode)) {
		snprintf(msg, msglen, "%s %s is not a regular file (%s)", what, path,
			 S_ISDIR(st->st_mode) ? "a directory" : S_ISFIFO(st->st_mode) ? "a FIFO" :
			 S_ISSOCK(st->st_mode) ? "a socket" : S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) ? "a device" :
			 "not a file");
		return -EINVAL;
	}
	/* Whoever owns the secret can rewrite it: only root or ourselves. */
	if (st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(msg, msglen, "%s %s is owned by uid %u: it must be owned by root or uid %u "
			 "(the daemon's user) (chown %u %s)", what, path, (unsigned)st->st_uid, (unsigned)geteuid(),
			 (unsigned)geteuid(), path);
		return -EPERM;
	}
	if (st->st_mode & 0077) {
		snprintf(msg, msglen, "%s %s has mode %04o: it must not be accessible by group or others "
			 "(chmod 600 %s)", what, path, (unsigned)(st->st_mode & 07777), path);
		return -EPERM;
	}
	return 0;
}

int mtc_key_load(const char *path, mtc_key *key, char *msg, size_t msglen)
{
	/* O_NONBLOCK: a FIFO planted as the key must not hang the start;
	 * O_NOFOLLOW: the file itself is checked, not a link's target. */
	_cleanup_close_ int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	struct stat st = { 0 };
	uint8_t buf[MTC_KEY_LEN + 1];
	ssize_t n;
	int r;

	if (fd < 0) {
		int e = errno;

		if (e == ELOOP)
			snprintf(msg, msglen, "key file %s is a symbolic link: refused (point key_file at the file)",
				 path);
		else
			snprintf(msg, msglen, "cannot open key file %s: %s (create one with: mtcctl keygen %s)", path,
				 strerror(e), path);
		return -e;
	}
	if (fstat(fd, &st) < 0)
		st.st_mode = 0;
	r = mtc_secret_file_ok("key file", path, &st, msg, msglen);
	if (r < 0)
		return r;
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
	if (util_path_exists(path))
		return -EEXIST;
	crypto_auth_hmacsha256_keygen(k);
	r = fileops_write_atomic(path, k, sizeof(k), 0600);
	sodium_memzero(k, sizeof(k));
	return r;
}

void mtc_client_state_path(const mtc_config *cfg, const char *configured, const char *name, char *buf,
			   size_t size)
{
	const char *slash = strrchr(cfg->locked_backup, '/');

	if (configured[0] || !slash)
		snprintf(buf, size, "%s", configured[0] ? configured : name);
	else
		snprintf(buf, size, "%.*s/%s", (int)(slash - cfg->locked_backup), cfg->locked_backup, name);
}
