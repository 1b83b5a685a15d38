#include "hwd_action.h"
#include "hwd_report.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static long trimmed_len(const char *text, long len)
{
	while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' '))
		len--;
	return len;
}

hwd_kexec_state hwd_kexec_parse(const char *text, long len)
{
	if (!text || len < 0)
		return HWD_KEXEC_UNKNOWN;
	len = trimmed_len(text, len);
	if (len == 1 && text[0] == '1')
		return HWD_KEXEC_LOADED;
	if (len == 1 && text[0] == '0')
		return HWD_KEXEC_NOT_LOADED;
	return HWD_KEXEC_UNKNOWN;
}

hwd_action_plan hwd_action_choose(hwd_action configured, hwd_action fallback, hwd_kexec_state kexec,
				  unsigned consecutive, unsigned limit)
{
	if (configured == HWD_ACTION_LOG)
		return (hwd_action_plan){ HWD_ACTION_LOG, HWD_WHY_CONFIGURED };
	/* The loop breaker comes first: whatever the action, a node that
	 * never becomes healthy between actions is not taken down again. */
	if (limit > 0 && consecutive >= limit)
		return (hwd_action_plan){ HWD_ACTION_LOG, HWD_WHY_LIMIT };
	if (configured == HWD_ACTION_CRASHDUMP && kexec != HWD_KEXEC_LOADED) {
		hwd_action fb = fallback == HWD_ACTION_LOG ? HWD_ACTION_LOG : HWD_ACTION_REBOOT;

		return (hwd_action_plan){ fb, kexec == HWD_KEXEC_NOT_LOADED ? HWD_WHY_NO_CRASH_KERNEL
									     : HWD_WHY_KEXEC_UNKNOWN };
	}
	return (hwd_action_plan){ configured, HWD_WHY_CONFIGURED };
}

const char *hwd_action_why_text(hwd_action_why why)
{
	switch (why) {
	case HWD_WHY_CONFIGURED: return "as configured";
	case HWD_WHY_NO_CRASH_KERNEL: return "no crash kernel loaded, crashdump_fallback";
	case HWD_WHY_KEXEC_UNKNOWN: return "crash kernel state unknown, crashdump_fallback";
	case HWD_WHY_LIMIT: return "consecutive-action limit reached, log only";
	}
	return "?";
}

hwd_intake hwd_intake_classify(int parsed, bool truncated, bool have_cred, bool uid_allowed, unsigned n_fds)
{
	if (truncated || parsed < 0)
		return HWD_IN_MALFORMED;
	if (parsed == HWD_MSG_STATUS_REQUEST)
		return n_fds == 1 ? HWD_IN_STATUS : HWD_IN_MALFORMED;
	if (!have_cred || !uid_allowed)
		return HWD_IN_REJECTED;
	if (n_fds > 0)
		return HWD_IN_MALFORMED;
	return HWD_IN_REPORT;
}

int hwd_count_parse(const char *text, long len, unsigned *ret)
{
	char buf[16];
	long v;

	if (!text || len < 0)
		return -EINVAL;
	len = trimmed_len(text, len);
	if (len <= 0 || len >= (long)sizeof(buf))
		return -EINVAL;
	memcpy(buf, text, (size_t)len);
	buf[len] = '\0';
	if (util_parse_long(buf, 0, 1000000, &v) < 0)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

hwd_stop_plan hwd_stop_decide(hwd_on_stop on_stop, bool kicking, int state_r, const char *state)
{
	if (!kicking)
		return (hwd_stop_plan){ false, HWD_STOP_ACTION_DECIDED };
	if (on_stop == HWD_ON_STOP_DISARM || on_stop == HWD_ON_STOP_KEEP)
		return (hwd_stop_plan){ on_stop == HWD_ON_STOP_DISARM, HWD_STOP_CONFIGURED };
	if (state_r < 0 || !state || !*state)
		return (hwd_stop_plan){ true, HWD_STOP_STATE_UNKNOWN };
	if (strcmp(state, "stopping") == 0)
		return (hwd_stop_plan){ false, HWD_STOP_SYSTEM_STOPPING };
	return (hwd_stop_plan){ true, HWD_STOP_SYSTEM_UP };
}

const char *hwd_stop_why_text(hwd_stop_why why)
{
	switch (why) {
	case HWD_STOP_CONFIGURED: return "as [watchdog] on_stop says";
	case HWD_STOP_SYSTEM_STOPPING: return "the system is going down (systemd SystemState=stopping), so a hung shutdown is reset";
	case HWD_STOP_SYSTEM_UP: return "only hostwd is stopping (the system is not going down)";
	case HWD_STOP_STATE_UNKNOWN: return "systemd could not be asked whether the system is going down; a plain stop is assumed";
	case HWD_STOP_ACTION_DECIDED: return "a quorum-failure action stopped kicking: the reset is wanted";
	}
	return "?";
}
