/* hostwd: kicks the watchdog device, listens for health reports, and forces
 * a crashdump when quorum stays lost, unless the node is locked. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "fileops.h"
#include "hwd_action.h"
#include "hwd_config.h"
#include "hwd_device.h"
#include "hwd_policy.h"
#include "hwd_report.h"
#include "kvtext.h"
#include "log.h"
#include "notify.h"
#include "service.h"
#include "unixsock.h"
#include "util.h"

/* Stable MESSAGE_IDs of hostwd's own loud lines (docs/operations.md). */
#define MSGID_ACTION_LIMIT "4b1d7e0c9a3f4c55b0f2d6e8a1c3e5f7"
#define MSGID_ACTION_FAILED "9e2c4a6b8d0f4e13a5c7e9b1d3f5a7c9"
#define MSGID_ACTION_UNAVAILABLE "d1e3f5a7b9c14d2e8f0a2c4e6b8d0f12"
#define MSGID_NO_BACKSTOP "6a8c0e2f4b6d48f1a3c5e7f9b1d3e5a7"

/* Descriptors one datagram may carry before it is cut (MSG_CTRUNC); the
 * kernel drops the rest, we close what we got. */
#define HWD_MAX_RX_FDS 4

typedef struct hwd_counters {
	unsigned long reports, malformed, rejected, dropped_fit, status_requests;
	unsigned long kicks, kick_failures, actions;
	/* at the last per-period summary, so a flood logs one line a period */
	unsigned long malformed_logged, rejected_logged;
	long last_rejected_uid;
} hwd_counters;

typedef struct hostwd {
	service svc;
	hwd_config cfg;
	sd_event *event;
	sd_event_source *kick_src, *period_src, *health_src, *fallback_src;
	hwd_device *device;
	int health_fd;
	hwd_policy policy;
	hwd_counters n;
	int timeout_s;         /* as the driver accepted it (WDIOC_GETTIMEOUT), or configured for a fake */
	char action_blocked[HWD_PATH_MAX + 64]; /* why the action cannot be taken, "" if it can */
	bool fit_drop_reports, fit_fail_kick; /* last seen, for log-once */
	bool lock_not_regular;  /* something other than a file at [lock] file, said once */
	char last_status[512];
} hostwd;

static hwd_policy_cfg policy_cfg(const hwd_config *c)
{
	return (hwd_policy_cfg){
		.period_ms = (uint64_t)c->report_period * MSEC_PER_SEC,
		.grace_ms = (uint64_t)c->start_grace * MSEC_PER_SEC,
		.threshold = (unsigned)c->failure_threshold,
		.action = (hwd_action)c->on_quorum_failure,
		.fallback = c->crashdump_fallback ? HWD_ACTION_LOG : HWD_ACTION_REBOOT,
		.max_consecutive = (unsigned)c->max_consecutive,
	};
}

/* The reason of the last bad period as text, valid in the caller's block. */
#define REASON(h) hwd_policy_reason_text(&(h)->policy, (char[HWD_REASON_MAX]){ 0 }, HWD_REASON_MAX)

static bool log_only(const hostwd *h)
{
	hwd_policy_cfg pc = policy_cfg(&h->cfg);

	return hwd_policy_log_only(&h->policy, &pc);
}

/* Only a regular file is the flag (mtcclient renames one into place): a
 * symlink, FIFO or directory there is not, so it cannot hold off actions
 * forever. */
static bool lock_present(const hostwd *h)
{
	return fileops_flag_present(h->cfg.lock_file);
}

static void note_lock_not_regular(hostwd *h)
{
	struct stat st;
	bool odd = lstat(h->cfg.lock_file, &st) == 0 && !S_ISREG(st.st_mode);

	if (odd && !h->lock_not_regular)
		log_emit(LOG_CRIT, MSGID_ACTION_UNAVAILABLE,
			 "lock file %s is a %s, not a regular file: not a lock flag, the node is NOT treated as locked",
			 h->cfg.lock_file, util_file_type_name(st.st_mode));
	h->lock_not_regular = odd;
}

