/* [etcd] password_file: the etcd user's password, read like the mtc key
 * (mtc_key_load): the file itself (no symlink followed, a FIFO never
 * waited on), owned by root or us, no access for group or others. */
#include "mtc_config.h"
#include "fileops.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

/* The text read (n bytes in buf) as one line: its trailing newline
 * stripped; empty, a second line or a NUL byte refused. */
static int one_line(const char *path, char *buf, ssize_t n, size_t size, char *msg, size_t msglen)
{
	if (n >= (ssize_t)size) {
		snprintf(msg, msglen, "password file %s: over %zu bytes", path, size - 1);
		return -EINVAL;
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	if (n == 0) {
		snprintf(msg, msglen, "password file %s is empty (one line: the etcd user's password)", path);
		return -EINVAL;
	}
	if (strchr(buf, '\n') || strlen(buf) != (size_t)n) {
		snprintf(msg, msglen, "password file %s: more than one line, or a NUL byte (one line: the password)",
			 path);
		return -EINVAL;
	}
	return (int)n;
}

int mtc_password_load(const char *path, char *buf, size_t size, char *msg, size_t msglen)
{
	_cleanup_close_ int fd = -1;
	struct stat st;
	char why[256];
	ssize_t n;
	int r;

	buf[0] = '\0';
	r = fileops_open_checked(path, O_RDONLY, 0, FILEOPS_REG, &fd);
	if (r < 0) {
		snprintf(msg, msglen, "password file %s: %s", path, fileops_strerror(path, FILEOPS_REG, r, why,
										  sizeof(why)));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(msg, msglen, "password file %s: %s", path, strerror(-r));
		return r;
	}
	r = mtc_secret_file_ok("password file", path, &st, msg, msglen);
	if (r < 0)
		return r;
	n = read(fd, buf, size);
	if (n < 0) {
		r = -errno;
		snprintf(msg, msglen, "password file %s: %s", path, strerror(-r));
		buf[0] = '\0';
		return r;
	}
	r = one_line(path, buf, n, size, msg, msglen);
	if (r < 0)
		sodium_memzero(buf, size);
	return r;
}

/* Read and wiped: the agent reads it again when its store opens. */
void mtc_password_check(const conf_origin *o, const char *path)
{
	char pw[MTC_PASSWORD_MAX], msg[400];

	if (mtc_password_load(path, pw, sizeof(pw), msg, sizeof(msg)) < 0)
		conf_key_error(o, "etcd", "password_file", "[etcd] password_file = %s: %s", path, msg);
	sodium_memzero(pw, sizeof(pw));
}
