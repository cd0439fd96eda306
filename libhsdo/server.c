/* Server mode's cycle as a small state machine over the store's
 * asynchronous operations: lease -> generation -> (table) -> plan + valve
 * -> write. See include/hsdo/server.h for the contract. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/server.h"

struct hsdo_server {
	struct hsdo_server_settings set;
	struct hsdo_store *store;
	struct hsdo_table cache;        /* the table as last read or written */
	bool have_cache;
	struct hsdo_lease lease;        /* ours, or the holder's when standby */
	bool have_lease;                /* we hold it (as of the last call) */
	bool fence_pending;             /* taken over: rewrite every slot */
	unsigned held;                  /* consecutive held cycles */
	int64_t held_since_us;          /* now_us of the first of them */
	bool ensured;                   /* ensure_slots tried this cycle */
	struct hsdo_reports *reports;   /* borrowed; NULL: no fleet health votes */
	uint64_t *min_gen;              /* per slot: see server.h */
	struct hsdo_report_set rset;    /* the reports of the cycle */
	struct hsdo_eject_result eject; /* the step's decisions, kept for the report */

	/* The cycle in flight. */
	bool busy;
	const struct hsdo_instance *inst;   /* borrowed for the cycle */
	size_t ninst;
	int64_t now_us;
	uint64_t gen;
	struct hsdo_table fresh;
	struct hsdo_plan_server_result plan;
	const struct hsdo_table *wtable; /* table being written */
	uint32_t *all_ids;
	struct hsdo_server_report rep;
	hsdo_server_done_fn done;
	void *arg;
};

const char *hsdo_server_outcome_str(enum hsdo_server_outcome o)
{
	static const char *const names[HSDO_SERVER_OUTCOME_COUNT] = {
		"wrote", "unchanged", "standby", "held", "conflict", "error",
	};

	return (unsigned)o < HSDO_SERVER_OUTCOME_COUNT ? names[o] : "?";
}

bool hsdo_server_valve(const struct hsdo_table *cur, const struct hsdo_table *next,
		       size_t ninst, double max_remove_share, size_t *would_remove,
		       size_t *used, char *why, size_t whylen)
{
	size_t i, act = 0, rm = 0;

	for (i = 0; i < cur->n; i++) {
		if (cur->slots[i].state != HSDO_SLOT_ACTIVE)
			continue;
		act++;
		if (i < next->n && next->slots[i].state != HSDO_SLOT_ACTIVE)
			rm++;
	}
	*would_remove = rm;
	*used = act;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (act > 0 && ninst == 0) {
		if (why != NULL)
			snprintf(why, whylen, "the source reports no instance while %zu slots are "
				 "in service", act);
		return true;
	}
	if (act > 0 && rm > 0 && (double)rm > max_remove_share * (double)act) {
		if (why != NULL)
			snprintf(why, whylen, "the plan takes %zu of %zu in-service slots out "
				 "(more than %.0f%%)", rm, act, max_remove_share * 100.0);
		return true;
	}
	return false;
}

bool hsdo_server_lifecycle_due(const struct hsdo_table *t, const char *instance_id,
			       int64_t now_us, int64_t drain_time_us)
{
	const struct hsdo_slot *s;
	size_t i;

	for (i = 0; i < t->n; i++) {
		s = &t->slots[i];
		if (s->state == HSDO_SLOT_FREE || strcmp(s->name, instance_id) != 0)
			continue;
		if (s->state != HSDO_SLOT_DRAINING)
			return false;
		return now_us - s->last_weight_update_us >= drain_time_us;
	}
	return true;
}

int hsdo_server_new(const struct hsdo_server_settings *st, struct hsdo_store *store,
		    struct hsdo_server **out, char *err, size_t errlen)
{
	struct hsdo_server *s;
	size_t i;

