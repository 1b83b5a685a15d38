/* [agent] store = etcd, health and etcd's history on the loop: the store's
 * health (the watch alive, and every reply), the checks of every reply's
 * header (a revision going back, another cluster id: a re-baseline), the
 * poll (no request in steady state; a full read when one is needed). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "mtc_store_etcd.h"
#include "service.h"
#include "util.h"

void etcd_set_health(etcd_store *s, bool ok, const char *err)
{
	if (ok && !s->healthy)
		log_notice("etcd: reachable again%s%s%s", s->last_error[0] ? " (was: " : "", s->last_error,
			   s->last_error[0] ? ")" : "");
	if (!ok && s->healthy)
		log_warn("etcd: unavailable: %s; %s; lock/unlock refused", err,
			 s->loaded ? "serving the last admin state read"
				   : "no admin state read yet: every host unknown, treated as locked");
	if (!ok && (s->healthy || !s->unhealthy_since))
		s->unhealthy_since = util_now_ms();
	if (!ok)
		snprintf(s->last_error, sizeof(s->last_error), "%s", err);
	s->healthy = ok;
}


/* etcd went back (restored from a snapshot) or is another cluster: every
 * revision this agent holds is from another history. Said loudly, the
 * store unhealthy until a full read is the new baseline (its revision
 * accepted, lower or not); the watch ends and restarts from there. */
static void rebaseline(etcd_store *s, mtc_etcd_hdr_verdict v, const mtc_etcd_header *hdr)
{
	char why[200];

	if (v == MTC_ETCD_HDR_NEW_CLUSTER)
		snprintf(why, sizeof(why), "cluster id changed from %" PRIu64 " to %" PRIu64 " (a rebuilt cluster?)",
			 s->cluster_id, hdr->cluster_id);
	else
		snprintf(why, sizeof(why), "revision went back from %" PRId64 " to %" PRId64
			 " (restored from a snapshot?)", s->revision, hdr->revision);
	log_emit_fields(LOG_ERR, MSGID_ETCD_REWOUND,
			(const char *[]){ LOG_FIELD("MTC_ETCD_REVISION=%" PRId64, hdr->revision),
					  LOG_FIELD("MTC_ETCD_CLUSTER_ID=%" PRIu64, hdr->cluster_id), NULL },
			"etcd: %s: every admin state read again from etcd as it is now; lock/unlock refused until then",
			why);
	etcd_set_health(s, false, why);
	s->cluster_id = hdr->cluster_id;
	s->revision = 0;
	s->loaded = false;
	s->epoch++;
	/* every key's revision is of the old history: a key the new read
	 * lacks is reported removed */
	for (size_t i = 0; i < s->n_keys; i++)
		s->keys[i].rev = 0;
	s->env.on_event(s->env.user, &(mtc_store_event){ .kind = MTC_STORE_REWOUND });
	pthread_mutex_lock(&s->mu);
	s->watch_from = 0;
	s->watch_gen++;
	pthread_mutex_unlock(&s->mu);
}

/* Any reply's header: false (and a re-baseline begun) if etcd went back
 * or is another cluster. Only a reply to a request sent after etcd had
 * committed base_rev can say "went back" (a slow reply to an older one
 * is not). */
bool etcd_header_ok(etcd_store *s, const job *j, const mtc_etcd_header *hdr)
{
	mtc_etcd_hdr_verdict v = mtc_etcd_header_check(s->cluster_id, j->epoch == s->epoch ? j->base_rev : 0, hdr);

	if (!s->cluster_id)
		s->cluster_id = hdr->cluster_id;
	if (v == MTC_ETCD_HDR_OK)
		return true;
	rebaseline(s, v, hdr);
	return false;
}

/* A stream's end other than a quiet one, at info; the same reason again
 * within STREAM_LOG_MS (whatever the member or revision) at debug,
 * counted in the next info line. */
