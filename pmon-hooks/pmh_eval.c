#include "pmh_eval.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileops.h"

void pmh_evaluate(const char *const *gates, const bool *gates_present, size_t n_gates,
		  const char *const *procs, size_t n_procs, const char *const *running,
		  size_t n_running, pmh_eval_result *ret)
{
	memset(ret, 0, sizeof(*ret));
	ret->configured = true;
	ret->quorum_ok = true;
	for (size_t i = 0; i < n_gates; i++) {
		if (!gates_present[i]) {
			ret->configured = false;
			snprintf(ret->missing_gate, sizeof(ret->missing_gate), "%s", gates[i]);
			break;
		}
	}
	for (size_t i = 0; i < n_procs; i++) {
		bool found = false;

		for (size_t j = 0; j < n_running && !found; j++)
			found = strcmp(procs[i], running[j]) == 0;
		if (!found) {
			ret->quorum_ok = false;
			/* The name (or pidfile) only: uid and path are in the config. */
			snprintf(ret->lost_process, sizeof(ret->lost_process), "%.*s", (int)strcspn(procs[i], ":"),
				 procs[i]);
			break;
		}
	}
}

int pmh_split_list(char *list, char **items, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *e;

		while (isspace((unsigned char)*tok))
			tok++;
		e = tok + strlen(tok);
		while (e > tok && isspace((unsigned char)e[-1]))
			*--e = '\0';
		if (!*tok)
			continue;
		if (n >= max)
			return -E2BIG;
		items[n++] = tok;
	}
	return (int)n;
}

