/* hostwd: kicks the watchdog device, listens for health reports, and forces
 * a crashdump when quorum stays lost, unless the node is locked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "fileops.h"
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

typedef struct hwd_counters {
	unsigned long reports, malformed, rejected, dropped_fit, status_requests;
	unsigned long kicks, kick_failures, actions;
} hwd_counters;

typedef struct hostwd {
	service svc;
	hwd_config cfg;
	sd_event *event;
	sd_event_source *kick_src, *period_src, *health_src;
	hwd_device *device;
	int health_fd;
	hwd_policy policy;
	hwd_counters n;
	bool kicking;          /* false once the action byte is written */
	bool fit_drop_reports, fit_fail_kick; /* last seen, for log-once */
	char last_status[256];
} hostwd;

static hwd_policy_cfg policy_cfg(const hwd_config *c)
{
	return (hwd_policy_cfg){
		.period_ms = (uint64_t)c->report_period * MSEC_PER_SEC,
		.grace_ms = (uint64_t)c->start_grace * MSEC_PER_SEC,
		.threshold = (unsigned)c->failure_threshold,
	};
}

static bool lock_present(const hostwd *h)
{
	return path_exists(h->cfg.lock_file);
}

/* A fault file applies while it exists; log when it starts and stops. */
static bool fit_check(hostwd *h, const char *name, bool *was)
{
	char path[HWD_PATH_MAX + 32];
	bool on;

	if (!h->cfg.fit_enabled)
		return false;
	snprintf(path, sizeof(path), "%s/%s", h->cfg.fit_dir, name);
	on = path_exists(path);
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
	uint64_t now = now_ms();

	if (p->failed)
		snprintf(buf, size, "failed: quorum failure: %s (%s)", hwd_action_name(h->cfg.on_quorum_failure), p->reason);
	else if (p->suppressed)
		snprintf(buf, size, "locked: quorum failure suppressed (%s)", p->reason);
	else if (p->bad_periods > 0)
		snprintf(buf, size, "degraded: %u/%d bad periods (%s)", p->bad_periods, h->cfg.failure_threshold, p->reason);
	else if (now - p->start_ms < (uint64_t)h->cfg.start_grace * MSEC_PER_SEC)
		snprintf(buf, size, "starting: quorum %s, grace %llus left", quorum_text(h, now),
			 (unsigned long long)(((uint64_t)h->cfg.start_grace * MSEC_PER_SEC - (now - p->start_ms)) / 1000));
	else
		snprintf(buf, size, "quorum %s", quorum_text(h, now));
}

static void update_status(hostwd *h)
{
	char buf[sizeof(h->last_status)];

	state_text(h, buf, sizeof(buf));
	if (strcmp(buf, h->last_status) == 0)
		return;
	memcpy(h->last_status, buf, sizeof(buf));
	notify_status("%s", buf);
}

static const char *reason_code(const hwd_policy *p)
{
	if (!p->reason[0])
		return "none";
	if (strcmp(p->reason, "no report") == 0)
		return "no-report";
	if (strcmp(p->reason, "unconfigured") == 0)
		return "unconfigured";
	if (strncmp(p->reason, "process ", 8) == 0)
		return "process-lost";
	return "quorum-lost";
}

static int format_status(const hostwd *h, char *buf, size_t size)
{
	const hwd_policy *p = &h->policy;
	uint64_t now = now_ms();
	long age = p->have_report ? (long)((now - p->last_report_ms) / 1000) : -1;
	const char *state = p->failed ? "failed" : p->suppressed ? "suppressed" :
			    p->bad_periods ? "degraded" : "ok";

	return snprintf(buf, size,
			"v1 state=%s locked=%d configured=%d quorum=%s bad_periods=%u failure_threshold=%d "
			"suppressed=%d action=%s last_report_age_s=%ld reason=%s reason_process=%s "
			"reports=%lu malformed=%lu rejected=%lu dropped_fit=%lu kicks=%lu kick_failures=%lu "
			"actions=%lu kicking=%d",
			state, lock_present(h), p->have_report && p->last.configured, quorum_text(h, now),
			p->bad_periods, h->cfg.failure_threshold, p->suppressed,
			hwd_action_name(h->cfg.on_quorum_failure), age, reason_code(p),
			strncmp(p->reason, "process ", 8) == 0 && p->last.process[0] ? p->last.process : "-",
			h->n.reports, h->n.malformed, h->n.rejected, h->n.dropped_fit, h->n.kicks,
			h->n.kick_failures, h->n.actions, h->kicking);
}

