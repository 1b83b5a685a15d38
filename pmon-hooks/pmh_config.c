#include "pmh_config.h"
#include "health_wire.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#define STR(key, field, def, help) \
	{ "hook", key, CONF_STR, offsetof(pmh_config, field), sizeof(((pmh_config *)0)->field), def, 0, 0, NULL, help, 0 }

static const conf_key pmh_keys[] = {
	STR("socket", socket, HEALTH_DEFAULT_SOCKET, "hostwd's health socket."),
	{ "hook", "report_period", CONF_INT, offsetof(pmh_config, report_period), 0, "30", 1, 3600, NULL,
	  "Seconds between reports; keep it at most hostwd's [health] report_period.", 0 },
	STR("config_gates", config_gates, "/etc/platform/.initial_config_complete,/var/run/.goenabled",
	    "Comma-separated files that must all exist for the node to be configured."),
	STR("quorum_processes", quorum_processes, "",
	    "Comma-separated processes that must run: NAME:UID:/PATH/TO/EXE (comm name, owner uid, "
	    "executable) or /PIDFILE[:UID[:/PATH/TO/EXE]]; a bare NAME matches any user's process of that name "
	    "(forgeable, warned at start)."),
	{ "metrics", "textfile", CONF_STR, offsetof(pmh_config, metrics_textfile), sizeof(((pmh_config *)0)->metrics_textfile), "", 0, 0, NULL,
	  "Prometheus text file rewritten every report_period (temp file and rename), for node_exporter's textfile collector; empty: no metrics.", 0 },
};

static void derive(void *data, const conf_origin *o)
{
	pmh_config *cfg = data;
	int n;

	memcpy(cfg->gates_buf, cfg->config_gates, sizeof(cfg->gates_buf));
	memcpy(cfg->procs_buf, cfg->quorum_processes, sizeof(cfg->procs_buf));
	n = pmh_split_list(cfg->gates_buf, cfg->gates, PMH_MAX_ITEMS);
	if (n < 0) {
		conf_key_error(o, "hook", "config_gates", "[hook] config_gates: more than %d entries", PMH_MAX_ITEMS);
		return;
	}
	cfg->n_gates = (size_t)n;
	n = pmh_split_list(cfg->procs_buf, cfg->procs, PMH_MAX_ITEMS);
	if (n < 0) {
		conf_key_error(o, "hook", "quorum_processes", "[hook] quorum_processes: more than %d entries",
			       PMH_MAX_ITEMS);
		return;
	}
	cfg->n_procs = (size_t)n;
	for (size_t i = 0; i < cfg->n_procs; i++) {
		pmh_proc_spec p;
		int r = pmh_proc_spec_parse(cfg->procs[i], &p);

		if (r == -ENAMETOOLONG && cfg->procs[i][0] != '/')
			conf_key_error(o, "hook", "quorum_processes",
				       "[hook] quorum_processes: '%s': the name is longer than a /proc comm name (15)",
				       cfg->procs[i]);
		else if (r < 0)
			conf_key_error(o, "hook", "quorum_processes",
				       "[hook] quorum_processes: '%s': expected NAME[:UID[:/PATH/TO/EXE]] or "
				       "/PIDFILE[:UID[:/PATH/TO/EXE]] (UID a number)", cfg->procs[i]);
		if (r < 0)
			return;
	}
}

const conf_table pmh_conf_table = { pmh_keys, ARRAY_SIZE(pmh_keys), derive, NULL };

int pmh_config_load(pmh_config *cfg, const char *path, conf_errors *errs)
{
	return conf_load_file(&pmh_conf_table, cfg, path, NULL, NULL, errs);
}

int pmh_config_load_string(pmh_config *cfg, const char *text, conf_errors *errs)
{
	return conf_load_string(&pmh_conf_table, cfg, "<string>", text, NULL, NULL, errs);
}

void pmh_config_copy(pmh_config *dst, const pmh_config *src)
{
	*dst = *src;
	for (size_t i = 0; i < src->n_gates; i++)
		dst->gates[i] = dst->gates_buf + (src->gates[i] - src->gates_buf);
	for (size_t i = 0; i < src->n_procs; i++)
		dst->procs[i] = dst->procs_buf + (src->procs[i] - src->procs_buf);
}