int pmh_proc_spec_parse(const char *spec, pmh_proc_spec *ret)
{
	pmh_proc_spec p = { 0 };
	const char *c1 = strchr(spec, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	size_t len = c1 ? (size_t)(c1 - spec) : strlen(spec);
	char uid[16];
	long v;

	if (spec[0] == '/') {
		if (len >= sizeof(p.pidfile))
			return -ENAMETOOLONG;
		memcpy(p.pidfile, spec, len);
	} else {
		if (len == 0 || len >= sizeof(p.name))
			return -ENAMETOOLONG; /* a /proc comm name has at most 15 bytes */
		memcpy(p.name, spec, len);
	}
	if (c1) {
		size_t ulen = c2 ? (size_t)(c2 - c1 - 1) : strlen(c1 + 1);

		if (ulen >= sizeof(uid))
			return -EINVAL;
		memcpy(uid, c1 + 1, ulen);
		uid[ulen] = '\0';
		if (ulen && util_parse_long(uid, 0, 0x7fffffff, &v) < 0)
			return -EINVAL;
		p.has_uid = ulen > 0;
		p.uid = (uid_t)(p.has_uid ? v : 0);
	}
	if (c2 && c2[1]) {
		if (c2[1] != '/' || strlen(c2 + 1) >= sizeof(p.exe))
			return -EINVAL;
		strcpy(p.exe, c2 + 1);
	}
	*ret = p;
	return 0;
}

bool pmh_proc_spec_forgeable(const pmh_proc_spec *p)
{
	return !p->pidfile[0] && !p->has_uid && !p->exe[0];
}

/* Real and effective uid from /proc/PID/status (the directory's owner
 * is root for a non-dumpable process of any user: not evidence). */
static bool uid_is(const char *dir, uid_t want)
{
	char path[320], buf[2048], *l;
	unsigned long ruid, euid;

	snprintf(path, sizeof(path), "%s/status", dir);
	if (fileops_read_small(path, buf, sizeof(buf)) <= 0)
		return false;
	l = strstr(buf, "\nUid:");
	return l && sscanf(l + 5, "%lu %lu", &ruid, &euid) == 2 && ruid == want && euid == want;
}

/* The executable the kernel ran; after an upgrade replaced the file it
 * reads "PATH (deleted)": still that path (only root can write there). */
static bool exe_is(const char *dir, const char *want)
{
	char path[320], link[PMH_PATH_MAX + 16];
	size_t wl = strlen(want);
	ssize_t n;

	snprintf(path, sizeof(path), "%s/exe", dir);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return false;
	link[n] = '\0';
	return strncmp(link, want, wl) == 0 && (link[wl] == '\0' || strcmp(link + wl, " (deleted)") == 0);
}

static bool owner_matches(const char *dir, const pmh_proc_spec *p)
{
	return (!p->has_uid || uid_is(dir, p->uid)) && (!p->exe[0] || exe_is(dir, p->exe));
}

/* The process's start time in clock ticks since boot (/proc/PID/stat
 * field 22, after the parenthesised comm, which may hold anything): with
 * the pid, it names one process for the life of the boot. */
static int start_ticks(const char *dir, unsigned long long *ret)
{
	char path[320], buf[1024], *p;
	int n;

	snprintf(path, sizeof(path), "%s/stat", dir);
	n = fileops_read_small(path, buf, sizeof(buf));
	p = n > 0 ? strrchr(buf, ')') : NULL;
	if (!p)
		return -EINVAL;
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", ret) != 1)
		return -EINVAL;
	return 0;
}

/* The pid a pidfile names is its daemon's while the pidfile is unchanged
 * and the process there has the start time first seen: another start time
 * is another process that got the pid by reuse (the daemon died, its
 * pidfile stayed). The boot-relative start time is immune to wall-clock
 * steps; a pidfile rewritten (mtime, pid) is learnt afresh. */
static bool same_process(pmh_pid_memo *m, long pid, const struct stat *st, unsigned long long ticks)
{
	bool same_file = m->have && m->pid == pid && m->mtime.tv_sec == st->st_mtim.tv_sec &&
			 m->mtime.tv_nsec == st->st_mtim.tv_nsec;

	if (same_file)
		return m->start_ticks == ticks;
	*m = (pmh_pid_memo){ .have = true, .pid = pid, .mtime = st->st_mtim, .start_ticks = ticks };
	return true;
}

static bool pidfile_running(const char *proc_root, const pmh_proc_spec *p, pmh_pid_memo *memo)
{
	char buf[64], dir[300];
	unsigned long long ticks;
	struct stat st;
	long pid;
	char *nl;

	/* A pidfile may be a link (packages do that); a FIFO is refused. */
	if (stat(p->pidfile, &st) < 0 ||
	    fileops_read_small_kind(p->pidfile, FILEOPS_REG | FILEOPS_FOLLOW, buf, sizeof(buf)) <= 0)
		return false;
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	if (util_parse_long(buf, 1, 0x7fffffff, &pid) < 0)
		return false;
	snprintf(dir, sizeof(dir), "%s/%ld", proc_root, pid);
	if (!util_path_exists(dir) || start_ticks(dir, &ticks) < 0)
		return false;
	if (memo && !same_process(memo, pid, &st, ticks))
		return false;
	return owner_matches(dir, p);
}

static bool comm_is(const char *dir, const char *name)
{
	char path[320], buf[64];
	int n;

	snprintf(path, sizeof(path), "%s/comm", dir);
	n = fileops_read_small(path, buf, sizeof(buf));
	if (n <= 0)
		return false;
	if (buf[n - 1] == '\n')
		buf[n - 1] = '\0';
	return strcmp(buf, name) == 0;
}

bool pmh_process_running(const char *proc_root, const char *spec, pmh_pid_memo *memo)
{
	char dir[300];
	pmh_proc_spec p;
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (pmh_proc_spec_parse(spec, &p) < 0)
		return false;
	if (p.pidfile[0])
		return pidfile_running(proc_root, &p, memo);
	d = opendir(proc_root);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", proc_root, de->d_name);
		found = comm_is(dir, p.name) && owner_matches(dir, &p);
	}
	closedir(d);
	return found;
}
