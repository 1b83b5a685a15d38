#include "pmh_json.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kvtext.h"

void pmh_status_extra_parse(const char *text, size_t len, pmh_status_extra *ret)
{
	kvtext_msg m;
	const char *v;

	strcpy(ret->device, "-");
	strcpy(ret->action_ready, "-");
	strcpy(ret->consecutive, "-");
	strcpy(ret->max_consecutive, "-");
	strcpy(ret->log_only, "-");
	strcpy(ret->timeout_s, "-");
	strcpy(ret->waiting_for_configuration, "-");
	strcpy(ret->configure_timeout_s, "-");
	if (kvtext_parse(text, len, &m) < 0)
		return;
#define X(field, key) if ((v = kvtext_get(&m, key))) snprintf(ret->field, sizeof(ret->field), "%s", v)
	X(device, "device");
	X(action_ready, "action_ready");
	X(consecutive, "consecutive_actions");
	X(max_consecutive, "max_consecutive");
	X(log_only, "log_only");
	X(timeout_s, "timeout_s");
	X(waiting_for_configuration, "waiting_for_configuration");
	X(configure_timeout_s, "configure_timeout_s");
#undef X
}

static json_t *bool_or_null(const char *v)
{
	return strcmp(v, "1") == 0 ? json_true() : strcmp(v, "0") == 0 ? json_false() : json_null();
}

/* "-" (not sent) and anything that is not a whole decimal number are null:
 * hostwd's text goes into the JSON as a number, never as raw text. */
static json_t *int_or_null(const char *v)
{
	char *end;
	long long n;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (end == v || *end || errno)
		return json_null();
	return json_integer(n);
}

static json_t *counter(unsigned long v)
{
	return json_integer(v > (unsigned long)LLONG_MAX ? LLONG_MAX : (json_int_t)v);
}

int pmh_status_json(const struct pmh_status *s, const pmh_status_extra *x, char **ret_json)
{
	json_t *o = json_object();
	char *text;
	int bad = 0;

	if (!o)
		return -ENOMEM;
	/* The field order operators and tests know; set_new takes ownership of
	 * the value and fails on a NULL one (out of memory, or not UTF-8). */
#define SET(key, value) bad |= json_object_set_new(o, key, value)
	SET("state", json_string(s->state));
	SET("locked", json_boolean(s->locked));
	SET("configured", json_boolean(s->configured));
	SET("quorum", json_string(s->quorum));
	SET("bad_periods", json_integer(s->bad_periods));
	SET("failure_threshold", json_integer(s->failure_threshold));
	SET("suppressed", json_boolean(s->suppressed));
	SET("action", json_string(s->action));
	SET("last_report_age_s", json_integer(s->last_report_age_s));
	SET("reason", json_string(s->reason));
	SET("reports", counter(s->reports));
	SET("malformed", counter(s->malformed));
	SET("rejected", counter(s->rejected));
	SET("kicks", counter(s->kicks));
	SET("actions", counter(s->actions));
	SET("kicking", json_boolean(s->kicking));
	SET("device", json_string(x->device));
	SET("action_ready", bool_or_null(x->action_ready));
	SET("consecutive_actions", int_or_null(x->consecutive));
	SET("max_consecutive", int_or_null(x->max_consecutive));
	SET("log_only", bool_or_null(x->log_only));
	SET("timeout_s", int_or_null(x->timeout_s));
	SET("waiting_for_configuration", bool_or_null(x->waiting_for_configuration));
	SET("configure_timeout_s", int_or_null(x->configure_timeout_s));
#undef SET
	text = bad ? NULL : json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return bad ? -EINVAL : -ENOMEM;
	*ret_json = text;
	return 0;
}
