/* mtcclient's start: the hostname, the lock flag restored from its backup
 * (also when the configuration has errors), the boot counter and last
 * command, the networks and agents' addresses. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileops.h"
#include "log.h"
#include "mtc_flag.h"
#include "mtcclient.h"
#include "util.h"

/* Bad-auth lines name the agent when it came from one of its addresses. */
const char *client_agent_at(void *user, int net, const struct sockaddr_in *from)
{
	const client *c = user;

	for (int i = 0; net >= 0 && net < MTC_NET_COUNT && i < c->n_agents[net]; i++)
		if (c->agent[net][i].sin_addr.s_addr == from->sin_addr.s_addr)
			return "the agent";
	return NULL;
}

/* agent_address "A" or "A,B" (checked by the config) into out. */
static int parse_agents(const char *list, int port, struct sockaddr_in *out)
{
	char buf[MTC_ADDR_MAX * 2], *save = NULL;
	int n = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *t = strtok_r(buf, ", ", &save); t && n < MTC_AGENTS_MAX; t = strtok_r(NULL, ", ", &save)) {
		out[n] = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
		if (inet_pton(AF_INET, t, &out[n].sin_addr) == 1)
			n++;
	}
	return n;
}

int client_setup_networks(client *c)
{
	int provisioned = 0;

	for (int net = 0; net < MTC_NET_COUNT; net++) {
		const mtc_net_config *n = &c->cfg.net[net];

		mtc_sock_config(&c->io.socks[net], n->address, n->client_port);
		c->agent_known[net] = false;
		if (!n->address[0]) {
			log_info("%s: not provisioned (no address), skipped", mtc_net_name((unsigned)net));
			continue;
		}
		provisioned++;
		if (!n->agent_address[0]) {
			log_warn("%s: no agent_address; mtcAlive cannot be sent there", mtc_net_name((unsigned)net));
			continue;
		}
		c->n_agents[net] = parse_agents(n->agent_address, n->agent_port, c->agent[net]);
		c->agent_known[net] = c->n_agents[net] > 0;
	}
	if (!provisioned)
		log_warn("no network provisioned: nothing can reach this node");
	return provisioned;
}

int client_restore_flag(client *c)
{
	int r;

	service_clean_leftovers(c->cfg.locked_file);
	service_clean_leftovers(c->cfg.locked_backup);
	r = mtc_flag_restore_at_start(c->cfg.locked_file, c->cfg.locked_backup, c->hostname);

	switch (r) {
	case MTC_FLAG_RESTORED:
		log_emit_fields(LOG_NOTICE, MSGID_FLAG_WRITTEN, (const char *[]){ "MTC_SOURCE=backup", NULL },
				"lock flag %s restored from backup %s", c->cfg.locked_file, c->cfg.locked_backup);
		break;
	case MTC_FLAG_BACKUP_RESTORED:
		log_notice("node is locked (flag %s present, its backup %s missing: written)", c->cfg.locked_file,
			   c->cfg.locked_backup);
		break;
	case MTC_FLAG_LOCKED_NO_BACKUP:
		c->backup_missing = true;
		log_err("node is locked (flag %s present), but its backup %s is missing and cannot be written; "
			"retried every %d s", c->cfg.locked_file, c->cfg.locked_backup, c->cfg.alive_period);
		break;
	case MTC_FLAG_UNCHANGED_LOCKED:
		log_info("node is locked (flag and backup present)");
		break;
	case MTC_FLAG_UNCHANGED_UNLOCKED:
		log_info("node is unlocked (no flag, no backup)");
		break;
	default:
		log_err("cannot restore lock flag %s from %s: %s", c->cfg.locked_file, c->cfg.locked_backup,
			strerror(-r));
		return r;
	}
	return 0;
}

/* The boot counter and the last applied command, beside the backup. */
int client_load_order_state(client *c)
{
	bool persisted;
	int r;

	mtc_client_state_path(&c->cfg, c->cfg.boot_file, ".boot_count", c->boot_path, sizeof(c->boot_path));
	mtc_client_state_path(&c->cfg, c->cfg.cmdseq_file, ".cmdseq", c->cmdseq_path, sizeof(c->cmdseq_path));
	service_clean_leftovers(c->boot_path);
	service_clean_leftovers(c->cmdseq_path);
	r = mtc_counter_read(c->cmdseq_path, &c->last_applied);
	if (r == 0 && c->last_applied == UINT32_MAX) {
		/* Nothing can follow it: taking it would stop every command
		 * for good (or wrap). Corrupt, as if not a number. */
		log_err("%s holds %u (UINT32_MAX): refused as corrupt; commands are ordered from 0 (the nonce "
			"check still applies)", c->cmdseq_path, c->last_applied);
		r = -EBADMSG;
	} else if (r == -EBADMSG || r == -EMEDIUMTYPE || r == -ELOOP) {
		log_warn("%s %s; commands are ordered from 0 (the nonce check still applies)", c->cmdseq_path,
			 r == -EBADMSG ? "is not a number" :
			 fileops_strerror(c->cmdseq_path, FILEOPS_REG, r, (char[256]){ 0 }, 256));
		r = -EBADMSG;
	}
	if (r < 0 && r != -ENOENT && r != -EBADMSG) {
		log_err("cannot read command sequence %s: %s", c->cmdseq_path, strerror(-r));
		return r;
	}
	if (r < 0)
		c->last_applied = 0;
	c->boot = mtc_daemon_next_boot(c->boot_path, &persisted, &r);
	/* Without a persisted counter the next start may reuse this boot and
	 * the agent would take its frames for replays: refuse to run. */
	if (!persisted) {
		log_err("cannot persist boot counter %s: %s", c->boot_path, strerror(-r));
		return r;
	}
	return 0;
}

/* [client] hostname, else the system's; an unusable one still names the
 * flag's content ("host=") so the flag can be restored first. */
int client_set_hostname(client *c)
{
	if (c->cfg.hostname[0]) {
		strcpy(c->hostname, c->cfg.hostname);
		return 0;
	}
	if (gethostname(c->hostname, sizeof(c->hostname)) == 0 && mtc_hostname_valid(c->hostname))
		return 0;
	c->hostname[sizeof(c->hostname) - 1] = '\0';
	log_err("system hostname is not usable; set [client] hostname");
	return -EINVAL;
}

/* Is a config that failed to load still sure of the flag's paths: it was
 * read, and no error is about those keys or a line that may have held one. */
static bool paths_trusted(const conf_errors *e)
{
	static const char *const unsure[] = { "locked_file", "locked_backup", "line too long", "control character",
					      "malformed section", "expected 'key", "missing key", "syntax error",
					      "read error", "set again" };

	for (size_t i = 0; i < ARRAY_SIZE(unsure); i++)
		if (strstr(e->text, unsure[i]))
			return false;
	return true;
}

/* The configuration has errors and mtcclient exits: restore the flag from
 * its backup first if the config names both paths for sure, so a mistake
 * elsewhere in mtc.conf cannot cost a locked node its flag at boot. */
void client_restore_despite_config_error(client *c)
{
	conf_errors e = { 0 };
	int r = mtc_config_load(&c->cfg, c->svc.config_path, &e);

	if (r == 0 || r != -EINVAL || !paths_trusted(&e) || c->cfg.locked_file[0] != '/' ||
	    c->cfg.locked_backup[0] != '/') {
		log_err("configuration unusable: the lock flag was not restored from its backup (its paths are not "
			"known for sure)");
		return;
	}
	client_set_hostname(c);
	if (client_restore_flag(c) == 0)
		log_notice("configuration has errors (see above): lock flag checked against its backup before "
			   "exiting");
}
