/* [agent] store = file: admin state in state_file on this controller.
 * The file is a log of "HOST STATE SEQUENCE" lines, the last line of a host
 * winning: a change appends one line and fsyncs it (a whole rewrite of a
 * 10,000-host file per lock cost ~2.5 ms plus fsync jitter: lock p99 12 ms
 * against a 5 ms target). It is rewritten compacted, atomically, at start
 * and when the log has grown well past the host count. A line cut by a
 * crash (no newline) was never acknowledged and is ignored. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileops.h"
#include "log.h"
#include "mtc_store.h"
#include "service.h"

/* One host's entry; version counts its changes in this run. */
typedef struct entry {
	char name[MTC_HOSTNAME_MAX + 1];
	mtc_admin_value value;
	uint32_t seq;
	int64_t version;
} entry;

struct mtc_store {
	mtc_store_env env;
	entry *v;        /* sorted by name */
	size_t n, cap;
	int64_t versions; /* versions handed out */
	bool suspect;    /* the state file could not be read or parsed: kept aside before rewriting */
	int fd;          /* state_file opened O_APPEND after the last rewrite; -1: rewrite next time */
	size_t appended; /* lines appended since that rewrite */
};

static const char *const value_names[] = { "unknown", "locked", "unlocked" };

static const char *state_path(const mtc_store *fs)
{
	return fs->env.cfg->state_file;
}

/* Compact once the appended lines reach this (amortised: a rewrite per
 * this many changes). */
static size_t append_limit(const mtc_store *fs)
{
	return (fs->n > fs->env.n_hosts ? fs->n : fs->env.n_hosts) * 4 + 1000;
}

static int entry_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const entry *)elem)->name);
}

