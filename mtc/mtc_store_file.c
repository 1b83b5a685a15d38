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
#include "util.h"

typedef struct file_store {
	bool suspect;    /* the state file could not be read or parsed: kept aside before rewriting */
	int fd;          /* state_file opened O_APPEND after the last rewrite; -1: rewrite next time */
	size_t appended; /* lines appended since that rewrite */
} file_store;

/* Compact once the appended lines reach this (amortised: a rewrite per
 * this many changes). */
static size_t append_limit(const agent *a)
{
	return a->n_hosts * 4 + 1000;
}

/* A file we could not read or parse may hold what an operator needs:
 * keep it aside instead of silently replacing it. */
static int keep_aside(agent *a, file_store *fs)
{
	char aside[MTC_PATH_MAX + 16];
	int r;

	if (!fs->suspect)
		return 0;
	snprintf(aside, sizeof(aside), "%s.corrupt", a->cfg.state_file);
	if (rename(a->cfg.state_file, aside) < 0 && errno != ENOENT) {
		r = -errno;
		log_err("cannot keep unreadable admin state %s aside as %s: %s; not overwriting it",
			a->cfg.state_file, aside, strerror(-r));
		return r;
	}
	log_warn("unreadable admin state %s kept as %s", a->cfg.state_file, aside);
	fs->suspect = false;
	return 0;
}

/* The whole state, compacted, written atomically; then the log is
 * reopened for appending (the rename replaced the file). */
static int save_state(agent *a)
{
	file_store *fs = a->store_data;
	size_t size = a->n_hosts * (MTC_HOSTNAME_MAX + 32) + 128, used = 0;
	char *buf;
	int r;

	r = keep_aside(a, fs);
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
	for (size_t i = 0; i < a->n_hosts; i++) {
		const agent_host *h = &a->hosts[i];

		if (h->admin_known)
			used += (size_t)snprintf(buf + used, size - used, "%s %s %u\n", h->entry.name,
						 agent_admin_name(h), h->cmdseq);
		else if (h->cmdseq)
			used += (size_t)snprintf(buf + used, size - used, "%s unknown %u\n", h->entry.name, h->cmdseq);
	}
	r = fileops_write_atomic(a->cfg.state_file, buf, used, 0644);
	free(buf);
	if (r < 0) {
		log_err("cannot persist admin state to %s: %s", a->cfg.state_file, strerror(-r));
		return r;
	}
	if (fileops_open_checked(a->cfg.state_file, O_WRONLY | O_APPEND, 0, FILEOPS_REG, &fs->fd) < 0)
		fs->fd = -1;
	fs->appended = 0;
	return 0;
}

/* Still the file at state_file (not removed or replaced behind us)? at:
 * the open file's stat, for its size. */
static bool append_target_ok(const agent *a, int fd, struct stat *at)
{
	struct stat st;

	return fd >= 0 && fstat(fd, at) == 0 && at->st_nlink > 0 && stat(a->cfg.state_file, &st) == 0 &&
	       st.st_ino == at->st_ino && st.st_dev == at->st_dev;
}

/* One host's change: appended and fsynced, or the whole file rewritten
 * when the log is long, cannot be appended to, or is not ours any more. A
 * failed append is cut back off, so nothing half-written stays. */
static int save_host(agent *a, const agent_host *h)
{
	file_store *fs = a->store_data;
	char line[MTC_HOSTNAME_MAX + 32];
	struct stat st;
	int n;

	if (fs->suspect || fs->appended >= append_limit(a) || !append_target_ok(a, fs->fd, &st))
		return save_state(a);
	n = snprintf(line, sizeof(line), "%s %s %u\n", h->entry.name, agent_admin_name(h), h->cmdseq);
	if (write(fs->fd, line, (size_t)n) == n && fsync(fs->fd) == 0) {
		fs->appended++;
		return 0;
	}
	log_err("cannot append to admin state %s: %m; rewriting it whole", a->cfg.state_file);
	if (ftruncate(fs->fd, st.st_size) < 0 || fsync(fs->fd) < 0)
		log_err("cannot cut a failed append off %s: %m", a->cfg.state_file);
	return save_state(a);
}

