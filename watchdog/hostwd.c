/* hostwd: kicks the watchdog device, listens for health reports, and forces
 * a crashdump when quorum stays lost, unless the node is locked. The event
 * loop, kicks, period ends, reload and stop live here; the health socket in
 * hostwd_intake.c, the action in hostwd_act.c, status text in
 * hostwd_status.c. */
#include <errno.h>
#include <link.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileops.h"
#include "hostwd.h"
#include "hwd_action.h"
#include "log.h"
#include "sysstate.h"
#include "util.h"

hwd_policy_cfg hostwd_policy_cfg(const hwd_config *c)
{
	return (hwd_policy_cfg){
		.period_ms = (uint64_t)c->report_period * MSEC_PER_SEC,
		.grace_ms = (uint64_t)c->start_grace * MSEC_PER_SEC,
		.threshold = (unsigned)c->failure_threshold,
		.action = (hwd_action)c->on_quorum_failure,
		.fallback = c->crashdump_fallback ? HWD_ACTION_LOG : HWD_ACTION_REBOOT,
		.max_consecutive = (unsigned)c->max_consecutive,
		.configure_timeout_ms = (uint64_t)c->configure_timeout * MSEC_PER_SEC,
	};
}

bool hostwd_log_only(const hostwd *h)
{
	hwd_policy_cfg pc = hostwd_policy_cfg(&h->cfg);

	return hwd_policy_log_only(&h->policy, &pc);
}

/* Any one of the [lock] file paths present means locked. Only a regular
 * file is the flag (mtcclient renames one into place): a symlink, FIFO or
 * directory there is not, so it cannot hold off actions forever. */
bool hostwd_lock_present(const hostwd *h)
{
	for (unsigned i = 0; i < h->cfg.n_lock_files; i++)
		if (fileops_flag_present(h->cfg.lock_files[i]))
			return true;
	return false;
}

void hostwd_note_lock_not_regular(hostwd *h)
{
	bool odd = false;

	for (unsigned i = 0; i < h->cfg.n_lock_files; i++) {
		const char *path = h->cfg.lock_files[i];
		struct stat st;

		if (lstat(path, &st) < 0 || S_ISREG(st.st_mode))
			continue;
		if (!h->lock_not_regular)
			log_emit(LOG_CRIT, MSGID_ACTION_UNAVAILABLE, "lock file %s is a %s, not a regular file: not a "
				 "lock flag, the node is NOT treated as locked", path, util_file_type_name(st.st_mode));
		odd = true;
	}
	h->lock_not_regular = odd;
}

/* A fault file applies while it exists; log when it starts and stops. */
bool hostwd_fit_check(hostwd *h, const char *name, bool *was)
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

/* After an action whose byte could not be written: a reset by the card is
 * right for a node still failing, never for one locked, healthy or being
 * configured. Back to the configured timeout, no reboot fallback. */
static bool resume_kicking(hostwd *h)
{
	hwd_policy_cfg pc = hostwd_policy_cfg(&h->cfg);
	bool locked = hostwd_lock_present(h);
	int t = h->timeout_s;

	if (!hwd_policy_resume(&h->policy, &pc, util_now_ms(), locked))
		return false;
	if (t != h->cfg.timeout && hwd_device_set_timeout(h->device, h->cfg.timeout, &t) == 0)
		h->timeout_s = t;
	h->fallback_src = sd_event_source_disable_unref(h->fallback_src);
	log_emit(LOG_WARNING, MSGID_ACTION_FAILED, "kicking resumed after the quorum-failure action that was NOT taken: "
		 "the node is %s (watchdog timeout %ds)", locked ? "locked" : "healthy or being configured", h->timeout_s);
	hostwd_update_status(h);
	return true;
}

static int on_kick(sd_event_source *s, uint64_t usec, void *userdata)
{
	hostwd *h = userdata;
	int r;

	if (!hwd_policy_kick(&h->policy) && !resume_kicking(h))
		/* keep looking while a failed action may still let kicking resume */
		return h->policy.action_failed ? service_rearm(s, usec, (uint64_t)h->cfg.kick_interval * USEC_PER_SEC) : 0;
	if (hostwd_fit_check(h, "fail_kick", &h->fit_fail_kick)) {
		h->n.kick_failures++;
	} else {
		r = hwd_device_kick(h->device);
		if (r < 0) {
			if (h->n.kick_failures++ == 0 || h->n.kick_failures % 100 == 0)
				log_warn("watchdog kick failed: %s (%lu failures)", strerror(-r), h->n.kick_failures);
		} else {
			h->n.kicks++;
			hwd_kick_stats_kick(&h->kick_stats, util_now_usec());
		}
	}
	return service_rearm(s, usec, (uint64_t)h->cfg.kick_interval * USEC_PER_SEC);
}

