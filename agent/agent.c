/* The agent's cycle. Until the client (issue #4) and server (issue #5)
 * cycles land, both modes open the configured store and watch the slot
 * table: read the generation each INTERVAL, re-read the table only when it
 * changed, keep the last good table on any error, and log once per change
 * of state. Server mode also creates the missing slots 1..N at start. */
#include <stdio.h>
#include <string.h>

#include "hsdo/config.h"
#include "hsdo/err.h"
#include "hsdo/log.h"
#include "hsdo/store.h"
#include "hsdo/store_file.h"

#include "agent.h"
#include "log.h"

/* Log a store failure once per distinct message; `ctx` names the step. */
static void store_failed(struct agent *a, const char *ctx, int rc, const char *err)
{
	char msg[sizeof(a->last_error)];

	snprintf(msg, sizeof(msg), "%s: %s%s%s", ctx, hsdo_strerror(rc),
		 err[0] ? ": " : "", err);
	if (strcmp(msg, a->last_error) != 0) {
		hsdo_log_err("store %s %s; keeping the last good slot table%s",
			     hsdo_store_name(a->store), msg,
			     a->have_table ? "" : " (none yet)");
		memcpy(a->last_error, msg, sizeof(msg));
	}
}

static void store_recovered(struct agent *a)
{
	if (a->last_error[0] != '\0') {
		hsdo_log_info("store %s readable again", hsdo_store_name(a->store));
		a->last_error[0] = '\0';
	}
}

static void log_table(const struct hsdo_table *t)
{
	size_t i, count[HSDO_SLOT_STATE_COUNT] = { 0 };

	for (i = 0; i < t->n; i++)
		count[t->slots[i].state]++;
	hsdo_log_info("slot table generation %llu: %zu slots, %zu active, %zu draining, %zu free",
		      (unsigned long long)t->generation, t->n, count[HSDO_SLOT_ACTIVE],
		      count[HSDO_SLOT_DRAINING], count[HSDO_SLOT_FREE]);
	for (i = 0; i < t->n; i++) {
		const struct hsdo_slot *s = &t->slots[i];

		if (s->state != HSDO_SLOT_FREE)
			hsdo_log_debug("slot %u: %s %s %s group=%s weight=%u",
				       s->id, hsdo_slot_state_str(s->state), s->name, s->ip,
				       s->group, s->weight);
	}
}

/* One cycle: 0 when the store answered with a usable table. */
static int cycle_once(struct agent *a)
{
	struct hsdo_table t;
	uint64_t gen = 0;
	char err[256] = "";
	int rc;

	rc = hsdo_store_read_generation(a->store, &gen, err, sizeof(err));
	if (rc != 0) {
		store_failed(a, "read generation", rc, err);
		return rc;
	}
	if (a->have_table && gen == a->table.generation) {
		store_recovered(a);
		hsdo_log_debug("slot table unchanged (generation %llu)", (unsigned long long)gen);
		return 0;
	}
	rc = hsdo_store_read_table(a->store, &t, err, sizeof(err));
	if (rc != 0) {
		store_failed(a, "read table", rc, err);
		return rc;
	}
	if (t.n == 0) {
		/* An empty read is a failure, never "free every slot". */
		hsdo_table_free(&t);
		store_failed(a, "read table", -HSDO_EPROTO, "the table has no slots");
		return -HSDO_EPROTO;
	}
	store_recovered(a);
	hsdo_table_free(&a->table);
	a->table = t;
	a->have_table = true;
	log_table(&a->table);
	return 0;
}

static void on_cycle(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;

	(void)loop;
	(void)revents;
	(void)cycle_once(a);
}

static int open_store(const struct hsdo_config *cfg, struct hsdo_store **out)
{
	char err[256] = "";
	int rc;

	if (cfg->store != HSDO_CONFIG_STORE_FILE) {
		hsdo_log_err("STORE=dynamodb is not available in this build yet (the AWS layer "
			     "is issue #3); use STORE=file");
		return -HSDO_EINVAL;
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
	bool store_changed;

	store_changed = a->cfg == NULL || a->cfg->store != cfg->store ||
			strcmp(a->cfg->store_file_path, cfg->store_file_path) != 0;
	if (store_changed && open_store(cfg, &store) != 0)
		return -HSDO_EINVAL;

	agent_log_setup(cfg->log_target == HSDO_CONFIG_LOG_SYSLOG, a->debug_flag || cfg->debug);
	if (store_changed) {
		hsdo_store_free(a->store);
		a->store = store;
		hsdo_table_free(&a->table);
		a->have_table = false;
		a->last_error[0] = '\0';
	}
	hsdo_config_free(a->cfg);
	a->cfg = cfg;
	if (ev_is_active(&a->cycle)) {
		a->cycle.repeat = (ev_tstamp)cfg->interval_ms / 1000.0;
		ev_timer_again(a->loop, &a->cycle);
	}
	return 0;
}

int agent_start(struct agent *a)
{
	char err[256] = "";
	int rc;

	if (a->role == HSDO_ROLE_SERVER && !a->dry_run) {
		rc = hsdo_store_ensure_slots(a->store, a->cfg->haproxy_backend_servers_list_size, err, sizeof(err));
		if (rc != 0) {
			hsdo_log_err("store %s: cannot create slots 1..%zu: %s%s%s",
				     hsdo_store_name(a->store), (size_t)a->cfg->haproxy_backend_servers_list_size,
				     hsdo_strerror(rc), err[0] ? ": " : "", err);
			return rc;
		}
	}
	rc = cycle_once(a);
	if (a->once) {
		a->exit_code = rc == 0 ? 0 : 1;
		return rc;
	}
	ev_init(&a->cycle, on_cycle);
	a->cycle.data = a;
	a->cycle.repeat = (ev_tstamp)a->cfg->interval_ms / 1000.0;
	ev_timer_again(a->loop, &a->cycle);
	return 0;
}

void agent_stop(struct agent *a)
{
	if (a->loop != NULL && ev_is_active(&a->cycle))
		ev_timer_stop(a->loop, &a->cycle);
	hsdo_store_free(a->store);
	a->store = NULL;
	hsdo_table_free(&a->table);
	a->have_table = false;
	hsdo_config_free(a->cfg);
	a->cfg = NULL;
}