/* A fault file applies while it exists; log when it starts and stops. */
static bool fit_check(hostwd *h, const char *name, bool *was)
{
	char path[HWD_PATH_MAX + 32];
	bool on;

	if (!h->cfg.fit_enabled)
		return false;
	snprintf(path, sizeof(path), "%s/%s", h->cfg.fit_dir, name);
	on = util_path_exists(path);
	if (on != *was)
		log_emit(LOG_WARNING, MSGID_FIT, "FIT %s: %s", name, on ? "injecting" : "cleared");
	*was = on;
	return on;
}

static const char *quorum_text(const hostwd *h, uint64_t now)
{
	hwd_policy_cfg pc = policy_cfg(&h->cfg);

	if (!hwd_policy_report_fresh(&h->policy, &pc, now))
		return "unknown";
	return h->policy.last.quorum_ok ? "ok" : "lost";
}

static void state_text(const hostwd *h, char *buf, size_t size)
{
	const hwd_policy *p = &h->policy;
	uint64_t now = util_now_ms();

	if (p->failed)
		snprintf(buf, size, "failed: quorum failure: %s (%s)", hwd_action_name(h->cfg.on_quorum_failure), REASON(h));
	else if (p->suppressed)
		snprintf(buf, size, "locked: quorum failure suppressed (%s)", REASON(h));
	else if (p->bad_periods > 0)
		snprintf(buf, size, "degraded: %u/%d bad periods (%s)", p->bad_periods, h->cfg.failure_threshold, REASON(h));
	else if (now - p->start_ms < (uint64_t)h->cfg.start_grace * MSEC_PER_SEC)
		snprintf(buf, size, "starting: quorum %s, grace %llus left", quorum_text(h, now),
			 (unsigned long long)(((uint64_t)h->cfg.start_grace * MSEC_PER_SEC - (now - p->start_ms)) / 1000));
	else
		snprintf(buf, size, "quorum %s", quorum_text(h, now));
}

static void update_status(hostwd *h)
{
	char buf[sizeof(h->last_status)];
	size_t len;

	state_text(h, buf, sizeof(buf));
	len = strlen(buf);
	if (log_only(h))
		snprintf(buf + len, sizeof(buf) - len, " [LOG ONLY: %u consecutive actions, max_consecutive %d]",
			 h->policy.consecutive, h->cfg.max_consecutive);
	else if (h->action_blocked[0])
		snprintf(buf + len, sizeof(buf) - len, " [ACTION UNAVAILABLE: %s]", h->action_blocked);
	if (strcmp(buf, h->last_status) == 0)
		return;
	memcpy(h->last_status, buf, sizeof(buf));
	notify_status("%s", buf);
}

static int format_status(const hostwd *h, char *buf, size_t size)
{
	const hwd_policy *p = &h->policy;
	uint64_t now = util_now_ms();
	long age = p->have_report ? (long)((now - p->last_report_ms) / 1000) : -1;
	const char *state = p->failed ? "failed" : p->suppressed ? "suppressed" :
			    p->bad_periods ? "degraded" : "ok";

	return snprintf(buf, size,
			"v1 state=%s locked=%d configured=%d quorum=%s bad_periods=%u failure_threshold=%d "
			"suppressed=%d action=%s last_report_age_s=%ld reason=%s reason_process=%s "
			"reports=%lu malformed=%lu rejected=%lu dropped_fit=%lu kicks=%lu kick_failures=%lu "
			"actions=%lu kicking=%d device=%s action_ready=%d consecutive_actions=%u max_consecutive=%d "
			"log_only=%d timeout_s=%d",
			state, lock_present(h), p->have_report && p->last.configured, quorum_text(h, now),
			p->bad_periods, h->cfg.failure_threshold, p->suppressed,
			hwd_action_name(h->cfg.on_quorum_failure), age, health_reason_code(p->reason),
			p->reason == HEALTH_REASON_PROCESS_LOST ? p->reason_process : "-",
			h->n.reports, h->n.malformed, h->n.rejected, h->n.dropped_fit, h->n.kicks,
			h->n.kick_failures, h->n.actions, hwd_policy_kick(p),
			h->device ? hwd_device_kind_name(hwd_device_get_kind(h->device)) : "none",
			!h->action_blocked[0] && !log_only(h), p->consecutive, h->cfg.max_consecutive, log_only(h),
			h->timeout_s);
}

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