static int on_period(sd_event_source *s, uint64_t usec, void *userdata)
{
	hostwd *h = userdata;
	hwd_policy_cfg pc = hostwd_policy_cfg(&h->cfg);
	unsigned count = h->policy.consecutive;
	bool was_log_only = hostwd_log_only(h);
	hwd_event ev;

	hostwd_note_lock_not_regular(h);
	ev = hwd_policy_period_end(&h->policy, &pc, util_now_ms(), hostwd_lock_present(h));

	if (ev == HWD_EV_HEALTHY)
		log_emit(LOG_NOTICE, MSGID_ACTION_LIMIT, "healthy period: consecutive-action count %u reset to 0%s",
			 count, was_log_only ? "; quorum-failure action re-armed (was LOG ONLY)" : "");
	/* UNCONFIGURED is a reason only once configure_timeout has passed. */
	if (h->policy.reason == HEALTH_REASON_UNCONFIGURED && !h->configure_timeout_logged) {
		log_emit(LOG_WARNING, MSGID_CONFIGURING, "[health] configure_timeout = %ds passed since start and the node "
			 "still reports configured=0: unconfigured periods now count as bad", h->cfg.configure_timeout);
		h->configure_timeout_logged = true;
	}
	hostwd_handle_event(h, ev);
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
	hostwd_publish_metrics(h);
	return service_rearm(s, usec, (uint64_t)h->cfg.report_period * USEC_PER_SEC);
}

/* New timing takes effect at once: a kick now (a shorter timeout must not
 * wait for the old kick_interval), every timer re-armed from now. */
static void retime(hostwd *h, const hwd_config *old)
{
	uint64_t t;

	if (old->timeout == h->cfg.timeout && old->kick_interval == h->cfg.kick_interval &&
	    old->report_period == h->cfg.report_period)
		return;
	sd_event_now(h->event, CLOCK_MONOTONIC, &t);
	on_kick(h->kick_src, t, h);
	service_rearm(h->period_src, t, (uint64_t)h->cfg.report_period * USEC_PER_SEC);
	log_notice("reload: timing changed (timeout %ds, kick every %ds, report period %ds): kicked now, timers re-armed",
		   h->timeout_s, h->cfg.kick_interval, h->cfg.report_period);
}

static int reload(void *userdata)
{
	hostwd *h = userdata;
	bool count_moved;
	hwd_config next, old;
	char changed[256];
	int t;

	if (service_load_config(&h->svc, &next) < 0) {
		log_err("reload of %s failed; keeping the running configuration", h->svc.config_path);
		return 0;
	}
	if (conf_keep_restart_keys(&hwd_conf_table, &h->cfg, &next, changed, sizeof(changed)) > 0)
		log_warn("reload: %s changed: they take effect at restart; keeping the running values", changed);
	next.socket_mode_bits = h->cfg.socket_mode_bits; /* from socket_mode, kept above */
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
	old = h->cfg;
	h->cfg = next;
	log_notice("configuration reloaded from %s", h->svc.config_path);
	retime(h, &old);
	if (count_moved)
		hostwd_load_count(h);
	hostwd_check_action(h);
	hostwd_update_status(h);
	return 0;
}

#if !defined(__SANITIZE_ADDRESS__)
/* Deeper than any path of hostwd's: the stack pages a kick or the action
 * could touch are faulted in (and so locked) at start. */
#define HWD_STACK_PREFAULT (64 * 1024)

static void prefault_stack(void)
{
	volatile char pad[HWD_STACK_PREFAULT];

	for (size_t i = 0; i < sizeof(pad); i += 1024)
		pad[i] = 0;
}

/* hostwd's own image (text, data, bss), all of it: the action path's code
 * runs for the first time when the action is taken. */
static int lock_image(struct dl_phdr_info *info, size_t size, void *data)
{
	long page = sysconf(_SC_PAGESIZE);

	(void)size;
	(void)data;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t a = info->dlpi_addr + ph->p_vaddr, start = a & ~(uintptr_t)(page - 1);

		if (ph->p_type == PT_LOAD && mlock((void *)start, a + ph->p_memsz - start) < 0)
			return -errno;
	}
	return 1; /* the first object is the program: stop there */
}
#endif

