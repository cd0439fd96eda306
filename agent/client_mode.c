/* Client mode on the agent's loop: the start-up check (with backoff until
 * HAProxy answers), then every INTERVAL a refresh of the slot table
 * (asynchronous on DynamoDB) and a reconcile cycle of the local HAProxy
 * (libhsdo's hsdo_client); logs, metrics, /healthz and the SPOE agent's
 * slot states follow each cycle. See client_mode.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hsdo/client.h"
#include "hsdo/config.h"
#include "hsdo/err.h"
#include "hsdo/log.h"
#include "hsdo/store.h"

#include "agent.h"
#include "agent_metrics.h"
#include "client_mode.h"
#include "spoa.h"

/* Log HAProxy's reachability once per change of message. */
static void haproxy_state(struct agent *a, int rc, const char *msg)
{
	char line[sizeof(a->last_haproxy)];

	if (rc == 0) {
		if (a->last_haproxy[0] != '\0')
			hsdo_log_info("HAProxy at %s answers again",
				      a->cfg->client_haproxy_socket_path);
		a->last_haproxy[0] = '\0';
		a->failures = 0;
		return;
	}
	a->failures++;
	snprintf(line, sizeof(line), "%s%s%s", hsdo_strerror(rc), msg[0] ? ": " : "", msg);
	if (strcmp(line, a->last_haproxy) != 0) {
		hsdo_log_err("HAProxy at %s: %s; HAProxy keeps its current state, retrying",
			     a->cfg->client_haproxy_socket_path, line);
		memcpy(a->last_haproxy, line, sizeof(line));
	}
}

/* One log line per slot and backend that changed: the commands sent, in
 * order (or that would be, with --dry-run, also printed to stdout). */
static void log_plan(struct agent *a, const struct hsdo_plan_client_result *p)
{
	char line[1024];
	size_t i = 0, j, len;

	if (a->dry_run)
		for (j = 0; j < p->ncmds; j++)
			printf("%s\n", p->cmds[j].line);
	while (i < p->ncmds) {
		const struct hsdo_plan_client_cmd *c = &p->cmds[i];

		len = (size_t)snprintf(line, sizeof(line), "%sslot %u %s:", a->dry_run ? "dry run: " : "",
				       c->slot, c->backend);
		for (j = i; j < p->ncmds && p->cmds[j].slot == c->slot &&
			    p->cmds[j].backend == c->backend; j++) {
			/* "set server be/srv <what>": keep what follows the name. */
			const char *what = strchr(p->cmds[j].line + 11, ' ');

			if (len < sizeof(line))
				len += (size_t)snprintf(line + len, sizeof(line) - len, "%s %s",
							j > i ? "," : "", what ? what + 1 : "");
		}
		hsdo_log_info("%s", line);
		i = j;
	}
	if (p->nskips != a->last_nskips)
		for (j = 0; j < p->nskips; j++)
			hsdo_log_warn("slot %u%s%s skipped: %s", p->skips[j].slot,
				      p->skips[j].backend ? " " : "",
				      p->skips[j].backend ? p->skips[j].backend : "",
				      p->skips[j].reason);
	a->last_nskips = p->nskips;
}

/* The start-up check: 0 ready, 1 not reachable yet (retry), <0 fatal. */
static int client_check(struct agent *a)
{
	char err[1024] = "";
	int rc = hsdo_client_check(a->client, err, sizeof(err));

	if (rc == -HSDO_ECONFIG) {
		if (!a->ever_ready) {
			hsdo_log_err("HAProxy does not have what the configuration names: %s", err);
			return rc;
		}
		/* After a reload of ours or HAProxy's: keep running, change
		 * nothing, and say why until the two agree again. */
		haproxy_state(a, rc, err);
		return 1;
	}
	haproxy_state(a, rc, err);
	if (rc != 0)
		return 1;
	hsdo_log_info("HAProxy at %s: every backend has its %d slots",
		      a->cfg->client_haproxy_socket_path,
		      a->cfg->haproxy_backend_servers_list_size);
	a->client_ready = true;
	a->ever_ready = true;
	return 0;
}

static int client_cycle(struct agent *a)
{
	struct hsdo_client_report rep;
	int rc = hsdo_client_cycle(a->client, a->dry_run, &rep);

	if (rep.store_ok)
		agent_store_recovered(a);
	else
		agent_store_failed(a, "read", 0, rep.store_error);
	if (rep.table_changed)
		hsdo_log_info("slot table generation %llu read",
			      (unsigned long long)rep.generation);
	if (rep.plan != NULL) {
		haproxy_state(a, 0, "");
		log_plan(a, rep.plan);
		if (rep.missing)
			hsdo_log_warn("%s", rep.haproxy_error);
	} else if (rep.haproxy_error[0] != '\0') {
		haproxy_state(a, rc ? rc : -HSDO_EIO, rep.haproxy_error);
	}
	if (rep.failed)
		hsdo_log_warn("%zu of %zu commands failed; the others were applied",
			      rep.failed, rep.sent);

	agent_metrics_store_reads(a, rep.store_reads, rep.store_read_errors);
	if (rep.table_changed) {
		agent_metrics_table(a, rep.table);
		spoa_set_table(a->spoa, rep.table);   /* SPOE: the ACKs' slot_state */
	}
	agent_metrics_rtapi(a, rep.sent - rep.failed, rep.failed + rep.lost, rep.connections);
	if (rc == 0)
		a->health[0] = '\0';
	else if (!rep.store_ok || rep.haproxy_error[0] != '\0')
		snprintf(a->health, sizeof(a->health), "%s%s%s%s%s%s%s",
			 rep.store_ok ? "" : "store ", rep.store_ok ? "" : hsdo_store_name(a->store),
			 rep.store_ok ? "" : ": ", rep.store_error,
			 !rep.store_ok && rep.haproxy_error[0] ? "; " : "",
			 rep.haproxy_error[0] ? "HAProxy: " : "", rep.haproxy_error);
	else
		snprintf(a->health, sizeof(a->health), "%s", hsdo_strerror(rc));
	return rc;
}

static void on_client_refreshed(void *arg)
{
	struct agent *a = arg;
	int rc = client_cycle(a);

	agent_cycle_done(a, rc == 0, agent_elapsed(&a->cycle_t0));
}

int client_mode_tick(struct agent *a)
{
	int rc;

	rc = a->client_ready ? 0 : client_check(a);
	if (rc < 0) {
		a->cycle_running = false;
		return -1;
	}
	if (rc > 0) {
		snprintf(a->health, sizeof(a->health), "HAProxy at %s: %s",
			 a->cfg->client_haproxy_socket_path, a->last_haproxy);
		agent_cycle_done(a, false, agent_elapsed(&a->cycle_t0));
		return 0;
	}
	rc = hsdo_client_refresh_async(a->client, on_client_refreshed, a);
	if (rc != 0) {
		snprintf(a->health, sizeof(a->health), "store %s: %s", hsdo_store_name(a->store),
			 hsdo_strerror(rc));
		agent_cycle_done(a, false, agent_elapsed(&a->cycle_t0));
	}
	return 0;
}

bool client_mode_verify(struct agent *a)
{
	char err[256] = "";
	bool converged = false;
	int rc;

	rc = hsdo_client_verify(a->client, &converged, err, sizeof(err));
	if (rc == 0)
		hsdo_log_info("HAProxy %s the slot table", converged ?
			      "matches" : "does NOT match");
	return rc == 0 && converged;
}
