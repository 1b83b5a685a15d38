/* pmon-hook: one-shot reports, hostwd status, and the reporter service. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-event.h>

#include "kvtext.h"
#include "log.h"
#include "notify.h"
#include "pmh_config.h"
#include "pmh_eval.h"
#include "pmh_json.h"
#include "pmh_metrics.h"
#include "pmonhook.h"
#include "service.h"
#include "util.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2, EXIT_NOT_RUNNING = 3, EXIT_DENIED = 4 };

static int exit_code_for(int r)
{
	switch (r) {
	case -ENOENT: case -ECONNREFUSED: case -ETIMEDOUT: return EXIT_NOT_RUNNING;
	case -EACCES: case -EPERM: return EXIT_DENIED;
	default: return EXIT_FAIL;
	}
}

static const char *explain(int r)
{
	switch (r) {
	case -ENOENT: case -ECONNREFUSED: return "hostwd is not running (no listener on the socket)";
	case -ETIMEDOUT: return "hostwd did not answer within 1 s";
	case -EACCES: case -EPERM: return "permission denied on the socket";
	case -ENOTSOCK: return "path is not a socket";
	default: return strerror(-r);
	}
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: pmon-hook report --configured|--unconfigured --quorum ok|lost [--process NAME] [--socket PATH]\n"
		"       pmon-hook status [--json] [--socket PATH]\n"
		"       pmon-hook run [-c FILE] [--check-config|--dump-config]\n"
		"       pmon-hook --help | --version\n\n"
		"Reports the node's configured state and quorum health to hostwd and reads\n"
		"hostwd's state. Default socket: %s; default config: %s.\n"
		"Exit status: 0 ok, 1 error, 2 usage, 3 hostwd not running, 4 permission denied.\n",
		PMH_DEFAULT_SOCKET, PMH_DEFAULT_CONFIG);
}

static int cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "configured", no_argument, NULL, 'C' }, { "unconfigured", no_argument, NULL, 'U' },
		{ "quorum", required_argument, NULL, 'q' }, { "process", required_argument, NULL, 'p' },
		{ "socket", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *sock = PMH_DEFAULT_SOCKET, *process = NULL;
	int configured = -1, quorum = -1, c, r;
	pmh *h;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'C': configured = 1; break;
		case 'U': configured = 0; break;
		case 'q':
			if (strcmp(optarg, "ok") == 0)
				quorum = 1;
			else if (strcmp(optarg, "lost") == 0)
				quorum = 0;
			else {
				fprintf(stderr, "pmon-hook: --quorum takes 'ok' or 'lost', not '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'p': process = optarg; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (configured < 0 || quorum < 0 || optind < argc) {
		fprintf(stderr, "pmon-hook report: need --configured or --unconfigured, and --quorum ok|lost\n");
		return EXIT_USAGE;
	}
	r = pmh_open(sock, &h);
	if (r < 0) {
		fprintf(stderr, "pmon-hook: %s: %s\n", sock, explain(r));
		return exit_code_for(r);
	}
	r = pmh_report(h, configured, quorum, process);
	pmh_close(h);
	if (r < 0) {
		fprintf(stderr, "pmon-hook: report to %s failed: %s\n", sock, explain(r));
		return r == -EINVAL ? EXIT_USAGE : exit_code_for(r);
	}
	return EXIT_OK;
}

static int print_status(const struct pmh_status *s, const pmh_status_extra *x, bool json)
{
	if (json) {
		char *text;
		int r = pmh_status_json(s, x, &text);

		if (r < 0)
			return r;
		printf("%s\n", text);
		free(text);
		return 0;
	}
	printf("state              %s\n", s->state);
	printf("locked             %s\n", s->locked ? "yes" : "no");
	printf("configured         %s\n", s->configured ? "yes" : "no");
	printf("quorum             %s\n", s->quorum);
	printf("bad_periods        %u/%u\n", s->bad_periods, s->failure_threshold);
	printf("failure_threshold  %u\n", s->failure_threshold);
	printf("suppressed         %s\n", s->suppressed ? "yes" : "no");
	printf("action             %s\n", s->action);
	if (s->last_report_age_s < 0)
		printf("last_report_age_s  never\n");
	else
		printf("last_report_age_s  %ld\n", s->last_report_age_s);
	printf("reason             %s\n", s->reason[0] ? s->reason : "-");
	printf("device             %s\n", x->device);
	printf("timeout            %s%s\n", x->timeout_s, strcmp(x->timeout_s, "-") ? " s (as the driver accepted it)" : "");
	printf("action_ready       %s\n", strcmp(x->action_ready, "1") == 0 ? "yes" : strcmp(x->action_ready, "0") == 0 ? "NO" : "-");
	printf("consecutive        %s/%s\n", x->consecutive, x->max_consecutive);
	printf("configuring        %s\n", strcmp(x->waiting_for_configuration, "1") == 0 ?
					  "yes (waiting for configuration: nothing is counted)" :
					  strcmp(x->waiting_for_configuration, "0") == 0 ? "no" : "-");
	printf("configure_timeout  %s%s\n", x->configure_timeout_s,
	       strcmp(x->configure_timeout_s, "0") == 0 ? " (wait forever)" : strcmp(x->configure_timeout_s, "-") ? " s" : "");
	printf("log_only           %s\n", strcmp(x->log_only, "1") == 0 ? "YES (consecutive-action limit reached)" :
					  strcmp(x->log_only, "0") == 0 ? "no" : "-");
	printf("counters           reports=%lu malformed=%lu rejected=%lu kicks=%lu actions=%lu\n",
	       s->reports, s->malformed, s->rejected, s->kicks, s->actions);
	return 0;
}

static int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' }, { "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *sock = PMH_DEFAULT_SOCKET;
	char text[KV_MAX_MSG + 1];
	struct pmh_status st;
	pmh_status_extra x;
	bool json = false;
	int c, r;
	pmh *h;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 's': sock = optarg; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	r = pmh_open(sock, &h);
	if (r == 0) {
		r = pmh_status_text(h, text, sizeof(text), 1000);
		pmh_close(h);
		if (r >= 0) {
			pmh_status_extra_parse(text, (size_t)r, &x);
			r = pmh_status_parse(text, (unsigned long)r, &st);
		}
	}
	if (r < 0) {
		fprintf(stderr, "pmon-hook: status from %s: %s\n", sock, explain(r));
		return exit_code_for(r);
	}
	r = print_status(&st, &x, json);
	if (r < 0) {
		fprintf(stderr, "pmon-hook: cannot write hostwd's status as JSON: %s\n", strerror(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

typedef struct reporter {
	service svc;
	pmh_config cfg;
	pmh *hook;
	sd_event_source *timer;
	int last_error;
	char last_summary[320];
	unsigned long sent;
	unsigned long failures;            /* for metrics */
	bool configured, quorum_ok;        /* the last evaluation, for metrics */
	metrics_buf metrics;
	int metrics_error;                 /* last write's result, for log-once */
	pmh_pid_memo memo[PMH_MAX_ITEMS]; /* per quorum_processes entry (pidfiles) */
} reporter;

