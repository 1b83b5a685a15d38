/* The config tables written out: the running values (--dump-config) and
 * the keys for the man pages (--describe-config). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

static void value_text(const conf_key *k, const void *cfg, char *buf, size_t size)
{
	const char *field = (const char *)cfg + k->offset;

	switch (k->type) {
	case CONF_INT:
		snprintf(buf, size, "%d", *(const int *)field);
		break;
	case CONF_BOOL:
		snprintf(buf, size, "%d", *(const bool *)field ? 1 : 0);
		break;
	case CONF_STR:
		snprintf(buf, size, "%s", field);
		break;
	case CONF_ENUM:
		snprintf(buf, size, "%s", k->choices[*(const int *)field]);
		break;
	}
}

void conf_dump(const conf_table *t, const void *cfg, FILE *out)
{
	const char *cur = NULL;
	char buf[512];

	for (size_t i = 0; i < t->n; i++) {
		const conf_key *k = &t->keys[i];

		if (!cur || strcmp(cur, k->section) != 0) {
			fprintf(out, "%s[%s]\n", cur ? "\n" : "", k->section);
			cur = k->section;
		}
		value_text(k, cfg, buf, sizeof(buf));
		fprintf(out, "%s = %s\n", k->key, buf);
	}
}

void conf_describe(const conf_table *t, FILE *out)
{
	static const char *const type_names[] = { "integer", "boolean", "string", "enum" };

	for (size_t i = 0; i < t->n; i++) {
		const conf_key *k = &t->keys[i];
		char range[256] = "";

		if (k->type == CONF_INT) {
			snprintf(range, sizeof(range), "%ld..%ld", k->min, k->max);
		} else if (k->type == CONF_ENUM) {
			size_t used = 0;
			for (int c = 0; k->choices[c] && used < sizeof(range); c++)
				used += (size_t)snprintf(range + used, sizeof(range) - used, "%s%s",
							 c ? "|" : "", k->choices[c]);
		} else if (k->type == CONF_STR) {
			snprintf(range, sizeof(range), "max %zu bytes", k->size - 1);
		} else {
			snprintf(range, sizeof(range), "0|1");
		}
		fprintf(out, "%s\t%s\t%s\t%s\t%s\t%s%s\n", k->section, k->key, type_names[k->type],
			k->def, range, k->help, k->flags & CONF_RESTART ? " Takes effect at restart (a reload keeps the running value)." : "");
	}
}