static void load_count(hostwd *h)
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
	r = write_sysrq(h, byte);
	if (r < 0)
		log_emit(LOG_CRIT, MSGID_ACTION_FAILED, "quorum failure: %s NOT taken: cannot write '%c' to %s: %s; %s", name,
			 byte, h->cfg.sysrq_path, sysrq_error(h, r), without_sysrq(h));
	arm_reboot_fallback(h);
}

static void handle_event(hostwd *h, hwd_event ev)
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
		hwd_policy_cfg pc = policy_cfg(&h->cfg);
		hwd_kexec_state kexec = pc.action == HWD_ACTION_CRASHDUMP ? read_kexec(h) : HWD_KEXEC_UNKNOWN;

		handle_event(h, hwd_policy_confirm(&h->policy, &pc, lock_present(h), kexec));
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
	case HWD_EV_NONE:
		break;
	}
	update_status(h);
}

static int on_kick(sd_event_source *s, uint64_t usec, void *userdata)
{
	hostwd *h = userdata;
	int r;

	if (!hwd_policy_kick(&h->policy))
		return 0;
	if (fit_check(h, "fail_kick", &h->fit_fail_kick)) {
		h->n.kick_failures++;
	} else {
		r = hwd_device_kick(h->device);
		if (r < 0) {
			if (h->n.kick_failures++ == 0 || h->n.kick_failures % 100 == 0)
				log_warn("watchdog kick failed: %s (%lu failures)", strerror(-r), h->n.kick_failures);
		} else {
			h->n.kicks++;
		}
	}
	return service_rearm(s, usec, (uint64_t)h->cfg.kick_interval * USEC_PER_SEC);
}

static int on_period(sd_event_source *s, uint64_t usec, void *userdata)
{
	hostwd *h = userdata;
	hwd_policy_cfg pc = policy_cfg(&h->cfg);

	unsigned count = h->policy.consecutive;
	bool was_log_only = log_only(h);
	hwd_event ev;

	note_lock_not_regular(h);
	ev = hwd_policy_period_end(&h->policy, &pc, util_now_ms(), lock_present(h));

	if (ev == HWD_EV_HEALTHY)
		log_emit(LOG_NOTICE, MSGID_ACTION_LIMIT, "healthy period: consecutive-action count %u reset to 0%s",
			 count, was_log_only ? "; quorum-failure action re-armed (was LOG ONLY)" : "");
	handle_event(h, ev);
	/* A flood of bad datagrams costs one line a period, not one each. */
	if (h->n.rejected != h->n.rejected_logged) {
		log_warn("report from uid %ld rejected: not in [health] allowed_uids (%lu in the last period, %lu so far)",
			 h->n.last_rejected_uid, h->n.rejected - h->n.rejected_logged, h->n.rejected);
		h->n.rejected_logged = h->n.rejected;
	}
	if (h->n.malformed != h->n.malformed_logged) {
		log_warn("malformed health datagrams dropped: %lu in the last period, %lu so far",
			 h->n.malformed - h->n.malformed_logged, h->n.malformed);
		h->n.malformed_logged = h->n.malformed;
	}
	return service_rearm(s, usec, (uint64_t)h->cfg.report_period * USEC_PER_SEC);
}

/* The reply goes only into the socket the request carried: no address,
 * so it crosses network namespaces, and nobody else can answer in our
 * name. Only a unix datagram socket is written to, never blocking. */
