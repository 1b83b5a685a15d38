/* pmon-hook.conf */
#ifndef PMH_CONFIG_H
#define PMH_CONFIG_H

#include "conf.h"
#include "pmh_eval.h"

#define PMH_DEFAULT_CONFIG "/etc/pmon-hook/pmon-hook.conf"

typedef struct pmh_config {
	char socket[108];
	int report_period;
	char config_gates[192];
	char quorum_processes[192];
	char metrics_textfile[192];

	/* derived: split lists pointing into the copies below */
	char gates_buf[192], procs_buf[192];
	char *gates[PMH_MAX_ITEMS];
	size_t n_gates;
	char *procs[PMH_MAX_ITEMS];
	size_t n_procs;
} pmh_config;

extern const conf_table pmh_conf_table;

int pmh_config_load(pmh_config *cfg, const char *path, conf_errors *errs);
int pmh_config_load_string(pmh_config *cfg, const char *text, conf_errors *errs);



/* Struct copy that re-points the derived lists into dst. */
void pmh_config_copy(pmh_config *dst, const pmh_config *src);
#endif
