/* mtcagent's control socket: what list and list --json say (hosts,
 * their admin and reported state, their networks, the store). */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "mtc_control.h"
#include "util.h"

static void format_age(uint64_t seen, uint64_t now, char *buf, size_t size)
{
	if (!seen)
		snprintf(buf, size, "-");
	else
		snprintf(buf, size, "%.1fs", (double)(now - seen) / 1000.0);
}

static const char *reported_name(int r)
{
	return r == MTC_REPORTED_LOCKED ? "locked" : r == MTC_REPORTED_UNLOCKED ? "unlocked" : "unknown";
}
/* Which store holds admin state, and whether it answers. */
static void reply_store(agent *a, reply *fd)
{
	char line[600];
	int n;

	a->store->describe(a->store_data, line + 7, sizeof(line) - 8);
	memcpy(line, "store: ", 7);
	n = (int)strlen(line);
	line[n++] = '\n';
	write_all(fd, line, (size_t)n);
}

/* "  (mtcAlive missing via mgmt, cluster)", or "". */
static void missing_note(const agent *a, const agent_host *h, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int net = 0; net < MTC_NET_COUNT && used < size; net++)
		if (agent_fleet_watched(a, h, net) && h->link[net].state == MTC_LINK_MISSING)
			used += (size_t)snprintf(buf + used, size - used, "%s%s",
						 used ? ", " : "  (mtcAlive missing via ", mtc_net_name((unsigned)net));
	if (used && used < size)
		snprintf(buf + used, size - used, ")");
}

static size_t missing_hosts(const agent *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n_hosts; i++)
		n += agent_host_missing(a, &a->hosts[i]);
	return n;
}

/* only: one host (mtcctl list HOST): its row, no summary lines. */
void agent_reply_list_text(agent *a, reply *fd, const agent_host *only)
{
	uint64_t now = util_now_ms();
	char line[512];
	int n;

	n = snprintf(line, sizeof(line), "%-20s %-9s %-9s %-10s %-8s %-8s %-8s %s\n", "HOST", "ADMIN", "REPORTED",
		     "CONFIGURED", "PXEBOOT", "MGMT", "CLUSTER", "MISMATCH");
	write_all(fd, line, (size_t)n);
	for (size_t i = 0; i < a->n_hosts && !fd->failed; i++) {
		agent_host *h = &a->hosts[i];
		char age[MTC_NET_COUNT][24], note[80];

		if (only && h != only)
			continue;
		for (int net = 0; net < MTC_NET_COUNT; net++)
			format_age(h->order.last_seen_ms[net], now, age[net], sizeof(age[net]));
		missing_note(a, h, note, sizeof(note));
		n = snprintf(line, sizeof(line), "%-20s %-9s %-9s %-10s %-8s %-8s %-8s %s%s%s\n", h->entry.name,
			     agent_admin_name(h), reported_name(h->adm.ep.reported), h->configured ? "yes" : "no", age[0],
			     age[1], age[2], h->adm.ep.active ? "yes" : "no",
			     mtc_admin_known(&h->adm) ? "" : "  (admin state unknown: treated as locked)", note);
		write_all(fd, line, (size_t)n);
	}
	if (only)
		return;
	unsigned long rx = a->io.rx[0] + a->io.rx[1] + a->io.rx[2], tx = a->tx[0] + a->tx[1] + a->tx[2];

	n = snprintf(line, sizeof(line), "frames: rx=%lu tx=%lu; dropped: bad_auth=%lu malformed=%lu unknown_host=%lu stale=%lu "
		     "old_boot=%lu wrong_net=%lu\n", rx, tx, a->drops.bad_auth, a->drops.malformed, a->unknown_host, a->stale, a->old_boot,
		     a->drops.wrong_net);
	write_all(fd, line, (size_t)n);
	if (agent_missing_ms(a))
		n = snprintf(line, sizeof(line), "mtcAlive missing: %zu host(s) on at least one network (after %.0f s of "
			     "silence)\n", missing_hosts(a), (double)agent_missing_ms(a) / 1000.0);
	else
		n = snprintf(line, sizeof(line), "mtcAlive missing: not watched ([agent] alive_missing_periods = 0)\n");
	write_all(fd, line, (size_t)n);
	reply_store(a, fd);
}

static json_t *ms_ago(uint64_t seen, uint64_t now)
{
	return seen ? json_integer((json_int_t)(now - seen)) : json_null();
}

/* Per network: "up", "missing", "waiting" (none yet since the agent
 * started watching) or "none" (not provisioned for this host). */
static json_t *alive_json(const agent *a, const agent_host *h)
{
	const char *s[MTC_NET_COUNT];

	for (int net = 0; net < MTC_NET_COUNT; net++)
		s[net] = agent_fleet_watched(a, h, net) ? mtc_link_state_name(h->link[net].state) : "none";
	return json_pack("{s:s, s:s, s:s}", "pxeboot", s[0], "mgmt", s[1], "cluster", s[2]);
}

