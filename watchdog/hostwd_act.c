/* hostwd: carrying out what the policy decided: the action byte, its last
 * words and fallbacks, the consecutive-action count, and saying at start
 * what a quorum failure would really do here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileops.h"
#include "hostwd.h"
#include "hwd_action.h"
#include "log.h"
#include "util.h"

/* One write of len bytes: 0, -errno, or -EIO when it was cut short (a
 * short write leaves errno as it was, so it cannot be named by %m). */
static int write_once(int fd, const void *data, size_t len)
{
	ssize_t n = write(fd, data, len);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

static void write_best_effort(const char *path, const char *data, size_t len)
{
	_cleanup_close_ int fd = -1;
	char why[256];
	int r;

	if (!path || !*path)
		return;
	/* Non-blocking: a FIFO or a console stuck in flow control must not
	 * hold back the action byte that follows. */
	r = fileops_open_checked(path, O_WRONLY, 0, FILEOPS_REG | FILEOPS_CHR, &fd);
	if (r == 0)
		r = write_once(fd, data, len);
	if (r < 0)
		log_warn("cannot write to %s: %s", path, fileops_strerror(path, FILEOPS_REG | FILEOPS_CHR, r, why, sizeof(why)));
}

static hwd_kexec_state read_kexec(const hostwd *h)
{
	char buf[16];
	int n;

	if (!h->cfg.kexec_crash_loaded[0])
		return HWD_KEXEC_UNKNOWN;
	n = fileops_read_small(h->cfg.kexec_crash_loaded, buf, sizeof(buf));
	if (n < 0 && n != -ENOENT)
		log_warn("cannot read %s: %s", h->cfg.kexec_crash_loaded,
			 fileops_strerror(h->cfg.kexec_crash_loaded, FILEOPS_REG, n, (char[256]){ 0 }, 256));
	return hwd_kexec_parse(n >= 0 ? buf : NULL, n);
}

static void store_count(const hostwd *h)
{
	unsigned v = h->policy.consecutive;
	char buf[16];
	int n, r;

	if (!h->cfg.count_file[0])
		return;
	n = snprintf(buf, sizeof(buf), "%u\n", v);
	r = fileops_write_atomic(h->cfg.count_file, buf, (size_t)n, 0644);
	if (r < 0)
		log_err("cannot persist the consecutive-action count %u to %s: %s; the loop breaker cannot count across boots",
			v, h->cfg.count_file, fileops_strerror(h->cfg.count_file, FILEOPS_REG, r, (char[256]){ 0 }, 256));
}

void hostwd_load_count(hostwd *h)
{
	unsigned count = 0;
	char buf[16];
	int n;

	if (h->cfg.count_file[0]) {
		service_clean_leftovers(h->cfg.count_file);
		n = fileops_read_small(h->cfg.count_file, buf, sizeof(buf));
		if (n != -ENOENT && (n < 0 || hwd_count_parse(buf, n, &count) < 0)) {
			log_warn("consecutive-action count %s unreadable (%s); starting from 0", h->cfg.count_file,
				 n < 0 ? fileops_strerror(h->cfg.count_file, FILEOPS_REG, n, (char[256]){ 0 }, 256) :
					 "not a number");
			count = 0;
		}
	}
	hwd_policy_set_consecutive(&h->policy, count);
}

/* What happens to the node when the action byte could not be written,
 * said as it is, from the device we actually have. */
static const char *without_sysrq(const hostwd *h)
{
	switch (h->device ? hwd_device_get_kind(h->device) : HWD_DEV_NONE) {
	case HWD_DEV_KERNEL:
		return "hostwd stops kicking, so the kernel watchdog resets the node when its timeout expires";
	case HWD_DEV_FILE:
		return "hostwd stops kicking, but the device is a test fake: nothing resets the node";
	default:
		return "there is no watchdog device: NOTHING will reset this node";
	}
}

#define sysrq_error(h, r) fileops_strerror((h)->cfg.sysrq_path, FILEOPS_REG | FILEOPS_CHR, r, (char[256]){ 0 }, 256)

static int write_sysrq(const hostwd *h, char byte)
{
	_cleanup_close_ int fd = -1;
	int r = fileops_open_checked(h->cfg.sysrq_path, O_WRONLY, 0, FILEOPS_REG | FILEOPS_CHR, &fd);

	return r < 0 ? r : write_once(fd, &byte, 1);
}

static int on_fallback(sd_event_source *s, uint64_t usec, void *userdata)
{
	hostwd *h = userdata;
	int r;

	(void)s;
	(void)usec;
	log_emit(LOG_CRIT, MSGID_ACTION_FAILED, "still running %ds after the quorum-failure action: writing 'b' (reboot) to %s",
		 h->cfg.reboot_fallback_after, h->cfg.sysrq_path);
	r = write_sysrq(h, 'b');
	if (r < 0)
		log_emit(LOG_CRIT, MSGID_ACTION_FAILED, "reboot fallback NOT taken: cannot write 'b' to %s: %s; %s",
			 h->cfg.sysrq_path, sysrq_error(h, r), without_sysrq(h));
	return 0;
}

static void arm_reboot_fallback(hostwd *h)
{
	uint64_t t;

	if (h->cfg.reboot_fallback_after <= 0 || h->fallback_src)
		return;
	sd_event_now(h->event, CLOCK_MONOTONIC, &t);
	if (sd_event_add_time(h->event, &h->fallback_src, CLOCK_MONOTONIC,
			      t + (uint64_t)h->cfg.reboot_fallback_after * USEC_PER_SEC, USEC_PER_MSEC, on_fallback, h) < 0)
		log_err("cannot arm the reboot fallback timer");
}

/* The crash kernel writes the vmcore while the card keeps counting: give
 * it crashdump_timeout, and one kick so that time starts now. */
static void prepare_crashdump(hostwd *h)
{
	int t = 0, r;

	if (hwd_device_get_kind(h->device) == HWD_DEV_NONE)
		return;
	if (h->cfg.crashdump_timeout <= 0) {
		log_notice("[action] crashdump_timeout = 0: the watchdog timeout stays %ds during the crashdump", h->timeout_s);
		return;
	}
	r = hwd_device_prepare_crashdump(h->device, h->cfg.crashdump_timeout, &t);
	if (r < 0) {
		log_err("cannot set the crashdump watchdog timeout %ds: %s; the card may reset the node %ds after the last "
			"kick, during the dump", h->cfg.crashdump_timeout, strerror(-r), h->timeout_s);
		return;
	}
	if (t != h->cfg.crashdump_timeout)
		log_warn("watchdog driver chose timeout %ds instead of [action] crashdump_timeout = %ds", t,
			 h->cfg.crashdump_timeout);
	log_notice("watchdog timeout %ds for the crashdump (was %ds), kicked once; no more kicks", t, h->timeout_s);
	h->timeout_s = t;
}

/* Carries out the plan hwd_policy_confirm() decided: say it, count it,
 * write the byte. Kicking has already stopped unless the plan only logs. */
static void take_action(hostwd *h)
{
	const hwd_action_plan plan = h->policy.plan;
	const char *name = hwd_action_name(plan.action), *reason = REASON(h);
	char last_words[256], why[HWD_PATH_MAX + 128] = "";
	char byte;
	int n, r;

	h->n.actions++;
	h->n.actions_by[plan.action][plan.why]++;
	if (plan.why == HWD_WHY_LIMIT) {
		log_emit(LOG_CRIT, MSGID_ACTION_LIMIT,
			 "quorum failure: log (%s for %d periods of %ds); LOG ONLY: %u consecutive %s actions with no healthy "
			 "period between them reached [action] max_consecutive = %d; no action until a healthy period",
			 reason, h->cfg.failure_threshold, h->cfg.report_period, h->policy.consecutive,
			 hwd_action_name(h->cfg.on_quorum_failure), h->cfg.max_consecutive);
		return;
	}
	if (plan.why == HWD_WHY_NO_CRASH_KERNEL || plan.why == HWD_WHY_KEXEC_UNKNOWN)
		snprintf(why, sizeof(why), "; crashdump configured but %s (%s), so %s per crashdump_fallback",
			 plan.why == HWD_WHY_NO_CRASH_KERNEL ? "no crash kernel is loaded" : "the crash kernel state is unknown",
			 h->cfg.kexec_crash_loaded[0] ? h->cfg.kexec_crash_loaded : "kexec_crash_loaded unset", name);
	log_emit_fields(LOG_CRIT, MSGID_QUORUM_FAILURE,
			(const char *[]){ LOG_FIELD("HWD_ACTION=%s", name),
					  LOG_FIELD("HWD_REASON=%s", health_reason_code(h->policy.reason)),
					  LOG_FIELD("HWD_CONSECUTIVE=%u", h->policy.consecutive), NULL },
			"quorum failure: %s (%s for %d periods of %ds)%s", name, reason, h->cfg.failure_threshold,
			h->cfg.report_period, why);
	if (plan.action == HWD_ACTION_LOG)
		return;

	store_count(h);
	n = snprintf(last_words, sizeof(last_words), "<2>hostwd: quorum failure: %s (%s)\n", name, reason);
	write_best_effort(h->cfg.console_path, last_words, (size_t)n);
	byte = plan.action == HWD_ACTION_REBOOT ? 'b' : 'c';
	if (byte == 'c')
		prepare_crashdump(h);
	r = write_sysrq(h, byte);
	if (r < 0) {
		log_emit(LOG_CRIT, MSGID_ACTION_FAILED, "quorum failure: %s NOT taken: cannot write '%c' to %s: %s; %s "
			 "(kicking resumes if the node is locked, healthy or being configured)", name,
			 byte, h->cfg.sysrq_path, sysrq_error(h, r), without_sysrq(h));
		hwd_policy_action_failed(&h->policy);
	}
	arm_reboot_fallback(h);
}

void hostwd_handle_event(hostwd *h, hwd_event ev)
{
	switch (ev) {
	case HWD_EV_GRACE:
		log_info("bad period inside start grace, not counted (%s)", REASON(h));
		break;
	case HWD_EV_BAD_PERIOD:
		log_warn("bad period %u/%d: %s", h->policy.bad_periods, h->cfg.failure_threshold, REASON(h));
		break;
	case HWD_EV_SUPPRESSED:
		log_emit_fields(LOG_NOTICE, MSGID_QUORUM_SUPPRESSED,
				(const char *[]){ LOG_FIELD("HWD_REASON=%s", health_reason_code(h->policy.reason)), NULL },
				"quorum failure suppressed: node locked (%s, %u/%d bad periods frozen)", REASON(h),
				h->policy.bad_periods, h->cfg.failure_threshold);
		break;
	case HWD_EV_LOCKED:
		log_debug("bad period while locked (%s)", REASON(h));
		break;
	case HWD_EV_PROPOSE: {
		/* Last look at the lock file right before acting. */
		hwd_policy_cfg pc = hostwd_policy_cfg(&h->cfg);
		hwd_kexec_state kexec = pc.action == HWD_ACTION_CRASHDUMP ? read_kexec(h) : HWD_KEXEC_UNKNOWN;

		hostwd_handle_event(h, hwd_policy_confirm(&h->policy, &pc, hostwd_lock_present(h), kexec));
		break;
	}
	case HWD_EV_ACT:
		take_action(h);
		break;
	case HWD_EV_RESTORED:
		log_emit(LOG_NOTICE, MSGID_QUORUM_RESTORED, "quorum restored");
		break;
	case HWD_EV_HEALTHY:
		store_count(h);
		break;
	case HWD_EV_CONFIGURING:
		log_emit(LOG_NOTICE, MSGID_CONFIGURING,
			 "waiting for configuration: the monitor reports configured=0; nothing is counted and the watchdog is "
			 "kicked until it reports configured=1%s", h->cfg.configure_timeout ? "" : " ([health] configure_timeout = 0: no limit)");
		break;
	case HWD_EV_CONFIGURED:
		log_emit(LOG_NOTICE, MSGID_CONFIGURING, "configured: quorum-failure checks armed");
		break;
	case HWD_EV_NONE:
		break;
	}
	hostwd_update_status(h);
}

/* Say at start, loudly, what a quorum failure would really do here. */
void hostwd_check_action(hostwd *h)
{
	const char *name = hwd_action_name(h->cfg.on_quorum_failure);

	h->action_blocked[0] = '\0';
	if (hostwd_log_only(h))
		log_emit(LOG_CRIT, MSGID_ACTION_LIMIT,
			 "LOG ONLY: %u consecutive quorum-failure actions with no healthy period between them (%s) reached "
			 "[action] max_consecutive = %d; no action until a healthy period",
			 h->policy.consecutive, h->cfg.count_file, h->cfg.max_consecutive);
	if (h->cfg.on_quorum_failure == HWD_ACTION_LOG)
		return;
	if (h->cfg.count_file[0] && h->cfg.max_consecutive > 0) {
		char dir[sizeof(h->cfg.count_file)], *slash;
		int r = 0;

		snprintf(dir, sizeof(dir), "%s", h->cfg.count_file);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			r = fileops_mkdir_parents(dir, 0755);
			if (r == 0 && access(dir, W_OK) < 0)
				r = -errno;
		}
		if (r < 0)
			log_emit(LOG_CRIT, MSGID_ACTION_UNAVAILABLE,
				 "cannot write the consecutive-action count in %s: %s; the crash-loop breaker "
				 "(max_consecutive = %d) will not count across boots", dir, strerror(-r), h->cfg.max_consecutive);
	}
	if (access(h->cfg.sysrq_path, W_OK) < 0) {
		int err = errno;

		snprintf(h->action_blocked, sizeof(h->action_blocked), "%s: %s", h->cfg.sysrq_path, strerror(err));
		log_emit(LOG_CRIT, MSGID_ACTION_UNAVAILABLE,
			 "cannot take the quorum-failure action %s: %s; on quorum failure %s", name, h->action_blocked,
			 without_sysrq(h));
	}
	if (h->cfg.on_quorum_failure == HWD_ACTION_CRASHDUMP && read_kexec(h) != HWD_KEXEC_LOADED)
		log_warn("crashdump configured but no crash kernel is loaded (%s): a quorum failure will %s instead",
			 h->cfg.kexec_crash_loaded[0] ? h->cfg.kexec_crash_loaded : "kexec_crash_loaded unset",
			 h->cfg.crashdump_fallback ? "only be logged" : "reboot");
}
