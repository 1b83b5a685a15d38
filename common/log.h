/* Logging: the journal (structured, with MESSAGE_ID) when running under
 * systemd, stderr otherwise. One call for both. */
#ifndef HWM_LOG_H
#define HWM_LOG_H

#include <stddef.h>
#include <syslog.h>

/* Stable MESSAGE_IDs operators can search with journalctl MESSAGE_ID=... */
#define MSGID_QUORUM_FAILURE "702f7a52efa249698d5d9e37956a24f4"
#define MSGID_QUORUM_SUPPRESSED "50574c55cd0a43ccacf754c24bb3dab5"
#define MSGID_QUORUM_RESTORED "cc08eab92e7f461e9147eebccace1ad0"
#define MSGID_LOCK_CORRECTION "f83c8d3a2bc740d6abfd229608569280"
#define MSGID_FLAG_WRITTEN "a72a894e904f4964a7890b2077242693"
#define MSGID_FLAG_REMOVED "bd38a9800bd2408a8bc478f54f1e92be"
#define MSGID_FIT "ac9b0027df1741a1ab810bebbeae77a1"

/* ident is the program name. Target: env HWM_LOG_TARGET=stderr|journal,
 * else journal if JOURNAL_STREAM is set or the journal socket exists and
 * stderr is not a terminal, else stderr. */
void log_open(const char *ident);
void log_set_max_level(int prio);
int log_get_max_level(void);

/* msgid may be NULL. */
void log_emit(int prio, const char *msgid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* As log_emit, with extra journal fields: fields is a NULL-terminated list
 * of "NAME=value" strings (NAME in capitals, as journald wants), e.g.
 * { "MTC_HOST=node-1", "MTC_NETWORK=mgmt", NULL }. On stderr only the
 * message is written: it must say the same in words. At most 8 fields. */
void log_emit_fields(int prio, const char *msgid, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* One "NAME=value" field for log_emit_fields, formatted into a buffer that
 * lives until the end of the caller's block:
 *   log_emit_fields(LOG_NOTICE, ID, (const char *[]){ LOG_FIELD("MTC_HOST=%s", h), NULL }, ...); */
#define LOG_FIELD(...) log_field((char[LOG_FIELD_MAX]){ 0 }, LOG_FIELD_MAX, __VA_ARGS__)
#define LOG_FIELD_MAX 96
const char *log_field(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_err(...) log_emit(LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_emit(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_emit(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_emit(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