static void evaluate_and_report(reporter *rp)
{
	bool present[PMH_MAX_ITEMS];
	const char *running[PMH_MAX_ITEMS];
	size_t n_running = 0;
	pmh_eval_result res;
	char summary[sizeof(rp->last_summary)];
	int r;

	for (size_t i = 0; i < rp->cfg.n_gates; i++)
		present[i] = util_path_exists(rp->cfg.gates[i]);
	for (size_t i = 0; i < rp->cfg.n_procs; i++)
		if (pmh_process_running("/proc", rp->cfg.procs[i], &rp->memo[i]))
			running[n_running++] = rp->cfg.procs[i];
	pmh_evaluate((const char *const *)rp->cfg.gates, present, rp->cfg.n_gates,
		     (const char *const *)rp->cfg.procs, rp->cfg.n_procs, running, n_running, &res);

	snprintf(summary, sizeof(summary), "configured=%d%s%s quorum=%s%s%s", res.configured,
		 res.configured ? "" : " missing ", res.missing_gate, res.quorum_ok ? "ok" : "lost",
		 res.quorum_ok ? "" : " process ", res.lost_process);
	if (strcmp(summary, rp->last_summary) != 0) {
		log_notice("reporting %s", summary);
		notify_status("reporting %s", summary);
		memcpy(rp->last_summary, summary, sizeof(summary));
	}
	/* A full queue is waited out (bounded) rather than losing the period's
	 * report: a flood on the socket must not become a missed report. */
	r = pmh_report_wait(rp->hook, res.configured, res.quorum_ok, res.quorum_ok ? NULL : res.lost_process,
			    rp->cfg.report_period * 1000 / 2 < 5000 ? rp->cfg.report_period * 1000 / 2 : 5000);
	if (r < 0 && r != rp->last_error)
		log_warn("report to %s failed: %s", rp->cfg.socket, explain(r));
	else if (r == 0 && rp->last_error)
		log_notice("reports reach %s again", rp->cfg.socket);
	if (r == 0)
		rp->sent++;
	else
		rp->failures++;
	rp->configured = res.configured;
	rp->quorum_ok = res.quorum_ok;
	rp->last_error = r;
}

/* [metrics] textfile, after each report; a failed write is logged once
 * until one succeeds. */