static void reply_status(hostwd *h, int reply_fd)
{
	char buf[KV_MAX_MSG];
	int domain = 0, type = 0, n;
	socklen_t l1 = sizeof(domain), l2 = sizeof(type);

	h->n.status_requests++;
	if (getsockopt(reply_fd, SOL_SOCKET, SO_DOMAIN, &domain, &l1) < 0 ||
	    getsockopt(reply_fd, SOL_SOCKET, SO_TYPE, &type, &l2) < 0 || domain != AF_UNIX || type != SOCK_DGRAM) {
		h->n.malformed++;
		return;
	}
	n = format_status(h, buf, sizeof(buf));
	if (send(reply_fd, buf, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		log_debug("status reply failed: %m");
}

/* Every descriptor a datagram brings is closed, whatever the datagram, or
 * anyone able to send could exhaust our fd table. A socket with a linger
 * time set could make close() wait: clear it first. */
static void close_received(const int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct linger off = { 0, 0 };

		setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &off, sizeof(off));
		close(fds[i]);
	}
}

static void handle_datagram(hostwd *h, const char *buf, ssize_t len, bool truncated, const struct ucred *cred,
			    const int *fds, unsigned n_fds)
{
	hwd_report rep;
	hwd_event ev;
	int k = hwd_report_parse(buf, (size_t)len, &rep);

	switch (hwd_intake_classify(k, truncated, cred != NULL, cred && hwd_config_uid_allowed(&h->cfg, cred->uid), n_fds)) {
	case HWD_IN_MALFORMED:
		h->n.malformed++;
		return;
	case HWD_IN_STATUS:
		reply_status(h, fds[0]);
		return;
	case HWD_IN_REJECTED:
		h->n.rejected++;
		h->n.last_rejected_uid = cred ? (long)cred->uid : -1L;
		return;
	case HWD_IN_REPORT:
		break;
	}
	if (fit_check(h, "drop_reports", &h->fit_drop_reports)) {
		h->n.dropped_fit++;
		return;
	}
	h->n.reports++;
	ev = hwd_policy_report(&h->policy, &rep, util_now_ms());
	handle_event(h, ev);
}

static int on_health(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	hostwd *h = userdata;

	(void)s;
	(void)revents;
	/* Drain, bounded per wakeup so a flood cannot starve the timers (which
	 * also run at a higher priority); the fd stays readable if more wait. */
	for (int i = 0; i < 256; i++) {
		char buf[KV_MAX_MSG + 1];
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * HWD_MAX_RX_FDS)];
		} control;
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh = {
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = &control, .msg_controllen = sizeof(control),
		};
		const struct ucred *cred = NULL;
		int fds[HWD_MAX_RX_FDS * 2];
		unsigned n_fds = 0;
		ssize_t n;

		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_warn("health socket receive failed: %m");
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level != SOL_SOCKET)
				continue;
			if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
				cred = (const struct ucred *)CMSG_DATA(c);
			} else if (c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
				size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

				for (size_t j = 0; j < k && n_fds < ARRAY_SIZE(fds); j++)
					memcpy(&fds[n_fds++], CMSG_DATA(c) + j * sizeof(int), sizeof(int));
			}
		}
		handle_datagram(h, buf, n, mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC), cred, fds, n_fds);
		close_received(fds, n_fds);
	}
	return 0;
}

static int resolve_group(const char *name, gid_t *ret)
{
	struct group gr, *res = NULL;
	char buf[1024];
	long v;

	if (util_parse_long(name, 0, 0x7fffffff, &v) == 0) {
		*ret = (gid_t)v;
		return 0;
	}
	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return -ESRCH;
	*ret = res->gr_gid;
	return 0;
}

/* Who may connect at all is decided by the file system: the socket is
 * created closed (umask 0177) and then given its group and mode, so it is
 * never open to everyone, not even for a moment. */
