/* What the four services (hostwd, mtcclient, mtcagent, pmon-hook run)
 * share: the command line, loading their configuration file, and the
 * signals. Options: -c/--config FILE, --check-config, --dump-config,
 * --describe-config (the config table as TSV, for the man page),
 * --describe-metrics (the metrics table as TSV, for docs/operations.md),
 * -h/--help, -V/--version. */
#ifndef HWM_SERVICE_H
#define HWM_SERVICE_H

#include "conf.h"

#include <stdbool.h>

#include <systemd/sd-event.h>

typedef enum { SERVICE_RUN, SERVICE_CHECK_CONFIG, SERVICE_DUMP_CONFIG } service_mode;

typedef struct service {
	const char *name;          /* for --version and messages */
	const char *about;         /* what it does, for --help */
	const char *check_what;    /* what --check-config validates */
	const char *footer;        /* signals etc., for --help; may be NULL */
	const conf_table *table;   /* the configuration's table */
	const struct metric_def *metrics; /* the metrics it publishes ([metrics] textfile) */
	size_t n_metrics;
	const char *config_path;   /* in: the default; out: the file to load */
	bool config_explicit;      /* out: given with -c, so it must exist */
	service_mode mode;         /* out */
	int (*reload)(void *userdata);  /* set by service_signals() */
	void *userdata;
} service;

/* Returns -1 when the service should go on in s->mode, otherwise the exit
 * status: 0 after --help, --version or --describe-config, 2 on a usage
 * error (the usage is printed to stderr). */
int service_parse_cli(service *s, int argc, char **argv);

/* Loads s->config_path into cfg (a struct of s->table); a default path
 * that does not exist gives the defaults. Prints every error as
 * "file:line: message" on stderr. Returns 0 or -errno. */
int service_load_config(const service *s, void *cfg);

/* What every service's main() does after service_parse_cli(): load the
 * configuration, then answer --check-config ("FILE: configuration valid")
 * or --dump-config. Returns -1 when the service should go on and run,
 * otherwise the exit status (0 done, 1 bad configuration). */
int service_config_or_exit(const service *s, void *cfg);

/* Runs the loop after READY=1; a loop that fails is logged. Returns the
 * loop's result (0 or -errno) for the caller's cleanup. */
int service_loop(sd_event *e);

/* At start, for each file the daemon writes with fileops_write_atomic:
 * remove what a writer killed mid-write left beside it, and say so. */
void service_clean_leftovers(const char *path);

/* The exit status of a service that ran: 0, or 1 if run() failed. */
static inline int service_exit_status(int r)
{
	return r < 0 ? 1 : 0;
}

/* A oneshot timer fired at usec: fire again interval_usec later. Meant as
 * the handler's return value; a failure is logged (sd-event then disables
 * the source, so the timer would otherwise stop without a word). */
int service_rearm(sd_event_source *s, uint64_t usec, uint64_t interval_usec);

struct metrics_buf;
/* [metrics] textfile: b written to path (atomically); a failure is logged
 * once until a write succeeds again (*last_error keeps the episode). An
 * empty path: nothing. */
void service_publish_metrics(const char *path, const struct metrics_buf *b, int *last_error);

/* Ignores SIGPIPE (a vanished peer is an error return), and on e: SIGTERM
 * and SIGINT log, send STOPPING=1 and leave the loop; SIGHUP calls reload
 * between RELOADING=1 and READY=1 (reload keeps the running configuration
 * when the new one is bad). */
int service_signals(service *s, sd_event *e, int (*reload)(void *userdata), void *userdata);

#endif
