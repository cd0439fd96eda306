/* Server mode: source -> hsdo_server cycle -> store, on the libev loop.
 * See server_mode.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/eject.h"
#include "hsdo/clock.h"
#include "hsdo/err.h"
#include "hsdo/item.h"
#include "hsdo/liveness.h"
#include "hsdo/log.h"
#include "hsdo/server.h"
#include "hsdo/source.h"
#include "hsdo/store.h"
#include "hsdo/verdict.h"

#include "agent.h"
#include "agent_log.h"
#include "agent_metrics.h"
#include "fleet_health.h"
#include "server_mode.h"

/* A lifecycle hook completion, tracked per instance so it is sent once. */
struct lc_entry {
	char id[HSDO_NAME_LEN];
	char group[HSDO_GROUP_LEN];
	bool inflight, done;
	unsigned failures;
};

struct server_mode {
	struct agent *a;
	struct hsdo_source *source;
	struct hsdo_server *server;
	struct hsdo_server_settings set;
	struct hsdo_table dry;           /* --dry-run: the table as read */
	bool watch;                      /* consul: a list is a blocking query */
	struct hsdo_source_result snap;  /* last good list */
	bool snap_ok;                    /* the last list succeeded */
	/* A list that came while a cycle runs on snap (which the cycle
	 * borrows): it replaces snap when the cycle is over. */
	struct hsdo_source_result next;
	bool has_next;
	bool listing, cycling, stopping;
	int64_t list_ms, cycle_ms;       /* when the list / cycle in flight started */
	struct lc_entry *lc;
	size_t nlc, caplc;
	struct timespec t0;
	char last_source[768];           /* logged once per change */
	char last_outcome[768];          /* last store error */
	char last_standby[768];
	char last_overflow[768];
	size_t last_n, last_leaving;
	bool released;
};

static int64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- lifecycle hooks -------------------------------------------------------- */

static struct lc_entry *lc_find(struct server_mode *sm, const char *id)
{
	size_t i;

	for (i = 0; i < sm->nlc; i++)
		if (strcmp(sm->lc[i].id, id) == 0)
			return &sm->lc[i];
	return NULL;
}

struct lc_call {
	struct server_mode *sm;
	char id[HSDO_NAME_LEN];
};

static void on_lc_done(void *arg, int rc, const char *err)
{
	struct lc_call *call = arg;
	struct server_mode *sm = call->sm;
	struct lc_entry *e = lc_find(sm, call->id);

	if (e != NULL) {
		e->inflight = false;
		if (rc == 0 || rc == -HSDO_ENOTFOUND) {
			e->done = true;
			hsdo_log_info("lifecycle hook completed (CONTINUE) for %s of %s%s",
				      e->id, e->group, rc ? ": AWS had no action pending" : "");
		} else {
			e->failures++;
			hsdo_log_warn("lifecycle hook for %s of %s: %s%s%s (retrying next cycle)",
				      e->id, e->group, hsdo_strerror(rc), err && err[0] ? ": " : "",
				      err ? err : "");
		}
	}
	agent_metrics_lifecycle(sm->a, rc == 0 || rc == -HSDO_ENOTFOUND);
	hsdo_free(call);
}

/* Complete the hooks of instances that have drained; forget instances no
 * longer awaiting. */
