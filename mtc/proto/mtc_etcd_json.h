/* Private to mtc_etcd*.c: the jansson side they share. */
#ifndef MTC_ETCD_JSON_H
#define MTC_ETCD_JSON_H

#include <jansson.h>

/* What an etcd reply says went wrong: "error" (a string, or an object
 * with "message"), "message", or a canceled watch's "cancel_reason".
 * NULL: none. Borrowed from root. */
const char *mtc_etcd_json_error_text(json_t *root);

#endif