static int health_open(const hwd_config *c, int *ret_fd)
{
	char dir[sizeof(c->health_socket)], *slash;
	int one = 1, rcvbuf = 1 << 20, fd, r;
	gid_t gid = (gid_t)-1;
	mode_t old;

	if (c->socket_group[0] && resolve_group(c->socket_group, &gid) < 0) {
		log_err("[health] socket_group '%s': no such group", c->socket_group);
		return -ESRCH;
	}
	snprintf(dir, sizeof(dir), "%s", c->health_socket);
	slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		r = fileops_mkdir_parents(dir, 0755);
		if (r < 0)
			return r;
	}
	old = umask(0177);
	r = unixsock_bind(c->health_socket, SOCK_DGRAM, &fd);
	umask(old);
	if (r < 0)
		return r;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    (gid != (gid_t)-1 && chown(c->health_socket, (uid_t)-1, gid) < 0) ||
	    chmod(c->health_socket, c->socket_mode_bits) < 0) {
		r = -errno;
		close(fd);
		unlink(c->health_socket);
		return r;
	}
	/* Room for bursts; the queue length itself is net.unix.max_dgram_qlen. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	*ret_fd = fd;
	return 0;
}

static void check_action(hostwd *h);

static int reload(void *userdata)
{
	hostwd *h = userdata;
	bool count_moved;
	hwd_config next;
	int t;

	if (service_load_config(&h->svc, &next) < 0) {
		log_err("reload of %s failed; keeping the running configuration", h->svc.config_path);
		return 0;
	}
	if (strcmp(next.device, h->cfg.device) != 0 || strcmp(next.health_socket, h->cfg.health_socket) != 0) {
		log_warn("reload: [watchdog] device and [health] socket changes need a restart; keeping %s and %s",
			 h->cfg.device, h->cfg.health_socket);
		memcpy(next.device, h->cfg.device, sizeof(next.device));
		memcpy(next.health_socket, h->cfg.health_socket, sizeof(next.health_socket));
	}
	if (strcmp(next.socket_group, h->cfg.socket_group) != 0 || strcmp(next.socket_mode, h->cfg.socket_mode) != 0) {
		log_warn("reload: [health] socket_group and socket_mode changes need a restart; keeping '%s' and %s",
			 h->cfg.socket_group, h->cfg.socket_mode);
		memcpy(next.socket_group, h->cfg.socket_group, sizeof(next.socket_group));
		memcpy(next.socket_mode, h->cfg.socket_mode, sizeof(next.socket_mode));
		next.socket_mode_bits = h->cfg.socket_mode_bits;
	}
	if (next.timeout != h->cfg.timeout) {
		int r = hwd_device_set_timeout(h->device, next.timeout, &t);

		if (r < 0) {
			log_warn("reload: cannot set watchdog timeout %d: %s", next.timeout, strerror(-r));
		} else {
			if (t != next.timeout)
				log_warn("watchdog driver chose timeout %ds instead of %ds", t, next.timeout);
			h->timeout_s = t;
		}
	}
	if (next.fit_enabled && !h->cfg.fit_enabled)
		log_emit(LOG_WARNING, MSGID_FIT, "FIT enabled: fault files in %s are honoured", next.fit_dir);
	count_moved = strcmp(next.count_file, h->cfg.count_file) != 0;
	h->cfg = next;
	log_notice("configuration reloaded from %s", h->svc.config_path);
	if (count_moved)
		load_count(h);
	check_action(h);
	update_status(h);
	return 0;
}

/* sbd and Debian's watchdog do the same: a kick must not wait for the
 * scheduler or for paging. Neither is fatal: containers often refuse. */
static void harden(const hostwd *h)
{
	if (h->cfg.lock_memory) {
#if defined(__SANITIZE_ADDRESS__)
		log_warn("[watchdog] lock_memory: skipped in a sanitizer build (its shadow memory cannot be locked)");
#else
		struct rlimit rl;
		/* MCL_FUTURE under a finite RLIMIT_MEMLOCK would make later
		 * allocations fail once the limit is reached: lock what we
		 * have then, and say so. */
		bool future = getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY;

		if (mlockall(MCL_CURRENT | (future ? MCL_FUTURE : 0)) < 0)
			log_warn("[watchdog] lock_memory: mlockall failed: %m; kicks may wait for paging "
				 "(needs LimitMEMLOCK=infinity)");
		else if (!future)
			log_warn("[watchdog] lock_memory: RLIMIT_MEMLOCK is finite, so only memory mapped at start is locked "
				 "(needs LimitMEMLOCK=infinity)");
#endif
	}
	if (h->cfg.realtime) {
		struct sched_param sp = { .sched_priority = 1 };

		if (sched_setscheduler(0, SCHED_RR | SCHED_RESET_ON_FORK, &sp) < 0)
			log_warn("[watchdog] realtime: cannot run at SCHED_RR priority 1: %m; kicks may be delayed under load "
				 "(needs CAP_SYS_NICE and RestrictRealtime=no)");
	}
}