static void lifecycle(struct server_mode *sm, const struct hsdo_table *t)
{
	const struct hsdo_source_result *r = &sm->snap;
	struct lc_entry *e;
	struct lc_call *call;
	size_t i, j;
	int64_t now = wall_us();

	/* Drop entries no longer awaiting (done, or AWS moved on). */
	for (i = 0, j = 0; i < sm->nlc; i++) {
		bool keep = sm->lc[i].inflight;
		size_t k;

		for (k = 0; !keep && k < r->nawaiting; k++)
			keep = strcmp(r->awaiting[k].id, sm->lc[i].id) == 0;
		if (keep)
			sm->lc[j++] = sm->lc[i];
	}
	sm->nlc = j;
	if (t == NULL)
		return;
	for (i = 0; i < r->nawaiting; i++) {
		if (!hsdo_server_lifecycle_due(t, r->awaiting[i].id, now,
					       sm->a->cfg->server_drain_time_ms * 1000))
			continue;
		e = lc_find(sm, r->awaiting[i].id);
		if (e != NULL && (e->inflight || e->done))
			continue;
		if (e == NULL) {
			if (sm->nlc == sm->caplc) {
				size_t cap = sm->caplc ? 2 * sm->caplc : 16;
				struct lc_entry *v = hsdo_realloc(sm->lc, cap * sizeof(*v));

				if (v == NULL)
					return;
				sm->lc = v;
				sm->caplc = cap;
			}
			e = &sm->lc[sm->nlc++];
			memset(e, 0, sizeof(*e));
			memcpy(e->id, r->awaiting[i].id, sizeof(e->id));
			memcpy(e->group, r->awaiting[i].group, sizeof(e->group));
		}
		call = hsdo_calloc(1, sizeof(*call));
		if (call == NULL)
			return;
		call->sm = sm;
		memcpy(call->id, e->id, sizeof(call->id));
		e->inflight = true;
		if (hsdo_source_complete_lifecycle(sm->source, e->group, e->id, on_lc_done,
						   call) != 0) {
			e->inflight = false;
					hsdo_free(call);
		}
	}
}

/* ---- the cycle ---------------------------------------------------------------- */

/* Log fmt at level (0 info, 1 warning, 2 error) unless the last message
 * had the same cause (agent_log_same_cause), else at debug level; `last`
 * then holds the message. */