static void write_best_effort(const char *path, const char *data, size_t len)
{
	_cleanup_close_ int fd = -1;

	if (!path || !*path)
		return;
	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || write(fd, data, len) != (ssize_t)len)
		log_warn("cannot write to %s: %m", path);
}

static void take_action(hostwd *h)
{
	const char *name = hwd_action_name(h->cfg.on_quorum_failure);
	char last_words[256];
	char byte;
	int fd, n;

	h->n.actions++;
	log_emit(LOG_CRIT, MSGID_QUORUM_FAILURE, "quorum failure: %s (%s for %d periods of %ds)", name,
		 h->policy.reason, h->cfg.failure_threshold, h->cfg.report_period);
	if (h->cfg.on_quorum_failure == HWD_ACTION_LOG)
		return;

	n = snprintf(last_words, sizeof(last_words), "<2>hostwd: quorum failure: %s (%s)\n", name, h->policy.reason);
	write_best_effort(h->cfg.console_path, last_words, (size_t)n);

	byte = h->cfg.on_quorum_failure == HWD_ACTION_REBOOT ? 'b' : 'c';
	/* From here the kernel watchdog finishes the job if sysrq does not. */
	h->kicking = false;
	fd = open(h->cfg.sysrq_path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0 || write(fd, &byte, 1) != 1)
		log_err("cannot write '%c' to %s: %m; the watchdog device will reset the node", byte, h->cfg.sysrq_path);
	if (fd >= 0)
		close(fd);
}

static void handle_event(hostwd *h, hwd_event ev)
{
	switch (ev) {
	case HWD_EV_GRACE:
		log_info("bad period inside start grace, not counted (%s)", h->policy.reason);
		break;
	case HWD_EV_BAD_PERIOD:
		log_warn("bad period %u/%d: %s", h->policy.bad_periods, h->cfg.failure_threshold, h->policy.reason);
		break;
	case HWD_EV_SUPPRESSED:
		log_emit(LOG_NOTICE, MSGID_QUORUM_SUPPRESSED, "quorum failure suppressed: node locked (%s, %u/%d bad periods frozen)",
			 h->policy.reason, h->policy.bad_periods, h->cfg.failure_threshold);
		break;
	case HWD_EV_LOCKED:
		log_debug("bad period while locked (%s)", h->policy.reason);
		break;
	case HWD_EV_ACT:
		/* Last look at the lock file right before acting. */
		if (lock_present(h)) {
			handle_event(h, hwd_policy_lock_raced(&h->policy));
			break;
		}
		take_action(h);
		break;
	case HWD_EV_RESTORED:
		log_emit(LOG_NOTICE, MSGID_QUORUM_RESTORED, "quorum restored");
		break;
	case HWD_EV_NONE:
		break;
	}
	update_status(h);
}

