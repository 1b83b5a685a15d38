#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
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

#define LOG_FIELDS_MAX 8

/* The journal entry: MESSAGE, PRIORITY, MESSAGE_ID, SYSLOG_IDENTIFIER and
 * the caller's fields. */
static void journal_write(int prio, const char *msgid, const char *const *fields, const char *msg)
{
	char m[1100], p[16], id[48], ident[64];
	struct iovec iov[4 + LOG_FIELDS_MAX];
	int n = 0;

	snprintf(m, sizeof(m), "MESSAGE=%s", msg);
	snprintf(p, sizeof(p), "PRIORITY=%d", prio);
	snprintf(ident, sizeof(ident), "SYSLOG_IDENTIFIER=%s", log_ident);
	iov[n++] = (struct iovec){ m, strlen(m) };
	iov[n++] = (struct iovec){ p, strlen(p) };
	iov[n++] = (struct iovec){ ident, strlen(ident) };
	if (msgid) {
		snprintf(id, sizeof(id), "MESSAGE_ID=%s", msgid);
		iov[n++] = (struct iovec){ id, strlen(id) };
	}
	for (int i = 0; fields && fields[i] && i < LOG_FIELDS_MAX; i++)
		iov[n++] = (struct iovec){ (void *)fields[i], strlen(fields[i]) };
	sd_journal_sendv(iov, n);
}

static void log_write(int prio, const char *msgid, const char *const *fields, const char *msg)
{
	if (log_to_journal && fields) {
		journal_write(prio, msgid, fields, msg);
		return;
	}
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

static void emit(int prio, const char *msgid, const char *const *fields, const char *fmt, va_list ap)
{
	int saved_errno = errno; /* for %m, and for the caller after we return */
	char msg[1024];

	if (prio > log_max_level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_write(prio, msgid, fields, msg);
	errno = saved_errno;
}

void log_emit(int prio, const char *msgid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(prio, msgid, NULL, fmt, ap);
	va_end(ap);
}

void log_emit_fields(int prio, const char *msgid, const char *const *fields, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(prio, msgid, fields, fmt, ap);
	va_end(ap);
}

const char *log_field(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return buf;
}
