/* What the reporter says each period: configured = every gate file exists,
 * quorum = every listed process runs. The decision is pure; the scans of
 * the file system and /proc are separate. */
#ifndef PMH_EVAL_H
#define PMH_EVAL_H

#include <stdbool.h>
#include <stddef.h>

#define PMH_MAX_ITEMS 16
#define PMH_NAME_MAX 64

typedef struct pmh_eval_result {
	bool configured;
	bool quorum_ok;
	char missing_gate[192];      /* first gate that is absent */
	char lost_process[PMH_NAME_MAX]; /* first quorum process not running */
} pmh_eval_result;

/* gates_present[i] tells whether gates[i] exists; running holds the names
 * of running processes (as in /proc/PID/comm) and of pidfiles whose
 * process is alive. */
void pmh_evaluate(const char *const *gates, const bool *gates_present, size_t n_gates,
		  const char *const *procs, size_t n_procs,
		  const char *const *running, size_t n_running, pmh_eval_result *ret);

/* Split a comma-separated list in place (trimming blanks) into items[max].
 * Returns the count or -E2BIG. */
int pmh_split_list(char *list, char **items, size_t max);

/* Is the process named spec running? spec is a comm name, or an absolute
 * pidfile path whose pid must be alive. proc_root is "/proc" normally. */
bool pmh_process_running(const char *proc_root, const char *spec);

#endif
