#include "fileops.h"
#include "util.h"

#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int split_dir(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (!slash)
		return util_strcpy_bounded(dir, size, ".");
	n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/file" lives in "/" */
	if (n >= size)
		return -ENAMETOOLONG;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

static bool kind_ok(mode_t m, unsigned kinds)
{
	return ((kinds & FILEOPS_REG) && S_ISREG(m)) || ((kinds & FILEOPS_CHR) && S_ISCHR(m));
}

int fileops_open_checked(const char *path, int flags, mode_t mode, unsigned kinds, int *ret_fd)
{
	int extra = O_NONBLOCK | O_CLOEXEC | O_NOCTTY | ((kinds & FILEOPS_FOLLOW) ? 0 : O_NOFOLLOW);
	struct stat st;
	int fd, r;

	/* Look first: opening some devices (a watchdog) has effects. */
	r = fileops_check_kind(path, kinds);
	if (r < 0)
		return r;
	fd = open(path, flags | extra, mode);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		r = -errno;
	else if (!kind_ok(st.st_mode, kinds))
		r = -EMEDIUMTYPE;
	if (r < 0) {
		close(fd);
		return r;
	}
	*ret_fd = fd;
	return 0;
}

int fileops_check_kind(const char *path, unsigned kinds)
{
	struct stat st;

	if (((kinds & FILEOPS_FOLLOW) ? stat(path, &st) : lstat(path, &st)) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (S_ISLNK(st.st_mode))
		return -ELOOP;
	return kind_ok(st.st_mode, kinds) ? 0 : -EMEDIUMTYPE;
}

bool fileops_flag_present(const char *path)
{
	struct stat st;

	return path && *path && lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* stat of the directory path lives in, or of its nearest existing ancestor;
 * the name stat'ed is left in dir. */
static int stat_parent(const char *path, char *dir, size_t size, struct stat *st)
{
	int r = split_dir(path, dir, size);

	while (r == 0 && stat(dir, st) < 0) {
		char *slash;

		if (errno != ENOENT)
			return -errno;
		slash = strrchr(dir, '/');
		if (!slash)
			return util_strcpy_bounded(dir, size, ".") < 0 ? -ENAMETOOLONG : (stat(".", st) < 0 ? -errno : 0);
		slash[slash == dir ? 1 : 0] = '\0';
	}
	return r;
}

static bool dir_safe(const struct stat *st)
{
	return S_ISDIR(st->st_mode) && !(st->st_mode & (S_IWGRP | S_IWOTH)) &&
	       (st->st_uid == 0 || st->st_uid == geteuid());
}

int fileops_check_dir(const char *path)
{
	char dir[PATH_MAX];
	struct stat st;
	int r = stat_parent(path, dir, sizeof(dir), &st);

	if (r < 0)
		return r;
	return dir_safe(&st) ? 0 : -EPERM;
}

static const char *kinds_name(unsigned kinds)
{
	if ((kinds & FILEOPS_REG) && (kinds & FILEOPS_CHR))
		return "a regular file or character device";
	return (kinds & FILEOPS_CHR) ? "a character device" : "a regular file";
}

static void describe_dir(const char *path, char *buf, size_t size)
{
	char dir[PATH_MAX];
	struct stat st;

	if (stat_parent(path, dir, sizeof(dir), &st) < 0 || dir_safe(&st)) {
		snprintf(buf, size, "%s", strerror(EPERM));
		return;
	}
	if (!S_ISDIR(st.st_mode))
		snprintf(buf, size, "%s is not a directory", dir);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		snprintf(buf, size, "directory %s is writable by %s (mode %04o); a daemon writes only where nobody "
			 "else can (chmod go-w)", dir, (st.st_mode & S_IWOTH) ? "others" : "its group",
			 (unsigned)(st.st_mode & 07777));
	else
		snprintf(buf, size, "directory %s is owned by uid %u, not root or uid %u; a daemon writes only where "
			 "nobody else can", dir, (unsigned)st.st_uid, (unsigned)geteuid());
}

const char *fileops_strerror(const char *path, unsigned kinds, int r, char *buf, size_t size)
{
	struct stat st;

	if (r == -ELOOP)
		snprintf(buf, size, "is a symbolic link, not followed (expected %s)", kinds_name(kinds));
	else if (r == -EMEDIUMTYPE && lstat(path, &st) == 0)
		snprintf(buf, size, "is a %s, not %s", util_file_type_name(st.st_mode), kinds_name(kinds));
	else if (r == -EMEDIUMTYPE)
		snprintf(buf, size, "is not %s", kinds_name(kinds));
	else if (r == -EPERM)
		describe_dir(path, buf, size);
	else
		snprintf(buf, size, "%s", strerror(-r));
	return buf;
}

static int fsync_dir(const char *dir)
{
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		return -errno;
	return 0;
}

int fileops_mkdir_parents(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	char *p;
	int r;

	r = util_strcpy_bounded(buf, sizeof(buf), path);
	if (r < 0)
		return r;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* O_EXCL: never write through whatever is already at the temp name. The
 * directory is ours alone (checked), so something there is a leftover of
 * a killed writer that had our pid, or was put there by root: remove the
 * entry and try once more. */
static int create_tmp(const char *tmp, mode_t mode)
{
	int fd, r;

	r = fileops_open_checked(tmp, O_WRONLY | O_CREAT | O_EXCL, mode, FILEOPS_REG, &fd);
	if (r == -EEXIST || r == -ELOOP || r == -EMEDIUMTYPE) {
		if (unlink(tmp) < 0 && errno != ENOENT)
			return -errno;
		r = fileops_open_checked(tmp, O_WRONLY | O_CREAT | O_EXCL, mode, FILEOPS_REG, &fd);
	}
	return r < 0 ? r : fd;
}

int fileops_write_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	int fd, r;

	r = split_dir(path, dir, sizeof(dir));
	if (r < 0)
		return r;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	r = fileops_mkdir_parents(dir, 0755);
	if (r == 0)
		r = fileops_check_dir(path);
	if (r < 0)
		return r;

	fd = create_tmp(tmp, mode);
	if (fd < 0)
		return fd;
	r = write_all(fd, data, len);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return r;
	}
	return fsync_dir(dir);
}

/* "<base>.tmp.<pid>" of a pid that is not running. */
static bool stale_tmp_name(const char *name, const char *base, size_t blen)
{
	char *end;
	long pid;

	if (strncmp(name, base, blen) != 0 || strncmp(name + blen, ".tmp.", 5) != 0 || !name[blen + 5])
		return false;
	errno = 0;
	pid = strtol(name + blen + 5, &end, 10);
	if (*end || errno || pid <= 0 || pid > INT_MAX || pid == getpid())
		return false;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int fileops_remove_stale_tmp(const char *path)
{
	char dir[PATH_MAX];
	const char *base = strrchr(path, '/');
	struct dirent *e;
	DIR *d;
	int r, n = 0;

	r = split_dir(path, dir, sizeof(dir));
	if (r < 0)
		return r;
	base = base ? base + 1 : path;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)))
		if (stale_tmp_name(e->d_name, base, strlen(base)) && unlinkat(dirfd(d), e->d_name, 0) == 0)
			n++;
	closedir(d);
	return n;
}

int fileops_remove_atomic(const char *path)
{
	char dir[PATH_MAX];
	int r;

	r = split_dir(path, dir, sizeof(dir));
	if (r < 0)
		return r;
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return -errno;
	}
	return fsync_dir(dir);
}

int fileops_read_small(const char *path, char *buf, size_t size)
{
	return fileops_read_small_kind(path, FILEOPS_REG, buf, size);
}

int fileops_read_small_kind(const char *path, unsigned kinds, char *buf, size_t size)
{
	_cleanup_close_ int fd = -1;
	size_t got = 0;
	int r;

	if (size == 0)
		return -EINVAL;
	r = fileops_open_checked(path, O_RDONLY, 0, kinds, &fd);
	if (r < 0)
		return r;
	while (got < size - 1) {
		ssize_t n = read(fd, buf + got, size - 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	return (int)got;
}
