/* hostwd.conf: the table, the struct it fills, cross-field checks. */
#ifndef HWD_CONFIG_H
#define HWD_CONFIG_H

#include <stdbool.h>
#include <sys/types.h>

#include "conf.h"

#define HWD_DEFAULT_CONFIG "/etc/hostwd/hostwd.conf"
#define HWD_PATH_MAX 192
#define HWD_MAX_UIDS 16
#define HWD_MAX_LOCK_FILES 4

typedef enum hwd_action { HWD_ACTION_CRASHDUMP, HWD_ACTION_REBOOT, HWD_ACTION_LOG } hwd_action;

typedef enum hwd_on_stop { HWD_ON_STOP_AUTO, HWD_ON_STOP_DISARM, HWD_ON_STOP_KEEP } hwd_on_stop;

typedef struct hwd_config {
	char device[HWD_PATH_MAX];
	int timeout;
	int kick_interval;
	int on_stop; /* hwd_on_stop */
	bool realtime;
	bool lock_memory;
	char health_socket[108];
	int report_period;
	int failure_threshold;
	int start_grace;
	int configure_timeout;
	char allowed_uids[128];
	char socket_group[64];
	char socket_mode[8];
	int on_quorum_failure; /* hwd_action */
	int crashdump_fallback; /* 0 reboot, 1 log */
	char kexec_crash_loaded[HWD_PATH_MAX];
	int reboot_fallback_after;
	int crashdump_timeout;
	char count_file[HWD_PATH_MAX];
	int max_consecutive;
	char sysrq_path[HWD_PATH_MAX];
	char console_path[HWD_PATH_MAX];
	char lock_file[HWD_PATH_MAX];
	bool fit_enabled;
	char fit_dir[HWD_PATH_MAX];

	/* derived by hwd_config_load */
	uid_t uids[HWD_MAX_UIDS];
	unsigned n_uids;
	char lock_files[HWD_MAX_LOCK_FILES][HWD_PATH_MAX]; /* [lock] file split at commas */
	unsigned n_lock_files;
	mode_t socket_mode_bits;
} hwd_config;

extern const conf_table hwd_conf_table;

/* Load and validate; errors go to errs as "file:line: message". */
int hwd_config_load(hwd_config *cfg, const char *path, conf_errors *errs);
int hwd_config_load_string(hwd_config *cfg, const char *text, conf_errors *errs);

bool hwd_config_uid_allowed(const hwd_config *cfg, uid_t uid);
const char *hwd_action_name(int action);
const char *hwd_on_stop_name(int on_stop);

#endif