static void log_stream_end(etcd_store *s, const char *err, uint64_t now)
{
	const char *why = strstr(err, " ended: ");

	why = why ? why + 8 : err;
	if (strcmp(why, s->end_why) == 0 && now - s->end_log_ms < STREAM_LOG_MS) {
		s->end_repeats++;
		log_debug("etcd: %s; resuming", err);
		return;
	}
	log_info("etcd: %s; resuming%s", err, s->end_repeats ? " (the last reason repeated since its line: see below)" : "");
	if (s->end_repeats)
		log_info("etcd: the watch ended %lu more time(s) for: %s", s->end_repeats, s->end_why);
	snprintf(s->end_why, sizeof(s->end_why), "%s", why);
	s->end_log_ms = now;
	s->end_repeats = 0;
}

/* A stream's end: the watch is broken until a stream says something. A
 * quiet one (no byte for WATCH_IDLE_S: an etcd without progress
 * notifications restarts it every 10 s, harmless) is logged at info once
 * in QUIET_LOG_MS, so a default etcd does not fill the log. */
static void watch_ended(etcd_store *s, const job *j, int64_t from)
{
	uint64_t now = util_now_ms();

	if (!s->watch.broken_ms)
		s->watch.broken_ms = now;
	snprintf(s->watch_error, sizeof(s->watch_error), "%s", j->err);
	if (j->r != -ETIMEDOUT)
		log_stream_end(s, j->err, now);
	else if (!s->quiet_log_ms || now - s->quiet_log_ms >= QUIET_LOG_MS) {
		log_info("etcd: %s; resuming (if etcd runs without --experimental-watch-progress-notify-interval, a"
			 " quiet watch restarts every 10 s: logged at debug for 10 min)", j->err);
		s->quiet_log_ms = now;
	} else {
		s->quiet_restarts++;
		log_debug("etcd: %s; resuming (quiet restart %u since the last logged)", j->err, s->quiet_restarts);
	}
	if (!from && s->loaded)
		etcd_submit_range(s); /* compacted, or a message too big: the watch resumes after a full read */
}

/* Any message of the running watch (created, events, a progress
 * notification, not a cancel) is health: a member serves a watch only
 * while it has a leader (the stream asks hasleader), and its header
 * passed etcd_header_ok (the caller's). */
bool etcd_watch_alive(etcd_store *s, job *j, int64_t from)
{
	if (j->r < 0) {
		watch_ended(s, j, from);
		return false;
	}
	s->watch.last_msg_ms = util_now_ms();
	s->watch.broken_ms = 0;
	return true;
}

void etcd_submit_range(etcd_store *s)
{
	job *j;

	if (s->range_inflight)
		return;
	j = calloc(1, sizeof(*j));
	if (!j)
		return; /* the next poll asks again */
	j->kind = JOB_RANGE;
	s->range_inflight = true;
	s->range_sent_ms = util_now_ms();
	etcd_submit(s, j);
}

/* Every POLL_USEC, no request in steady state: a full read only until
 * the first, after a compaction or a watch message too big (watch_from
 * 0), or while the watch brings nothing (WATCH_STALE_MS: then every
 * STALE_READ_MS, and the reads are the health); otherwise the watch
 * carries every change (it resumes from the revision it stopped at) and
 * is the health: no stream for WATCH_DOWN_MS since one ended, unhealthy. */
int etcd_on_poll(sd_event_source *src, uint64_t usec, void *userdata)
{
	etcd_store *s = userdata;
	uint64_t now = util_now_ms();
	mtc_etcd_watch_verdict v = mtc_etcd_watch_judge(&s->watch, now, WATCH_DOWN_MS, WATCH_STALE_MS);
	int64_t from;

	pthread_mutex_lock(&s->mu);
	from = s->watch_from;
	pthread_mutex_unlock(&s->mu);
	if ((!s->loaded || !from || v == MTC_ETCD_WATCH_STALE) && now - s->range_sent_ms >= STALE_READ_MS)
		etcd_submit_range(s);
	else if (v == MTC_ETCD_WATCH_DOWN && !s->range_inflight && s->healthy) {
		char why[sizeof(s->watch_error) + 64];

		snprintf(why, sizeof(why), "no watch stream for %.1f s (%s)", WATCH_DOWN_MS / 1000.0, s->watch_error);
		etcd_set_health(s, false, why);
	}
	return service_rearm(src, usec, POLL_USEC);
}
