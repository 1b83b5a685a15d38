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
	r = atomic_write_file(backup, buf, (size_t)n, 0644);
	if (r < 0)
		return r;
	return atomic_write_file(flag, buf, (size_t)n, 0644);
}

int mtc_flag_unlock(const char *flag, const char *backup)
{
	int r = atomic_remove_file(backup);

	if (r < 0)
		return r;
	return atomic_remove_file(flag);
}

int mtc_flag_restore_at_start(const char *flag, const char *backup, const char *hostname)
{
	char want[160], have[160];
	int n, r;

	if (!path_exists(backup)) {
		if (!path_exists(flag))
			return MTC_FLAG_UNCHANGED_UNLOCKED;
		r = atomic_remove_file(flag);
		return r < 0 ? r : MTC_FLAG_STALE_REMOVED;
	}
	n = mtc_flag_content(hostname, want, sizeof(want));
	if (n < 0)
		return n;
	/* Rewrite the backup too if it is not ours (e.g. older format). */
	r = read_small_file(backup, have, sizeof(have));
	if (r != n || memcmp(have, want, (size_t)n) != 0) {
		r = atomic_write_file(backup, want, (size_t)n, 0644);
		if (r < 0)
			return r;
	}
	r = read_small_file(flag, have, sizeof(have));
	if (r == n && memcmp(have, want, (size_t)n) == 0)
		return MTC_FLAG_UNCHANGED_LOCKED;
	r = atomic_write_file(flag, want, (size_t)n, 0644);
	return r < 0 ? r : MTC_FLAG_RESTORED;
}
