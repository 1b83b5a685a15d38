#include "hwd_config.h"
#include "fileops.h"
#include "health_wire.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const action_names[] = { "crashdump", "reboot", "log", NULL };
static const char *const fallback_names[] = { "reboot", "log", NULL };
static const char *const on_stop_names[] = { "auto", "disarm", "keep", NULL };

#define STR(sec, key, field, def, help) \
	{ sec, key, CONF_STR, offsetof(hwd_config, field), sizeof(((hwd_config *)0)->field), def, 0, 0, NULL, help, 0 }
/* Restart-only (CONF_RESTART): a reload keeps the running value. */
#define STR_RESTART(sec, key, field, def, help) \
	{ sec, key, CONF_STR, offsetof(hwd_config, field), sizeof(((hwd_config *)0)->field), def, 0, 0, NULL, help, \
	  CONF_RESTART }
#define INT(sec, key, field, def, lo, hi, help) \
	{ sec, key, CONF_INT, offsetof(hwd_config, field), 0, def, lo, hi, NULL, help, 0 }

static const conf_key hwd_keys[] = {
	STR_RESTART("watchdog", "device", device, "/dev/watchdog",
	    "Watchdog device: an existing character device (kernel ioctl API); anything else is a start error. file:PATH: test fake, one byte per kick. Empty: no kernel watchdog."),
	INT("watchdog", "timeout", timeout, "180", 2, 3600, "Seconds set on the device with WDIOC_SETTIMEOUT."),
	INT("watchdog", "kick_interval", kick_interval, "5", 1, 1800, "Seconds between kicks; must be at most timeout/2."),
	{ "watchdog", "on_stop", CONF_ENUM, offsetof(hwd_config, on_stop), 0, "auto", 0, 0, on_stop_names,
	  "On a clean stop (SIGTERM): disarm (magic close), keep (the card stays armed and resets the node unless "
	  "hostwd runs again within timeout), or auto: keep while systemd's SystemState is 'stopping' (the system "
	  "is going down, so a hung shutdown is reset), disarm otherwise and when systemd cannot be asked.", 0 },
	{ "watchdog", "realtime", CONF_BOOL, offsetof(hwd_config, realtime), 0, "1", 0, 1, NULL,
	  "Run at real-time priority (SCHED_RR 1) so load cannot delay kicks; failure is a warning.", 0 },
	{ "watchdog", "lock_memory", CONF_BOOL, offsetof(hwd_config, lock_memory), 0, "1", 0, 1, NULL,
	  "Lock the memory hostwd uses (mlockall with MCL_ONFAULT: every page it touches, its own image and stack "
	  "at start) so paging cannot delay a kick; failure is a warning.", 0 },
	STR_RESTART("health", "socket", health_socket, HEALTH_DEFAULT_SOCKET, "Unix datagram socket for health reports and status requests."),
	INT("health", "report_period", report_period, "30", 1, 3600, "Seconds between expected reports; one evaluation per period."),
	INT("health", "failure_threshold", failure_threshold, "3", 1, 100, "Consecutive bad periods before quorum failure."),
	INT("health", "start_grace", start_grace, "300", 0, 86400, "Seconds after start before bad periods count."),
	INT("health", "configure_timeout", configure_timeout, "0", 0, 604800,
	    "Seconds after start during which a report saying configured=0 (node being configured) is not a bad "
	    "period; past it such periods count as bad (reason unconfigured). 0: wait forever."),
	STR("health", "allowed_uids", allowed_uids, "0", "Comma-separated uids allowed to send reports (SO_PASSCRED)."),
	STR_RESTART("health", "socket_group", socket_group, "", "Group (name or gid) owning the health socket; empty: the daemon's group."),
	STR_RESTART("health", "socket_mode", socket_mode, "0600", "Octal mode of the health socket; who may connect at all (reports and status)."),
	{ "action", "on_quorum_failure", CONF_ENUM, offsetof(hwd_config, on_quorum_failure), 0, "crashdump", 0, 0,
	  action_names, "crashdump (sysrq c), reboot (sysrq b) or log only.", 0 },
	{ "action", "crashdump_fallback", CONF_ENUM, offsetof(hwd_config, crashdump_fallback), 0, "reboot", 0, 0,
	  fallback_names, "Action when crashdump is configured but no crash kernel is loaded: reboot or log.", 0 },
	STR("action", "kexec_crash_loaded", kexec_crash_loaded, "/sys/kernel/kexec_crash_loaded",
	    "File saying whether a crash kernel is loaded (1); crashdump is only written then."),
	INT("action", "reboot_fallback_after", reboot_fallback_after, "60", 0, 3600,
	    "Seconds after a crashdump or reboot byte: if still alive, write the reboot byte (0: never)."),
	INT("action", "crashdump_timeout", crashdump_timeout, "600", 0, 86400,
	    "Seconds set on the watchdog device (then one kick) right before the crashdump byte, so the card does "
	    "not reset the node while the crash kernel writes the vmcore; size it to the dump (0: leave the timeout)."),
	STR("action", "count_file", count_file, "/var/lib/hostwd/consecutive-actions",
	    "Persistent count of consecutive actions with no healthy period between them."),
	INT("action", "max_consecutive", max_consecutive, "3", 0, 1000,
	    "Above this many consecutive actions, log only (0: no limit); a healthy period resets the count."),
	STR("action", "sysrq_path", sysrq_path, "/proc/sysrq-trigger", "Where the action byte is written."),
	STR("action", "console_path", console_path, "/dev/kmsg", "Where the last words before the action are written; empty to skip."),
	STR("lock", "file", lock_file, HEALTH_DEFAULT_LOCK_FILE,
	    "While this file exists no quorum-failure action is taken. Up to 4 comma-separated paths: any one present "
	    "means locked (e.g. the flag and mtcclient's backup /var/persist/mtc/.node_locked)."),
	{ "fit", "enabled", CONF_BOOL, offsetof(hwd_config, fit_enabled), 0, "0", 0, 1, NULL,
	  "Fault insertion for tests: honour fault files in dir. Never in production.", 0 },
	STR("fit", "dir", fit_dir, "/run/hostwd/fit", "Fault files: drop_reports, fail_kick."),
	STR("metrics", "textfile", metrics_textfile, "",
	    "Prometheus text file rewritten every report_period (temp file and rename), for node_exporter's textfile collector; empty: no metrics."),
};


