#include "cli.h"

#include <getopt.h>
#include <stdio.h>

static void usage(const cli_daemon *d, FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS]\n"
		"%s\n\n"
		"  -c, --config FILE   configuration file (default %s)\n"
		"      --check-config  validate %s and exit (0 valid, 1 errors)\n"
		"      --dump-config   print the effective configuration as ini and exit\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n",
		d->name, d->about, d->config_path, d->check_what);
	if (d->footer)
		fprintf(out, "\n%s\n", d->footer);
}

int cli_daemon_parse(cli_daemon *d, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "dump-config", no_argument, NULL, 'D' },
		{ "describe-config", no_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	d->mode = CLI_RUN;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': d->config_path = optarg; d->config_explicit = true; break;
		case 'C': d->mode = CLI_CHECK_CONFIG; break;
		case 'D': d->mode = CLI_DUMP_CONFIG; break;
		case 'T': conf_describe(d->table, stdout); return 0;
		case 'h': usage(d, stdout); return 0;
		case 'V': printf("%s %s\n", d->name, PROJECT_VERSION); return 0;
		default: usage(d, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", d->name, argv[optind]);
		return 2;
	}
	return -1;
}
