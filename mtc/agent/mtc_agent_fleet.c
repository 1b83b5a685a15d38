/* mtcagent's fleet view: per host and network, is mtcAlive arriving. A
 * stop is logged once (after [agent] alive_missing_periods alive periods of
 * silence), a return once; mtcctl list shows the state. In the field bug
 * the agent logged its correction every 5 s and never said that the node's
 * mgmt and cluster mtcAlive had stopped: that is the line this adds. */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mtc_agent.h"
#include "util.h"

/* Lines per second before stops/returns are only counted and summarised
 * (a reboot storm or the agent's own network going down must not flood
 * the journal; mtcctl list still shows every host). */
#define FLEET_LINES_PER_S 20

uint64_t agent_missing_ms(const agent *a)
{
	return (uint64_t)a->cfg.alive_missing_periods * (uint64_t)a->cfg.alive_period * 1000;
}

bool agent_fleet_watched(const agent *a, const agent_host *h, int net)
{
	return h->has_dest[net] && a->cfg.net[net].address[0] && a->cfg.alive_missing_periods > 0;
}

bool agent_host_missing(const agent *a, const agent_host *h)
{
	for (int net = 0; net < MTC_NET_COUNT; net++)
		if (agent_fleet_watched(a, h, net) && h->link[net].state == MTC_LINK_MISSING)
			return true;
	return false;
}

void agent_fleet_watch(agent_host *h, const agent_host *old, uint64_t now)
{
	for (int net = 0; net < MTC_NET_COUNT; net++)
		if (!old || !old->has_dest[net] || strcmp(old->entry.addr[net], h->entry.addr[net]) != 0)
			mtc_link_init(&h->link[net], now);
}

static bool fleet_budget(agent *a, int event)
{
	if (a->fleet_lines < FLEET_LINES_PER_S) {
		a->fleet_lines++;
		return true;
	}
	a->fleet_quiet[event]++;
	return false;
}

void agent_fleet_on_alive(agent *a, agent_host *h, int net, uint64_t now)
{
	uint64_t missing_since = h->link[net].missing_ms;

	if (mtc_link_on_alive(&h->link[net], now) != MTC_LINK_RETURNED || !fleet_budget(a, 1))
		return;
	log_emit_fields(LOG_NOTICE, MSGID_ALIVE_RETURNED,
			(const char *[]){ LOG_FIELD("MTC_HOST=%s", h->entry.name),
					  LOG_FIELD("MTC_NETWORK=%s", mtc_net_name((unsigned)net)), NULL },
			"%s: mtcAlive via %s returned after %.1f s without", h->entry.name,
			mtc_net_name((unsigned)net), (double)(now - missing_since) / 1000.0);
}

/* One line for the networks of h that stopped in this check. */
static void log_stopped(const agent *a, const agent_host *h, unsigned stopped, uint64_t now)
{
	char nets[MTC_NET_COUNT][40], names[64] = "", still[64] = "";
	const char *fields[MTC_NET_COUNT + 2] = { LOG_FIELD("MTC_HOST=%s", h->entry.name) };
	uint64_t oldest = now;
	int nf = 1;

	for (int net = 0; net < MTC_NET_COUNT; net++) {
		const char *name = mtc_net_name((unsigned)net);

		if (stopped & (1u << net)) {
			snprintf(nets[net], sizeof(nets[net]), "MTC_NETWORK=%s", name);
			fields[nf++] = nets[net];
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "", name);
			if (h->link[net].missing_ms < oldest)
				oldest = h->link[net].missing_ms;
		} else if (agent_fleet_watched(a, h, net) && h->link[net].state != MTC_LINK_MISSING) {
			snprintf(still + strlen(still), sizeof(still) - strlen(still), "%s%s", still[0] ? ", " : "", name);
		}
	}
	fields[nf] = NULL;
	log_emit_fields(LOG_WARNING, MSGID_ALIVE_STOPPED, fields,
			"%s: mtcAlive stopped via %s: none for %.1f s (limit %d x %d s)%s%s", h->entry.name, names,
			(double)(now - oldest) / 1000.0, a->cfg.alive_missing_periods, a->cfg.alive_period,
			still[0] ? "; still arriving via " : "; none arriving on any network", still);
}

/* Which networks the agent itself hears on now. While its own socket is
 * down nobody's silence there is news; when it is back, every host that was
 * not already missing is watched afresh from now. */