static void device_error(const char *path, int r)
{
	struct stat st;
	const char *what = "not a character device";

	if (r == -ENODEV && stat(strncmp(path, HWD_DEVICE_FAKE_PREFIX, strlen(HWD_DEVICE_FAKE_PREFIX)) == 0 ?
				 path + strlen(HWD_DEVICE_FAKE_PREFIX) : path, &st) == 0)
		what = S_ISDIR(st.st_mode) ? "a directory" : S_ISREG(st.st_mode) ? "a regular file" : "not a character device";
	if (strncmp(path, HWD_DEVICE_FAKE_PREFIX, strlen(HWD_DEVICE_FAKE_PREFIX)) == 0)
		log_err("cannot open watchdog device '%s': %s", path,
			r == -ENODEV ? "a test fake must be a regular file or a FIFO" : strerror(-r));
	else if (r == -ENOENT)
		log_err("cannot open watchdog device '%s': no such file; refusing to start without the configured watchdog "
			"(empty [watchdog] device: none, file:PATH: test fake)", path);
	else if (r == -ENODEV)
		log_err("cannot open watchdog device '%s': %s, not a watchdog; refusing to start (a test fake is written "
			"file:%s)", path, what, path);
	else
		log_err("cannot open watchdog device '%s': %s", path, strerror(-r));
}

