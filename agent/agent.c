/* The agent's configuration, reload and lifecycle, and the timer that
 * starts a cycle of the mode every INTERVAL: client mode in client_mode.c,
 * server mode (discovery source and server cycle) in server_mode.c.
 * --dry-run is one cycle of either that changes nothing and prints what it
 * would do. Every cycle is timed and counted in the metrics, and its
 * outcome is what /healthz reports. HTTP (AWS, Consul) runs on the loop
 * through curl multi (http_ev.c): nothing blocks it. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__   /* (defined by the headers above) */
#include <malloc.h>    /* malloc_trim */
#endif

#include "hsdo/aws.h"
#include "hsdo/aws_ops.h"
#include "hsdo/client.h"
#include "hsdo/clock.h"
#include "hsdo/config.h"
#include "hsdo/http.h"
#include "hsdo/err.h"
#include "hsdo/liveness.h"
#include "hsdo/log.h"
#include "hsdo/store.h"
#include "hsdo/store_ddb.h"
#include "hsdo/store_file.h"

#include "agent.h"
#include "agent_metrics.h"
#include "client_mode.h"
#include "exporter.h"
#include "fleet_health.h"
#include "http_ev.h"
#include "agent_log.h"
#include "server_mode.h"
#include "spoa.h"

/* Log a store failure once per cause; `ctx` names the step. */
void agent_store_failed(struct agent *a, const char *ctx, int rc, const char *err,
			bool have_table)
{
	char msg[sizeof(a->last_error)];

	if (rc != 0)
		snprintf(msg, sizeof(msg), "%s: %s%s%s", ctx, hsdo_strerror(rc),
			 err[0] ? ": " : "", err);
	else
		snprintf(msg, sizeof(msg), "%s: %s", ctx, err);
	if (a->last_error[0] == '\0' || !agent_log_same_cause(msg, a->last_error))
		hsdo_log_err("store %s %s; keeping the last good slot table%s",
			     hsdo_store_name(a->store), msg, have_table ? "" : " (none yet)");
	memcpy(a->last_error, msg, sizeof(msg));
}

void agent_store_recovered(struct agent *a)
{
	if (a->last_error[0] != '\0') {
		hsdo_log_info("store %s readable again", hsdo_store_name(a->store));
		a->last_error[0] = '\0';
	}
}

void agent_log_table(const struct hsdo_table *t)
{
	size_t i, count[HSDO_SLOT_STATE_COUNT] = { 0 };
	char ejected[32] = "";

	for (i = 0; i < t->n; i++)
		count[t->slots[i].state]++;
	if (count[HSDO_SLOT_EJECTED] > 0)
		snprintf(ejected, sizeof(ejected), ", %zu ejected", count[HSDO_SLOT_EJECTED]);
	hsdo_log_info("slot table generation %llu: %zu slots, %zu active, %zu draining, %zu free%s",
		      (unsigned long long)t->generation, t->n, count[HSDO_SLOT_ACTIVE],
		      count[HSDO_SLOT_DRAINING], count[HSDO_SLOT_FREE], ejected);
	for (i = 0; i < t->n; i++) {
		const struct hsdo_slot *s = &t->slots[i];

		if (s->state != HSDO_SLOT_FREE)
			hsdo_log_debug("slot %u: %s %s %s group=%s weight=%u",
				       s->id, hsdo_slot_state_str(s->state), s->name, s->ip,
				       s->group, s->weight);
	}
}