/* sbd and Debian's watchdog do the same: a kick must not wait for the
 * scheduler or for paging. Neither is fatal: containers often refuse.
 * Memory: MCL_ONFAULT locks each page when it is first touched, not every
 * page mapped (mlockall without it pinned all of libsystemd and what it
 * pulls in: RSS 5.9 MiB). The start and the first kick touch what a kick
 * touches (the loop, the timer, the device call, a log line), so no later
 * kick faults; the stack is pre-faulted and hostwd's image locked whole,
 * for the action path (docs/performance.md, benchmark 4). */
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

		if (mlockall(MCL_CURRENT | MCL_ONFAULT | (future ? MCL_FUTURE : 0)) < 0 ||
		    dl_iterate_phdr(lock_image, NULL) < 0)
			log_warn("[watchdog] lock_memory: mlockall failed: %m; kicks may wait for paging "
				 "(needs LimitMEMLOCK=infinity)");
		else if (!future)
			log_warn("[watchdog] lock_memory: RLIMIT_MEMLOCK is finite, so only memory mapped at start is locked "
				 "(needs LimitMEMLOCK=infinity)");
		prefault_stack();
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
		r = sd_event_add_io(h->event, &h->health_src, h->health_fd, EPOLLIN, hostwd_on_health, h);
	/* Kicks and period ends before any datagram, however many wait. */
	if (r >= 0)
		r = sd_event_source_set_priority(h->kick_src, SD_EVENT_PRIORITY_IMPORTANT);
	if (r >= 0)
		r = sd_event_source_set_priority(h->period_src, SD_EVENT_PRIORITY_IMPORTANT);
	if (r < 0)
		log_err("event loop setup failed: %s", strerror(-r));
	return r;
}

/* Clean stop: disarm or leave the card armed, as on_stop and (auto)
 * systemd's view of the system say; said either way. */
static void stop_device(hostwd *h)
{
	char state[32] = "", detail[96] = "";
	int r = -ENOMSG;
	hwd_stop_plan plan;
	hwd_device_kind kind = hwd_device_get_kind(h->device);

	if (h->cfg.on_stop == HWD_ON_STOP_AUTO && hwd_policy_kick(&h->policy) && kind != HWD_DEV_NONE)
		r = sysstate_get(state, sizeof(state), 2000);
	plan = hwd_stop_decide((hwd_on_stop)h->cfg.on_stop, hwd_policy_kick(&h->policy), r, state);
	hwd_device_close(h->device, plan.disarm);
	h->device = NULL;
	if (kind == HWD_DEV_NONE)
		return;
	if (plan.why == HWD_STOP_SYSTEM_UP)
		snprintf(detail, sizeof(detail), " (SystemState=%s)", state);
	else if (plan.why == HWD_STOP_STATE_UNKNOWN && r != -ENOMSG)
		snprintf(detail, sizeof(detail), " (%s)", strerror(-r));
	if (plan.disarm)
		log_notice("watchdog disarmed (magic close): %s%s", hwd_stop_why_text(plan.why), detail);
	else
		log_emit(LOG_WARNING, MSGID_STOP_ARMED, "watchdog left ARMED (timeout %ds): %s", h->timeout_s,
			 hwd_stop_why_text(plan.why));
}

static void stop(hostwd *h)
{
	stop_device(h);
	sd_event_source_unref(h->kick_src);
	sd_event_source_unref(h->period_src);
	sd_event_source_unref(h->health_src);
	sd_event_source_unref(h->fallback_src);
	sd_event_unref(h->event);
	metrics_buf_free(&h->metrics);
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
	r = hostwd_health_open(&h->cfg, &h->health_fd);
	if (r < 0) {
		log_err("cannot open health socket %s: %s", h->cfg.health_socket,
			r == -EEXIST ? "path exists and is not a socket" : strerror(-r));
		return failed_start(h, r);
	}
	hwd_policy_init(&h->policy, util_now_ms());
	hwd_kick_stats_init(&h->kick_stats);
	hostwd_load_count(h);
	hostwd_check_action(h);
	r = setup_loop(h);
	if (r < 0)
		return failed_start(h, r);
	log_notice("started: device %s (%s, timeout %ds, kick every %ds), health %s, period %ds x %d, grace %ds, "
		   "lock file %s, action %s",
		   h->cfg.device[0] ? h->cfg.device : "-", hwd_device_kind_name(hwd_device_get_kind(h->device)),
		   h->timeout_s, h->cfg.kick_interval, h->cfg.health_socket, h->cfg.report_period,
		   h->cfg.failure_threshold, h->cfg.start_grace, h->cfg.lock_file,
		   hwd_action_name(h->cfg.on_quorum_failure));
	hostwd_update_status(h);
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
				   "(disarming the watchdog with the magic close, or not, as [watchdog] on_stop says).",
			 .table = &hwd_conf_table,
			 .metrics = hwd_metric_defs,
			 .config_path = HWD_DEFAULT_CONFIG },
		.health_fd = -1,
	};
	int r;

	h.svc.n_metrics = hwd_n_metric_defs;
	r = service_parse_cli(&h.svc, argc, argv);
	if (r >= 0)
		return r;
	log_open("hostwd");
	r = service_config_or_exit(&h.svc, &h.cfg);
	if (r >= 0)
		return r;
	return service_exit_status(run(&h));
}
