#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

/* Process-wide logging state: set once by log_open() in main(). */
static const char *log_ident = "hostwd-mtc";
static bool log_to_journal;
static int log_max_level = LOG_INFO;

static bool journal_wanted(void)
{
	const char *t = getenv("HWM_LOG_TARGET");

	if (t && strcmp(t, "stderr") == 0)
		return false;
	if (t && strcmp(t, "journal") == 0)
		return true;
	if (getenv("JOURNAL_STREAM"))
		return true;
	return access("/run/systemd/journal/socket", W_OK) == 0 && !isatty(STDERR_FILENO);
}

void log_open(const char *ident)
{
	const char *lvl = getenv("HWM_LOG_LEVEL");

	log_ident = ident;
	log_to_journal = journal_wanted();
	if (lvl && strcmp(lvl, "debug") == 0)
		log_max_level = LOG_DEBUG;
}

void log_set_max_level(int prio)
{
	log_max_level = prio;
}

int log_get_max_level(void)
{
	return log_max_level;
}

static const char *prio_name(int prio)
{
	switch (prio) {
	case LOG_EMERG: case LOG_ALERT: case LOG_CRIT: return "crit";
	case LOG_ERR: return "error";
	case LOG_WARNING: return "warning";
	case LOG_NOTICE: return "notice";
	case LOG_INFO: return "info";
	default: return "debug";
	}
}

static void log_write(int prio, const char *msgid, const char *msg)
{
	if (log_to_journal) {
		if (msgid)
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio,
					"MESSAGE_ID=%s", msgid,
					"SYSLOG_IDENTIFIER=%s", log_ident, NULL);
		else
			sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%d", prio,
					"SYSLOG_IDENTIFIER=%s", log_ident, NULL);
		return;
	}

	/* Wall-clock stamp with milliseconds: tests and the demo build a
	 * timeline from these lines. */
	struct timeval tv;
	struct tm tm;
	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	fprintf(stderr, "%02d:%02d:%02d.%03ld %s[%d]: %s: %s\n", tm.tm_hour,
		tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000), log_ident,
		(int)getpid(), prio_name(prio), msg);
}

void log_emit(int prio, const char *msgid, const char *fmt, ...)
{
	int saved_errno = errno; /* for %m, and for the caller after we return */
	char msg[1024];
	va_list ap;

	if (prio > log_max_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_write(prio, msgid, msg);
	errno = saved_errno;
}
