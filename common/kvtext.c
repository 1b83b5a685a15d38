#include "kvtext.h"

#include <errno.h>
#include <string.h>

int kvtext_parse(const char *data, size_t len, kvtext_msg *msg)
{
	char *p, *tok, *save = NULL;

	memset(msg, 0, sizeof(*msg));
	if (len > KV_MAX_MSG)
		return -EMSGSIZE;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)data[i];

		/* Tolerate one trailing newline from shell tools. */
		if (c == '\n' && i == len - 1)
			break;
		if (c < 0x20 || c > 0x7e)
			return -EBADMSG;
		msg->buf[i] = (char)c;
	}
	p = msg->buf;
	tok = strtok_r(p, " ", &save);
	if (!tok)
		return -EBADMSG;
	if (strcmp(tok, "v1") != 0)
		return -EPROTO;
	while ((tok = strtok_r(NULL, " ", &save))) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			if (msg->verb || msg->n > 0)
				return -EBADMSG;
			msg->verb = tok;
			continue;
		}
		if (eq == tok)
			return -EBADMSG;
		if (msg->n >= KV_MAX_PAIRS)
			return -EBADMSG;
		*eq = '\0';
		msg->pairs[msg->n].key = tok;
		msg->pairs[msg->n].value = eq + 1;
		msg->n++;
	}
	return 0;
}

const char *kvtext_get(const kvtext_msg *msg, const char *key)
{
	/* Last one wins, as in ini files. */
	for (size_t i = msg->n; i > 0; i--)
		if (strcmp(msg->pairs[i - 1].key, key) == 0)
			return msg->pairs[i - 1].value;
	return NULL;
}