static void log_once(char *last, size_t len, int level, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void log_once(char *last, size_t len, int level, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (last[0] != '\0' && agent_log_same_cause(last, msg)) {
		snprintf(last, len, "%s", msg);
		hsdo_log_debug("%s", msg);
		return;
	}
	snprintf(last, len, "%s", msg);
	if (level == 0)
		hsdo_log_info("%s", msg);
	else if (level == 1)
		hsdo_log_warn("%s", msg);
	else
		hsdo_log_err("%s", msg);
}

/* ", ejected N, returned M" when fleet health changed slots this cycle. */
static const char *eject_counts(const struct hsdo_server_report *rep, char *buf, size_t len)
{
	const struct hsdo_eject_result *e = rep->eject;

	buf[0] = '\0';
	if (e != NULL && (e->counts[HSDO_EJECT_EJECTED] > 0 || e->counts[HSDO_EJECT_READMITTED] > 0))
		snprintf(buf, len, ", ejected %zu, returned %zu", e->counts[HSDO_EJECT_EJECTED],
			 e->counts[HSDO_EJECT_READMITTED]);
	return buf;
}

/* The list that came during the cycle becomes the last good one. */
static void adopt_next(struct server_mode *sm)
{
	if (!sm->has_next)
		return;
	hsdo_source_result_free(&sm->snap);
	sm->snap = sm->next;
	memset(&sm->next, 0, sizeof(sm->next));
	sm->has_next = false;
}

static void on_cycle(void *arg, const struct hsdo_server_report *rep)
{
	struct server_mode *sm = arg;
	struct agent *a = sm->a;
	char counts[64];
	bool ok = true;
	size_t i;

	sm->cycling = false;
	adopt_next(sm);
	switch (rep->outcome) {
	case HSDO_SERVER_WROTE:
		hsdo_log_info("generation %llu: wrote %zu slot%s%s (added %zu, back %zu, draining "
			      "%zu, freed %zu, ramped %zu, updated %zu%s) from %zu instances",
			      (unsigned long long)rep->generation, rep->written,
			      rep->written == 1 ? "" : "s",
			      rep->fenced ? ", every slot under the new lease epoch" : "",
			      rep->added, rep->reactivated, rep->drain_started, rep->freed,
			      rep->ramped, rep->updated, eject_counts(rep, counts, sizeof(counts)),
			      rep->ninstances);
		break;
	case HSDO_SERVER_UNCHANGED:
		hsdo_log_debug("no change (generation %llu, %zu instances)",
			       (unsigned long long)rep->generation, rep->ninstances);
		break;
	case HSDO_SERVER_STANDBY:
		log_once(sm->last_standby, sizeof(sm->last_standby), 0,
			 "standby: the writer lease is held by %s (epoch %llu)",
			 rep->lease.holder, (unsigned long long)rep->lease.epoch);
		break;
	case HSDO_SERVER_HELD:
		hsdo_log_warn("safety valve: %s; held for %.1f of %.1f s (SERVER_VALVE_SECONDS), "
			      "nothing written", rep->held_reason, (double)rep->held_us / 1e6,
			      (double)a->cfg->server_valve_ms / 1000.0);
		break;
	case HSDO_SERVER_CONFLICT:
		hsdo_log_warn("store %s: another writer changed the table (%s); re-reading",
			      hsdo_store_name(a->store), rep->error);
		break;
	case HSDO_SERVER_ERROR:
	default:
		ok = false;
		log_once(sm->last_outcome, sizeof(sm->last_outcome), 2,
			 "store %s: %s; nothing written, retrying", hsdo_store_name(a->store),
			 rep->error);
		break;
	}
	if (rep->held_reason[0] != '\0' && rep->outcome == HSDO_SERVER_WROTE)
		hsdo_log_warn("safety valve: %s", rep->held_reason);
	if (rep->outcome != HSDO_SERVER_STANDBY && rep->outcome != HSDO_SERVER_ERROR)
		sm->last_standby[0] = '\0';
	if (rep->took_over)
		hsdo_log_info("took the writer lease (epoch %llu) as %s",
			      (unsigned long long)rep->lease.epoch, rep->lease.holder);
	if (rep->overflow > 0) {
		char ids[4 * 40] = "";
		size_t len = 0;

		for (i = 0; i < 4 && i < rep->overflow; i++)
			len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%.30s",
						i ? ", " : "", rep->overflow_ids[i]);
		log_once(sm->last_overflow, sizeof(sm->last_overflow), 1,
			 "overflow: %zu in-service instance%s without a free slot (%s%s); raise "
			 "HAPROXY_BACKEND_SERVERS_LIST_SIZE", rep->overflow,
			 rep->overflow == 1 ? "" : "s", ids, rep->overflow > 4 ? ", ..." : "");
	} else if (rep->planned && sm->last_overflow[0] != '\0') {
		hsdo_log_info("overflow over: every in-service instance has a slot");
		sm->last_overflow[0] = '\0';
	}
	if (ok && sm->last_outcome[0] != '\0') {
		hsdo_log_info("store %s answers again", hsdo_store_name(a->store));
		sm->last_outcome[0] = '\0';
	}
	if (rep->table != NULL && (rep->table_read || rep->outcome == HSDO_SERVER_WROTE))
		agent_log_table(rep->table);
	agent_metrics_server(a, rep);
	fleet_health_server_cycle(a, rep, sm->source);
	if (rep->table != NULL)
		agent_metrics_table(a, rep->table);
	if (ok)
		a->health[0] = '\0';
	else
		snprintf(a->health, sizeof(a->health), "%.590s", sm->last_outcome);
	if (rep->table != NULL && !sm->stopping)
		lifecycle(sm, rep->table);
	agent_cycle_done(a, ok, agent_elapsed(&sm->t0));
}

/* ---- --dry-run: one cycle planned and printed, nothing written --------------------
 *
 * The table is read (no lease taken, no slot created), planned from the
 * source's list as a real cycle would, checked against the safety valve,
 * and printed on stdout: a summary ("# " lines), the table as it would be
 * written ("slot " lines) and each change ("changed " lines). */

