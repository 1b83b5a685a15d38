#include "pmh_eval.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
			snprintf(ret->lost_process, sizeof(ret->lost_process), "%s", procs[i]);
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

static bool pid_alive(const char *proc_root, long pid)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%ld", proc_root, pid);
	return util_path_exists(path);
}

bool pmh_process_running(const char *proc_root, const char *spec)
{
	char buf[64], path[512];
	struct dirent *de;
	bool found = false;
	DIR *d;

	if (spec[0] == '/') {
		long pid;
		char *nl;

		/* A pidfile may be a link (packages do that); a FIFO is refused. */
		if (fileops_read_small_kind(spec, FILEOPS_REG | FILEOPS_FOLLOW, buf, sizeof(buf)) <= 0)
			return false;
		nl = strchr(buf, '\n');
		if (nl)
			*nl = '\0';
		return util_parse_long(buf, 1, 0x7fffffff, &pid) == 0 && pid_alive(proc_root, pid);
	}
	d = opendir(proc_root);
	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		int n;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", proc_root, de->d_name);
		n = fileops_read_small(path, buf, sizeof(buf));
		if (n <= 0)
			continue;
		if (buf[n - 1] == '\n')
			buf[n - 1] = '\0';
		found = strcmp(buf, spec) == 0;
	}
	closedir(d);
	return found;
}
