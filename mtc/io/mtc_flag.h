/* The lock flag on a node: the volatile file hostwd reads and its
 * persistent backup. Every change is atomic and ordered so that a crash at
 * any point leaves both files either absent or complete, and recovery at
 * start makes them agree. */
#ifndef MTC_FLAG_H
#define MTC_FLAG_H

#include <stdbool.h>

/* The content written to both files. */
int mtc_flag_content(const char *hostname, char *buf, unsigned size);

/* Locked: the flag first, then the backup (a crash in between leaves a
 * flag without backup, which start-up keeps and backs up). Returns -errno
 * only if the flag could not be written; a backup that could not be
 * written is reported in *ret_backup_err (0 or -errno), never blocks the
 * flag. */
int mtc_flag_lock(const char *flag, const char *backup, const char *hostname, int *ret_backup_err);

/* Write only the backup (a retry after a failed one). */
int mtc_flag_backup_write(const char *backup, const char *hostname);

/* Unlocked: the flag first, then the backup (a crash in between leaves a
 * backup without flag, which start-up restores: locked, the safe side;
 * the agent then corrects it). */
int mtc_flag_unlock(const char *flag, const char *backup);

typedef enum mtc_flag_restore {
	MTC_FLAG_UNCHANGED_LOCKED,
	MTC_FLAG_UNCHANGED_UNLOCKED,
	MTC_FLAG_RESTORED,      /* backup present, flag written */
	MTC_FLAG_BACKUP_RESTORED,   /* flag present without backup: kept, backup written */
	MTC_FLAG_LOCKED_NO_BACKUP,  /* flag present without backup: kept, backup write failed */
} mtc_flag_restore;

/* At start, before the first mtcAlive. Returns mtc_flag_restore or -errno. */
int mtc_flag_restore_at_start(const char *flag, const char *backup, const char *hostname);

#endif