/* One line of the state file; false if malformed. */
static bool load_line(agent *a, const char *line, unsigned lineno)
{
	char name[MTC_HOSTNAME_MAX + 2], state[16], extra[2];
	unsigned long seq = 0;
	agent_host *h;
	int n;

	n = sscanf(line, "%64s %15s %lu %1s", name, state, &seq, extra);
	if ((n != 2 && n != 3) || seq > UINT32_MAX ||
	    (strcmp(state, "locked") != 0 && strcmp(state, "unlocked") != 0 && strcmp(state, "unknown") != 0))
		return false;
	h = agent_find_host(a, name);
	if (!h) {
		log_info("%s:%u: host %s is no longer in the hosts file", a->cfg.state_file, lineno, name);
		return true;
	}
	h->cmdseq = (uint32_t)seq;
	if (strcmp(state, "unknown") == 0)
		return true;
	mtc_episode_init(&h->ep, strcmp(state, "locked") == 0);
	h->admin_known = true;
	return true;
}

static void log_unknown_hosts(agent *a)
{
	for (size_t i = 0; i < a->n_hosts; i++)
		if (!a->hosts[i].admin_known)
			agent_log_unknown(a, &a->hosts[i]);
}

static int file_open(agent *a)
{
	file_store *fs = calloc(1, sizeof(*fs));
	FILE *f = NULL;
	char line[256];
	unsigned lineno = 0;
	int fd, r;

	if (!fs)
		return -ENOMEM;
	fs->fd = -1;
	a->store_data = fs;
	service_clean_leftovers(a->cfg.state_file);
	/* Non-blocking, no symlink followed, regular files only: a FIFO there
	 * must not hang the agent's start. */
	r = fileops_open_checked(a->cfg.state_file, O_RDONLY, 0, FILEOPS_REG, &fd);
	if (r == 0 && !(f = fdopen(fd, "r"))) {
		r = -errno;
		close(fd);
	}
	if (!f) {
		if (r != -ENOENT) {
			log_err("cannot read admin state %s: %s; every host's admin state is unknown and treated as "
				"locked", a->cfg.state_file,
				fileops_strerror(a->cfg.state_file, FILEOPS_REG, r, (char[256]){ 0 }, 256));
			fs->suspect = true;
		}
		log_unknown_hosts(a);
		return 0; /* written at the first change */
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (!strchr(line, '\n') && feof(f)) {
			/* Cut by a crash mid-append: never acknowledged. */
			log_warn("%s:%u: last line incomplete (a change cut by a crash, never acknowledged); ignored",
				 a->cfg.state_file, lineno);
			break;
		}
		if (!load_line(a, line, lineno)) {
			log_err("%s:%u: malformed line; hosts without a valid line are unknown and treated as locked",
				a->cfg.state_file, lineno);
			fs->suspect = true;
		}
	}
	fclose(f);
	log_unknown_hosts(a);
	/* Compacted now: the log starts clean (no line cut by a crash for the
	 * next append to run into). A failure is logged; the first change
	 * tries again and reports it to the operator. */
	save_state(a);
	return 0;
}

static void file_close(agent *a)
{
	file_store *fs = a->store_data;

	if (fs && fs->fd >= 0)
		close(fs->fd);
	free(fs);
	a->store_data = NULL;
}

static void file_set_admin(agent *a, agent_host *h, bool lock, mtc_store_done_fn done, void *ctx)
{
	bool was = h->ep.admin_locked, was_known = h->admin_known;
	uint32_t was_seq = h->cmdseq;
	char why[MTC_PATH_MAX + MTC_HOSTNAME_MAX + 64];

	mtc_episode_set_admin(&h->ep, lock, util_now_ms());
	h->admin_known = true;
	/* Every admin change is a new command, newer than any the host applied. */
	h->cmdseq = mtc_order_new_cmdseq(h->cmdseq, h->applied);
	if (save_host(a, h) < 0) {
		mtc_episode_set_admin(&h->ep, was, util_now_ms());
		h->admin_known = was_known;
		h->cmdseq = was_seq;
		snprintf(why, sizeof(why), "cannot persist admin state to %s; %s unchanged", a->cfg.state_file,
			 h->entry.name);
		done(a, h, -EIO, why, ctx);
		return;
	}
	log_notice("%s: admin state %s (operator request)", h->entry.name, lock ? "locked" : "unlocked");
	agent_send_admin_state(a, h, "operator");
	done(a, h, 0, NULL, ctx);
}

static void file_describe(agent *a, char *buf, size_t size)
{
	snprintf(buf, size, "file %s", a->cfg.state_file);
}

/* The file was read at start; a failed write shows in the reply of the
 * lock/unlock that hit it. */
static void file_health(agent *a, mtc_store_health *ret)
{
	(void)a;
	*ret = (mtc_store_health){ .loaded = true, .healthy = true };
}

const mtc_store_ops mtc_store_file_ops = {
	.name = "file",
	.open = file_open,
	.close = file_close,
	.set_admin = file_set_admin,
	.describe = file_describe,
	.health = file_health,
};
