/* hostwd's smaller decisions, pure so a table can walk them: which action
 * to take when quorum fails (given the crash kernel, the consecutive-action
 * count and its limit), and what to do with one datagram from the health
 * socket. */
#ifndef HWD_ACTION_H
#define HWD_ACTION_H

#include <stdbool.h>
#include <stddef.h>

#include "hwd_config.h"

typedef enum hwd_kexec_state {
	HWD_KEXEC_LOADED,      /* kexec_crash_loaded says 1 */
	HWD_KEXEC_NOT_LOADED,  /* says 0 */
	HWD_KEXEC_UNKNOWN,     /* missing, unreadable or garbage */
} hwd_kexec_state;

/* Contents of /sys/kernel/kexec_crash_loaded (len < 0: could not read). */
hwd_kexec_state hwd_kexec_parse(const char *text, long len);

typedef enum hwd_action_why {
	HWD_WHY_CONFIGURED,    /* the configured action, as configured */
	HWD_WHY_NO_CRASH_KERNEL, /* crashdump wanted, no crash kernel: fallback */
	HWD_WHY_KEXEC_UNKNOWN, /* crashdump wanted, crash kernel state unknown: fallback */
	HWD_WHY_LIMIT,         /* too many consecutive actions: log only */
} hwd_action_why;

typedef struct hwd_action_plan {
	hwd_action action;     /* what to do now */
	hwd_action_why why;
} hwd_action_plan;

/* configured: [action] on_quorum_failure; fallback: crashdump_fallback
 * (reboot or log); consecutive: actions already taken with no healthy
 * period in between (this one not counted); limit: max_consecutive, 0 =
 * none. A crashdump without a crash kernel is a bare panic that saves
 * nothing, so it is only written when the kernel says one is loaded. */
hwd_action_plan hwd_action_choose(hwd_action configured, hwd_action fallback, hwd_kexec_state kexec,
				  unsigned consecutive, unsigned limit);

const char *hwd_action_why_text(hwd_action_why why);

typedef enum hwd_intake {
	HWD_IN_REPORT,         /* a report from an allowed uid: use it */
	HWD_IN_STATUS,         /* a status request with its reply socket */
	HWD_IN_MALFORMED,      /* truncated, unparsable, or wrong shape */
	HWD_IN_REJECTED,       /* a report from a uid not allowed (or no credentials) */
} hwd_intake;

/* One datagram: parsed = hwd_report_parse() result; truncated = MSG_TRUNC
 * or MSG_CTRUNC (credentials or descriptors were cut: never trust it);
 * n_fds = descriptors it carried (a status request carries exactly its
 * reply socket, a report none). */
hwd_intake hwd_intake_classify(int parsed, bool truncated, bool have_cred, bool uid_allowed, unsigned n_fds);

typedef enum hwd_stop_why {
	HWD_STOP_CONFIGURED,     /* on_stop = disarm or keep */
	HWD_STOP_SYSTEM_STOPPING, /* auto: SystemState is "stopping" */
	HWD_STOP_SYSTEM_UP,      /* auto: systemd answered, the system is not going down */
	HWD_STOP_STATE_UNKNOWN,  /* auto: systemd could not be asked */
	HWD_STOP_ACTION_DECIDED, /* an action stopped kicking: the reset is wanted */
} hwd_stop_why;

typedef struct hwd_stop_plan {
	bool disarm;             /* write the magic close */
	hwd_stop_why why;
} hwd_stop_plan;

/* On a clean stop (SIGTERM): disarm the card or leave it armed. kicking =
 * hwd_policy_kick(); state_r = sysstate_get()'s result, state its text
 * (only asked for auto). auto keeps the card armed only when systemd says
 * the system is "stopping", so a hung shutdown is reset; when systemd
 * cannot be asked it disarms, as a plain stop of hostwd wants: a reset of
 * a node an administrator is working on is the worse mistake, and a
 * shutdown under systemd can always ask PID 1 on its private socket. */
hwd_stop_plan hwd_stop_decide(hwd_on_stop on_stop, bool kicking, int state_r, const char *state);

const char *hwd_stop_why_text(hwd_stop_why why);

/* The consecutive-action count file: "N\n". -EINVAL if garbage. */
int hwd_count_parse(const char *text, long len, unsigned *ret);

#endif