/* host's entry, added (unknown, version 0) if absent; NULL: no memory. */
static entry *entry_get(mtc_store *fs, const char *host)
{
	size_t lo = 0, hi = fs->n;
	entry *e;

	while (lo < hi) { /* the first name not below host */
		size_t mid = lo + (hi - lo) / 2;

		if (entry_cmp(host, &fs->v[mid]) > 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < fs->n && strcmp(fs->v[lo].name, host) == 0)
		return &fs->v[lo];
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? fs->cap * 2 : 64;
		entry *v = realloc(fs->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		fs->v = v;
		fs->cap = cap;
	}
	memmove(fs->v + lo + 1, fs->v + lo, (fs->n - lo) * sizeof(*e));
	fs->n++;
	e = &fs->v[lo];
	*e = (entry){ .value = MTC_ADMIN_UNKNOWN };
	snprintf(e->name, sizeof(e->name), "%s", host);
	return e;
}

/* A file we could not read or parse may hold what an operator needs:
 * keep it aside instead of silently replacing it. */
static int keep_aside(mtc_store *fs)
{
	char aside[MTC_PATH_MAX + 16];
	int r;

	if (!fs->suspect)
		return 0;
	snprintf(aside, sizeof(aside), "%s.corrupt", state_path(fs));
	if (rename(state_path(fs), aside) < 0 && errno != ENOENT) {
		r = -errno;
		log_err("cannot keep unreadable admin state %s aside as %s: %s; not overwriting it", state_path(fs),
			aside, strerror(-r));
		return r;
	}
	log_warn("unreadable admin state %s kept as %s", state_path(fs), aside);
	fs->suspect = false;
	return 0;
}

/* The whole state, compacted, written atomically; then the log is
 * reopened for appending (the rename replaced the file). */
static int save_state(mtc_store *fs)
{
	size_t size = fs->n * (MTC_HOSTNAME_MAX + 32) + 128, used = 0;
	char *buf;
	int r;

	r = keep_aside(fs);
	if (r < 0)
		return r;
	if (fs->fd >= 0)
		close(fs->fd);
	fs->fd = -1;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	used += (size_t)snprintf(buf, size, "# mtcagent admin state: HOST locked|unlocked COMMAND-SEQUENCE\n"
					    "# hosts not listed are unknown, and treated as locked\n");
	for (size_t i = 0; i < fs->n; i++) {
		const entry *e = &fs->v[i];

		if (e->value != MTC_ADMIN_UNKNOWN || e->seq)
			used += (size_t)snprintf(buf + used, size - used, "%s %s %u\n", e->name, value_names[e->value],
						 e->seq);
	}
	r = fileops_write_atomic(state_path(fs), buf, used, 0644);
	free(buf);
	if (r < 0) {
		log_err("cannot persist admin state to %s: %s", state_path(fs), strerror(-r));
		return r;
	}
	if (fileops_open_checked(state_path(fs), O_WRONLY | O_APPEND, 0, FILEOPS_REG, &fs->fd) < 0)
		fs->fd = -1;
	fs->appended = 0;
	return 0;
}

/* Still the file at state_file (not removed or replaced behind us)? at:
 * the open file's stat, for its size. */
static bool append_target_ok(const mtc_store *fs, struct stat *at)
{
	struct stat st;

	return fs->fd >= 0 && fstat(fs->fd, at) == 0 && at->st_nlink > 0 && stat(state_path(fs), &st) == 0 &&
	       st.st_ino == at->st_ino && st.st_dev == at->st_dev;
}

/* One host's change: appended (and fsynced if sync), or the whole file
 * rewritten when the log is long, cannot be appended to, or is not ours
 * any more. A failed append is cut back off, so nothing half-written stays. */
static int save_entry(mtc_store *fs, const entry *e, bool sync)
{
	char line[MTC_HOSTNAME_MAX + 32];
	struct stat st;
	int n;

	if (fs->suspect || fs->appended >= append_limit(fs) || !append_target_ok(fs, &st))
		return save_state(fs);
	n = snprintf(line, sizeof(line), "%s %s %u\n", e->name, value_names[e->value], e->seq);
	if (write(fs->fd, line, (size_t)n) == n && (!sync || fsync(fs->fd) == 0)) {
		fs->appended++;
		return 0;
	}
	log_err("cannot append to admin state %s: %m; rewriting it whole", state_path(fs));
	if (ftruncate(fs->fd, st.st_size) < 0 || fsync(fs->fd) < 0)
		log_err("cannot cut a failed append off %s: %m", state_path(fs));
	return save_state(fs);
}

/* One line of the state file; false if malformed (or no memory). */
static bool load_line(mtc_store *fs, const char *line)
{
	char name[MTC_HOSTNAME_MAX + 2], state[16], extra[2];
	unsigned long seq = 0;
	int n, value = -1;
	entry *e;

	n = sscanf(line, "%64s %15s %lu %1s", name, state, &seq, extra);
	for (int i = 0; i < 3; i++)
		if (n >= 2 && strcmp(state, value_names[i]) == 0)
			value = i;
	if ((n != 2 && n != 3) || seq > UINT32_MAX || value < 0 || !(e = entry_get(fs, name)))
		return false;
	e->value = (mtc_admin_value)value;
	e->seq = (uint32_t)seq;
	e->version = ++fs->versions;
	return true;
}

static void read_file(mtc_store *fs, FILE *f)
{
	char line[256];
	unsigned lineno = 0;

	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!strchr(line, '\n') && feof(f)) {
			/* Cut by a crash mid-append: never acknowledged. */
			log_warn("%s:%u: last line incomplete (a change cut by a crash, never acknowledged); ignored",
				 state_path(fs), lineno);
			break;
		}
		if (!load_line(fs, line)) {
			log_err("%s:%u: malformed line; hosts without a valid line are unknown and treated as locked",
				state_path(fs), lineno);
			fs->suspect = true;
		}
	}
}

/* Every entry read, then LOADED (why NULL: a start's read, not news). */
static void report_all(mtc_store *fs)
{
	for (size_t i = 0; i < fs->n; i++) {
		const entry *e = &fs->v[i];
		mtc_store_event ev = { .kind = MTC_STORE_CHANGED, .host = e->name, .value = e->value,
				       .version = e->version, .seq = e->seq };

		fs->env.on_event(fs->env.user, &ev);
	}
	fs->env.on_event(fs->env.user, &(mtc_store_event){ .kind = MTC_STORE_LOADED });
}