const char *hwd_action_name(int action)
{
	return action >= 0 && action < (int)ARRAY_SIZE(action_names) - 1 ? action_names[action] : "?";
}

const char *hwd_on_stop_name(int on_stop)
{
	return on_stop >= 0 && on_stop < (int)ARRAY_SIZE(on_stop_names) - 1 ? on_stop_names[on_stop] : "?";
}

static int parse_uids(hwd_config *cfg, char *msg, size_t msglen)
{
	char buf[sizeof(cfg->allowed_uids)];
	char *tok, *save = NULL;

	cfg->n_uids = 0;
	memcpy(buf, cfg->allowed_uids, sizeof(buf));
	for (tok = strtok_r(buf, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
		long v;

		if (util_parse_long(tok, 0, 0x7fffffff, &v) < 0) {
			snprintf(msg, msglen, "[health] allowed_uids: '%s' is not a uid", tok);
			return -EINVAL;
		}
		if (cfg->n_uids >= HWD_MAX_UIDS) {
			snprintf(msg, msglen, "[health] allowed_uids: more than %d uids", HWD_MAX_UIDS);
			return -EINVAL;
		}
		cfg->uids[cfg->n_uids++] = (uid_t)v;
	}
	return 0;
}

static int parse_lock_files(hwd_config *cfg, char *msg, size_t msglen)
{
	const char *p = cfg->lock_file;

	cfg->n_lock_files = 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		const char *start = p, *end = p + len;

		while (start < end && *start == ' ')
			start++;
		while (end > start && end[-1] == ' ')
			end--;
		if (end == start) {
			snprintf(msg, msglen, "[lock] file: an empty path in '%s'", cfg->lock_file);
			return -EINVAL;
		}
		if (cfg->n_lock_files >= HWD_MAX_LOCK_FILES) {
			snprintf(msg, msglen, "[lock] file: more than %d paths", HWD_MAX_LOCK_FILES);
			return -EINVAL;
		}
		snprintf(cfg->lock_files[cfg->n_lock_files++], HWD_PATH_MAX, "%.*s", (int)(end - start), start);
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

static int parse_mode(hwd_config *cfg)
{
	char *end;
	unsigned long v;

	if (!cfg->socket_mode[0])
		return -EINVAL;
	errno = 0;
	v = strtoul(cfg->socket_mode, &end, 8);
	if (errno || *end || v > 0777 || cfg->socket_mode[0] == '-' || cfg->socket_mode[0] == '+')
		return -EINVAL;
	cfg->socket_mode_bits = (mode_t)v;
	return 0;
}

static void check(void *data, const conf_origin *o)
{
	hwd_config *cfg = data;
	char msg[256];

	if (cfg->kick_interval > cfg->timeout / 2)
		conf_key_error(o, "watchdog", "kick_interval", "[watchdog] kick_interval = %d must be <= timeout/2 = %d",
			       cfg->kick_interval, cfg->timeout / 2);
	if (parse_uids(cfg, msg, sizeof(msg)) < 0)
		conf_key_error(o, "health", "allowed_uids", "%s", msg);
	if (!cfg->health_socket[0])
		conf_key_error(o, "health", "socket", "[health] socket must not be empty");
	if (parse_mode(cfg) < 0)
		conf_key_error(o, "health", "socket_mode", "[health] socket_mode = %s: not an octal mode <= 0777", cfg->socket_mode);
	if (!cfg->count_file[0] && cfg->max_consecutive > 0)
		conf_key_error(o, "action", "count_file", "[action] count_file must not be empty while max_consecutive > 0");
	if (!cfg->lock_file[0])
		conf_key_error(o, "lock", "file", "[lock] file must not be empty");
	else if (parse_lock_files(cfg, msg, sizeof(msg)) < 0)
		conf_key_error(o, "lock", "file", "%s", msg);
}

/* The files as they are now (daemon start, SIGHUP, --check-config). The
 * lock file's directory counts as written: whoever can create a file there
 * can suppress every action. */
static void check_files(void *data, const conf_origin *o)
{
	const hwd_config *cfg = data;

	conf_check_path(o, "action", "count_file", cfg->count_file, FILEOPS_REG, true);
	conf_check_path(o, "action", "kexec_crash_loaded", cfg->kexec_crash_loaded, FILEOPS_REG, false);
	conf_check_path(o, "action", "sysrq_path", cfg->sysrq_path, FILEOPS_REG | FILEOPS_CHR, false);
	conf_check_path(o, "action", "console_path", cfg->console_path, FILEOPS_REG | FILEOPS_CHR, false);
	for (unsigned i = 0; i < cfg->n_lock_files; i++)
		conf_check_path(o, "lock", "file", cfg->lock_files[i], FILEOPS_REG, true);
}

const conf_table hwd_conf_table = { hwd_keys, ARRAY_SIZE(hwd_keys), check, check_files };

int hwd_config_load(hwd_config *cfg, const char *path, conf_errors *errs)
{
	return conf_load_file(&hwd_conf_table, cfg, path, NULL, NULL, errs);
}

int hwd_config_load_string(hwd_config *cfg, const char *text, conf_errors *errs)
{
	return conf_load_string(&hwd_conf_table, cfg, "<string>", text, NULL, NULL, errs);
}

bool hwd_config_uid_allowed(const hwd_config *cfg, uid_t uid)
{
	for (unsigned i = 0; i < cfg->n_uids; i++)
		if (cfg->uids[i] == uid)
			return true;
	return false;
}
