/* Client mode on the agent's loop: the start-up check (with backoff until
 * HAProxy answers), then every INTERVAL a reconcile cycle of the local
 * HAProxy (libhsdo's hsdo_client: the store, HAProxy's state, the plan,
 * one batch); logs, metrics, /healthz and the SPOE agent's slot states
 * follow each cycle. The client is a non-blocking state machine: one
 * ev_io and one ev_timer here wait where it says (hsdo_client_loop), so a
 * HAProxy that hangs costs the loop nothing. See client_mode.h. */
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/client.h"
#include "hsdo/config.h"
#include "hsdo/err.h"
#include "hsdo/log.h"
#include "hsdo/store.h"

#include "agent.h"
#include "agent_log.h"
#include "agent_metrics.h"
#include "client_mode.h"
#include "fleet_health.h"
#include "spoa.h"

struct client_mode {
	struct agent *a;
	struct hsdo_client *client;
	ev_io io;                      /* the Runtime API socket, when waited on */
	ev_timer timer;                /* its deadline */
	bool ready;                    /* the start-up check passed */
	bool ever_ready;               /* it passed once: later failures do not exit */
	unsigned failures;             /* consecutive HAProxy failures (backoff) */
	char last_haproxy[512];        /* last HAProxy state, logged once per change */
	size_t last_nskips;
};

/* ---- the loop's side of hsdo_client_loop --------------------------------------------- */

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct client_mode *cm = w->data;

	(void)loop;
	(void)revents;
	hsdo_client_io(cm->client);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct client_mode *cm = w->data;

	(void)loop;
	(void)revents;
	hsdo_client_io(cm->client);
}

static void wait_for(void *ctx, int fd, int events, long timeout_ms)
{
	struct client_mode *cm = ctx;
	struct ev_loop *loop = cm->a->loop;
	int ev = ((events & HSDO_RTAPI_IO_READ) ? EV_READ : 0) |
		 ((events & HSDO_RTAPI_IO_WRITE) ? EV_WRITE : 0);

	if (fd < 0 || ev == 0) {
		ev_io_stop(loop, &cm->io);
	} else if (!ev_is_active(&cm->io) || cm->io.fd != fd || (cm->io.events & (EV_READ | EV_WRITE)) != ev) {
		ev_io_stop(loop, &cm->io);
		ev_io_set(&cm->io, fd, ev);
		ev_io_start(loop, &cm->io);
	}
	ev_timer_stop(loop, &cm->timer);
	if (timeout_ms >= 0) {
		/* The client measured from now; the loop's cached time may be
		 * older, which would fire the timer early. */
		ev_now_update(loop);
		ev_timer_set(&cm->timer, (ev_tstamp)timeout_ms / 1000.0 + 0.001, 0.);
		ev_timer_start(loop, &cm->timer);
	}
}

/* ---- logs ------------------------------------------------------------------------------ */

/* Log HAProxy's reachability once per cause (agent_log_same_cause). */
static void haproxy_state(struct client_mode *cm, int rc, const char *msg)
{
	struct agent *a = cm->a;
	char line[sizeof(cm->last_haproxy)];

	if (rc == 0) {
		if (cm->last_haproxy[0] != '\0')
			hsdo_log_info("HAProxy at %s answers again",
				      a->cfg->client_haproxy_socket_path);
		cm->last_haproxy[0] = '\0';
		cm->failures = 0;
		return;
	}
	cm->failures++;
	snprintf(line, sizeof(line), "%s%s%s", hsdo_strerror(rc), msg[0] ? ": " : "", msg);
	if (cm->last_haproxy[0] == '\0' || !agent_log_same_cause(line, cm->last_haproxy))
		hsdo_log_err("HAProxy at %s: %s; HAProxy keeps its current state, retrying",
			     a->cfg->client_haproxy_socket_path, line);
	memcpy(cm->last_haproxy, line, sizeof(line));
}

/* One log line per slot and backend that changed: the commands sent, in
 * order (or that would be, with --dry-run, also printed to stdout). */