static int file_open(const mtc_store_env *env, mtc_store **ret)
{
	mtc_store *fs = calloc(1, sizeof(*fs));
	FILE *f = NULL;
	int fd, r;

	if (!fs)
		return -ENOMEM;
	fs->env = *env;
	fs->fd = -1;
	*ret = fs;
	service_clean_leftovers(state_path(fs));
	/* Non-blocking, no symlink followed, regular files only: a FIFO there
	 * must not hang the agent's start. */
	r = fileops_open_checked(state_path(fs), O_RDONLY, 0, FILEOPS_REG, &fd);
	if (r == 0 && !(f = fdopen(fd, "r"))) {
		r = -errno;
		close(fd);
	}
	if (!f) {
		if (r != -ENOENT) {
			log_err("cannot read admin state %s: %s; every host's admin state is unknown and treated as "
				"locked", state_path(fs),
				fileops_strerror(state_path(fs), FILEOPS_REG, r, (char[256]){ 0 }, 256));
			fs->suspect = true;
		}
		report_all(fs);
		return 0; /* written at the first change */
	}
	read_file(fs, f);
	fclose(f);
	report_all(fs);
	/* Compacted now: the log starts clean (no line cut by a crash for the
	 * next append to run into). A failure is logged; the first change
	 * tries again and reports it to the operator. */
	save_state(fs);
	return 0;
}

static void file_close(mtc_store *fs)
{
	if (!fs)
		return;
	if (fs->fd >= 0)
		close(fs->fd);
	free(fs->v);
	free(fs);
}

static void file_read(mtc_store *fs)
{
	(void)fs; /* read at open; only this agent writes it */
}

/* This agent is the only writer: if_version is not checked (the agent's
 * view is the file's; a host new in the hosts file is unknown to the
 * agent even if a line of a former host of that name is kept here, and
 * its first put replaces that line). An operator's put (if_version < 0) is
 * fsynced before it is answered; a correction's new sequence is written
 * without fsync: it survives an agent crash, not a power loss, and costs
 * a reboot storm's thousands of corrections no fsync each (a lost one
 * makes the host look ordered by another agent: held, shown unknown,
 * until an operator's change). */
static void file_put(mtc_store *fs, const char *host, mtc_admin_value value, uint32_t seq, int64_t if_version,
		     void *ctx)
{
	mtc_store_event ev = { .kind = MTC_STORE_PUT, .host = host, .ctx = ctx };
	char why[MTC_PATH_MAX + MTC_HOSTNAME_MAX + 64];
	entry *e = entry_get(fs, host), was;

	(void)if_version;
	if (!e) {
		ev.r = -ENOMEM;
		ev.why = "out of memory; not changed";
	} else {
		was = *e;
		*e = (entry){ .value = value, .seq = seq, .version = ++fs->versions };
		snprintf(e->name, sizeof(e->name), "%s", host);
		ev.r = save_entry(fs, e, if_version < 0) < 0 ? -EIO : 0;
		if (ev.r < 0) {
			*e = was;
			snprintf(why, sizeof(why), "cannot persist admin state to %s; %s unchanged", state_path(fs), host);
			ev.why = why;
		}
		ev.value = e->value;
		ev.version = e->version;
		ev.seq = e->seq;
	}
	fs->env.on_event(fs->env.user, &ev);
}

static void file_describe(mtc_store *fs, char *buf, size_t size)
{
	snprintf(buf, size, "file %s", state_path(fs));
}

/* The file was read at start; a failed write shows in the reply of the
 * lock/unlock that hit it. */
static void file_health(mtc_store *fs, mtc_store_health *ret)
{
	(void)fs;
	*ret = (mtc_store_health){ .loaded = true, .healthy = true };
}

static void file_state(mtc_store *fs, mtc_admin_store *ret)
{
	(void)fs;
	*ret = (mtc_admin_store){ .shared = false, .loaded = true, .healthy = true };
}

const mtc_store_ops mtc_store_file_ops = {
	.name = "file",
	.shared = false,
	.open = file_open,
	.close = file_close,
	.read = file_read,
	.put = file_put,
	.describe = file_describe,
	.health = file_health,
	.state = file_state,
};
