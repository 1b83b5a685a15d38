/* What the reporter says each period: configured = every gate file exists,
 * quorum = every listed process runs. The decision is pure; the scans of
 * the file system and /proc are separate. */
#ifndef PMH_EVAL_H
#define PMH_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

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

#define PMH_PATH_MAX 160

/* One quorum_processes entry: NAME[:UID[:EXE]] or PIDFILE[:UID[:EXE]].
 * NAME is the /proc/PID/comm name (at most 15 bytes); UID the owner
 * (real and effective, /proc/PID/status); EXE the absolute path of the
 * executable (/proc/PID/exe). An empty or absent field matches anything. */
typedef struct pmh_proc_spec {
	char name[16];
	char pidfile[PMH_PATH_MAX];
	bool has_uid;
	uid_t uid;
	char exe[PMH_PATH_MAX];
} pmh_proc_spec;

/* 0, or -errno if spec is not one of the forms above. */
int pmh_proc_spec_parse(const char *spec, pmh_proc_spec *ret);

/* A bare NAME: any local user can run a process of that name. */
bool pmh_proc_spec_forgeable(const pmh_proc_spec *p);

/* What a pidfile entry was last seen naming: its pid, the pidfile's
 * mtime, and the start time (ticks since boot) of the process then. */
typedef struct pmh_pid_memo {
	bool have;
	long pid;
	struct timespec mtime;
	unsigned long long start_ticks;
} pmh_pid_memo;

/* Is the process of spec running? A NAME matches a process of that comm
 * name with the UID and EXE given; a PIDFILE matches the pid it holds if
 * that process runs, has the UID and EXE given and, with a memo (kept by
 * the caller per entry), is the process first seen there while the
 * pidfile is unchanged (another start time: a reused pid). proc_root is
 * "/proc" normally. */
bool pmh_process_running(const char *proc_root, const char *spec, pmh_pid_memo *memo);

#endif
