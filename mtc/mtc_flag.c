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

int mtc_flag_lock(const char *flag, const char *backup, const char *hostname)
{
	char buf[160];
	int n, r;

	n = mtc_flag_content(hostname, buf, sizeof(buf));
	if (n < 0)
		return n;
	r = fileops_write_atomic(backup, buf, (size_t)n, 0644);
	if (r < 0)
		return r;
	return fileops_write_atomic(flag, buf, (size_t)n, 0644);
}

int mtc_flag_unlock(const char *flag, const char *backup)
{
	int r = fileops_remove_atomic(backup);

	if (r < 0)
		return r;
	return fileops_remove_atomic(flag);
}

int mtc_flag_restore_at_start(const char *flag, const char *backup, const char *hostname)
{
	char want[160], have[160];
	int n, r;

	if (!util_path_exists(backup)) {
		if (!util_path_exists(flag))
			return MTC_FLAG_UNCHANGED_UNLOCKED;
		r = fileops_remove_atomic(flag);
		return r < 0 ? r : MTC_FLAG_STALE_REMOVED;
	}
	n = mtc_flag_content(hostname, want, sizeof(want));
	if (n < 0)
		return n;
	/* Rewrite the backup too if it is not ours (e.g. older format). */
	r = fileops_read_small(backup, have, sizeof(have));
	if (r != n || memcmp(have, want, (size_t)n) != 0) {
		r = fileops_write_atomic(backup, want, (size_t)n, 0644);
		if (r < 0)
			return r;
	}
	r = fileops_read_small(flag, have, sizeof(have));
	if (r == n && memcmp(have, want, (size_t)n) == 0)
		return MTC_FLAG_UNCHANGED_LOCKED;
	r = fileops_write_atomic(flag, want, (size_t)n, 0644);
	return r < 0 ? r : MTC_FLAG_RESTORED;
}
