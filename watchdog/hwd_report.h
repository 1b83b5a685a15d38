/* Decoding reports from the health socket. Pure. */
#ifndef HWD_REPORT_H
#define HWD_REPORT_H

#include <stddef.h>

#include "hwd_policy.h"

typedef enum hwd_msg_kind {
	HWD_MSG_REPORT,
	HWD_MSG_STATUS_REQUEST,
} hwd_msg_kind;

/* Parse one datagram. Returns the kind, or -EPROTO (unknown version),
 * -EMSGSIZE, -EBADMSG (malformed: missing/invalid configured or quorum). */
int hwd_report_parse(const char *data, size_t len, hwd_report *ret);

#endif
