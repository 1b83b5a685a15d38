/* What the four services (hostwd, mtcclient, mtcagent, pmon-hook run)
 * share: the command line, loading their configuration file, and the
 * signals. Options: -c/--config FILE, --check-config, --dump-config,
 * --describe-config (the config table as TSV, for the man page),
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

/* Ignores SIGPIPE (a vanished peer is an error return), and on e: SIGTERM
 * and SIGINT log, send STOPPING=1 and leave the loop; SIGHUP calls reload
 * between RELOADING=1 and READY=1 (reload keeps the running configuration
 * when the new one is bad). */
int service_signals(service *s, sd_event *e, int (*reload)(void *userdata), void *userdata);

#endif