static void slot_text(const struct hsdo_slot *s, char *buf, size_t len)
{
	char t[HSDO_ITEM_TIME_LEN] = "", *sp;

	if (s->state == HSDO_SLOT_FREE) {
		snprintf(buf, len, "free");
		return;
	}
	if (hsdo_item_format_time(s->last_weight_update_us, t, sizeof(t)) == 0 &&
	    (sp = strchr(t, ' ')) != NULL)
		*sp = 'T';
	snprintf(buf, len, "%s weight=%u name=%s ip=%s port=%u group=%s az=%s since=%sZ",
		 hsdo_slot_state_str(s->state), s->weight, s->name, s->ip, s->port, s->group,
		 s->az, t);
}

static void dry_print(struct server_mode *sm, const struct hsdo_table *cur, size_t have,
		      const struct hsdo_plan_server_result *p)
{
	const struct hsdo_table *t = &p->table;
	char a[1024], b[1024], why[160];
	size_t i, rm, used;

	printf("# dry run, nothing written: source %s: %zu instances (%zu leaving); store %s: ",
	       hsdo_source_name(sm->source), sm->snap.n, sm->snap.nleaving,
	       hsdo_store_name(sm->a->store));
	if (have == 0)
		printf("no table yet, planned from %zu free slots\n", cur->n);
	else if (have < cur->n)
		printf("generation %llu, %zu slots, planned with the %zu free slots a real cycle "
		       "creates first\n", (unsigned long long)cur->generation, have, cur->n - have);
	else
		printf("generation %llu, %zu slots\n", (unsigned long long)cur->generation, have);
	printf("# %zu slot%s would change: added %zu, back %zu, draining %zu, freed %zu, "
	       "ramped %zu, updated %zu\n", p->nchanged, p->nchanged == 1 ? "" : "s", p->added,
	       p->reactivated, p->drain_started, p->freed, p->ramped, p->updated);
	if (p->overflow > 0)
		printf("# overflow: %zu in-service instance%s without a free slot (first: %s); "
		       "raise HAPROXY_BACKEND_SERVERS_LIST_SIZE\n", p->overflow,
		       p->overflow == 1 ? "" : "s", p->noverflow_ids ? p->overflow_ids[0] : "");
	if (hsdo_server_valve(cur, t, sm->snap.n, sm->set.max_remove_share, &rm, &used, why,
			      sizeof(why)) && sm->set.confirm_us > 0)
		printf("# safety valve: %s: a running server writes this plan only once its "
		       "cycles have seen it for %lld s (SERVER_VALVE_SECONDS)\n", why,
		       (long long)(sm->set.confirm_us / 1000000));
	for (i = 0; i < t->n; i++) {
		slot_text(&t->slots[i], a, sizeof(a));
		printf("slot %u %s\n", t->slots[i].id, a);
	}
	for (i = 0; i < p->nchanged; i++) {
		uint32_t id = p->changed[i];

		slot_text(&cur->slots[id - 1], a, sizeof(a));
		slot_text(&t->slots[id - 1], b, sizeof(b));
		printf("changed %u: %s -> %s\n", id, a, b);
	}
	fflush(stdout);
}

static void on_dry_table(void *arg, int rc, const char *err)
{
	struct server_mode *sm = arg;
	struct hsdo_plan_server_result plan;
	struct hsdo_table cur;
	size_t have = 0;

	sm->cycling = false;
	adopt_next(sm);
	if (rc == 0 || rc == -HSDO_ENOTFOUND) {
		/* What ensure_slots would create: the missing slots, free. */
		have = rc == 0 ? sm->dry.n : 0;
		if (have == 0)
			hsdo_table_free(&sm->dry);   /* a failed read's leftovers */
		rc = hsdo_table_copy_grow(&cur, &sm->dry, have > sm->set.slots ? have :
					  sm->set.slots);
		cur.generation = have > 0 ? sm->dry.generation : 0;
		err = "out of memory";
	}
	hsdo_table_free(&sm->dry);
	if (rc == 0) {
		rc = hsdo_plan_server(&cur, sm->snap.instances, sm->snap.n, wall_us(),
				      &sm->set.plan, &plan);
		err = "plan failed";
		if (rc == 0)
			dry_print(sm, &cur, have, &plan);
		hsdo_plan_server_result_free(&plan);
		hsdo_table_free(&cur);
	}
	if (rc != 0)
		hsdo_log_err("dry run: store %s: %s%s%s", hsdo_store_name(sm->a->store),
			     hsdo_strerror(rc), err && err[0] ? ": " : "", err ? err : "");
	agent_cycle_done(sm->a, rc == 0, agent_elapsed(&sm->t0));
}