static int rearm(sd_event_source *s, uint64_t usec, uint64_t interval)
{
	int r = sd_event_source_set_time(s, usec + interval);

	if (r < 0)
		return r;
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_kick(sd_event_source *s, uint64_t usec, void *userdata)
{
	hostwd *h = userdata;
	int r;

	if (!h->kicking)
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
	return rearm(s, usec, (uint64_t)h->cfg.kick_interval * USEC_PER_SEC);
}

static int on_period(sd_event_source *s, uint64_t usec, void *userdata)
{
	hostwd *h = userdata;
	hwd_policy_cfg pc = policy_cfg(&h->cfg);

	handle_event(h, hwd_policy_period_end(&h->policy, &pc, now_ms(), lock_present(h)));
	return rearm(s, usec, (uint64_t)h->cfg.report_period * USEC_PER_SEC);
}

static void reply_status(hostwd *h, const struct sockaddr_un *peer, socklen_t peer_len)
{
	char buf[KV_MAX_MSG];
	int n;

	h->n.status_requests++;
	if (peer_len <= sizeof(sa_family_t)) {
		log_debug("status request from an unbound socket: cannot reply");
		return;
	}
	n = format_status(h, buf, sizeof(buf));
	if (sendto(h->health_fd, buf, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)peer, peer_len) < 0)
		log_debug("status reply failed: %m");
}

static void handle_datagram(hostwd *h, const char *buf, ssize_t len, int flags, const struct ucred *cred,
			    const struct sockaddr_un *peer, socklen_t peer_len)
{
	hwd_report rep;
	hwd_event ev;
	int k;

	if (flags & MSG_TRUNC) {
		h->n.malformed++;
		log_debug("oversized datagram dropped");
		return;
	}
	k = hwd_report_parse(buf, (size_t)len, &rep);
	if (k < 0) {
		if (h->n.malformed++ % 100 == 0)
			log_warn("malformed health datagram dropped (%s, %lu so far)",
				 k == -EPROTO ? "unknown version" : "bad syntax", h->n.malformed);
		return;
	}
	if (k == HWD_MSG_STATUS_REQUEST) {
		reply_status(h, peer, peer_len);
		return;
	}
	if (!cred || !hwd_config_uid_allowed(&h->cfg, cred->uid)) {
		if (h->n.rejected++ % 100 == 0)
			log_warn("report from uid %ld rejected: not in [health] allowed_uids (%lu so far)",
				 cred ? (long)cred->uid : -1L, h->n.rejected);
		return;
	}
	if (fit_check(h, "drop_reports", &h->fit_drop_reports)) {
		h->n.dropped_fit++;
		return;
	}
	h->n.reports++;
	ev = hwd_policy_report(&h->policy, &rep, now_ms());
	handle_event(h, ev);
}

static int on_health(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	hostwd *h = userdata;

	(void)s;
	(void)revents;
	/* Bounded per wakeup so a flood cannot starve the kick timer. */
	for (int i = 0; i < 64; i++) {
		char buf[KV_MAX_MSG + 1];
		union {
			struct cmsghdr align;
			char buf[CMSG_SPACE(sizeof(struct ucred))];
		} control;
		struct sockaddr_un peer;
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh = {
			.msg_name = &peer, .msg_namelen = sizeof(peer),
			.msg_iov = &iov, .msg_iovlen = 1,
			.msg_control = &control, .msg_controllen = sizeof(control),
		};
		const struct ucred *cred = NULL;
		ssize_t n;

		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			log_warn("health socket receive failed: %m");
			break;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS &&
			    c->cmsg_len == CMSG_LEN(sizeof(struct ucred)))
				cred = (const struct ucred *)CMSG_DATA(c);
		handle_datagram(h, buf, n, mh.msg_flags, cred, &peer, mh.msg_namelen);
	}
	return 0;
}

static int health_open(const char *path, int *ret_fd)
{
	int one = 1, fd, r;

	r = unix_socket_bind(path, SOCK_DGRAM, &fd);
	if (r < 0)
		return r;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* Anyone may ask for status; reports are checked by peer uid. */
	chmod(path, 0666);
	*ret_fd = fd;
	return 0;
}

static int reload(void *userdata)
{
	hostwd *h = userdata;
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
	if (next.timeout != h->cfg.timeout) {
		if (hwd_device_set_timeout(h->device, next.timeout, &t) < 0)
			log_warn("reload: cannot set watchdog timeout %d: %m", next.timeout);
		else if (t != next.timeout)
			log_warn("watchdog driver chose timeout %ds instead of %ds", t, next.timeout);
	}
	if (next.fit_enabled && !h->cfg.fit_enabled)
		log_emit(LOG_WARNING, MSGID_FIT, "FIT enabled: fault files in %s are honoured", next.fit_dir);
	h->cfg = next;
	log_notice("configuration reloaded from %s", h->svc.config_path);
	update_status(h);
	return 0;
}

