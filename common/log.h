/* Logging: the journal (structured, with MESSAGE_ID) when running under
 * systemd, stderr otherwise. One call for both. */
#ifndef HWM_LOG_H
#define HWM_LOG_H

#include <syslog.h>

/* Stable MESSAGE_IDs operators can search with journalctl MESSAGE_ID=... */
#define MSGID_QUORUM_FAILURE "3f2a1c0e8b5d4e7a9c6b1d2e3f405162"
#define MSGID_QUORUM_SUPPRESSED "7c1e2d3f4a5b4c6d8e9f0a1b2c3d4e5f"
#define MSGID_QUORUM_RESTORED "a1b2c3d4e5f647188a9b0c1d2e3f4a5b"
#define MSGID_LOCK_CORRECTION "5e4d3c2b1a0947f8b6c5d4e3f2a1b0c9"
#define MSGID_FLAG_WRITTEN "0f1e2d3c4b5a49687a6b5c4d3e2f1a0b"
#define MSGID_FLAG_REMOVED "9a8b7c6d5e4f43218f7e6d5c4b3a2918"
#define MSGID_FIT "d0c0ffee0badc0de8badf00d5ca1ab1e"

/* ident is the program name. Target: env HWM_LOG_TARGET=stderr|journal,
 * else journal if JOURNAL_STREAM is set or the journal socket exists and
 * stderr is not a terminal, else stderr. */
void log_open(const char *ident);
void log_set_max_level(int prio);
int log_get_max_level(void);

/* msgid may be NULL. */
void log_emit(int prio, const char *msgid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(...) log_emit(LOG_ERR, NULL, __VA_ARGS__)
#define log_warn(...) log_emit(LOG_WARNING, NULL, __VA_ARGS__)
#define log_notice(...) log_emit(LOG_NOTICE, NULL, __VA_ARGS__)
#define log_info(...) log_emit(LOG_INFO, NULL, __VA_ARGS__)
#define log_debug(...) log_emit(LOG_DEBUG, NULL, __VA_ARGS__)

#endif