static void start_dry_cycle(struct server_mode *sm)
{
	int rc;

	rc = hsdo_store_read_table_async(sm->a->store, &sm->dry, on_dry_table, sm);
	if (rc != 0) {
		sm->cycling = false;
		adopt_next(sm);
		hsdo_log_err("dry run: store %s: %s", hsdo_store_name(sm->a->store),
			     hsdo_strerror(rc));
		agent_cycle_done(sm->a, false, agent_elapsed(&sm->t0));
	}
}

static void start_cycle(struct server_mode *sm)
{
	int rc;

	if (sm->cycling || !sm->snap_ok)
		return;
	sm->cycling = true;
	sm->cycle_ms = hsdo_clock_mono_ms();
	clock_gettime(CLOCK_MONOTONIC, &sm->t0);
	if (sm->a->dry_run) {
		start_dry_cycle(sm);
		return;
	}
	rc = hsdo_server_cycle(sm->server, sm->snap.instances, sm->snap.n, wall_us(), on_cycle,
			       sm);
	if (rc != 0) {
		sm->cycling = false;
		adopt_next(sm);
		hsdo_log_err("server cycle: %s", hsdo_strerror(rc));
		agent_cycle_done(sm->a, false, 0);
	}
}

static void start_list(struct server_mode *sm);

static void on_list(void *arg, int rc, const struct hsdo_source_result *res, const char *err)
{
	struct server_mode *sm = arg;
	struct agent *a = sm->a;
	size_t i;

	sm->listing = false;
	if (sm->stopping)
		return;
	agent_metrics_source(a, hsdo_source_name(sm->source), rc == 0 ? res : NULL);
	if (rc != 0) {
		sm->snap_ok = false;
		log_once(sm->last_source, sizeof(sm->last_source), 2,
			 "source %s: %s%s%s; nothing written, the slot table stays as it is",
			 hsdo_source_name(sm->source), hsdo_strerror(rc), err && err[0] ? ": " : "",
			 err ? err : "");
		snprintf(a->health, sizeof(a->health), "%.590s", sm->last_source);
		if (!sm->watch || a->once)
			agent_cycle_done(a, false, agent_elapsed(&sm->t0));
		/* watch mode: the next tick starts the list again (the source
		 * paces its requests). */
		return;
	}
	if (sm->last_source[0] != '\0')
		hsdo_log_info("source %s answers again", hsdo_source_name(sm->source));
	sm->last_source[0] = '\0';
	if (!res->unchanged || !sm->snap_ok) {
		/* a cycle in flight borrows snap's instances: keep it whole */
		struct hsdo_source_result *dst = sm->cycling ? &sm->next : &sm->snap;

		hsdo_source_result_free(dst);
		sm->has_next = false;
		if (hsdo_source_result_copy(dst, res) != 0) {
			sm->snap_ok = false;
			hsdo_log_err("source %s: out of memory", hsdo_source_name(sm->source));
			agent_cycle_done(a, false, agent_elapsed(&sm->t0));
			return;
		}
		sm->has_next = sm->cycling;
		if (res->n != sm->last_n || res->nleaving != sm->last_leaving) {
			for (i = 0; i < res->ngroups; i++)
				hsdo_log_info("source %s: %s: %zu seen, %zu in service, %zu leaving, "
					      "%zu not ready", hsdo_source_name(sm->source),
					      res->groups[i].name, res->groups[i].seen,
					      res->groups[i].ready, res->groups[i].leaving,
					      res->groups[i].skipped);
			sm->last_n = res->n;
			sm->last_leaving = res->nleaving;
		}
		if (res->warning[0] != '\0')
			hsdo_log_warn("source %s: %s", hsdo_source_name(sm->source), res->warning);
	}
	sm->snap_ok = true;
	if (sm->watch && !a->once) {
		start_list(sm);      /* the next blocking query */
		/* A change: apply it now rather than at the next tick. */
		if (!res->unchanged && !sm->cycling && !a->cycle_running) {
			a->cycle_running = true;
			start_cycle(sm);
		}
		return;
	}
	start_cycle(sm);
}

