#include "service.h"
#include "fileops.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "util.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

static void usage(const service *s, FILE *out)
{
	fprintf(out,
		"Usage: %s [OPTIONS]\n"
		"%s\n\n"
		"  -c, --config FILE   configuration file (default %s)\n"
		"      --check-config  validate %s and exit (0 valid, 1 errors)\n"
		"      --dump-config   print the effective configuration as ini and exit\n"
		"  -h, --help          show this help\n"
		"  -V, --version       show the version\n",
		s->name, s->about, s->config_path, s->check_what);
	if (s->footer)
		fprintf(out, "\n%s\n", s->footer);
}

int service_parse_cli(service *s, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "dump-config", no_argument, NULL, 'D' },
		{ "describe-config", no_argument, NULL, 'T' },
		{ "describe-metrics", no_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 }
	};
	int c;

	s->mode = SERVICE_RUN;
	while ((c = getopt_long(argc, argv, "c:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': s->config_path = optarg; s->config_explicit = true; break;
		case 'C': s->mode = SERVICE_CHECK_CONFIG; break;
		case 'D': s->mode = SERVICE_DUMP_CONFIG; break;
		case 'T': conf_describe(s->table, stdout); return 0;
		case 'M': metrics_describe(s->metrics, s->n_metrics, stdout); return 0;
		case 'h': usage(s, stdout); return 0;
		case 'V': printf("%s %s\n", s->name, PROJECT_VERSION); return 0;
		default: usage(s, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\n", s->name, argv[optind]);
		return 2;
	}
	return -1;
}

/* A running daemon says what is wrong with the files its config names
 * (each open refuses them again) and goes on: mtcclient must run to
 * restore the lock flag, hostwd to kick. */
static void log_file_errors(const conf_errors *fe)
{
	const char *p = fe->text;

	while (fe->count && *p) {
		const char *nl = strchr(p, '\n');
		int n = nl ? (int)(nl - p) : (int)strlen(p);

		log_emit(LOG_CRIT, NULL, "%.*s", n, p);
		p += n + (nl ? 1 : 0);
	}
}

int service_load_config(const service *s, void *cfg)
{
	conf_errors errs = { 0 }, file_errs = { 0 };
	conf_errors *fe = s->mode == SERVICE_CHECK_CONFIG ? NULL : &file_errs;
	int r;

	if (!s->config_explicit && !util_path_exists(s->config_path))
		r = conf_load_service(s->table, cfg, NULL, s->config_path, &errs, fe);
	else
		r = conf_load_service(s->table, cfg, s->config_path, s->config_path, &errs, fe);
	if (r < 0)
		fprintf(stderr, "%s", errs.text);
	else
		log_file_errors(&file_errs);
	return r;
}

int service_config_or_exit(const service *s, void *cfg)
{
	if (service_load_config(s, cfg) < 0)
		return 1;
	if (s->mode == SERVICE_CHECK_CONFIG) {
		printf("%s: configuration valid\n", s->config_path);
		return 0;
	}
	if (s->mode == SERVICE_DUMP_CONFIG) {
		conf_dump(s->table, cfg, stdout);
		return 0;
	}
	return -1;
}

int service_loop(sd_event *e)
{
	int r;

	notify_ready();
	r = sd_event_loop(e);
	if (r < 0)
		log_err("event loop failed: %s", strerror(-r));
	return r;
}

int service_rearm(sd_event_source *s, uint64_t usec, uint64_t interval_usec)
{
	int r = sd_event_source_set_time(s, usec + interval_usec);

	if (r >= 0)
		r = sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
	if (r < 0)
		log_err("cannot re-arm a timer: %s", strerror(-r));
	return r;
}

static int on_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata)
{
	service *s = userdata;

	if (si->ssi_signo == SIGHUP) {
		notify_reloading();
		s->reload(s->userdata);
		notify_ready();
		return 0;
	}
	log_notice("received %s, stopping", strsignal((int)si->ssi_signo));
	notify_stopping();
	return sd_event_exit(sd_event_source_get_event(src), 0);
}

int service_signals(service *s, sd_event *e, int (*reload)(void *userdata), void *userdata)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	sigset_t ss;
	int r;

	signal(SIGPIPE, SIG_IGN);
	s->reload = reload;
	s->userdata = userdata;
	sigemptyset(&ss);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
		sigaddset(&ss, sigs[i]);
	sigprocmask(SIG_BLOCK, &ss, NULL);
	for (size_t i = 0; i < ARRAY_SIZE(sigs); i++) {
		r = sd_event_add_signal(e, NULL, sigs[i], on_signal, s);
		if (r < 0)
			return r;
	}
	return 0;
}

void service_clean_leftovers(const char *path)
{
	int n;

	if (!path || !path[0])
		return;
	n = fileops_remove_stale_tmp(path);
	if (n > 0)
		log_notice("%s: removed %d temporary file(s) a writer killed mid-write left beside it (%s itself is whole)",
			   path, n, path);
	else if (n < 0)
		log_warn("%s: cannot look for leftover temporary files: %s", path, strerror(-n));
}