static void log_plan(struct client_mode *cm, const struct hsdo_plan_client_result *p)
{
	struct agent *a = cm->a;
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
	if (p->nskips != cm->last_nskips)
		for (j = 0; j < p->nskips; j++)
			hsdo_log_warn("slot %u%s%s skipped: %s", p->skips[j].slot,
				      p->skips[j].backend ? " " : "",
				      p->skips[j].backend ? p->skips[j].backend : "",
				      p->skips[j].reason);
	cm->last_nskips = p->nskips;
}

/* ---- the cycle -------------------------------------------------------------------------- */

static void cycle_done(void *arg, int rc, const struct hsdo_client_report *rep)
{
	struct client_mode *cm = arg;
	struct agent *a = cm->a;

	if (rep->store_ok)
		agent_store_recovered(a);
	else
		agent_store_failed(a, "read", 0, rep->store_error, rep->table != NULL);
	if (rep->table_changed)
		hsdo_log_info("slot table generation %llu read",
			      (unsigned long long)rep->generation);
	if (rep->table_changed && rep->slots_missing_from > 0)
		hsdo_log_warn("slot table generation %llu has %zu slots, HAPROXY_BACKEND_SERVERS_LIST_SIZE "
			      "is %d: slots %zu..%d are not in it and stay as HAProxy has them",
			      (unsigned long long)rep->generation, rep->slots_missing_from - 1,
			      a->cfg->haproxy_backend_servers_list_size, rep->slots_missing_from,
			      a->cfg->haproxy_backend_servers_list_size);
	if (rep->plan != NULL) {
		haproxy_state(cm, 0, "");
		log_plan(cm, rep->plan);
		if (rep->missing)
			hsdo_log_warn("%s", rep->haproxy_error);
	} else if (rep->haproxy_error[0] != '\0') {
		haproxy_state(cm, rc ? rc : -HSDO_EIO, rep->haproxy_error);
	}
	if (rep->failed)
		hsdo_log_warn("%zu of %zu commands failed; the others were applied",
			      rep->failed, rep->sent);

	agent_metrics_store_reads(a, rep->store_reads, rep->store_read_errors);
	agent_metrics_client_table(a, rep->unversioned, rep->unannounced);
	if (rep->table_changed) {
		agent_metrics_table(a, rep->table);
		spoa_set_table(a->spoa, rep->table);   /* SPOE: the ACKs' slot_state */
	}
	agent_metrics_rtapi(a, rep->sent - rep->failed, rep->failed + rep->lost, rep->connections);
	fleet_health_client_cycle(a, rep);   /* docs/health.md: verdicts, report */
	if (rc == 0)
		a->health[0] = '\0';
	else if (!rep->store_ok || rep->haproxy_error[0] != '\0')
		snprintf(a->health, sizeof(a->health), "%s%s%s%s%s%s%s",
			 rep->store_ok ? "" : "store ", rep->store_ok ? "" : hsdo_store_name(a->store),
			 rep->store_ok ? "" : ": ", rep->store_error,
			 !rep->store_ok && rep->haproxy_error[0] ? "; " : "",
			 rep->haproxy_error[0] ? "HAProxy: " : "", rep->haproxy_error);
	else
		snprintf(a->health, sizeof(a->health), "%s", hsdo_strerror(rc));
	agent_cycle_done(a, rc == 0, agent_elapsed(&a->cycle_t0));
}

static void start_cycle(struct client_mode *cm)
{
	struct agent *a = cm->a;
	int rc = hsdo_client_cycle_start(cm->client, a->dry_run, cycle_done, cm);

	if (rc != 0) {
		snprintf(a->health, sizeof(a->health), "client: %s", hsdo_strerror(rc));
		agent_cycle_done(a, false, agent_elapsed(&a->cycle_t0));
	}
}

/* The start-up check ended: ready, retry later, or (before it ever passed,
 * HAProxy lacking what the configuration names) exit. */
