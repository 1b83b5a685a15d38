#include "mtc_flag.h"
#include "fileops.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int mtc_flag_content(const char *hostname, char *buf, unsigned size)
{
	int n = snprintf(buf, size, "node locked by mtcAgent\nhost=%s\n", hostname);

	return n < 0 || (unsigned)n >= size ? -ENOBUFS : n;
}

int mtc_flag_lock(const char *flag, const char *backup, const char *hostname, int *ret_backup_err)
{
	char buf[160];
	int n, r;

	n = mtc_flag_content(hostname, buf, sizeof(buf));
	if (n < 0)
		return n;
	/* The flag protects the node now; the backup only after a reboot:
	 * a full or broken persistent fs must never keep the flag away. */
	r = fileops_write_atomic(flag, buf, (size_t)n, 0644);
	if (r < 0)
		return r;
	*ret_backup_err = fileops_write_atomic(backup, buf, (size_t)n, 0644);
	return 0;
}

int mtc_flag_backup_write(const char *backup, const char *hostname)
{
	char buf[160];
	int n = mtc_flag_content(hostname, buf, sizeof(buf));

	return n < 0 ? n : fileops_write_atomic(backup, buf, (size_t)n, 0644);
}

int mtc_flag_unlock(const char *flag, const char *backup)
{
	int r = fileops_remove_atomic(flag);

	if (r < 0)
		return r;
	return fileops_remove_atomic(backup);
}

/* Flag present, backup absent: a lock whose backup write failed or was
 * cut off (or an unlock cut off before the order changed): locked. */
static int restore_backup(const char *backup, const char *want, int n)
{
	int r = fileops_write_atomic(backup, want, (size_t)n, 0644);

	return r < 0 ? MTC_FLAG_LOCKED_NO_BACKUP : MTC_FLAG_BACKUP_RESTORED;
}

int mtc_flag_restore_at_start(const char *flag, const char *backup, const char *hostname)
{
	char want[160], have[160];
	int n, r;

	n = mtc_flag_content(hostname, want, sizeof(want));
	if (n < 0)
		return n;
	if (!util_path_exists(backup)) {
		if (!util_path_exists(flag))
			return MTC_FLAG_UNCHANGED_UNLOCKED;
		return restore_backup(backup, want, n);
	}
	/* The flag first (hostwd reads it), then the backup if it is not
	 * ours (e.g. older format): a full persistent fs cannot stop it. */
	r = fileops_read_small(flag, have, sizeof(have));
	if (r != n || memcmp(have, want, (size_t)n) != 0) {
		r = fileops_write_atomic(flag, want, (size_t)n, 0644);
		if (r < 0)
			return r;
		r = MTC_FLAG_RESTORED;
	} else {
		r = MTC_FLAG_UNCHANGED_LOCKED;
	}
	if (fileops_read_small(backup, have, sizeof(have)) != n || memcmp(have, want, (size_t)n) != 0)
		fileops_write_atomic(backup, want, (size_t)n, 0644);
	return r;
}