/* Say at start, loudly, what a quorum failure would really do here. */
static void check_action(hostwd *h)
{
	const char *name = hwd_action_name(h->cfg.on_quorum_failure);

	h->action_blocked[0] = '\0';
	if (log_only(h))
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

/* Open the configured device and say loudly when it is no real backstop. */
static int open_device(hostwd *h)
{
	int r = hwd_device_open(h->cfg.device, h->cfg.timeout, &h->device, &h->timeout_s);

	if (r < 0) {
		device_error(h->cfg.device, r);
		return r;
	}
	if (h->timeout_s != h->cfg.timeout)
		log_warn("watchdog driver chose timeout %ds instead of %ds", h->timeout_s, h->cfg.timeout);
	if (hwd_device_get_kind(h->device) == HWD_DEV_FILE)
		log_emit(LOG_WARNING, MSGID_NO_BACKSTOP, "watchdog device is a TEST FAKE (%s): no hardware backstop", h->cfg.device);
	else if (hwd_device_get_kind(h->device) == HWD_DEV_NONE)
		log_emit(LOG_WARNING, MSGID_NO_BACKSTOP,
			 "no watchdog device configured ([watchdog] device is empty): nothing resets this node if hostwd or the kernel hangs");
	return 0;
}

static int setup_loop(hostwd *h)
{
	uint64_t t0;
	int r;

	r = sd_event_default(&h->event);
	if (r >= 0)
		r = service_signals(&h->svc, h->event, reload, h);
	if (r < 0)
		return r;
	/* Pings WATCHDOG=1 at half of WATCHDOG_USEC from the loop itself. */
	sd_event_set_watchdog(h->event, true);
	sd_event_now(h->event, CLOCK_MONOTONIC, &t0);
	r = sd_event_add_time(h->event, &h->kick_src, CLOCK_MONOTONIC, t0, 10 * USEC_PER_MSEC, on_kick, h);
	if (r >= 0)
		r = sd_event_add_time(h->event, &h->period_src, CLOCK_MONOTONIC,
				      t0 + (uint64_t)h->cfg.report_period * USEC_PER_SEC, 1 * USEC_PER_MSEC, on_period, h);
	if (r >= 0)
		r = sd_event_add_io(h->event, &h->health_src, h->health_fd, EPOLLIN, on_health, h);
	/* Kicks and period ends before any datagram, however many wait. */
	if (r >= 0)
		r = sd_event_source_set_priority(h->kick_src, SD_EVENT_PRIORITY_IMPORTANT);
	if (r >= 0)
		r = sd_event_source_set_priority(h->period_src, SD_EVENT_PRIORITY_IMPORTANT);
	if (r < 0)
		log_err("event loop setup failed: %s", strerror(-r));
	return r;
}

static void stop(hostwd *h)
{
	/* Clean stop: disarm, unless an action was decided and the reset is wanted. */
	hwd_device_close(h->device, hwd_policy_kick(&h->policy));
	h->device = NULL;
	sd_event_source_unref(h->kick_src);
	sd_event_source_unref(h->period_src);
	sd_event_source_unref(h->health_src);
	sd_event_source_unref(h->fallback_src);
	sd_event_unref(h->event);
	close(h->health_fd);
	unlink(h->cfg.health_socket);
	log_notice("stopped");
}

/* A start that fails after the device was opened (armed) disarms it: a
 * configuration error must not reset the node, locked or not, timeout
 * seconds later; systemd restarts hostwd, which arms it again. */
static int failed_start(hostwd *h, int r)
{
	hwd_device_kind kind = hwd_device_get_kind(h->device);

	hwd_device_close(h->device, 1);
	h->device = NULL;
	if (kind == HWD_DEV_NONE)
		log_err("hostwd did not start");
	else
		log_err("hostwd did not start: the watchdog device was disarmed (magic close 'V' written; a driver "
			"built or loaded with nowayout keeps counting and resets the node); nothing else resets this "
			"node on a hang until hostwd runs");
	return r;
}

static int run(hostwd *h)
{
	int r;

	if (h->cfg.fit_enabled)
		log_emit(LOG_WARNING, MSGID_FIT, "FIT enabled: fault files in %s are honoured; never use in production",
			 h->cfg.fit_dir);
	harden(h);
	r = open_device(h);
	if (r < 0)
		return r;
	r = health_open(&h->cfg, &h->health_fd);
	if (r < 0) {
		log_err("cannot open health socket %s: %s", h->cfg.health_socket,
			r == -EEXIST ? "path exists and is not a socket" : strerror(-r));
		return failed_start(h, r);
	}
	hwd_policy_init(&h->policy, util_now_ms());
	load_count(h);
	check_action(h);
	r = setup_loop(h);
	if (r < 0)
		return failed_start(h, r);
	log_notice("started: device %s (%s, timeout %ds, kick every %ds), health %s, period %ds x %d, grace %ds, "
		   "lock file %s, action %s",
		   h->cfg.device[0] ? h->cfg.device : "-", hwd_device_kind_name(hwd_device_get_kind(h->device)),
		   h->timeout_s, h->cfg.kick_interval, h->cfg.health_socket, h->cfg.report_period,
		   h->cfg.failure_threshold, h->cfg.start_grace, h->cfg.lock_file,
		   hwd_action_name(h->cfg.on_quorum_failure));
	update_status(h);
	r = service_loop(h->event);
	stop(h);
	return r;
}

int main(int argc, char **argv)
{
	hostwd h = {
		.svc = { .name = "hostwd",
			 .about = "Host watchdog: kicks the watchdog device and forces a crashdump when\n"
				  "process-monitor quorum stays lost, unless the node is locked.",
			 .check_what = "the configuration",
			 .footer = "Signals: SIGHUP reloads the configuration, SIGTERM stops cleanly\n"
				   "(disarming a kernel watchdog with the magic close).",
			 .table = &hwd_conf_table,
			 .config_path = HWD_DEFAULT_CONFIG },
		.health_fd = -1,
	};
	int r = service_parse_cli(&h.svc, argc, argv);

	if (r >= 0)
		return r;
	log_open("hostwd");
	r = service_config_or_exit(&h.svc, &h.cfg);
	if (r >= 0)
		return r;
	return service_exit_status(run(&h));
}