/* One host of list --json; NULL when out of memory. */
static json_t *host_json(const agent *a, const agent_host *h, uint64_t now)
{
	const uint64_t *seen = h->order.last_seen_ms;

	return json_pack("{s:s, s:s, s:b, s:s, s:b, s:{s:o, s:o, s:o}, s:o, s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			 "name", h->entry.name, "admin", agent_admin_name(h), "admin_known", mtc_admin_known(&h->adm),
			 "reported", reported_name(h->adm.ep.reported), "configured", h->configured, "last_seen_ms_ago",
			 "pxeboot", ms_ago(seen[0], now), "mgmt", ms_ago(seen[1], now), "cluster", ms_ago(seen[2], now),
			 "alive", alive_json(a, h),
			 "mismatch", h->adm.ep.active, "episodes", (json_int_t)h->adm.ep.episodes, "alives", (json_int_t)h->alives,
			 "acks", (json_int_t)h->acks, "stale", (json_int_t)h->stale, "reordered", (json_int_t)h->reordered,
			 "old_boot", (json_int_t)h->old_boot, "boot", (json_int_t)h->order.boot, "cmdseq",
			 (json_int_t)h->adm.order, "applied", (json_int_t)h->adm.applied);
}

/* Store text carries paths and libcurl's words, cut to a length that may
 * split a UTF-8 sequence, which jansson refuses (and the whole list with
 * it): keep printable ASCII, '?' for anything else. */
static char *ascii_only(char *s)
{
	for (char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return s;
}

/* The store's health as data: what the "store:" line says in words. */
static json_t *store_health_json(agent *a)
{
	mtc_store_health sh;

	a->store->health(a->store_data, &sh);
	return json_pack("{s:s, s:b, s:b, s:I, s:f, s:s}", "kind", a->store->name, "loaded", sh.loaded, "healthy",
			 sh.healthy, "revision", (json_int_t)sh.revision, "unavailable_s", sh.unavailable_s, "error",
			 ascii_only(sh.error));
}

static int append_to_reply(const char *buf, size_t size, void *userdata)
{
	return write_all(userdata, buf, size) < 0 ? -1 : 0;
}

/* list --json: the same fields and order as ever, written by jansson so
 * every string is escaped. A document that cannot be built is cut short
 * (mtcctl then says the reply is not JSON), like a reply that outgrows
 * its buffer. */
void agent_reply_list_json(agent *a, reply *fd, const agent_host *only)
{
	uint64_t now = util_now_ms();
	json_t *hosts = json_array(), *d;

	for (size_t i = 0; i < a->n_hosts && hosts; i++)
		if ((!only || &a->hosts[i] == only) && json_array_append_new(hosts, host_json(a, &a->hosts[i], now)) < 0) {
			json_decref(hosts);
			hosts = NULL;
		}
	d = !hosts ? NULL :
	    json_pack("{s:o, s:{s:I, s:I, s:I}, s:{s:I, s:I, s:I, s:I, s:I, s:I}}", "hosts", hosts, "frames", "rx",
		      (json_int_t)(a->io.rx[0] + a->io.rx[1] + a->io.rx[2]), "tx",
		      (json_int_t)(a->tx[0] + a->tx[1] + a->tx[2]), "tx_errors",
		      (json_int_t)(a->tx_errors[0] + a->tx_errors[1] + a->tx_errors[2]), "dropped", "bad_auth",
		      (json_int_t)a->drops.bad_auth, "malformed", (json_int_t)a->drops.malformed, "unknown_host",
		      (json_int_t)a->unknown_host, "stale", (json_int_t)a->stale, "old_boot", (json_int_t)a->old_boot, "wrong_net", (json_int_t)a->drops.wrong_net);
	if (d) {
		char store[512];

		/* Which store holds admin state, and whether it answers (as the
		 * text list's last line). */
		a->store->describe(a->store_data, store, sizeof(store));
		if (json_object_set_new(d, "store", json_string(ascii_only(store))) < 0 ||
		    json_object_set_new(d, "store_health", store_health_json(a)) < 0 ||
		    json_object_set_new(d, "alive_missing", json_pack("{s:I, s:I}", "after_ms",
				(json_int_t)agent_missing_ms(a), "hosts", (json_int_t)missing_hosts(a))) < 0) {
			json_decref(d);
			d = NULL;
		}
	}
	if (!d || json_dump_callback(d, append_to_reply, fd, JSON_COMPACT | JSON_PRESERVE_ORDER) < 0)
		fd->failed = true;
	else
		write_all(fd, "\n", 1);
	json_decref(d);
}
