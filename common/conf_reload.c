/* Reload support for the config tables: restart-only keys (CONF_RESTART)
 * keep their running value. Pure: no system calls, no logging. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "conf.h"

static size_t field_size(const conf_key *k)
{
	switch (k->type) {
	case CONF_STR:
		return k->size;
	case CONF_BOOL:
		return sizeof(bool);
	case CONF_INT:
	case CONF_ENUM:
		return sizeof(int);
	}
	return 0;
}

static bool field_differs(const conf_key *k, const char *a, const char *b)
{
	if (k->type == CONF_STR)
		return strncmp(a, b, k->size) != 0;
	return memcmp(a, b, field_size(k)) != 0;
}

int conf_keep_restart_keys(const conf_table *t, const void *run, void *next, char *changed, size_t size)
{
	size_t used = 0;
	int n = 0;

	if (size)
		changed[0] = '\0';
	for (size_t i = 0; i < t->n; i++) {
		const conf_key *k = &t->keys[i];
		const char *was = (const char *)run + k->offset;
		char *now = (char *)next + k->offset;

		if (!(k->flags & CONF_RESTART))
			continue;
		if (field_differs(k, was, now)) {
			n++;
			if (used < size)
				used += (size_t)snprintf(changed + used, size - used, "%s[%s] %s", n > 1 ? ", " : "",
							 k->section, k->key);
		}
		memcpy(now, was, field_size(k));
	}
	return n;
}
