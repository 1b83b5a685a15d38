/* The health protocol's text form: "v1 key=value key=value ...", one
 * message per datagram. Shared by hostwd (parses reports, writes status)
 * and libpmonhook (writes reports, parses status). */
#ifndef HWM_KVTEXT_H
#define HWM_KVTEXT_H

#include <stddef.h>

#define KV_MAX_MSG 512   /* largest datagram either side accepts */
#define KV_MAX_PAIRS 32

typedef struct kv_pair {
	const char *key;
	const char *value;
} kv_pair;

typedef struct kvtext_msg {
	char buf[KV_MAX_MSG + 1];
	const char *verb;     /* first token after the version, if not k=v */
	kv_pair pairs[KV_MAX_PAIRS];
	size_t n;
} kvtext_msg;

/* Split len bytes of data into msg. Requires the "v1" version token,
 * printable ASCII only, no empty keys. -EPROTO for a wrong version,
 * -EMSGSIZE when too long, -EBADMSG otherwise. */
int kvtext_parse(const char *data, size_t len, kvtext_msg *msg);

/* Value of key, or NULL. */
const char *kvtext_get(const kvtext_msg *msg, const char *key);

#endif
