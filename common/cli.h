/* The command line the three daemons share: -c/--config FILE,
 * --check-config, --dump-config, --describe-config (the config table as
 * TSV, for the man page), -h/--help, -V/--version. */
#ifndef HWM_CLI_H
#define HWM_CLI_H

#include "conf.h"

#include <stdbool.h>

typedef enum { CLI_RUN, CLI_CHECK_CONFIG, CLI_DUMP_CONFIG } cli_mode;

typedef struct cli_daemon {
	const char *name;          /* for --version and messages */
	const char *about;         /* what it does, for --help */
	const char *check_what;    /* what --check-config validates */
	const char *footer;        /* signals etc., for --help; may be NULL */
	const conf_table *table;   /* for --describe-config */
	const char *config_path;   /* in: the default; out: the file to load */
	bool config_explicit;      /* out: given with -c (a missing file is then an error) */
	cli_mode mode;             /* out */
} cli_daemon;

/* Returns -1 when the daemon should go on in d->mode, otherwise the exit
 * status: 0 after --help, --version or --describe-config, 2 on a usage
 * error (the usage is printed to stderr). */
int cli_daemon_parse(cli_daemon *d, int argc, char **argv);

#endif
