/* The lock flag on a node: the volatile file hostwd reads and its
 * persistent backup. Every change is atomic and ordered so that a crash at
 * any point leaves both files either absent or complete, and recovery at
 * start makes them agree. */
#ifndef MTC_FLAG_H
#define MTC_FLAG_H

#include <stdbool.h>

/* The content written to both files. */
int mtc_flag_content(const char *hostname, char *buf, unsigned size);

/* Locked: backup first, then the flag (a crash in between restores the
 * flag from the backup at start). */
int mtc_flag_lock(const char *flag, const char *backup, const char *hostname);

/* Unlocked: backup first, then the flag (a crash in between leaves a flag
 * without backup, which start-up removes). */
int mtc_flag_unlock(const char *flag, const char *backup);

typedef enum mtc_flag_restore {
	MTC_FLAG_UNCHANGED_LOCKED,
	MTC_FLAG_UNCHANGED_UNLOCKED,
	MTC_FLAG_RESTORED,      /* backup present, flag written */
	MTC_FLAG_STALE_REMOVED, /* flag present without backup: removed */
} mtc_flag_restore;

/* At start, before the first mtcAlive. Returns mtc_flag_restore or -errno. */
int mtc_flag_restore_at_start(const char *flag, const char *backup, const char *hostname);

#endif