static void publish_metrics(reporter *rp)
{
	pmh_metrics_in in = { .configured = rp->configured, .quorum_ok = rp->quorum_ok, .last_ok = rp->last_error == 0,
			      .sent = rp->sent, .failures = rp->failures, .gates = (unsigned)rp->cfg.n_gates,
			      .processes = (unsigned)rp->cfg.n_procs, .report_period_s = rp->cfg.report_period };

	if (!rp->cfg.metrics_textfile[0])
		return;
	metrics_buf_reset(&rp->metrics);
	pmh_metrics_format(&in, &rp->metrics);
	service_publish_metrics(rp->cfg.metrics_textfile, &rp->metrics, &rp->metrics_error);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	reporter *rp = userdata;

	evaluate_and_report(rp);
	publish_metrics(rp);
	return service_rearm(s, usec, (uint64_t)rp->cfg.report_period * USEC_PER_SEC);
}

/* A bare name is matched on /proc/PID/comm alone: any local user can run
 * a process of that name and keep the quorum "ok" (issue 20 item 12). */
static void warn_forgeable(const pmh_config *cfg)
{
	for (size_t i = 0; i < cfg->n_procs; i++) {
		pmh_proc_spec p;

		if (pmh_proc_spec_parse(cfg->procs[i], &p) == 0 && pmh_proc_spec_forgeable(&p))
			log_warn("quorum_processes '%s' is matched on its name alone: forgeable by any local user "
				 "running a process of that name; give NAME:UID:/PATH/TO/EXE", cfg->procs[i]);
	}
}

static int reload(void *userdata)
{
	reporter *rp = userdata;
	pmh_config next;

	if (service_load_config(&rp->svc, &next) < 0) {
		log_err("reload of %s failed; keeping the running configuration", rp->svc.config_path);
	} else {
		pmh *h = NULL;
		if (strcmp(next.socket, rp->cfg.socket) != 0 && pmh_open(next.socket, &h) == 0) {
			pmh_close(rp->hook);
			rp->hook = h;
		}
		pmh_config_copy(&rp->cfg, &next);
		memset(rp->memo, 0, sizeof(rp->memo)); /* entries may have moved */
		log_notice("configuration reloaded from %s", rp->svc.config_path);
		warn_forgeable(&rp->cfg);
		evaluate_and_report(rp);
	}
	return 0;
}

static void stop_reporter(reporter *rp, sd_event *e)
{
	sd_event_source_unref(rp->timer);
	sd_event_unref(e);
	pmh_close(rp->hook);
	metrics_buf_free(&rp->metrics);
	log_notice("stopped after %lu reports", rp->sent);
}

static int cmd_run(int argc, char **argv)
{
	reporter rp = {
		.svc = { .name = "pmon-hook run",
			 .about = "The reporter service: every report_period, evaluates the config gates and\n"
				  "quorum processes and reports the result to hostwd.",
			 .check_what = "the configuration",
			 .footer = "Signals: SIGHUP reloads the configuration, SIGTERM stops cleanly.",
			 .table = &pmh_conf_table,
			 .metrics = pmh_metric_defs,
			 .config_path = PMH_DEFAULT_CONFIG },
	};
	sd_event *e = NULL;
	int r;

	rp.svc.n_metrics = pmh_n_metric_defs;
	r = service_parse_cli(&rp.svc, argc, argv);

	if (r >= 0)
		return r;
	log_open("pmon-hook");
	r = service_config_or_exit(&rp.svc, &rp.cfg);
	if (r >= 0)
		return r;
	r = pmh_open(rp.cfg.socket, &rp.hook);
	if (r < 0) {
		log_err("cannot use socket %s: %s", rp.cfg.socket, explain(r));
		return EXIT_FAIL;
	}
	r = sd_event_default(&e);
	if (r < 0 || service_signals(&rp.svc, e, reload, &rp) < 0)
		return EXIT_FAIL;
	sd_event_set_watchdog(e, true);
	log_notice("started: reporting to %s every %ds, %zu gates, %zu quorum processes", rp.cfg.socket,
		   rp.cfg.report_period, rp.cfg.n_gates, rp.cfg.n_procs);
	warn_forgeable(&rp.cfg);
	/* Report from the first second on, gates or not: hostwd must never be
	 * left without reports during our own start-up. */
	evaluate_and_report(&rp);
	r = sd_event_add_time_relative(e, &rp.timer, CLOCK_MONOTONIC, (uint64_t)rp.cfg.report_period * USEC_PER_SEC,
				       10 * USEC_PER_MSEC, on_tick, &rp);
	if (r < 0)
		return EXIT_FAIL;
	r = service_loop(e);
	stop_reporter(&rp, e);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("pmon-hook %s\n", PROJECT_VERSION);
		return EXIT_OK;
	}
	if (strcmp(argv[1], "report") == 0)
		return cmd_report(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	fprintf(stderr, "pmon-hook: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
