/* pmon-hook status --json: hostwd's status reply as one JSON object, built
 * with jansson so every string is escaped (a process name may hold '"' or
 * '\'). Part of the pmon-hook CLI only: libpmonhook, the library monitors
 * link, neither writes nor reads JSON and takes no jansson dependency. */
#ifndef PMH_JSON_H
#define PMH_JSON_H

#include <stddef.h>

#include "pmonhook.h"

/* Fields struct pmh_status does not carry (it is ABI), read from the raw
 * reply; "-" when an older hostwd does not send them. */
typedef struct pmh_status_extra {
	char device[16], action_ready[4], consecutive[12], max_consecutive[12], log_only[4], timeout_s[12];
	char waiting_for_configuration[4], configure_timeout_s[12];
} pmh_status_extra;

void pmh_status_extra_parse(const char *text, size_t len, pmh_status_extra *ret);

/* The status as one line of compact JSON (no trailing newline), in
 * *ret_json, to be freed with free(). Numbers hostwd sent as text that are
 * not whole decimal numbers become null. -EINVAL when a value cannot be
 * built (a string that is not UTF-8: hostwd's replies are ASCII; or no
 * memory for it), -ENOMEM when the text cannot. */
int pmh_status_json(const struct pmh_status *s, const pmh_status_extra *x, char **ret_json);

#endif
