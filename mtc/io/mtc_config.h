/* mtc.conf (client, agent, auth, per-network, fit), hosts.conf, key file. */
#ifndef MTC_CONFIG_H
#define MTC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "mtc_codec.h"

#define MTC_DEFAULT_CONFIG "/etc/mtc/mtc.conf"
#define MTC_PATH_MAX 160
#define MTC_ADDR_MAX 48
#define MTC_AGENTS_MAX 2 /* controllers a client sends to per network */

typedef struct mtc_net_config {
	char address[MTC_ADDR_MAX];       /* this side's IP; "" = not provisioned */
	char agent_address[MTC_ADDR_MAX * 2]; /* the agents' IPs, comma-separated (client side) */
	int agent_port;
	int client_port;
} mtc_net_config;

typedef enum { MTC_STORE_FILE, MTC_STORE_ETCD } mtc_store_kind;

typedef struct mtc_config {
	char hostname[MTC_HOSTNAME_MAX + 1];
	int alive_period;
	int recover_interval;
	char locked_file[MTC_PATH_MAX];
	char locked_backup[MTC_PATH_MAX];
	char configured_file[MTC_PATH_MAX];
	char boot_file[MTC_PATH_MAX];   /* "" = beside locked_backup */
	char cmdseq_file[MTC_PATH_MAX]; /* "" = beside locked_backup */

	char hosts_file[MTC_PATH_MAX];
	int store;                      /* mtc_store_kind */
	char state_file[MTC_PATH_MAX];
	char control_socket[108];
	int resend_interval_ms;
	int alive_missing_periods;       /* x alive_period: mtcAlive missing on a network */
	char etcd_endpoints[192];       /* comma-separated URLs */
	char etcd_prefix[65];
	char etcd_cacert[MTC_PATH_MAX];
	char etcd_cert[MTC_PATH_MAX];
	char etcd_key[MTC_PATH_MAX];
	char etcd_user[65];             /* "" = no etcd authentication but certificates */
	char etcd_password_file[MTC_PATH_MAX];
	int boot_reset_silence_s;
	int rx_coalesce_ms;
	int rx_buffer_kb;              /* agent: SO_RCVBUF of each rx socket; 0: the kernel's */

	bool auth_enabled;
	char key_file[MTC_PATH_MAX];

	mtc_net_config net[MTC_NET_COUNT];

	bool fit_enabled;
	char fit_dir[MTC_PATH_MAX];

	char metrics_client[MTC_PATH_MAX]; /* [metrics] client_textfile */
	char metrics_agent[MTC_PATH_MAX];  /* [metrics] agent_textfile */
} mtc_config;

extern const conf_table mtc_conf_table;

int mtc_config_load(mtc_config *cfg, const char *path, conf_errors *errs);
int mtc_config_load_string(mtc_config *cfg, const char *text, conf_errors *errs);

/* One node from the hosts file. */
typedef struct mtc_host_entry {
	char name[MTC_HOSTNAME_MAX + 1];
	char addr[MTC_NET_COUNT][MTC_ADDR_MAX];
} mtc_host_entry;

typedef struct mtc_host_list {
	mtc_host_entry *v;
	size_t n, cap;
} mtc_host_list;

/* A string -> entry index over the caller's array (open addressing): the
 * hosts-file loader's and the agent's host lookup. key_of(user, i) is
 * entry i's key; entries must not move while indexed. */
typedef const char *(*mtc_key_of_fn)(const void *user, uint32_t i);
typedef struct mtc_index {
	uint32_t *slot; /* entry + 1; 0: empty */
	size_t cap, n;  /* cap: a power of two, at most half full */
} mtc_index;

int mtc_index_add(mtc_index *x, uint32_t entry, mtc_key_of_fn key_of, const void *user);
/* The entry whose key is key, or -1. */
int64_t mtc_index_find(const mtc_index *x, const char *key, mtc_key_of_fn key_of, const void *user);
void mtc_index_free(mtc_index *x);

/* Load "[host NAME]" sections with pxeboot/mgmt/cluster keys. The list
 * is sorted by name; duplicates are an error. */
int mtc_hosts_load(mtc_host_list *list, const char *path, conf_errors *errs);
int mtc_hosts_load_string(mtc_host_list *list, const char *text, conf_errors *errs);
void mtc_hosts_free(mtc_host_list *list);

/* Key file: exactly 32 bytes, not readable by group or others.
 * On error msg says why. */
int mtc_key_load(const char *path, mtc_key *key, char *msg, size_t msglen);
/* A secret (the mtc key, the etcd password; what names it in msg) is a
 * regular file that only root or we own and only the owner can read: 0,
 * or -EINVAL/-EPERM with msg. */
struct stat;
int mtc_secret_file_ok(const char *what, const char *path, const struct stat *st, char *msg, size_t msglen);
int mtc_key_generate(const char *path);

/* [etcd] password_file (mtc_password.c): one line, not empty, in a regular
 * file owned by root or us that group and others cannot read or write
 * (0600, 0400), not a symlink, never waited on (a FIFO). The line, its
 * newline stripped, into buf[size] (wipe it when done: sodium_memzero);
 * its length, or -errno with msg naming the file and why. */
#define MTC_PASSWORD_MAX 256
int mtc_password_load(const char *path, char *buf, size_t size, char *msg, size_t msglen);
/* For check_files: the same, an error at [etcd] password_file; wiped. */
void mtc_password_check(const conf_origin *o, const char *path);

/* path of [client] boot_file or cmdseq_file: the configured one, or name
 * in locked_backup's directory. */
void mtc_client_state_path(const mtc_config *cfg, const char *configured, const char *name, char *buf,
			   size_t size);

#endif