static int run(hostwd *h)
{
	int t, r;

	if (h->cfg.fit_enabled)
		log_emit(LOG_WARNING, MSGID_FIT, "FIT enabled: fault files in %s are honoured; never use in production",
			 h->cfg.fit_dir);
	r = hwd_device_open(h->cfg.device, h->cfg.timeout, &h->device, &t);
	if (r < 0) {
		log_err("cannot open watchdog device '%s': %s", h->cfg.device, strerror(-r));
		return r;
	}
	if (t != h->cfg.timeout)
		log_warn("watchdog driver chose timeout %ds instead of %ds", t, h->cfg.timeout);
	r = health_open(h->cfg.health_socket, &h->health_fd);
	if (r < 0) {
		log_err("cannot open health socket %s: %s", h->cfg.health_socket,
			r == -EEXIST ? "path exists and is not a socket" : strerror(-r));
		return r;
	}

	r = sd_event_default(&h->event);
	if (r < 0)
		return r;
	r = service_signals(&h->svc, h->event, reload, h);
	if (r < 0)
		return r;
	/* Pings WATCHDOG=1 at half of WATCHDOG_USEC from the loop itself. */
	sd_event_set_watchdog(h->event, true);

	hwd_policy_init(&h->policy, now_ms());
	h->kicking = true;
	uint64_t t0;
	sd_event_now(h->event, CLOCK_MONOTONIC, &t0);
	r = sd_event_add_time(h->event, &h->kick_src, CLOCK_MONOTONIC, t0, 10 * USEC_PER_MSEC, on_kick, h);
	if (r >= 0)
		r = sd_event_add_time(h->event, &h->period_src, CLOCK_MONOTONIC,
				      t0 + (uint64_t)h->cfg.report_period * USEC_PER_SEC, 1 * USEC_PER_MSEC, on_period, h);
	if (r >= 0)
		r = sd_event_add_io(h->event, &h->health_src, h->health_fd, EPOLLIN, on_health, h);
	if (r < 0) {
		log_err("event loop setup failed: %s", strerror(-r));
		return r;
	}

	log_notice("started: device %s (%s, timeout %ds, kick every %ds), health %s, period %ds x %d, grace %ds, "
		   "lock file %s, action %s",
		   h->cfg.device[0] ? h->cfg.device : "-", hwd_device_kind_name(hwd_device_get_kind(h->device)), t,
		   h->cfg.kick_interval, h->cfg.health_socket, h->cfg.report_period, h->cfg.failure_threshold,
		   h->cfg.start_grace, h->cfg.lock_file, hwd_action_name(h->cfg.on_quorum_failure));
	notify_ready();
	update_status(h);
	r = sd_event_loop(h->event);

	/* Clean stop: disarm, unless we already acted and want the reset. */
	hwd_device_close(h->device, h->kicking);
	h->device = NULL;
	sd_event_source_unref(h->kick_src);
	sd_event_source_unref(h->period_src);
	sd_event_source_unref(h->health_src);
	sd_event_unref(h->event);
	close(h->health_fd);
	unlink(h->cfg.health_socket);
	log_notice("stopped");
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
	if (service_load_config(&h.svc, &h.cfg) < 0)
		return 1;
	if (h.svc.mode == SERVICE_CHECK_CONFIG) {
		printf("%s: configuration valid\n", h.svc.config_path);
		return 0;
	}
	if (h.svc.mode == SERVICE_DUMP_CONFIG) {
		conf_dump(&hwd_conf_table, &h.cfg, stdout);
		return 0;
	}
	return run(&h) < 0 ? 1 : 0;
}
