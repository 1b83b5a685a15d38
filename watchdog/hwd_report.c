#include "hwd_report.h"
#include "kvtext.h"
#include "util.h"

#include <errno.h>
#include <string.h>

int hwd_report_parse(const char *data, size_t len, hwd_report *ret)
{
	kvtext_msg m;
	hwd_report r = { 0 };
	const char *v;
	long seq;
	int k;

	k = kvtext_parse(data, len, &m);
	if (k < 0)
		return k;
	if (m.verb) {
		if (strcmp(m.verb, "status") == 0 && m.n == 0)
			return HWD_MSG_STATUS_REQUEST;
		return -EBADMSG;
	}
	v = kvtext_get(&m, "configured");
	if (!v || (strcmp(v, "0") != 0 && strcmp(v, "1") != 0))
		return -EBADMSG;
	r.configured = v[0] == '1';
	v = kvtext_get(&m, "quorum");
	if (!v)
		return -EBADMSG;
	if (strcmp(v, "ok") == 0)
		r.quorum_ok = true;
	else if (strcmp(v, "lost") != 0)
		return -EBADMSG;
	v = kvtext_get(&m, "process");
	if (v && util_strcpy_bounded(r.process, sizeof(r.process), v) < 0)
		return -EBADMSG;
	v = kvtext_get(&m, "seq");
	if (v) {
		if (util_parse_long(v, 0, UINT32_MAX, &seq) < 0)
			return -EBADMSG;
		r.seq = (uint32_t)seq;
	}
	*ret = r;
	return HWD_MSG_REPORT;
}
