/* etcd's revisions and what they mean, no JSON (mtc_etcd.c parses): a
 * reply header from another history, a watch's health, the revision a
 * watch resumes from, a command sequence, a put's answer for the operator. */
#include "mtc_etcd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mtc_etcd_hdr_verdict mtc_etcd_header_check(uint64_t base_cluster, int64_t base_revision, const mtc_etcd_header *h)
{
	if (base_cluster && h->cluster_id && h->cluster_id != base_cluster)
		return MTC_ETCD_HDR_NEW_CLUSTER;
	if (h->revision > 0 && h->revision < base_revision)
		return MTC_ETCD_HDR_BACKWARDS;
	return MTC_ETCD_HDR_OK;
}

/* Stale first: a watch silent that long has every poll read everything,
 * and those reads (linearizable) say whether etcd answers. Else down once
 * a stream ended and none has delivered a message for down_ms since then
 * or since the last good read (which began a fresh bound). */
mtc_etcd_watch_verdict mtc_etcd_watch_judge(const mtc_etcd_watch_clock *c, uint64_t now_ms, uint64_t down_ms,
					    uint64_t stale_ms)
{
	uint64_t since;

	if (now_ms - c->last_msg_ms > stale_ms)
		return MTC_ETCD_WATCH_STALE;
	if (!c->broken_ms)
		return MTC_ETCD_WATCH_ALIVE;
	since = c->read_ok_ms > c->broken_ms ? c->read_ok_ms : c->broken_ms;
	return now_ms - since >= down_ms ? MTC_ETCD_WATCH_DOWN : MTC_ETCD_WATCH_ALIVE;
}

int64_t mtc_etcd_next_revision(int64_t next, const mtc_etcd_result *r)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->kv[i].mod_revision + 1 > next)
			next = r->kv[i].mod_revision + 1;
	if (r->progress && r->revision + 1 > next)
		next = r->revision + 1;
	return next;
}

uint32_t mtc_etcd_cmdseq(int64_t mod_revision)
{
	if (mod_revision <= 0)
		return 0;
	return mod_revision > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)mod_revision;
}

static const char *state_name(mtc_etcd_state st)
{
	return st == MTC_ETCD_LOCKED	 ? "locked"
	       : st == MTC_ETCD_UNLOCKED ? "unlocked"
	       : st == MTC_ETCD_DELETED	 ? "missing"
					 : "not understood";
}

int mtc_etcd_put_answer(const char *host, bool lock, bool unclear, const mtc_etcd_cas *c, int64_t newest, char *why,
			size_t size)
{
	const char *want = lock ? "locked" : "unlocked";

	if (c->succeeded) {
		if (newest > c->hdr.revision)
			snprintf(why, size, "committed at etcd revision %" PRId64 "; changed since by another agent "
				 "(revision %" PRId64 "): check `mtcctl list`", c->hdr.revision, newest);
		else
			snprintf(why, size, "committed at etcd revision %" PRId64, c->hdr.revision);
		return 0;
	}
	if (c->kv.state == (lock ? MTC_ETCD_LOCKED : MTC_ETCD_UNLOCKED)) {
		snprintf(why, size, "etcd holds %s at revision %" PRId64 " (%s)", want, c->kv.mod_revision,
			 unclear ? "this request after a try that timed out, or another agent" : "set by another agent");
		return 0;
	}
	if (unclear)
		snprintf(why, size, "unknown: etcd answered late or not at all, and %s is now %s at etcd revision %" PRId64
			 "; check `mtcctl list`", host, state_name(c->kv.state), c->kv.mod_revision);
	else
		snprintf(why, size, "refused: %s was changed by another agent (now %s at etcd revision %" PRId64
			 "); not %s; check `mtcctl list` and ask again", host, state_name(c->kv.state), c->kv.mod_revision,
			 want);
	return -EAGAIN;
}