static void start_list(struct server_mode *sm)
{
	int rc;

	if (sm->listing || sm->stopping)
		return;
	sm->listing = true;
	sm->list_ms = hsdo_clock_mono_ms();
	if (!sm->watch)
		clock_gettime(CLOCK_MONOTONIC, &sm->t0);
	rc = hsdo_source_list(sm->source, on_list, sm);
	if (rc != 0) {
		sm->listing = false;
		hsdo_log_err("source %s: cannot start a list: %s", hsdo_source_name(sm->source),
			     hsdo_strerror(rc));
		agent_cycle_done(sm->a, false, 0);
	}
}

bool server_mode_tick(struct agent *a)
{
	struct server_mode *sm = a->server_mode;

	if (sm == NULL || sm->stopping)
		return false;
	if (!sm->watch || a->once) {
		/* One list, then one cycle on it (on_list). */
		if (sm->listing || sm->cycling)
			return false;
		start_list(sm);
		return true;
	}
	/* consul: the list runs continuously (blocking queries); the ramp and
	 * drain clocks still advance every INTERVAL from the last good list. */
	start_list(sm);
	if (!sm->snap_ok || sm->cycling)
		return false;
	start_cycle(sm);
	return true;
}

void server_mode_liveness(const struct agent *a, struct hsdo_liveness *l)
{
	const struct server_mode *sm = a->server_mode;

	if (sm == NULL)
		return;
	/* A Consul list is a blocking query: long by design, not a stall. */
	if (sm->listing && !sm->watch) {
		l->since_ms[HSDO_LIVENESS_SOURCE] = sm->list_ms;
		snprintf(l->what[HSDO_LIVENESS_SOURCE], sizeof(l->what[0]), "source %s list",
			 hsdo_source_name(sm->source));
	}
	if (sm->cycling) {
		l->since_ms[HSDO_LIVENESS_STORE] = sm->cycle_ms;
		snprintf(l->what[HSDO_LIVENESS_STORE], sizeof(l->what[0]),
			 "server cycle (store %s)", hsdo_store_name(a->store));
	}
}