static unsigned own_networks(agent *a, uint64_t now)
{
	unsigned up = 0;

	for (int net = 0; net < MTC_NET_COUNT; net++) {
		bool is_up = a->cfg.net[net].address[0] && mtc_sock_up(&a->io.socks[net]);

		if (is_up && !a->fleet_net_up[net])
			for (size_t i = 0; i < a->n_hosts; i++)
				if (a->hosts[i].link[net].state != MTC_LINK_MISSING)
					mtc_link_init(&a->hosts[i].link[net], now);
		a->fleet_net_up[net] = is_up;
		up |= is_up ? 1u << net : 0;
	}
	return up;
}

void agent_fleet_check(agent *a, uint64_t now)
{
	uint64_t missing_ms = agent_missing_ms(a);
	unsigned up = own_networks(a, now);

	if (a->fleet_quiet[0] || a->fleet_quiet[1])
		log_emit_fields(LOG_WARNING, MSGID_ALIVE_STOPPED,
				(const char *[]){ LOG_FIELD("MTC_STOPPED=%lu", a->fleet_quiet[0]),
						  LOG_FIELD("MTC_RETURNED=%lu", a->fleet_quiet[1]), NULL },
				"mtcAlive stopped for %lu more host network(s) and returned for %lu in the last second "
				"(not logged one by one; mtcctl list shows each)", a->fleet_quiet[0], a->fleet_quiet[1]);
	a->fleet_quiet[0] = a->fleet_quiet[1] = 0;
	a->fleet_lines = 0;
	for (size_t i = 0; i < a->n_hosts; i++) {
		agent_host *h = &a->hosts[i];
		unsigned stopped = 0;

		for (int net = 0; net < MTC_NET_COUNT; net++)
			if ((up & (1u << net)) && h->has_dest[net] &&
			    mtc_link_check(&h->link[net], now, missing_ms) == MTC_LINK_STOPPED)
				stopped |= 1u << net;
		if (stopped && fleet_budget(a, 0))
			log_stopped(a, h, stopped, now);
		else if (stopped)
			a->fleet_quiet[0] += (unsigned long)__builtin_popcount(stopped) - 1;
	}
}

agent_host *agent_host_at_addr(agent *a, int net, const struct sockaddr_in *from)
{
	for (size_t i = 0; i < a->n_hosts; i++)
		if (a->hosts[i].has_dest[net] && a->hosts[i].dest[net].sin_addr.s_addr == from->sin_addr.s_addr)
			return &a->hosts[i];
	return NULL;
}

const char *agent_peer_at(void *user, int net, const struct sockaddr_in *from)
{
	agent_host *h = agent_host_at_addr(user, net, from);

	return h ? h->entry.name : NULL;
}

void agent_on_alive_source(agent *a, agent_host *h, int net, const struct sockaddr_in *from)
{
	char who[32], want[32];
	unsigned long n;

	if (!h->has_dest[net] || h->has_src[net]) {
		h->other_src_logged[net] = false;
		return;
	}
	if (h->other_src_logged[net])
		return;
	h->other_src_logged[net] = true;
	a->other_src++;
	/* Once per host and network, and at most a line per interval (a NAT
	 * or a wrong hosts file can make it every host at once). */
	if (mtc_ratelog_hit(&a->other_src_log, util_now_ms(), MTC_DROP_LOG_INTERVAL_MS, &n))
		log_warn("%lu host network(s) sending mtcAlive from another address than the hosts file's (last: %s "
			 "via %s from %s, configured %s; %lu so far): commands go to the configured address; a moved "
			 "node or a wrong hosts file? (once per host and network until it comes from there)", n,
			 h->entry.name, mtc_net_name((unsigned)net), mtc_addr_str(from, who, sizeof(who)),
			 mtc_addr_str(&h->dest[net], want, sizeof(want)), a->other_src);
}

void agent_key_hint(const agent *a, const agent_host *h, char *buf, size_t size)
{
	uint64_t now = util_now_ms();
	size_t used;

	if (h->adm.heard) {
		snprintf(buf, size, "; sent on pxeboot, mgmt, cluster");
		return;
	}
	used = (size_t)snprintf(buf, size, "; pending its first mtcAlive: %s not heard with this key since the agent "
				"started", h->entry.name);
	for (int net = 0; net < MTC_NET_COUNT && used < size; net++) {
		if (!h->has_dest[net] || !a->drops.bad_auth_ms[net] ||
		    a->drops.bad_auth_from[net].sin_addr.s_addr != h->dest[net].sin_addr.s_addr)
			continue;
		snprintf(buf + used, size - used, "; frames from its %s address failed authentication %llu s ago: "
			 "key mismatch?", mtc_net_name((unsigned)net),
			 (unsigned long long)((now - a->drops.bad_auth_ms[net]) / 1000));
		return;
	}
}