	if (st == NULL || store == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no settings or store");
	if (hsdo_plan_server_settings_check(&st->plan) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "bad planner settings");
	if (st->slots < 1 || st->slots > HSDO_SLOTS_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "slots: %zu not in 1..%d",
				   st->slots, HSDO_SLOTS_MAX);
	if (!(st->max_remove_share >= 0.0 && st->max_remove_share <= 1.0))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "max_remove_share not in 0..1");
	if (st->lease_ttl_ms < 0 || (st->lease_ttl_ms > 0 && st->holder[0] == '\0') ||
	    memchr(st->holder, '\0', sizeof(st->holder)) == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "lease: bad TTL or holder");
	s = hsdo_calloc(1, sizeof(*s));
	if (s == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	s->all_ids = hsdo_calloc(st->slots, sizeof(*s->all_ids));
	s->min_gen = hsdo_calloc(st->slots, sizeof(*s->min_gen));
	if (s->all_ids == NULL || s->min_gen == NULL) {
		hsdo_free(s->all_ids);
		hsdo_free(s->min_gen);
		hsdo_free(s);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	for (i = 0; i < st->slots; i++)
		s->all_ids[i] = (uint32_t)(i + 1);
	s->set = *st;
	s->set.eject.min_weight = st->plan.min_weight;
	s->set.eject.max_weight = st->plan.max_weight;
	if (s->set.eject.eject_time_ms == 0)
		s->set.eject.eject_time_ms = 30000;
	if (s->set.eject.max_ejected_percent == 0)
		s->set.eject.max_ejected_percent = 20;
	if (hsdo_eject_settings_check(&s->set.eject) != 0) {
		hsdo_server_free(s);
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "bad fleet health settings");
	}
	s->store = store;
	*out = s;
	return 0;
}

static void cycle_reset(struct hsdo_server *s)
{
	s->inst = NULL;
	s->ninst = 0;
	hsdo_table_free(&s->fresh);
	hsdo_plan_server_result_free(&s->plan);
	s->wtable = NULL;
}

void hsdo_server_free(struct hsdo_server *s)
{
	if (s == NULL)
		return;
	cycle_reset(s);
	hsdo_table_free(&s->cache);
	hsdo_free(s->all_ids);
	hsdo_free(s->min_gen);
	hsdo_report_set_free(&s->rset);
	hsdo_eject_result_free(&s->eject);
	hsdo_free(s);
}

void hsdo_server_set_reports(struct hsdo_server *s, struct hsdo_reports *reports)
{
	s->reports = reports;
}

bool hsdo_server_busy(const struct hsdo_server *s)
{
	return s->busy;
}

static uint64_t epoch_of(const struct hsdo_server *s)
{
	return s->set.lease_ttl_ms > 0 ? s->lease.epoch : 0;
}

static void finish(struct hsdo_server *s, enum hsdo_server_outcome o, int rc, const char *err)
{
	hsdo_server_done_fn done = s->done;
	void *arg = s->arg;

	s->rep.outcome = o;
	s->rep.rc = rc;
	if (err != NULL && err[0] != '\0')
		snprintf(s->rep.error, sizeof(s->rep.error), "%s", err);
	else if (rc != 0)
		snprintf(s->rep.error, sizeof(s->rep.error), "%s", hsdo_strerror(rc));
	s->rep.generation = s->have_cache ? s->cache.generation : 0;
	s->rep.table = s->have_cache ? &s->cache : NULL;
	s->rep.lease = s->lease;
	cycle_reset(s);
	s->busy = false;
	done(arg, &s->rep);
}

/* A store failure: the cached table may no longer match the store (a
 * DynamoDB write can fail half way), so read it again next cycle. */
static void fail(struct hsdo_server *s, int rc, const char *err)
{
	s->have_cache = false;
	finish(s, rc == -HSDO_ECONFLICT ? HSDO_SERVER_CONFLICT : HSDO_SERVER_ERROR, rc, err);
}

static void step_gen(struct hsdo_server *s);

/* A slot whose instance or state a write changes votes anew: reports that
 * hold an older generation than gen no longer count for it. */
static void note_changes(struct hsdo_server *s, const struct hsdo_table *old,
			 const struct hsdo_table *next, uint64_t gen)
{
	size_t i;

	for (i = 0; i < next->n && i < s->set.slots; i++)
		if (i >= old->n || old->slots[i].state != next->slots[i].state ||
		    strcmp(old->slots[i].name, next->slots[i].name) != 0)
			s->min_gen[i] = gen;
}

static void on_write(void *arg, int rc, const char *err)
{
	struct hsdo_server *s = arg;

	if (rc != 0) {
		fail(s, rc, err);
		return;
	}
	if (s->wtable != &s->cache) {
		note_changes(s, &s->cache, &s->plan.table, s->cache.generation + 1);
		hsdo_table_free(&s->cache);
		s->cache = s->plan.table;
		memset(&s->plan.table, 0, sizeof(s->plan.table));
	}
	s->cache.generation++;
	s->have_cache = true;
	s->fence_pending = false;
	finish(s, HSDO_SERVER_WROTE, 0, NULL);
}

static void copy_plan_counts(struct hsdo_server_report *r, const struct hsdo_plan_server_result *p)
{
	size_t i;

	r->planned = true;
	r->added = p->added;
	r->reactivated = p->reactivated;
	r->drain_started = p->drain_started;
	r->freed = p->freed;
	r->ramped = p->ramped;
	r->updated = p->updated;
	r->overflow = p->overflow;
	r->duplicates = p->duplicates;
	r->invalid = p->invalid;
	for (i = 0; i < p->noverflow_ids && i < 4; i++)
		memcpy(r->overflow_ids[i], p->overflow_ids[i], HSDO_NAME_LEN);
}

/* Fleet health on the planned table; the changed list then covers both. */
static int health_step(struct hsdo_server *s)
{
	uint32_t *ids = NULL;
	size_t n = 0;
	int rc;

	hsdo_eject_result_free(&s->eject);
	rc = hsdo_eject_plan(&s->plan.table, s->rset.v, s->rset.n,
			     s->plan.table.n <= s->set.slots ? s->min_gen : NULL,
			     s->now_us / 1000, &s->set.eject, &s->eject);
	if (rc != 0)
		return rc;
	s->rep.eject = &s->eject;
	if (s->eject.nevents == 0)
		return 0;
	if ((rc = hsdo_table_diff(&s->cache, &s->plan.table, &ids, &n)) != 0)
		return rc;
	hsdo_free(s->plan.changed);
	s->plan.changed = ids;
	s->plan.nchanged = n;
	return 0;
}

static void step_plan(struct hsdo_server *s)
{
	char why[160];
	const uint32_t *ids;
	size_t nids;
	bool hold;
	int rc;

	rc = hsdo_plan_server(&s->cache, s->inst, s->ninst, s->now_us, &s->set.plan, &s->plan);
	if (rc != 0) {
		finish(s, HSDO_SERVER_ERROR, rc, "plan failed");
		return;
	}
	copy_plan_counts(&s->rep, &s->plan);
	if ((rc = health_step(s)) != 0) {
		finish(s, HSDO_SERVER_ERROR, rc, "fleet health step failed");
		return;
	}
	hold = hsdo_server_valve(&s->cache, &s->plan.table, s->ninst, s->set.max_remove_share,
				 &s->rep.would_remove, &s->rep.used, why, sizeof(why));
	if (hold && s->set.confirm_us > 0) {
		if (s->held++ == 0)
			s->held_since_us = s->now_us;
		s->rep.held_cycles = s->held;
		s->rep.held_us = s->now_us - s->held_since_us;
		if (s->rep.held_us < s->set.confirm_us) {
			snprintf(s->rep.held_reason, sizeof(s->rep.held_reason), "%s", why);
			if (!s->fence_pending) {
				finish(s, HSDO_SERVER_HELD, 0, NULL);
				return;
			}
			/* Taken over while held: fence with the table as it is. */
			s->wtable = &s->cache;
			ids = s->all_ids;
			nids = s->cache.n < s->set.slots ? s->cache.n : s->set.slots;
			goto write;
		}
		snprintf(s->rep.held_reason, sizeof(s->rep.held_reason),
			 "applied after %.1f s (%u cycles): %s", (double)s->rep.held_us / 1e6,
			 s->held, why);
	}
	s->held = 0;
	s->wtable = &s->plan.table;
	if (s->fence_pending) {
		ids = s->all_ids;
		nids = s->plan.table.n < s->set.slots ? s->plan.table.n : s->set.slots;
	} else {
		ids = s->plan.changed;
		nids = s->plan.nchanged;
	}
	if (nids == 0) {
		finish(s, HSDO_SERVER_UNCHANGED, 0, NULL);
		return;
	}
write:
	s->rep.written = nids;
	s->rep.fenced = s->fence_pending;
	s->rep.store_calls++;
	rc = hsdo_store_write_slots_async(s->store, s->wtable, ids, nids, s->cache.generation,
					  epoch_of(s), on_write, s);
	if (rc != 0)
		fail(s, rc, "could not start the write");
}

static void on_ensure(void *arg, int rc, const char *err)
{
	struct hsdo_server *s = arg;

	if (rc != 0) {
		fail(s, rc, err);
		return;
	}
	step_gen(s);
}

static void on_table(void *arg, int rc, const char *err)
{
	struct hsdo_server *s = arg;
	char why[200];

	if (rc == -HSDO_ENOTFOUND || (rc == 0 && s->fresh.n < s->set.slots)) {
		hsdo_table_free(&s->fresh);
		if (s->ensured) {
			snprintf(why, sizeof(why), "the table still has fewer than %zu slots "
				 "after creating them", s->set.slots);
			fail(s, -HSDO_EPROTO, why);
			return;
		}
		s->ensured = true;
		s->rep.store_calls++;
		rc = hsdo_store_ensure_slots_async(s->store, s->set.slots, on_ensure, s);
		if (rc != 0)
			fail(s, rc, "could not start creating the slots");
		return;
	}
	if (rc != 0) {
		fail(s, rc, err);
		return;
	}
	hsdo_table_free(&s->cache);
	s->cache = s->fresh;
	memset(&s->fresh, 0, sizeof(s->fresh));
	s->have_cache = true;
	s->rep.table_read = true;
	step_plan(s);
}

static void on_gen(void *arg, int rc, const char *err)
{
	struct hsdo_server *s = arg;

	if (rc != 0) {
		fail(s, rc, err);
		return;
	}
	/* Generation 0: an unversioned table (the original server writes it,
	 * announcing nothing): read it whole every cycle. */
	if (s->have_cache && s->gen != 0 && s->gen == s->cache.generation &&
	    s->cache.n >= s->set.slots) {
		step_plan(s);
		return;
	}
	s->rep.store_calls++;
	rc = hsdo_store_read_table_async(s->store, &s->fresh, on_table, s);
	if (rc != 0)
		fail(s, rc, "could not start the table read");
}

static void step_gen(struct hsdo_server *s)
{
	int rc;

	s->rep.store_calls++;
	rc = hsdo_store_read_generation_async(s->store, &s->gen, on_gen, s);
	if (rc != 0)
		fail(s, rc, "could not start the generation read");
}

static void on_reports(void *arg, int rc, const char *err)
{
	struct hsdo_server *s = arg;

	s->rep.reports_read = rc == 0;
	s->rep.reports_rc = rc;
	if (rc != 0) {
		/* Not fatal: no vote this cycle, the table still follows the source. */
		snprintf(s->rep.reports_error, sizeof(s->rep.reports_error), "%s",
			 err != NULL && err[0] ? err : hsdo_strerror(rc));
		hsdo_report_set_free(&s->rset);
	}
	s->rep.reports = s->rset.n;
	s->rep.reports_bad = s->rset.bad;
	snprintf(s->rep.reports_first_bad, sizeof(s->rep.reports_first_bad), "%s",
		 s->rset.first_bad);
	step_gen(s);
}

/* The reports, when there are any to read; then the generation. */
static void step_reports(struct hsdo_server *s)
{
	int rc;

	hsdo_report_set_free(&s->rset);
	if (s->reports == NULL || !s->set.eject.enabled) {
		step_gen(s);
		return;
	}
	s->rep.store_calls++;
	rc = hsdo_reports_read_all(s->reports, s->now_us / 1000, &s->rset, on_reports, s);
	if (rc != 0)
		on_reports(s, rc, "could not start the report read");
}

static void on_lease(void *arg, int rc, const char *err)
{
	struct hsdo_server *s = arg;

	if (rc == -HSDO_ECONFLICT) {
		s->have_lease = false;
		s->have_cache = false;
		s->held = 0;
		finish(s, HSDO_SERVER_STANDBY, 0, NULL);
		return;
	}
	if (rc != 0) {
		/* Unknown whether we still hold it: behave as if not. */
		s->have_lease = false;
		fail(s, rc, err);
		return;
	}
	s->have_lease = true;
	if (s->lease.taken_over) {
		s->rep.took_over = true;
		s->have_cache = false;
		s->fence_pending = true;
		s->held = 0;
	}
	step_reports(s);
}

int hsdo_server_cycle(struct hsdo_server *s, const struct hsdo_instance *inst, size_t ninst,
		      int64_t now_us, hsdo_server_done_fn done, void *arg)
{
	int64_t now_ms = now_us / 1000, ttl = s->set.lease_ttl_ms;
	int rc;

	if (s->busy)
		return -HSDO_EAGAIN;
	if (ninst > 0 && inst == NULL)
		return -HSDO_EINVAL;
	memset(&s->rep, 0, sizeof(s->rep));
	s->inst = inst;
	s->ninst = ninst;
	s->now_us = now_us;
	s->done = done;
	s->arg = arg;
	s->busy = true;
	s->ensured = false;
	s->rep.ninstances = ninst;
	if (ttl <= 0) {
		step_reports(s);
		return 0;
	}
	/* Standby while another's lease has time left: no store call. */
	if (!s->have_lease && s->lease.holder[0] != '\0' &&
	    strcmp(s->lease.holder, s->set.holder) != 0 && s->lease.expires_ms > now_ms) {
		finish(s, HSDO_SERVER_STANDBY, 0, NULL);
		return 0;
	}
	/* Renew when half the TTL is gone: a lease costs one small write per
	 * TTL/2, not one per cycle. */
	if (s->have_lease && s->lease.expires_ms - now_ms > ttl / 2) {
		step_reports(s);
		return 0;
	}
	s->rep.store_calls++;
	rc = hsdo_store_lease_async(s->store, s->set.holder, now_ms, ttl, &s->lease, on_lease, s);
	if (rc != 0) {
		cycle_reset(s);
		s->busy = false;
		return rc;
	}
	return 0;
}

int hsdo_server_release(struct hsdo_server *s, int64_t now_us, hsdo_store_done_fn done,
			void *arg)
{
	int64_t ttl = s->set.lease_ttl_ms;

	if (ttl <= 0 || !s->have_lease || s->busy)
		return -HSDO_ENOTFOUND;
	s->have_lease = false;
	/* Renew so that it expires 1 ms from now. */
	return hsdo_store_lease_async(s->store, s->set.holder, now_us / 1000 - ttl + 1, ttl,
				      &s->lease, done, arg);
}