double agent_elapsed(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void liveness_tick(struct agent *a);

#define TRIM_EVERY 5.0   /* s between two hand-backs of freed memory */

/* A reload deferred while a cycle ran: applied from a loop turn of its
 * own, never from inside the callbacks that ended the cycle (the store or
 * the client it replaces may still be on the stack). */
static void on_deferred_reload(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;
	struct hsdo_config *next = a->pending_cfg;
	int rc;

	(void)loop;
	(void)revents;
	if (next == NULL)
		return;
	a->pending_cfg = NULL;
	rc = agent_apply_config(a, next);
	if (rc < 0) {
		hsdo_log_err("reload failed; keeping the running configuration");
		hsdo_config_free(next);
		agent_notify_ready(&a->notify, "reload failed; running configuration kept");
	} else if (rc == 0) {
		hsdo_log_info("configuration reloaded");
		agent_notify_ready(&a->notify, "configuration reloaded");
	}
}

#ifdef __SANITIZE_ADDRESS__
void __sanitizer_purge_allocator(void);   /* libasan's malloc_trim */
#endif

void agent_give_memory_back(void)
{
#ifdef __SANITIZE_ADDRESS__
	/* Test builds: ASan's allocator ignores malloc_trim; this is its own,
	 * so the fault suite sees what a release build does. */
	__sanitizer_purge_allocator();
#elif defined(__GLIBC__)
	(void)malloc_trim(0);
#endif
}

/* At most every TRIM_EVERY, after a cycle: glibc keeps the pages of a heap
 * that a big list or table fragmented (20,000 instances kept 48 MB
 * resident after they were gone). */
static void give_memory_back(struct agent *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (a->trimmed_at.tv_sec != 0 && agent_elapsed(&a->trimmed_at) < TRIM_EVERY)
		return;
	a->trimmed_at = now;
	agent_give_memory_back();
}

void agent_cycle_done(struct agent *a, bool ok, double seconds)
{
	a->cycle_running = false;
	a->cycles++;
	agent_metrics_cycle(a, ok, seconds);
	give_memory_back(a);
	if (a->notify.ready)
		agent_notify_status(&a->notify, a->health[0] ? a->health : "serving");
	else if (a->health[0] != '\0')
		agent_notify_status(&a->notify, a->health);   /* e.g. waiting for HAProxy */
	if (a->exporter != NULL)
		liveness_tick(a);
	if (a->pending_cfg != NULL && !ev_is_active(&a->reload)) {
		ev_timer_init(&a->reload, on_deferred_reload, 0., 0.);
		a->reload.data = a;
		ev_timer_start(a->loop, &a->reload);
	}
	if (!a->once)
		return;
	/* --once in client mode: one more state read says whether HAProxy
	 * now matches the table; its end leaves the loop. */
	if (a->role == HSDO_ROLE_CLIENT && ok && !a->dry_run && client_mode_verify(a) == 0)
		return;
	a->exit_code = ok ? 0 : 1;
	ev_break(a->loop, EVBREAK_ALL);
}

/* Start one cycle of the mode (in client mode, with the start-up check
 * until it passes); it ends in agent_cycle_done(), maybe later. Returns
 * -1 when the agent must exit: HAProxy lacks what the configuration names
 * at start. */
static int run_cycle(struct agent *a)
{
	if (a->cycle_running)
		return 0;       /* the previous one is still waiting on I/O */
	a->cycle_running = true;
	clock_gettime(CLOCK_MONOTONIC, &a->cycle_t0);
	if (a->role != HSDO_ROLE_CLIENT) {
		if (!server_mode_tick(a))
			a->cycle_running = false;
		return 0;
	}
	return client_mode_tick(a);
}

/* Delay before the next cycle: INTERVAL, or a backoff while HAProxy is
 * unreachable (doubling, capped at 5 s or INTERVAL if that is longer). */
static ev_tstamp next_delay(const struct agent *a)
{
	ev_tstamp interval = (ev_tstamp)a->cfg->interval_ms / 1000.0;
	ev_tstamp cap = interval > 5.0 ? interval : 5.0, d = interval;
	unsigned i;

	for (i = 1; i < client_mode_failures(a) && d < cap; i++)
		d *= 2;
	return d < cap ? d : cap;
}

static void on_cycle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;

	(void)revents;
	if (run_cycle(a) < 0) {
		a->exit_code = 1;
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	w->repeat = next_delay(a);
	ev_timer_again(loop, w);
}

/* The HTTP engine on the loop and the AWS client, when something needs
 * them (DynamoDB, SERVER_MODE=aws or consul). */
static bool needs_http(const struct hsdo_config *cfg, enum hsdo_role role)
{
	return cfg->store == HSDO_CONFIG_STORE_DYNAMODB ||
	       (role == HSDO_ROLE_SERVER && cfg->server_mode != HSDO_CONFIG_SERVER_MODE_STATIC);
}

void agent_aws_options(const struct hsdo_config *cfg, unsigned principal,
		       struct hsdo_http_options *ho, struct hsdo_aws_options *ao)
{
	extern char **environ;

	memset(ho, 0, sizeof(*ho));
	ho->ca_file = cfg->aws_ca_bundle[0] ? cfg->aws_ca_bundle : NULL;
	memset(ao, 0, sizeof(*ao));
	ao->envp = environ;
	ao->region = cfg->aws_default_region;
	ao->principal = principal;
}

unsigned agent_aws_principal(enum hsdo_role role)
{
	switch (role) {
	case HSDO_ROLE_SERVER:
		return HSDO_AWS_PRINCIPAL_SERVER;
	case HSDO_ROLE_CLIENT:
		return HSDO_AWS_PRINCIPAL_CLIENT;
	default:
		return HSDO_AWS_PRINCIPAL_SERVER | HSDO_AWS_PRINCIPAL_CLIENT;
	}
}

void agent_print_aws(const struct hsdo_config *cfg, enum hsdo_role role, FILE *f)
{
	struct hsdo_http_options ho;
	struct hsdo_aws_options ao;
	struct hsdo_http *http = NULL;
	struct hsdo_aws *aws = NULL;
	enum hsdo_creds_region_source src;
	enum hsdo_config_origin co = HSDO_CONFIG_FROM_DEFAULT;
	const char *where = "";
	char err[512] = "";
	size_t line = 0;
	int rc, s;

	if (cfg->store != HSDO_CONFIG_STORE_DYNAMODB &&
	    (role == HSDO_ROLE_CLIENT || cfg->server_mode != HSDO_CONFIG_SERVER_MODE_AWS)) {
		fprintf(f, "AWS: not used (STORE=%s, SERVER_MODE=%s)\n",
			hsdo_config_store_str(cfg->store), hsdo_config_server_mode_str(cfg->server_mode));
		return;
	}
	agent_aws_options(cfg, agent_aws_principal(role), &ho, &ao);
	rc = hsdo_http_new(&ho, NULL, &http, err, sizeof(err));
	if (rc == 0)
		rc = hsdo_aws_new(&ao, http, &aws, err, sizeof(err));
	if (rc != 0) {
		fprintf(f, "AWS: cannot be used: %s\n", err);
		hsdo_http_free(http);
		return;
	}
	src = hsdo_aws_region_source(aws, &where);
	fprintf(f, "AWS region = %s  # ", hsdo_aws_region(aws));
	if (src == HSDO_CREDS_REGION_PROFILE) {
		fprintf(f, "%s\n", where);
	} else if (src == HSDO_CREDS_REGION_CONFIG) {
		(void)hsdo_config_origin_of(cfg, "AWS_DEFAULT_REGION", &co, &line);
		if (co == HSDO_CONFIG_FROM_FILE)
			fprintf(f, "configuration (%s:%zu)\n", cfg->source_file, line);
		else
			fprintf(f, "configuration (%s)\n", hsdo_config_origin_str(co));
	} else {
		fprintf(f, "%s\n", hsdo_creds_region_source_str(src));
	}
	fprintf(f, "AWS credentials = %s\n", hsdo_aws_creds_chain(aws));
	for (s = 0; s < HSDO_CREDS_SVC_COUNT; s++)
		fprintf(f, "AWS endpoint %s = %s\n", hsdo_creds_service_str((enum hsdo_creds_service)s),
			hsdo_aws_endpoint(aws, (enum hsdo_creds_service)s));
	hsdo_aws_free(aws);
	hsdo_http_free(http);
}

static int open_http(struct agent *a, const struct hsdo_config *cfg)
{
	struct hsdo_http_options ho;
	struct hsdo_aws_options ao;
	char err[512] = "";
	int rc;

	if (a->http_ev != NULL || !needs_http(cfg, a->role))
		return 0;
	agent_aws_options(cfg, agent_aws_principal(a->role), &ho, &ao);
	rc = http_ev_new(a->loop, &ho, &a->http_ev, err, sizeof(err));
	if (rc != 0) {
		hsdo_log_err("HTTP client: %s", err);
		return rc;
	}
	a->http = http_ev_engine(a->http_ev);
	rc = hsdo_aws_new(&ao, a->http, &a->aws, err, sizeof(err));
	if (rc != 0) {
		/* Only fatal when AWS is what we talk to. */
		if (cfg->store == HSDO_CONFIG_STORE_DYNAMODB ||
		    cfg->server_mode == HSDO_CONFIG_SERVER_MODE_AWS) {
			hsdo_log_err("AWS: %s", err);
			return rc;
		}
		a->aws = NULL;
	}
	return 0;
}

static int open_store(struct agent *a, const struct hsdo_config *cfg, struct hsdo_store **out)
{
	struct hsdo_store_ddb_options o;
	char err[512] = "";
	int rc;

	if (cfg->store == HSDO_CONFIG_STORE_DYNAMODB) {
		if ((rc = open_http(a, cfg)) != 0)
			return rc;
		memset(&o, 0, sizeof(o));
		o.table = cfg->dynamodb_table_name;
		o.max_slots = (size_t)cfg->haproxy_backend_servers_list_size;
		rc = hsdo_store_ddb_open(&o, a->aws, out, err, sizeof(err));
		if (rc != 0)
			hsdo_log_err("store dynamodb: table %s in %s: %s%s%s",
				     cfg->dynamodb_table_name, hsdo_aws_region(a->aws),
				     hsdo_strerror(rc), err[0] ? ": " : "", err);
		return rc;
	}
	rc = hsdo_store_file_open(cfg->store_file_path, out, err, sizeof(err));
	if (rc != 0)
		hsdo_log_err("store file %s: %s%s%s", cfg->store_file_path, hsdo_strerror(rc),
			     err[0] ? ": " : "", err);
	return rc;
}

int agent_apply_config(struct agent *a, struct hsdo_config *cfg)
{
	struct hsdo_store *store = NULL;
	struct hsdo_client *client = NULL;
	bool store_changed;

	if (a->cfg != NULL && a->cycle_running) {
		/* A cycle is waiting on I/O with the current client and store:
		 * swap them when it ends (agent_cycle_done). */
		hsdo_config_free(a->pending_cfg);
		a->pending_cfg = cfg;
		hsdo_log_info("reload: a cycle is running; the new configuration applies when it ends");
		return 1;
	}
	store_changed = a->cfg == NULL || a->cfg->store != cfg->store ||
			strcmp(a->cfg->store_file_path, cfg->store_file_path) != 0 ||
			strcmp(a->cfg->dynamodb_table_name, cfg->dynamodb_table_name) != 0;
	if (a->role == HSDO_ROLE_SERVER && a->cfg != NULL && store_changed) {
		hsdo_log_err("SIGHUP: the store of a running server cannot change (restart it)");
		return -HSDO_EINVAL;
	}
	if (open_http(a, cfg) != 0)
		return -HSDO_EINVAL;
	if (store_changed && open_store(a, cfg, &store) != 0)
		return -HSDO_EINVAL;
	if (a->role == HSDO_ROLE_CLIENT &&
	    client_mode_prepare(a, cfg, store_changed ? store : a->store, &client) != 0) {
		hsdo_store_free(store);
		return -HSDO_EINVAL;
	}

	agent_log_setup(cfg->log_target == HSDO_CONFIG_LOG_SYSLOG, a->debug_flag || cfg->debug);
	if (store_changed) {
		hsdo_store_free(a->store);
		a->store = store;
		a->last_error[0] = '\0';
	}
	if (client != NULL)
		client_mode_commit(a, client);
	/* A client follows N slots (a server reads what it writes, whatever N). */
	if (a->role == HSDO_ROLE_CLIENT)
		hsdo_store_file_set_max_slots(a->store, (size_t)cfg->haproxy_backend_servers_list_size);
	if (store_changed && a->cfg != NULL)
		agent_metrics_table(a, NULL);
	if (a->exporter != NULL && (strcmp(a->cfg->exporter_addr, cfg->exporter_addr) != 0 ||
				    a->cfg->exporter_port != cfg->exporter_port))
		hsdo_log_warn("EXPORTER_ADDR/EXPORTER_PORT changed: the exporter stays on %s:%d "
			      "until hsdo-agent restarts", a->cfg->exporter_addr, a->cfg->exporter_port);
	hsdo_config_free(a->cfg);
	a->cfg = cfg;
	spoa_set_config(a->spoa, cfg);   /* SPOE: backends; SPOA_LISTEN at restart */
	if (ev_is_active(&a->cycle)) {
		a->cycle.repeat = (ev_tstamp)cfg->interval_ms / 1000.0;
		ev_timer_again(a->loop, &a->cycle);
	}
	return 0;
}

#define LIVENESS_TICK 0.25   /* s between two liveness publications */

/* What /healthz judges: the last cycle's outcome, and what is in flight
 * since when (docs/metrics.md, /healthz). */
static void liveness_fill(const struct agent *a, struct hsdo_liveness *l)
{
	int64_t since = 0;
	enum hsdo_client_wait w;

	memset(l, 0, sizeof(*l));
	l->bound_ms = a->cfg->healthz_stall_timeout_ms;
	l->loop_ms = hsdo_clock_mono_ms();
	l->cycled = a->cycles > 0;
	snprintf(l->last_error, sizeof(l->last_error), "%s", a->health);
	if (a->cycle_running) {
		l->since_ms[HSDO_LIVENESS_CYCLE] = (int64_t)a->cycle_t0.tv_sec * 1000 +
						   a->cycle_t0.tv_nsec / 1000000;
		snprintf(l->what[HSDO_LIVENESS_CYCLE], sizeof(l->what[0]), "%s cycle",
			 a->role == HSDO_ROLE_CLIENT ? "client" : "server");
	}
	if (a->role != HSDO_ROLE_CLIENT) {
		server_mode_liveness(a, l);
		return;
	}
	w = client_mode_waiting(a, &since);
	if (w == HSDO_CLIENT_WAIT_STORE) {
		l->since_ms[HSDO_LIVENESS_STORE] = since;
		snprintf(l->what[HSDO_LIVENESS_STORE], sizeof(l->what[0]), "store %s read",
			 hsdo_store_name(a->store));
	} else if (w == HSDO_CLIENT_WAIT_HAPROXY) {
		l->since_ms[HSDO_LIVENESS_HAPROXY] = since;
		snprintf(l->what[HSDO_LIVENESS_HAPROXY], sizeof(l->what[0]), "HAProxy at %s",
			 a->cfg->client_haproxy_socket_path);
	}
}

/* Publish the liveness to the exporter's thread, and log a stall once
 * when it starts and once when it ends; the loop's own stall is seen
 * afterwards, by how late this tick runs. */
static void liveness_tick(struct agent *a)
{
	struct hsdo_liveness l;
	char why[sizeof(a->stalled_why)];
	int64_t age = 0, late;
	int op;

	liveness_fill(a, &l);
	late = a->liveness_ms > 0 ? l.loop_ms - a->liveness_ms : 0;
	if (late > l.bound_ms)
		hsdo_log_warn("the event loop was held for %.1f s (HEALTHZ_STALL_TIMEOUT %.1f s): "
			      "/healthz answered 503 meanwhile", (double)late / 1000.0,
			      (double)l.bound_ms / 1000.0);
	a->liveness_ms = l.loop_ms;
	op = hsdo_liveness_stalled(&l, l.loop_ms, &age);
	if (op >= 0 && op != a->stalled) {
		(void)hsdo_liveness_ok(&l, l.loop_ms, why, sizeof(why));
		hsdo_log_warn("%s; /healthz answers 503 until it ends", why);
		snprintf(a->stalled_why, sizeof(a->stalled_why), "%s",
			 l.what[op][0] ? l.what[op] : hsdo_liveness_op_str((enum hsdo_liveness_op)op));
	} else if (op < 0 && a->stalled >= 0) {
		hsdo_log_info("%s is no longer outstanding", a->stalled_why);
	}
	a->stalled = op;
	exporter_publish(a->exporter, &l);
}

static void on_liveness(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	liveness_tick(w->data);
}

/* The exporter, unless --once: an address or port it cannot take is a
 * start-up error, before any cycle touches HAProxy or the store. */
static int start_exporter(struct agent *a)
{
	char err[512] = "";
	int rc;

	rc = agent_metrics_init(a);
	if (rc != 0)
		return rc;
	rc = exporter_start(a->loop, a->cfg->exporter_addr, a->cfg->exporter_port,
			    agent_metrics_render, a, &a->exporter, err, sizeof(err));
	if (rc != 0) {
		hsdo_log_err("exporter: cannot listen on %s:%d: %s (EXPORTER_ADDR, EXPORTER_PORT)",
			     a->cfg->exporter_addr, a->cfg->exporter_port, err);
		return rc;
	}
	a->stalled = -1;
	ev_timer_init(&a->liveness, on_liveness, LIVENESS_TICK, LIVENESS_TICK);
	a->liveness.data = a;
	ev_timer_start(a->loop, &a->liveness);
	liveness_tick(a);
	hsdo_log_info("exporter listening on http://%s%s%s:%d/metrics",
		      strchr(a->cfg->exporter_addr, ':') ? "[" : "", a->cfg->exporter_addr,
		      strchr(a->cfg->exporter_addr, ':') ? "]" : "", a->cfg->exporter_port);
	return 0;
}

int agent_start(struct agent *a)
{
	int rc;

	if (!a->once) {
		rc = start_exporter(a);
		if (rc != 0)
			return rc;
	}
	if (!a->once && a->role == HSDO_ROLE_CLIENT && strcmp(a->cfg->spoa_listen, "off") == 0)
		hsdo_log_info("SPOE agent off (SPOA_LISTEN=off)");
	else if (!a->once && a->role == HSDO_ROLE_CLIENT) {
		char err[256] = "";   /* the SPOE agent (docs/spoa.md): never fatal */

		if (spoa_start(a->loop, a->cfg, NULL, &a->spoa, err, sizeof(err)) != 0)
			hsdo_log_err("SPOE agent: %s (SPOA_LISTEN); running without it", err);
	}
	if (a->role == HSDO_ROLE_SERVER) {
		rc = server_mode_open(a, &a->server_mode);
		if (rc != 0)
			return rc;
	}
	if (a->role == HSDO_ROLE_SERVER)   /* source and store open: serving */
		agent_notify_ready(&a->notify, "server: discovering and writing the slot table");
	if (run_cycle(a) < 0) {
		a->exit_code = 1;
		return -HSDO_ECONFIG;
	}
	if (a->once)
		return 0;  /* main runs the loop while a->cycle_running */
	ev_init(&a->cycle, on_cycle);
	a->cycle.data = a;
	a->cycle.repeat = next_delay(a);
	ev_timer_again(a->loop, &a->cycle);
	return 0;
}

void agent_stop(struct agent *a)
{
	if (a->loop != NULL && ev_is_active(&a->cycle))
		ev_timer_stop(a->loop, &a->cycle);
	if (a->loop != NULL && ev_is_active(&a->liveness))
		ev_timer_stop(a->loop, &a->liveness);
	if (a->loop != NULL && ev_is_active(&a->reload))
		ev_timer_stop(a->loop, &a->reload);
	if (a->server_mode != NULL && a->loop != NULL)
		server_mode_release(a);
	spoa_stop(a->spoa);   /* SPOE agent */
	a->spoa = NULL;
	exporter_stop(a->exporter);
	a->exporter = NULL;
	/* Cancel HTTP in flight first: its callbacks still find everything. */
	http_ev_free(a->http_ev);
	a->http_ev = NULL;
	a->http = NULL;
	server_mode_close(a->server_mode);
	a->server_mode = NULL;
	fleet_health_close(a->fleet_health);
	a->fleet_health = NULL;
	agent_metrics_free(a);
	client_mode_close(a);
	hsdo_store_free(a->store);
	a->store = NULL;
	hsdo_aws_free(a->aws);
	a->aws = NULL;
	hsdo_config_free(a->cfg);
	a->cfg = NULL;
	hsdo_config_free(a->pending_cfg);
	a->pending_cfg = NULL;
}