int server_mode_open(struct agent *a, struct server_mode **out)
{
	const struct hsdo_config *c = a->cfg;
	struct hsdo_server_settings st;
	struct server_mode *sm;
	char err[512] = "", host[64] = "";
	extern char **environ;
	int rc;

	sm = hsdo_calloc(1, sizeof(*sm));
	if (sm == NULL)
		return -HSDO_ENOMEM;
	sm->a = a;
	rc = hsdo_source_open_config(c, environ, a->http, a->aws, &sm->source, err, sizeof(err));
	if (rc != 0) {
		hsdo_log_err("SERVER_MODE=%s: %s%s%s", hsdo_config_server_mode_str(c->server_mode),
			     hsdo_strerror(rc), err[0] ? ": " : "", err);
		hsdo_free(sm);
		return rc;
	}
	sm->watch = strcmp(hsdo_source_name(sm->source), "consul") == 0;

	memset(&st, 0, sizeof(st));
	st.plan.min_weight = (uint32_t)c->server_haproxy_backend_server_min_weight;
	st.plan.max_weight = (uint32_t)c->server_haproxy_backend_server_max_weight;
	st.plan.increase_weight = (uint32_t)c->server_haproxy_backend_server_increase_weight;
	st.plan.increase_interval_us = c->server_haproxy_backend_server_increase_weight_interval_ms * 1000;
	st.plan.drain_time_us = c->server_drain_time_ms * 1000;
	st.slots = (size_t)c->haproxy_backend_servers_list_size;
	if (c->server_id[0] != '\0') {
		snprintf(st.holder, sizeof(st.holder), "%s", c->server_id);
	} else {
		(void)gethostname(host, sizeof(host) - 1);
		snprintf(st.holder, sizeof(st.holder), "%s:%ld", host[0] ? host : "host",
			 (long)getpid());
	}
	st.lease_ttl_ms = c->server_lease_ttl_ms;
	st.max_remove_share = (double)c->server_valve_remove_percent / 100.0;
	st.confirm_us = c->server_valve_ms * 1000;
	st.eject.enabled = c->health_eject;
	st.eject.quorum_ppm = (uint32_t)(c->health_quorum * 1e6 + 0.5);
	st.eject.eject_time_ms = c->health_eject_time_ms;
	st.eject.max_ejected_percent = (unsigned)c->health_max_ejected_percent;
	st.eject.asg_after_ms = c->health_asg_set_unhealthy ? c->health_asg_after_ms : -1;
	st.eject.error_ratio_ppm = hsdo_verdict_ratio_ppm(c->health_error_ratio);
	sm->set = st;
	rc = hsdo_server_new(&st, a->store, &sm->server, err, sizeof(err));
	if (rc != 0) {
		hsdo_log_err("server settings: %s", err);
		hsdo_source_free(sm->source);
		hsdo_free(sm);
		return rc;
	}
	/* Fleet health: the reports each cycle reads (docs/health.md). */
	hsdo_server_set_reports(sm->server, fleet_health_reports(a));
	hsdo_log_info("server: source %s, %zu slots, store %s, %s%s", hsdo_source_name(sm->source),
		      st.slots, hsdo_store_name(a->store),
		      a->dry_run ? "dry run: no lease, nothing written" :
		      st.lease_ttl_ms > 0 ? "writer lease as " : "no writer lease",
		      st.lease_ttl_ms > 0 && !a->dry_run ? st.holder : "");
	*out = sm;
	return 0;
}

static void on_released(void *arg, int rc, const char *err)
{
	struct server_mode *sm = arg;

	sm->released = true;
	if (rc == 0)
		hsdo_log_info("writer lease released");
	else
		hsdo_log_warn("writer lease not released: %s%s%s", hsdo_strerror(rc),
			      err && err[0] ? ": " : "", err ? err : "");
}

void server_mode_release(struct agent *a)
{
	struct server_mode *sm = a->server_mode;
	int i;

	if (sm == NULL)
		return;
	sm->stopping = true;
	/* Let a running cycle finish (bounded), then hand the lease over. */
	for (i = 0; i < 300 && sm->cycling; i++)
		ev_run(a->loop, EVRUN_ONCE);
	if (sm->cycling)
		return;
	sm->released = false;
	if (hsdo_server_release(sm->server, wall_us(), on_released, sm) != 0)
		return;
	for (i = 0; i < 300 && !sm->released; i++)
		ev_run(a->loop, EVRUN_ONCE);
}

void server_mode_close(struct server_mode *sm)
{
	if (sm == NULL)
		return;
	sm->stopping = true;
	hsdo_source_free(sm->source);   /* cancels a list in flight */
	hsdo_server_free(sm->server);
	hsdo_source_result_free(&sm->snap);
	hsdo_source_result_free(&sm->next);
	hsdo_table_free(&sm->dry);
	hsdo_free(sm->lc);
	hsdo_free(sm);
}