static void on_check(void *arg, int rc, const char *err)
{
	struct client_mode *cm = arg;
	struct agent *a = cm->a;
	char status[1024];

	if (rc == -HSDO_ECONFIG && !cm->ever_ready) {
		hsdo_log_err("HAProxy does not have what the configuration names: %s", err);
		a->cycle_running = false;
		a->exit_code = 1;
		ev_break(a->loop, EVBREAK_ALL);
		return;
	}
	/* After a reload of ours or HAProxy's, a missing slot keeps the agent
	 * running, changing nothing, and saying why until the two agree again. */
	haproxy_state(cm, rc, err);
	if (rc != 0) {
		snprintf(a->health, sizeof(a->health), "HAProxy at %s: %s",
			 a->cfg->client_haproxy_socket_path, cm->last_haproxy);
		agent_cycle_done(a, false, agent_elapsed(&a->cycle_t0));
		return;
	}
	hsdo_log_info("HAProxy at %s: every backend has its %d slots",
		      a->cfg->client_haproxy_socket_path,
		      a->cfg->haproxy_backend_servers_list_size);
	snprintf(status, sizeof(status), "HAProxy at %s has every slot; following the slot table",
		 a->cfg->client_haproxy_socket_path);
	agent_notify_ready(&a->notify, status);   /* the start-up check passed */
	cm->ready = true;
	cm->ever_ready = true;
	start_cycle(cm);
}

int client_mode_tick(struct agent *a)
{
	struct client_mode *cm = a->client_mode;
	int rc;

	if (cm->ready) {
		start_cycle(cm);
		return 0;
	}
	rc = hsdo_client_check_start(cm->client, on_check, cm);
	if (rc != 0) {
		snprintf(a->health, sizeof(a->health), "client: %s", hsdo_strerror(rc));
		agent_cycle_done(a, false, agent_elapsed(&a->cycle_t0));
	}
	return 0;
}

static void on_verify(void *arg, int rc, bool converged, const char *err)
{
	struct client_mode *cm = arg;
	struct agent *a = cm->a;

	if (rc == 0)
		hsdo_log_info("HAProxy %s the slot table", converged ? "matches" : "does NOT match");
	else
		hsdo_log_err("HAProxy at %s: %s", a->cfg->client_haproxy_socket_path, err);
	a->exit_code = rc == 0 && converged ? 0 : 1;
	ev_break(a->loop, EVBREAK_ALL);
}

int client_mode_verify(struct agent *a)
{
	return hsdo_client_verify_start(a->client_mode->client, on_verify, a->client_mode);
}

/* ---- configuration and lifecycle ----------------------------------------------------- */

int client_mode_prepare(struct agent *a, const struct hsdo_config *cfg, struct hsdo_store *store,
			struct hsdo_client **out)
{
	struct client_mode *cm = a->client_mode;
	struct hsdo_client_loop loop;
	char err[256] = "";

	if (cm == NULL) {
		cm = hsdo_calloc(1, sizeof(*cm));
		if (cm == NULL)
			return -HSDO_ENOMEM;
		cm->a = a;
		ev_init(&cm->io, on_io);
		cm->io.data = cm;
		ev_init(&cm->timer, on_timer);
		cm->timer.data = cm;
		a->client_mode = cm;
	}
	loop.ctx = cm;
	loop.wait = wait_for;
	if (hsdo_client_new(cfg, store, &loop, out, err, sizeof(err)) != 0) {
		hsdo_log_err("CLIENT_HAPROXY_SOCKET_PATH: %s", err);
		return -HSDO_EINVAL;
	}
	return 0;
}

void client_mode_commit(struct agent *a, struct hsdo_client *client)
{
	struct client_mode *cm = a->client_mode;

	/* The backends may have changed: check them again. */
	hsdo_client_free(cm->client);
	cm->client = client;
	cm->ready = false;
	cm->last_nskips = 0;
	a->rtapi_conns_seen = 0;
}

unsigned client_mode_failures(const struct agent *a)
{
	return a->client_mode != NULL ? a->client_mode->failures : 0;
}

enum hsdo_client_wait client_mode_waiting(const struct agent *a, int64_t *since_ms)
{
	return a->client_mode != NULL ? hsdo_client_waiting(a->client_mode->client, since_ms) :
					HSDO_CLIENT_IDLE;
}

void client_mode_close(struct agent *a)
{
	struct client_mode *cm = a->client_mode;

	if (cm == NULL)
		return;
	if (a->loop != NULL) {
		ev_io_stop(a->loop, &cm->io);
		ev_timer_stop(a->loop, &cm->timer);
	}
	hsdo_client_free(cm->client);
	hsdo_free(cm);
	a->client_mode = NULL;
}
