/* Server planner: slot identity, placement, ramp, drain, overflow, input
 * problems, determinism and allocation failures. Every plan goes through
 * plan(), which also checks the changed list against a full diff. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/plan_server.h"
#include "hsdo/slot.h"
#include "hsdo_test.h"

#define SEC 1000000LL
#define T0 (1700000000LL * SEC)

/* min 10, max 100, +10 per second, 30 s drain. */
static const struct hsdo_plan_server_settings base_st = {
	.min_weight = 10, .max_weight = 100, .increase_weight = 10,
	.increase_interval_us = SEC, .drain_time_us = 30 * SEC,
};

static void setf(char *dst, size_t len, const char *src)
{
	ck_assert_int_eq(hsdo_strlcpy_field(dst, len, src), 0);
}

/* A slot's string field, interned in its table. */
static void sets(struct hsdo_table *t, const char **field, size_t max, const char *src)
{
	ck_assert_int_eq(hsdo_table_set(t, field, max, src), 0);
}

static struct hsdo_instance mkinst(const char *id, const char *ip, bool leaving)
{
	struct hsdo_instance in;

	memset(&in, 0, sizeof(in));
	setf(in.id, sizeof(in.id), id);
	setf(in.ip, sizeof(in.ip), ip);
	setf(in.group, sizeof(in.group), "asg-a");
	setf(in.az, sizeof(in.az), "eu-west-1a");
	in.leaving = leaving;
	return in;
}

static void set_slot(struct hsdo_table *t, uint32_t id, enum hsdo_slot_state state,
		     const char *name, const char *ip, uint32_t weight, int64_t luw)
{
	struct hsdo_slot *s = &t->slots[id - 1];

	hsdo_slot_clear(s);
	s->state = state;
	sets(t, &s->name, HSDO_NAME_LEN, name);
	sets(t, &s->ip, HSDO_IP_LEN, ip);
	sets(t, &s->group, HSDO_GROUP_LEN, "asg-a");
	sets(t, &s->az, HSDO_AZ_LEN, "eu-west-1a");
	s->weight = weight;
	s->last_weight_update_us = luw;
}

static int slot_ptr_name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct hsdo_slot *const *)a)->name,
		      (*(const struct hsdo_slot *const *)b)->name);
}

/* Properties every successful plan has: same shape, an exact ascending
 * changed list, no name active in two slots, free slots cleared only if
 * they changed. */
static void check_result(const struct hsdo_table *cur,
			 const struct hsdo_plan_server_result *r)
{
	const struct hsdo_slot **act;
	size_t i, k = 0, nact = 0;

	ck_assert_uint_eq(r->table.n, cur->n);
	ck_assert_uint_eq(r->table.generation, cur->generation);
	for (i = 0; i < cur->n; i++) {
		const struct hsdo_slot *s = &r->table.slots[i];

		ck_assert_uint_eq(s->id, i + 1);
		ck_assert_uint_le(s->weight, HSDO_WEIGHT_MAX);
		if (!hsdo_slot_equal(s, &cur->slots[i])) {
			ck_assert_uint_lt(k, r->nchanged);
			ck_assert_uint_eq(r->changed[k], s->id);
			k++;
		}
		if (s->state == HSDO_SLOT_DRAINING)
			ck_assert_uint_eq(s->weight, 0);
	}
	ck_assert_uint_eq(k, r->nchanged);
	ck_assert(r->nchanged > 0 || r->changed == NULL);
	ck_assert_uint_le(r->noverflow_ids, HSDO_PLAN_SERVER_OVERFLOW_IDS);
	ck_assert_uint_eq(r->noverflow_ids,
			  r->overflow < HSDO_PLAN_SERVER_OVERFLOW_IDS ?
			  r->overflow : HSDO_PLAN_SERVER_OVERFLOW_IDS);

	act = calloc(cur->n ? cur->n : 1, sizeof(*act));
	ck_assert_ptr_nonnull(act);
	for (i = 0; i < cur->n; i++)
		if (r->table.slots[i].state == HSDO_SLOT_ACTIVE)
			act[nact++] = &r->table.slots[i];
	qsort(act, nact, sizeof(*act), slot_ptr_name_cmp);
	for (i = 1; i < nact; i++)
		ck_assert_msg(strcmp(act[i - 1]->name, act[i]->name) != 0,
			      "name %s active twice", act[i]->name);
	free(act);
}

static void plan(const struct hsdo_table *cur, const struct hsdo_instance *in,
		 size_t n, int64_t now, const struct hsdo_plan_server_settings *st,
		 struct hsdo_plan_server_result *r)
{
	ck_assert_int_eq(hsdo_plan_server(cur, in, n, now, st, r), 0);
	check_result(cur, r);
}

/* Plan and make the result the current table (the store writing it). */
static void step(struct hsdo_table *t, const struct hsdo_instance *in, size_t n,
		 int64_t now, const struct hsdo_plan_server_settings *st,
		 struct hsdo_plan_server_result *r)
{
	plan(t, in, n, now, st, r);
	hsdo_table_free(t);
	*t = r->table;
	memset(&r->table, 0, sizeof(r->table));
}

static void assert_changed(const struct hsdo_plan_server_result *r,
			   const uint32_t *ids, size_t n)
{
	size_t i;

	ck_assert_uint_eq(r->nchanged, n);
	for (i = 0; i < n; i++)
		ck_assert_uint_eq(r->changed[i], ids[i]);
}

static void assert_slot(const struct hsdo_table *t, uint32_t id,
			enum hsdo_slot_state state, const char *name,
			uint32_t weight, int64_t luw)
{
	const struct hsdo_slot *s = &t->slots[id - 1];

	ck_assert_msg(s->state == state, "slot %u state %s, want %s", id,
		      hsdo_slot_state_str(s->state), hsdo_slot_state_str(state));
	ck_assert_str_eq(s->name, name);
	ck_assert_uint_eq(s->weight, weight);
	ck_assert_int_eq(s->last_weight_update_us, luw);
}

/* ---- placement ---------------------------------------------------------- */

START_TEST(cold_start_fills_lowest)
{
	struct hsdo_instance in[3];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	static const uint32_t want[] = { 1, 2, 3 };

	in[0] = mkinst("i-c", "10.0.0.3", false);
	in[1] = mkinst("i-a", "10.0.0.1", false);
	in[2] = mkinst("i-b", "10.0.0.2", false);
	in[2].port = 8080;
	ck_assert_int_eq(hsdo_table_init(&t, 5), 0);
	plan(&t, in, 3, T0, &base_st, &r);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "i-a", 10, T0);
	assert_slot(&r.table, 2, HSDO_SLOT_ACTIVE, "i-b", 10, T0);
	assert_slot(&r.table, 3, HSDO_SLOT_ACTIVE, "i-c", 10, T0);
	ck_assert_str_eq(r.table.slots[1].ip, "10.0.0.2");
	ck_assert_uint_eq(r.table.slots[1].port, 8080);
	ck_assert_str_eq(r.table.slots[0].group, "asg-a");
	ck_assert_str_eq(r.table.slots[0].az, "eu-west-1a");
	ck_assert_int_eq(r.table.slots[3].state, HSDO_SLOT_FREE);
	ck_assert_uint_eq(r.added, 3);
	ck_assert_uint_eq(r.overflow, 0);
	assert_changed(&r, want, 3);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(slot_kept_until_freed)
{
	struct hsdo_instance in[5];
	struct hsdo_table t, before;
	struct hsdo_plan_server_result r;
	static const uint32_t two[] = { 2 };
	uint32_t id;

	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[1] = mkinst("i-b", "10.0.0.2", false);
	in[2] = mkinst("i-c", "10.0.0.3", false);
	in[3] = mkinst("i-d", "10.0.0.4", false);
	ck_assert_int_eq(hsdo_table_init(&t, 4), 0);
	step(&t, in, 4, T0, &base_st, &r);
	hsdo_plan_server_result_free(&r);
	step(&t, in, 4, T0 + 100 * SEC, &base_st, &r);   /* all at max */
	hsdo_plan_server_result_free(&r);
	ck_assert_int_eq(hsdo_table_copy(&before, &t), 0);

	/* i-b goes, i-e (sorting before everyone else) comes: the table is
	 * full, so i-e waits while slot 2 drains. */
	in[1] = mkinst("i-0e", "10.0.0.5", false);
	step(&t, in, 4, T0 + 200 * SEC, &base_st, &r);
	assert_slot(&t, 2, HSDO_SLOT_DRAINING, "i-b", 0, T0 + 200 * SEC);
	ck_assert_str_eq(t.slots[1].ip, "10.0.0.2");
	ck_assert_uint_eq(r.drain_started, 1);
	ck_assert_uint_eq(r.overflow, 1);
	ck_assert_str_eq(r.overflow_ids[0], "i-0e");
	hsdo_plan_server_result_free(&r);

	step(&t, in, 4, T0 + 230 * SEC - 1, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	ck_assert_uint_eq(r.overflow, 1);
	hsdo_plan_server_result_free(&r);

	/* Freed and reused in the same plan. */
	step(&t, in, 4, T0 + 230 * SEC, &base_st, &r);
	ck_assert_uint_eq(r.freed, 1);
	ck_assert_uint_eq(r.added, 1);
	ck_assert_uint_eq(r.overflow, 0);
	assert_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-0e", 10, T0 + 230 * SEC);
	ck_assert_str_eq(t.slots[1].ip, "10.0.0.5");
	assert_changed(&r, two, 1);
	hsdo_plan_server_result_free(&r);

	for (id = 1; id <= 4; id++)
		if (id != 2)
			ck_assert(hsdo_slot_equal(&t.slots[id - 1], &before.slots[id - 1]));
	hsdo_table_free(&before);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(lowest_free_slot)
{
	struct hsdo_instance in[4];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	static const uint32_t want[] = { 1, 3 };

	ck_assert_int_eq(hsdo_table_init(&t, 6), 0);
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-x", "10.0.0.20", 100, T0);
	set_slot(&t, 5, HSDO_SLOT_DRAINING, "i-y", "10.0.0.50", 0, T0);
	in[0] = mkinst("i-x", "10.0.0.20", false);
	in[1] = mkinst("i-n2", "10.0.0.2", false);
	in[2] = mkinst("i-n1", "10.0.0.1", false);
	in[3] = mkinst("i-y", "10.0.0.50", true);
	plan(&t, in, 4, T0 + SEC, &base_st, &r);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "i-n1", 10, T0 + SEC);
	assert_slot(&r.table, 3, HSDO_SLOT_ACTIVE, "i-n2", 10, T0 + SEC);
	assert_slot(&r.table, 5, HSDO_SLOT_DRAINING, "i-y", 0, T0);
	assert_changed(&r, want, 2);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(free_slot_leftovers_not_reported)
{
	struct hsdo_instance in[1];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	static const uint32_t want[] = { 1 };

	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	set_slot(&t, 1, HSDO_SLOT_FREE, "old", "10.9.9.9", 7, T0);
	set_slot(&t, 2, HSDO_SLOT_FREE, "i-a", "10.0.0.1", 7, T0);
	plan(&t, NULL, 0, T0 + 100 * SEC, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	ck_assert_ptr_null(r.changed);
	hsdo_plan_server_result_free(&r);

	/* A free slot is never matched by name; a new instance overwrites
	 * every leftover field. */
	in[0] = mkinst("i-a", "10.0.0.1", false);
	plan(&t, in, 1, T0 + 100 * SEC, &base_st, &r);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "i-a", 10, T0 + 100 * SEC);
	ck_assert_str_eq(r.table.slots[0].ip, "10.0.0.1");
	ck_assert(hsdo_slot_equal(&r.table.slots[1], &t.slots[1]));
	assert_changed(&r, want, 1);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* Fisher-Yates with a fixed LCG, so failures reproduce. */
static void shuffle(struct hsdo_instance *in, size_t n, uint64_t *seed)
{
	size_t i;

	for (i = n; i > 1; i--) {
		struct hsdo_instance tmp;
		size_t j;

		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		j = (size_t)((*seed >> 33) % i);
		tmp = in[i - 1];
		in[i - 1] = in[j];
		in[j] = tmp;
	}
}

START_TEST(deterministic_under_shuffle)
{
	enum { NI = 300, NS = 256 };
	struct hsdo_instance *in = calloc(NI, sizeof(*in));
	struct hsdo_table t, orig;
	struct hsdo_plan_server_result ref, r;
	uint64_t seed = 42;
	char id[32], ip[32];
	size_t i, k;
	int round;

	ck_assert_ptr_nonnull(in);
	ck_assert_int_eq(hsdo_table_init(&t, NS), 0);
	for (i = 0; i < NI; i++) {
		snprintf(id, sizeof(id), "i-%04zu", (i * 7919) % 1000);
		snprintf(ip, sizeof(ip), "10.1.%zu.%zu", i / 200, i % 200);
		in[i] = mkinst(id, ip, i % 17 == 0);
	}
	/* Repeated ids with different content, repeated ip+port. */
	in[10] = in[11];
	setf(in[10].ip, sizeof(in[10].ip), "10.2.0.1");
	in[12] = in[13];
	in[12].leaving = !in[13].leaving;
	setf(in[20].ip, sizeof(in[20].ip), in[21].ip);
	/* Existing state: matched, draining, original-written, duplicates. */
	for (i = 0; i < 60; i++) {
		snprintf(id, sizeof(id), "i-%04zu", (i * 7919 * 3) % 1000);
		snprintf(ip, sizeof(ip), "10.1.%zu.%zu", (i * 3) / 200, (i * 3) % 200);
		set_slot(&t, (uint32_t)(i * 4 + 1), i % 5 == 0 ? HSDO_SLOT_DRAINING :
			 HSDO_SLOT_ACTIVE, id, ip, i % 5 == 0 ? 0 : (uint32_t)(i % 120),
			 T0 - (int64_t)i * SEC / 3);
	}
	set_slot(&t, 3, HSDO_SLOT_ACTIVE, "legacy", in[50].ip, 1, 0);
	set_slot(&t, 7, HSDO_SLOT_ACTIVE, "legacy2", in[50].ip, 1, 0);

	ck_assert_int_eq(hsdo_table_copy(&orig, &t), 0);
	plan(&t, in, NI, T0, &base_st, &ref);
	ck_assert_uint_gt(ref.duplicates, 0);
	ck_assert_uint_gt(ref.overflow, 0);
	for (round = 0; round < 20; round++) {
		shuffle(in, NI, &seed);
		plan(&t, in, NI, T0, &base_st, &r);
		for (i = 0; i < NS; i++)
			ck_assert_msg(hsdo_slot_equal(&r.table.slots[i], &ref.table.slots[i]),
				      "round %d slot %zu", round, i + 1);
		ck_assert_uint_eq(r.nchanged, ref.nchanged);
		ck_assert_uint_eq(r.noverflow_ids, ref.noverflow_ids);
		for (k = 0; k < r.noverflow_ids; k++)
			ck_assert_str_eq(r.overflow_ids[k], ref.overflow_ids[k]);
		ck_assert_uint_eq(r.added, ref.added);
		ck_assert_uint_eq(r.duplicates, ref.duplicates);
		ck_assert_uint_eq(r.updated, ref.updated);
		ck_assert_uint_eq(r.ramped, ref.ramped);
		ck_assert_uint_eq(r.drain_started, ref.drain_started);
		ck_assert_uint_eq(r.reactivated, ref.reactivated);
		ck_assert_uint_eq(r.freed, ref.freed);
		hsdo_plan_server_result_free(&r);
	}
	/* The input table is borrowed, never written. */
	ck_assert_mem_eq(orig.slots, t.slots, NS * sizeof(*t.slots));
	hsdo_plan_server_result_free(&ref);
	hsdo_table_free(&orig);
	hsdo_table_free(&t);
	free(in);
}
END_TEST

/* ---- weight ramp -------------------------------------------------------- */

/* Settings: min 10, max 100, +10 per 1000 us. */
static const struct {
	const char *what;
	uint32_t w0;
	int64_t elapsed;
	uint32_t w1;
	int64_t luw1;       /* offset from the start; -1 = now */
} ramp_cases[] = {
	{ "no time", 10, 0, 10, 0 },
	{ "interval-1us: no step", 10, 999, 10, 0 },
	{ "one interval: one step", 10, 1000, 20, 1000 },
	{ "3.5 intervals: 3 steps on the grid", 10, 3500, 40, 3000 },
	{ "long outage: capped, last step time", 10, 100000, 100, 9000 },
	{ "last partial step capped", 95, 1000, 100, 1000 },
	{ "capped after one of five", 95, 5000, 100, 1000 },
	{ "at max: nothing", 100, 50000, 100, 0 },
	{ "below min: raised now", 3, 500, 10, -1 },
	{ "below min, steps due: raised now only", 0, 5000, 10, -1 },
	{ "above max: lowered, clock kept", 150, 500, 100, 0 },
	{ "above HAProxy max: lowered", 300, 500, 100, 0 },
};

START_TEST(ramp_boundaries)
{
	struct hsdo_plan_server_settings st = base_st;
	struct hsdo_instance in = mkinst("i-a", "10.0.0.1", false);
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	int64_t start = T0 + 123, now = start + ramp_cases[_i].elapsed;
	int64_t want_luw = ramp_cases[_i].luw1 < 0 ? now : start + ramp_cases[_i].luw1;
	bool moved = ramp_cases[_i].w1 != ramp_cases[_i].w0 || want_luw != start;

	st.increase_interval_us = 1000;
	ck_assert_int_eq(hsdo_table_init(&t, 1), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.1", ramp_cases[_i].w0, start);
	plan(&t, &in, 1, now, &st, &r);
	ck_assert_msg(r.table.slots[0].weight == ramp_cases[_i].w1,
		      "%s: weight %u", ramp_cases[_i].what, r.table.slots[0].weight);
	ck_assert_msg(r.table.slots[0].last_weight_update_us == want_luw,
		      "%s: luw +%lld", ramp_cases[_i].what,
		      (long long)(r.table.slots[0].last_weight_update_us - start));
	ck_assert_uint_eq(r.nchanged, moved ? 1 : 0);
	ck_assert_uint_eq(r.ramped, moved ? 1 : 0);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(ramp_reaches_max_step_by_step)
{
	struct hsdo_instance in = mkinst("i-a", "10.0.0.1", false);
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	uint32_t w;
	int64_t now = T0;

	ck_assert_int_eq(hsdo_table_init(&t, 1), 0);
	step(&t, &in, 1, now, &base_st, &r);
	hsdo_plan_server_result_free(&r);
	for (w = 20; w <= 100; w += 10) {
		now += SEC;
		step(&t, &in, 1, now, &base_st, &r);
		ck_assert_uint_eq(t.slots[0].weight, w);
		ck_assert_uint_eq(r.nchanged, 1);
		hsdo_plan_server_result_free(&r);
	}
	step(&t, &in, 1, now + 3600 * SEC, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* The original creates servers at weight 1 (server.py:124) and ramps only
 * from MIN_WEIGHT up (server.py:108), so with MIN_WEIGHT > 1 they stay at 1
 * forever. */
START_TEST(min_weight_above_one_regression)
{
	struct hsdo_instance in[2];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	in[0] = mkinst("i-old", "10.0.0.1", false);
	in[1] = mkinst("i-new", "10.0.0.2", false);
	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-old", "10.0.0.1", 1, T0 - 3600 * SEC);
	step(&t, in, 2, T0, &base_st, &r);
	assert_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-old", 10, T0);
	assert_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-new", 10, T0);
	hsdo_plan_server_result_free(&r);
	step(&t, in, 2, T0 + SEC, &base_st, &r);
	ck_assert_uint_eq(t.slots[0].weight, 20);
	ck_assert_uint_eq(t.slots[1].weight, 20);
	ck_assert_uint_eq(r.ramped, 2);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(weight_above_max_lowered)
{
	struct hsdo_plan_server_settings st = base_st;
	struct hsdo_instance in = mkinst("i-a", "10.0.0.1", false);
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	/* MAX_WEIGHT lowered from 100 to 50 by a config change. */
	st.max_weight = 50;
	ck_assert_int_eq(hsdo_table_init(&t, 1), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.1", 100, T0 - SEC);
	plan(&t, &in, 1, T0, &st, &r);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "i-a", 50, T0 - SEC);
	ck_assert_uint_eq(r.ramped, 1);
	ck_assert_uint_eq(r.nchanged, 1);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(future_clock_reset)
{
	struct hsdo_instance in = mkinst("i-a", "10.0.0.1", false);
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.1", 20, T0 + 3600 * SEC);
	set_slot(&t, 2, HSDO_SLOT_DRAINING, "i-b", "10.0.0.2", 0, T0 + 3600 * SEC);
	step(&t, &in, 1, T0, &base_st, &r);
	assert_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", 20, T0);
	assert_slot(&t, 2, HSDO_SLOT_DRAINING, "i-b", 0, T0);
	ck_assert_uint_eq(r.clock_resets, 2);
	hsdo_plan_server_result_free(&r);
	step(&t, &in, 1, T0 + SEC, &base_st, &r);
	ck_assert_uint_eq(t.slots[0].weight, 30);
	hsdo_plan_server_result_free(&r);
	step(&t, &in, 1, T0 + 30 * SEC, &base_st, &r);
	ck_assert_int_eq(t.slots[1].state, HSDO_SLOT_FREE);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* Timestamps far in the past (the original's "0-0-0", or garbage) must not
 * overflow the clock arithmetic (UBSan watches). */
START_TEST(ramp_extreme_clock)
{
	struct hsdo_instance in = mkinst("i-a", "10.0.0.1", false);
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.1", 10, INT64_MIN);
	set_slot(&t, 2, HSDO_SLOT_DRAINING, "i-b", "10.0.0.2", 0, INT64_MIN);
	set_slot(&t, 3, HSDO_SLOT_DRAINING, "i-c", "10.0.0.3", 0, 0);
	plan(&t, &in, 1, INT64_MAX, &base_st, &r);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "i-a", 100, INT64_MIN + 9 * SEC);
	ck_assert_int_eq(r.table.slots[1].state, HSDO_SLOT_FREE);
	ck_assert_int_eq(r.table.slots[2].state, HSDO_SLOT_FREE);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* ---- drain -------------------------------------------------------------- */

START_TEST(drain_then_free_at_drain_time)
{
	struct hsdo_instance in[2];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	static const uint32_t two[] = { 2 };
	int64_t t1 = T0 + 500 * SEC;

	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[1] = mkinst("i-b", "10.0.0.2", false);
	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	step(&t, in, 2, T0, &base_st, &r);
	hsdo_plan_server_result_free(&r);
	step(&t, in, 2, T0 + 100 * SEC, &base_st, &r);   /* all at max */
	hsdo_plan_server_result_free(&r);

	step(&t, in, 1, t1, &base_st, &r);
	assert_slot(&t, 2, HSDO_SLOT_DRAINING, "i-b", 0, t1);
	ck_assert_str_eq(t.slots[1].ip, "10.0.0.2");
	ck_assert_str_eq(t.slots[1].group, "asg-a");
	ck_assert_uint_eq(r.drain_started, 1);
	assert_changed(&r, two, 1);
	hsdo_plan_server_result_free(&r);

	step(&t, in, 1, t1 + 30 * SEC - 1, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	ck_assert_int_eq(t.slots[1].state, HSDO_SLOT_DRAINING);
	hsdo_plan_server_result_free(&r);

	step(&t, in, 1, t1 + 30 * SEC, &base_st, &r);
	ck_assert_uint_eq(r.freed, 1);
	assert_changed(&r, two, 1);
	assert_slot(&t, 2, HSDO_SLOT_FREE, "", 0, 0);
	ck_assert_str_eq(t.slots[1].ip, "");
	ck_assert_str_eq(t.slots[1].group, "");
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(drain_zero_frees_at_once)
{
	struct hsdo_plan_server_settings st = base_st;
	struct hsdo_instance in[3];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	static const uint32_t want[] = { 1, 3, 4 };

	st.drain_time_us = 0;
	in[0] = mkinst("i-b", "10.0.0.2", false);
	in[1] = mkinst("i-c", "10.0.0.3", false);
	in[2] = mkinst("i-d", "10.0.0.4", true);
	ck_assert_int_eq(hsdo_table_init(&t, 4), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.1", 100, T0);
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-b", "10.0.0.2", 100, T0);
	set_slot(&t, 3, HSDO_SLOT_DRAINING, "i-x", "10.0.0.9", 0, T0 + 10 * SEC);
	set_slot(&t, 4, HSDO_SLOT_ACTIVE, "i-d", "10.0.0.4", 100, T0);
	/* Slot 1 (gone) and 4 (leaving) freed; an old drain freed too; i-c
	 * reuses slot 1 in the same plan. */
	plan(&t, in, 3, T0 + 20 * SEC, &st, &r);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "i-c", 10, T0 + 20 * SEC);
	assert_slot(&r.table, 3, HSDO_SLOT_FREE, "", 0, 0);
	assert_slot(&r.table, 4, HSDO_SLOT_FREE, "", 0, 0);
	ck_assert_uint_eq(r.freed, 3);
	ck_assert_uint_eq(r.drain_started, 0);
	ck_assert_uint_eq(r.added, 1);
	assert_changed(&r, want, 3);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(leaving_flag_drains)
{
	struct hsdo_instance in[2];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[1] = mkinst("i-b", "10.0.0.2", false);
	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	step(&t, in, 2, T0, &base_st, &r);
	hsdo_plan_server_result_free(&r);

	/* Leaving, and reported with another address: the slot drains on the
	 * address HAProxy has. */
	in[1].leaving = true;
	setf(in[1].ip, sizeof(in[1].ip), "10.0.0.99");
	step(&t, in, 2, T0 + 100 * SEC, &base_st, &r);
	assert_slot(&t, 2, HSDO_SLOT_DRAINING, "i-b", 0, T0 + 100 * SEC);
	ck_assert_str_eq(t.slots[1].ip, "10.0.0.2");
	ck_assert_uint_eq(r.drain_started, 1);
	ck_assert_uint_eq(r.updated, 0);
	hsdo_plan_server_result_free(&r);

	/* Still leaving: the drain clock is not restarted. */
	step(&t, in, 2, T0 + 110 * SEC, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	assert_slot(&t, 2, HSDO_SLOT_DRAINING, "i-b", 0, T0 + 100 * SEC);
	hsdo_plan_server_result_free(&r);

	step(&t, in, 2, T0 + 130 * SEC, &base_st, &r);
	ck_assert_uint_eq(r.freed, 1);
	ck_assert_int_eq(t.slots[1].state, HSDO_SLOT_FREE);
	hsdo_plan_server_result_free(&r);

	/* A leaving instance without a slot is never added. */
	step(&t, in, 2, T0 + 131 * SEC, &base_st, &r);
	ck_assert_uint_eq(r.added, 0);
	ck_assert_uint_eq(r.overflow, 0);
	ck_assert_uint_eq(r.nchanged, 0);
	ck_assert_int_eq(t.slots[1].state, HSDO_SLOT_FREE);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(draining_back_in_service)
{
	struct hsdo_instance in[2];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[1] = mkinst("i-b", "10.0.0.2", false);
	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	set_slot(&t, 1, HSDO_SLOT_DRAINING, "i-a", "10.0.0.1", 0, T0);
	/* Drain time is over, but the instance is back: it keeps its slot. */
	set_slot(&t, 2, HSDO_SLOT_DRAINING, "i-b", "10.0.0.2", 0, T0 - 60 * SEC);
	step(&t, in, 2, T0 + 5 * SEC, &base_st, &r);
	assert_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", 10, T0 + 5 * SEC);
	assert_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-b", 10, T0 + 5 * SEC);
	ck_assert_uint_eq(r.reactivated, 2);
	ck_assert_uint_eq(r.freed, 0);
	ck_assert_uint_eq(r.added, 0);
	hsdo_plan_server_result_free(&r);
	step(&t, in, 2, T0 + 6 * SEC, &base_st, &r);
	ck_assert_uint_eq(t.slots[0].weight, 20);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* ---- ejected slots (fleet health) --------------------------------------- */

static void eject_slot(struct hsdo_table *t, uint32_t id, const char *name, const char *ip,
		       int64_t until_ms)
{
	struct hsdo_slot *s;

	set_slot(t, id, HSDO_SLOT_EJECTED, name, ip, 0, T0 - 5 * SEC);
	s = &t->slots[id - 1];
	s->ejected_until_ms = until_ms;
	s->eject_since_ms = T0 / 1000 - 5000;
	s->eject_count = 1;
	sets(t, &s->eject_reason, HSDO_EJECT_REASON_LEN, "3 of 3 HAProxies see errors");
}

/* In service, an ejected slot stays as it is: neither ramped nor
 * reactivated, even past its time (eject.h decides its return). */
START_TEST(ejected_stays_while_in_service)
{
	struct hsdo_instance in[2];
	struct hsdo_table t, before;
	struct hsdo_plan_server_result r;

	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[1] = mkinst("i-b", "10.0.0.2", false);
	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.1", 100, T0 - 60 * SEC);
	eject_slot(&t, 2, "i-b", "10.0.0.2", T0 / 1000 - 1000);
	ck_assert_int_eq(hsdo_table_copy(&before, &t), 0);
	step(&t, in, 2, T0, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	ck_assert(hsdo_slot_equal(&t.slots[1], &before.slots[1]));
	ck_assert_uint_eq(r.reactivated + r.ramped + r.drain_started, 0);
	hsdo_plan_server_result_free(&r);
	/* a new instance does not take its slot */
	in[1] = mkinst("i-c", "10.0.0.3", false);
	in[0] = mkinst("i-b", "10.0.0.2", false);
	step(&t, in, 2, T0 + SEC, &base_st, &r);
	ck_assert_int_eq(t.slots[1].state, HSDO_SLOT_EJECTED);
	assert_slot(&t, 3, HSDO_SLOT_ACTIVE, "i-c", 10, T0 + SEC);
	/* i-a vanished: it drains, i-b stays out */
	assert_slot(&t, 1, HSDO_SLOT_DRAINING, "i-a", 0, T0 + SEC);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&before);
	hsdo_table_free(&t);
}
END_TEST

/* An ejected instance that leaves drains and frees like any other, and its
 * ejection ends with it. */
START_TEST(ejected_leaving_drains_and_frees)
{
	struct hsdo_instance in[1];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	in[0] = mkinst("i-b", "10.0.0.2", true);
	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	eject_slot(&t, 2, "i-b", "10.0.0.2", T0 / 1000 + 60000);
	step(&t, in, 1, T0, &base_st, &r);
	assert_slot(&t, 2, HSDO_SLOT_DRAINING, "i-b", 0, T0);
	ck_assert_uint_eq(r.drain_started, 1);
	ck_assert_int_eq(t.slots[1].ejected_until_ms, 0);
	ck_assert_uint_eq(t.slots[1].eject_count, 0);
	ck_assert_str_eq(t.slots[1].eject_reason, "");
	ck_assert_str_eq(t.slots[1].ip, "10.0.0.2");
	hsdo_plan_server_result_free(&r);
	step(&t, NULL, 0, T0 + 30 * SEC, &base_st, &r);
	assert_slot(&t, 2, HSDO_SLOT_FREE, "", 0, 0);
	ck_assert_uint_eq(r.freed, 1);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* Taken over by IP under another name (a new instance on a recycled
 * address): the ejection was the previous instance's. */
START_TEST(ejected_renamed_starts_fresh)
{
	struct hsdo_instance in[1];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	in[0] = mkinst("i-new", "10.0.0.2", false);
	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	eject_slot(&t, 2, "i-old", "10.0.0.2", T0 / 1000 + 60000);
	step(&t, in, 1, T0, &base_st, &r);
	assert_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-new", 10, T0);
	ck_assert_uint_eq(t.slots[1].eject_count, 0);
	ck_assert_int_eq(t.slots[1].ejected_until_ms, 0);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* ---- overflow, duplicates, identity ------------------------------------- */

START_TEST(overflow_never_evicts)
{
	enum { NEW = 40 };
	struct hsdo_instance in[3 + NEW];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	char id[32], ip[32];
	size_t i;

	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-x", "10.0.0.1", 100, T0);
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-y", "10.0.0.2", 100, T0);
	set_slot(&t, 3, HSDO_SLOT_ACTIVE, "i-z", "10.0.0.3", 100, T0);
	/* New ids sort before the existing ones, in reverse input order. */
	for (i = 0; i < NEW; i++) {
		snprintf(id, sizeof(id), "i-n%02zu", NEW - 1 - i);
		snprintf(ip, sizeof(ip), "10.0.1.%zu", i);
		in[i] = mkinst(id, ip, false);
	}
	in[NEW] = mkinst("i-z", "10.0.0.3", false);
	in[NEW + 1] = mkinst("i-x", "10.0.0.1", false);
	in[NEW + 2] = mkinst("i-y", "10.0.0.2", false);
	plan(&t, in, 3 + NEW, T0 + SEC, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	ck_assert_uint_eq(r.added, 0);
	ck_assert_uint_eq(r.overflow, NEW);
	ck_assert_uint_eq(r.noverflow_ids, HSDO_PLAN_SERVER_OVERFLOW_IDS);
	for (i = 0; i < r.noverflow_ids; i++) {
		snprintf(id, sizeof(id), "i-n%02zu", i);
		ck_assert_str_eq(r.overflow_ids[i], id);
	}
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(duplicate_instance_ids)
{
	struct hsdo_instance in[4];
	struct hsdo_table t;
	struct hsdo_plan_server_result r1, r2;
	int order;

	ck_assert_int_eq(hsdo_table_init(&t, 4), 0);
	for (order = 0; order < 2; order++) {
		struct hsdo_plan_server_result *r = order ? &r2 : &r1;

		in[order] = mkinst("i-a", "10.0.0.1", false);
		in[1 - order] = mkinst("i-a", "10.0.0.2", true);
		in[2] = mkinst("i-b", "10.0.0.3", false);
		in[3] = mkinst("i-a", "10.0.0.1", false);
		plan(&t, in, 4, T0, &base_st, r);
		ck_assert_uint_eq(r->duplicates, 2);
		ck_assert_uint_eq(r->added, 2);
	}
	/* The in-service record wins whatever the order. */
	assert_slot(&r1.table, 1, HSDO_SLOT_ACTIVE, "i-a", 10, T0);
	ck_assert_str_eq(r1.table.slots[0].ip, "10.0.0.1");
	ck_assert(hsdo_slot_equal(&r1.table.slots[0], &r2.table.slots[0]));
	ck_assert(hsdo_slot_equal(&r1.table.slots[1], &r2.table.slots[1]));
	hsdo_plan_server_result_free(&r1);
	hsdo_plan_server_result_free(&r2);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(duplicate_slot_names_lowest_wins)
{
	struct hsdo_instance in[2];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	ck_assert_int_eq(hsdo_table_init(&t, 5), 0);
	set_slot(&t, 4, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.1", 100, T0);
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.9", 100, T0);
	in[0] = mkinst("i-a", "10.0.0.1", false);
	/* i-b has slot 2's old address, but slot 2 is named after a live
	 * instance id, so it is no candidate for matching by IP. */
	in[1] = mkinst("i-b", "10.0.0.9", false);
	step(&t, in, 2, T0 + SEC, &base_st, &r);
	assert_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-a", 100, T0);
	ck_assert_str_eq(t.slots[1].ip, "10.0.0.1");
	assert_slot(&t, 4, HSDO_SLOT_DRAINING, "i-a", 0, T0 + SEC);
	assert_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-b", 10, T0 + SEC);
	ck_assert_uint_eq(r.updated, 1);
	ck_assert_uint_eq(r.drain_started, 1);
	hsdo_plan_server_result_free(&r);

	/* The loser keeps draining, then is freed; slot 2 is untouched. */
	step(&t, in, 2, T0 + 31 * SEC, &base_st, &r);
	ck_assert_int_eq(t.slots[3].state, HSDO_SLOT_FREE);
	ck_assert_int_eq(t.slots[1].state, HSDO_SLOT_ACTIVE);
	ck_assert_uint_eq(r.freed, 1);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(duplicate_address)
{
	struct hsdo_instance in[4];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	ck_assert_int_eq(hsdo_table_init(&t, 5), 0);
	set_slot(&t, 3, HSDO_SLOT_ACTIVE, "i-z", "10.0.0.1", 100, T0);
	/* i-a has i-z's address and a lower id: i-z holds a slot, so it wins. */
	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[1] = mkinst("i-z", "10.0.0.1", false);
	/* Same host, other port: another server. Same port: a duplicate. */
	in[2] = mkinst("svc-1", "10.0.0.7", false);
	in[2].port = 8001;
	in[3] = mkinst("svc-2", "10.0.0.7", false);
	in[3].port = 8002;
	plan(&t, in, 4, T0, &base_st, &r);
	ck_assert_uint_eq(r.duplicates, 1);
	ck_assert_uint_eq(r.added, 2);
	assert_slot(&r.table, 3, HSDO_SLOT_ACTIVE, "i-z", 100, T0);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "svc-1", 10, T0);
	assert_slot(&r.table, 2, HSDO_SLOT_ACTIVE, "svc-2", 10, T0);
	hsdo_plan_server_result_free(&r);

	in[3].port = 8001;
	plan(&t, in, 4, T0, &base_st, &r);
	ck_assert_uint_eq(r.duplicates, 2);
	ck_assert_uint_eq(r.added, 1);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "svc-1", 10, T0);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(match_by_ip_for_original_tables)
{
	struct hsdo_instance in[3];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	ck_assert_int_eq(hsdo_table_init(&t, 4), 0);
	/* Written by the Python server: ServerName is not the instance id,
	 * weight 1, LastWeightUpdate long ago. */
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "web-1", "10.0.0.7", 1, T0 - 86400 * SEC);
	set_slot(&t, 3, HSDO_SLOT_ACTIVE, "web-2", "10.0.0.8", 100, T0 - 86400 * SEC);
	set_slot(&t, 4, HSDO_SLOT_DRAINING, "web-3", "10.0.0.9", 0, T0 - SEC);
	in[0] = mkinst("i-07", "10.0.0.7", false);
	in[1] = mkinst("i-08", "10.0.0.8", false);
	in[2] = mkinst("i-09", "10.0.0.9", true);
	step(&t, in, 3, T0, &base_st, &r);
	assert_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-07", 10, T0);
	/* Another name on the slot: its weight was the previous server's,
	 * so the newcomer starts its own ramp (AWS reuses private IPs). */
	assert_slot(&t, 3, HSDO_SLOT_ACTIVE, "i-08", 10, T0);
	/* Leaving: drains as it was written. */
	assert_slot(&t, 4, HSDO_SLOT_DRAINING, "web-3", 0, T0 - SEC);
	ck_assert_int_eq(t.slots[0].state, HSDO_SLOT_FREE);
	ck_assert_uint_eq(r.updated, 2);
	ck_assert_uint_eq(r.added, 0);
	hsdo_plan_server_result_free(&r);

	/* From now on they match by id even if the address moves. */
	setf(in[0].ip, sizeof(in[0].ip), "10.0.0.70");
	step(&t, in, 3, T0 + SEC, &base_st, &r);
	ck_assert_str_eq(t.slots[1].ip, "10.0.0.70");
	ck_assert_uint_eq(t.slots[1].weight, 20);
	ck_assert_uint_eq(r.updated, 1);
	ck_assert_uint_eq(r.added, 0);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* Two services of one host, written by the original as two slots with the
 * same address: each instance takes its own slot, lowest id first. */
START_TEST(match_by_ip_one_slot_each)
{
	struct hsdo_instance in[3];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	ck_assert_int_eq(hsdo_table_init(&t, 5), 0);
	set_slot(&t, 4, HSDO_SLOT_ACTIVE, "node-a", "10.0.0.7", 100, T0);
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "node-a-2", "10.0.0.7", 100, T0);
	in[0] = mkinst("svc-2", "10.0.0.7", false);
	in[0].port = 8002;
	in[1] = mkinst("svc-1", "10.0.0.7", false);
	in[1].port = 8001;
	in[2] = mkinst("svc-3", "10.0.0.7", false);
	in[2].port = 8003;
	plan(&t, in, 3, T0, &base_st, &r);
	assert_slot(&r.table, 2, HSDO_SLOT_ACTIVE, "svc-1", 10, T0);
	ck_assert_uint_eq(r.table.slots[1].port, 8001);
	assert_slot(&r.table, 4, HSDO_SLOT_ACTIVE, "svc-2", 10, T0);
	ck_assert_uint_eq(r.table.slots[3].port, 8002);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "svc-3", 10, T0);
	ck_assert_uint_eq(r.updated, 2);
	ck_assert_uint_eq(r.added, 1);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* A slot we wrote (with a port) is not taken over by another service of
 * the same host on another port: the one that left drains. */
START_TEST(match_by_ip_needs_the_port)
{
	struct hsdo_instance in[1];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-srv1", "127.0.0.1", 100, T0);
	t.slots[0].port = 9001;
	in[0] = mkinst("i-srv3", "127.0.0.1", false);
	in[0].port = 9003;
	plan(&t, in, 1, T0 + SEC, &base_st, &r);
	assert_slot(&r.table, 1, HSDO_SLOT_DRAINING, "i-srv1", 0, T0 + SEC);
	ck_assert_uint_eq(r.table.slots[0].port, 9001);
	assert_slot(&r.table, 2, HSDO_SLOT_ACTIVE, "i-srv3", 10, T0 + SEC);
	ck_assert_uint_eq(r.drain_started, 1);
	ck_assert_uint_eq(r.added, 1);
	hsdo_plan_server_result_free(&r);
	/* Same port: the endpoint is the same, the newcomer takes the slot. */
	in[0].port = 9001;
	plan(&t, in, 1, T0 + SEC, &base_st, &r);
	assert_slot(&r.table, 1, HSDO_SLOT_ACTIVE, "i-srv3", 10, T0 + SEC);
	ck_assert_uint_eq(r.updated, 1);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(instance_fields_updated)
{
	struct hsdo_instance in = mkinst("i-a", "10.0.0.1", false);
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	ck_assert_int_eq(hsdo_table_init(&t, 1), 0);
	step(&t, &in, 1, T0, &base_st, &r);
	hsdo_plan_server_result_free(&r);
	setf(in.group, sizeof(in.group), "asg-b");
	setf(in.az, sizeof(in.az), "eu-west-1b");
	in.port = 9000;
	step(&t, &in, 1, T0 + SEC / 2, &base_st, &r);
	ck_assert_uint_eq(r.updated, 1);
	ck_assert_uint_eq(r.nchanged, 1);
	ck_assert_str_eq(t.slots[0].group, "asg-b");
	ck_assert_str_eq(t.slots[0].az, "eu-west-1b");
	ck_assert_uint_eq(t.slots[0].port, 9000);
	assert_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", 10, T0);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* Ids and addresses that agree on their first 16 bytes (Consul service ids,
 * IPv6 in one /64) are told apart by the rest of the string. */
START_TEST(long_shared_prefixes)
{
	static const char *const ids[] = {
		"web-frontend-production-10", "web-frontend-production-1",
		"web-frontend-production-2", "web-frontend-production-1x",
	};
	static const char *const ips[] = {
		"2001:db8:1234:5678::10", "2001:db8:1234:5678::1",
		"2001:db8:1234:5678::2", "2001:db8:1234:5678::1:0",
	};
	struct hsdo_instance in[4];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	size_t i;

	for (i = 0; i < 4; i++)
		in[i] = mkinst(ids[i], ips[i], false);
	ck_assert_int_eq(hsdo_table_init(&t, 6), 0);
	/* Written by the original, found by its long IPv6 address. */
	set_slot(&t, 5, HSDO_SLOT_ACTIVE, "legacy", "2001:db8:1234:5678::2", 100, T0);
	set_slot(&t, 6, HSDO_SLOT_ACTIVE, "legacy-b", "2001:db8:1234:5678::20", 100, T0);
	step(&t, in, 4, T0, &base_st, &r);
	ck_assert_uint_eq(r.duplicates, 0);
	ck_assert_uint_eq(r.added, 3);
	ck_assert_uint_eq(r.drain_started, 1);
	assert_slot(&t, 1, HSDO_SLOT_ACTIVE, "web-frontend-production-1", 10, T0);
	assert_slot(&t, 2, HSDO_SLOT_ACTIVE, "web-frontend-production-10", 10, T0);
	assert_slot(&t, 3, HSDO_SLOT_ACTIVE, "web-frontend-production-1x", 10, T0);
	assert_slot(&t, 5, HSDO_SLOT_ACTIVE, "web-frontend-production-2", 10, T0);
	assert_slot(&t, 6, HSDO_SLOT_DRAINING, "legacy-b", 0, T0);
	hsdo_plan_server_result_free(&r);
	step(&t, in, 4, T0, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* ---- change reporting --------------------------------------------------- */

START_TEST(zero_diff_when_nothing_due)
{
	struct hsdo_instance in[3];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[1] = mkinst("i-b", "10.0.0.2", false);
	in[2] = mkinst("i-c", "10.0.0.3", true);
	ck_assert_int_eq(hsdo_table_init(&t, 4), 0);
	set_slot(&t, 3, HSDO_SLOT_ACTIVE, "i-c", "10.0.0.3", 100, T0);
	step(&t, in, 3, T0, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 3);
	hsdo_plan_server_result_free(&r);
	step(&t, in, 3, T0, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	ck_assert_ptr_null(r.changed);
	ck_assert_uint_eq(r.added + r.updated + r.ramped + r.freed +
			  r.drain_started + r.reactivated + r.clock_resets, 0);
	hsdo_plan_server_result_free(&r);
	/* Less than one interval later: still nothing. */
	step(&t, in, 3, T0 + SEC - 1, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(changed_list_exact)
{
	struct hsdo_instance in[6];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	static const uint32_t want4[] = { 1, 3, 4 };
	static const uint32_t want6[] = { 1, 3, 4, 6, 8 };
	int64_t now = T0 + 40 * SEC;

	ck_assert_int_eq(hsdo_table_init(&t, 8), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.1", 50, now - SEC);     /* ramps */
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-b", "10.0.0.2", 50, now - 1);       /* not due */
	set_slot(&t, 3, HSDO_SLOT_ACTIVE, "i-gone", "10.0.0.3", 100, T0);        /* drains */
	set_slot(&t, 4, HSDO_SLOT_DRAINING, "i-old", "10.0.0.4", 0, T0);         /* freed */
	set_slot(&t, 5, HSDO_SLOT_DRAINING, "i-dr", "10.0.0.5", 0, now - SEC);   /* drains on */
	set_slot(&t, 7, HSDO_SLOT_ACTIVE, "i-max", "10.0.0.7", 100, T0);         /* at max */
	set_slot(&t, 8, HSDO_SLOT_FREE, "x", "10.0.0.8", 3, T0);                 /* leftovers */
	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[1] = mkinst("i-b", "10.0.0.2", false);
	in[2] = mkinst("i-max", "10.0.0.7", false);
	in[3] = mkinst("i-new", "10.0.0.9", false);
	in[4] = mkinst("i-new2", "10.0.0.10", false);
	in[5] = mkinst("i-new3", "10.0.0.11", false);

	/* i-new takes slot 4, freed in this same plan. */
	plan(&t, in, 4, now, &base_st, &r);
	assert_changed(&r, want4, 3);
	assert_slot(&r.table, 4, HSDO_SLOT_ACTIVE, "i-new", 10, now);
	hsdo_plan_server_result_free(&r);

	/* Two more take 6, then 8 (a free slot with leftovers). */
	plan(&t, in, 6, now, &base_st, &r);
	assert_changed(&r, want6, 5);
	assert_slot(&r.table, 6, HSDO_SLOT_ACTIVE, "i-new2", 10, now);
	assert_slot(&r.table, 8, HSDO_SLOT_ACTIVE, "i-new3", 10, now);
	ck_assert_uint_eq(r.ramped, 1);
	ck_assert_uint_eq(r.drain_started, 1);
	ck_assert_uint_eq(r.freed, 1);
	ck_assert_uint_eq(r.added, 3);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* ---- bad input ---------------------------------------------------------- */

static const struct {
	const char *what;
	struct hsdo_plan_server_settings st;
} bad_settings[] = {
	{ "min > max", { 50, 40, 1, SEC, 0 } },
	{ "max > 256", { 1, 257, 1, SEC, 0 } },
	{ "min > 256", { 300, 300, 1, SEC, 0 } },
	{ "increase 0", { 1, 100, 0, SEC, 0 } },
	{ "increase > 256", { 1, 100, 257, SEC, 0 } },
	{ "interval 0", { 1, 100, 1, 0, 0 } },
	{ "interval < 0", { 1, 100, 1, -SEC, 0 } },
	{ "drain < 0", { 1, 100, 1, SEC, -1 } },
};

START_TEST(invalid_settings)
{
	struct hsdo_instance in = mkinst("i-a", "10.0.0.1", false);
	struct hsdo_plan_server_result r, zero;
	struct hsdo_table t;

	memset(&zero, 0, sizeof(zero));
	memset(&r, 0xa5, sizeof(r));
	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	ck_assert_msg(hsdo_plan_server_settings_check(&bad_settings[_i].st) == -HSDO_EINVAL,
		      "%s", bad_settings[_i].what);
	ck_assert_int_eq(hsdo_plan_server(&t, &in, 1, T0, &bad_settings[_i].st, &r),
			 -HSDO_EINVAL);
	ck_assert_mem_eq(&r, &zero, sizeof(r));
	hsdo_table_free(&t);
}
END_TEST

START_TEST(settings_bounds_accepted)
{
	static const struct hsdo_plan_server_settings ok[] = {
		{ 0, 0, 1, 1, 0 }, { 256, 256, 256, 1, 0 }, { 1, 256, 1, INT64_MAX, INT64_MAX },
	};
	size_t i;

	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		ck_assert_int_eq(hsdo_plan_server_settings_check(&ok[i]), 0);
	ck_assert_int_eq(hsdo_plan_server_settings_check(NULL), -HSDO_EINVAL);
}
END_TEST

START_TEST(invalid_arguments_and_tables)
{
	struct hsdo_instance in = mkinst("i-a", "10.0.0.1", false);
	struct hsdo_plan_server_result r, zero;
	struct hsdo_table t, empty;

	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	ck_assert_int_eq(hsdo_plan_server(&t, &in, 1, T0, &base_st, NULL), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_plan_server(NULL, &in, 1, T0, &base_st, &r), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_plan_server(&t, NULL, 1, T0, &base_st, &r), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_plan_server(&t, &in, 1, T0, NULL, &r), -HSDO_EINVAL);
	/* The bound is checked before the array is read. */
	ck_assert_int_eq(hsdo_plan_server(&t, &in, HSDO_PLAN_SERVER_INSTANCES_MAX + 1,
					  T0, &base_st, &r), -HSDO_ETOOBIG);
	ck_assert_mem_eq(&r, &zero, sizeof(r));

	t.slots[1].id = 7;
	ck_assert_int_eq(hsdo_plan_server(&t, &in, 1, T0, &base_st, &r), -HSDO_EINVAL);
	ck_assert_mem_eq(&r, &zero, sizeof(r));
	t.slots[1].id = 2;
	t.slots[2].state = HSDO_SLOT_STATE_COUNT;
	ck_assert_int_eq(hsdo_plan_server(&t, &in, 1, T0, &base_st, &r), -HSDO_EINVAL);
	t.slots[2].state = HSDO_SLOT_FREE;
	{
		static char longname[HSDO_NAME_LEN + 1];

		memset(longname, 'x', HSDO_NAME_LEN);   /* one byte over the bound */
		t.slots[0].name = longname;
	}
	ck_assert_int_eq(hsdo_plan_server(&t, &in, 1, T0, &base_st, &r), -HSDO_EINVAL);
	hsdo_table_free(&t);

	/* An empty table is valid: every instance overflows. */
	ck_assert_int_eq(hsdo_table_init(&empty, 0), 0);
	plan(&empty, &in, 1, T0, &base_st, &r);
	ck_assert_uint_eq(r.overflow, 1);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&empty);

	hsdo_plan_server_result_free(NULL);
}
END_TEST

START_TEST(invalid_instances_skipped)
{
	struct hsdo_instance in[6];
	struct hsdo_table t;
	struct hsdo_plan_server_result r;

	ck_assert_int_eq(hsdo_table_init(&t, 6), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "i-a", "10.0.0.1", 100, T0);
	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[0].ip[0] = '\0';                 /* empty ip: i-a is not seen */
	in[1] = mkinst("x", "10.0.0.2", false);
	in[1].id[0] = '\0';                 /* empty id */
	in[2] = mkinst("i-c", "10.0.0.3", false);
	memset(in[2].id, 'c', sizeof(in[2].id));   /* not terminated */
	in[3] = mkinst("i-d", "10.0.0.4", false);
	memset(in[3].az, 'z', sizeof(in[3].az));
	in[4] = mkinst("i-e", "not-an-ip", false); /* planned, counted */
	in[5] = mkinst("i-f", "fe80::1", false);
	plan(&t, in, 6, T0, &base_st, &r);
	ck_assert_uint_eq(r.invalid, 4);
	ck_assert_uint_eq(r.bad_ip, 1);
	ck_assert_uint_eq(r.added, 2);
	ck_assert_uint_eq(r.drain_started, 1);
	assert_slot(&r.table, 2, HSDO_SLOT_ACTIVE, "i-e", 10, T0);
	assert_slot(&r.table, 3, HSDO_SLOT_ACTIVE, "i-f", 10, T0);
	hsdo_plan_server_result_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* ---- allocation failures ------------------------------------------------ */

/* A plan that uses every allocation the planner makes: IP candidates,
 * ip dedup, changes, overflow ids. */
START_TEST(alloc_failure_every_step)
{
	struct hsdo_instance in[8];
	struct hsdo_table t;
	struct hsdo_plan_server_result ref, r, zero;
	unsigned long n, allocs;
	int sticky;

	memset(&zero, 0, sizeof(zero));
	ck_assert_int_eq(hsdo_table_init(&t, 4), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "web-1", "10.0.0.1", 1, T0 - SEC);
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "i-b", "10.0.0.2", 30, T0 - 2 * SEC);
	set_slot(&t, 3, HSDO_SLOT_ACTIVE, "i-gone", "10.0.0.3", 100, T0 - SEC);
	in[0] = mkinst("i-a", "10.0.0.1", false);
	in[1] = mkinst("i-b", "10.0.0.2", false);
	in[2] = mkinst("i-b", "10.0.0.2", false);
	in[3] = mkinst("i-dup", "10.0.0.2", false);
	in[4] = mkinst("i-n1", "10.0.1.1", false);
	in[5] = mkinst("i-n2", "10.0.1.2", false);
	in[6] = mkinst("i-n3", "10.0.1.3", false);
	in[7] = mkinst("", "10.0.1.4", false);
	hsdo_alloc_fail_at(0, 0);
	plan(&t, in, 8, T0, &base_st, &ref);
	allocs = hsdo_alloc_fail_at(0, 0);
	ck_assert_uint_ge(allocs, 10);
	ck_assert_uint_eq(ref.overflow, 2);
	ck_assert_uint_gt(ref.nchanged, 0);

	for (sticky = 0; sticky < 2; sticky++) {
		for (n = 1;; n++) {
			int rc;

			ck_assert_uint_lt(n, 100);
			memset(&r, 0x5a, sizeof(r));
			hsdo_alloc_fail_at(n, sticky);
			rc = hsdo_plan_server(&t, in, 8, T0, &base_st, &r);
			hsdo_alloc_fail_at(0, 0);
			if (rc == 0)
				break;
			ck_assert_int_eq(rc, -HSDO_ENOMEM);
			ck_assert_mem_eq(&r, &zero, sizeof(r));
		}
		ck_assert_uint_eq(n, allocs + 1);   /* every allocation failed once */
		check_result(&t, &r);
		ck_assert_uint_eq(r.nchanged, ref.nchanged);
		ck_assert_mem_eq(r.changed, ref.changed, r.nchanged * sizeof(*r.changed));
		ck_assert_mem_eq(r.table.slots, ref.table.slots, t.n * sizeof(*t.slots));
		ck_assert_uint_eq(r.overflow, ref.overflow);
		hsdo_plan_server_result_free(&r);
	}
	hsdo_plan_server_result_free(&ref);
	hsdo_table_free(&t);
}
END_TEST

/* ---- scale (correctness only) ------------------------------------------- */

START_TEST(ten_thousand)
{
	enum { N = 10000 };
	struct hsdo_instance *in = calloc(N, sizeof(*in));
	struct hsdo_table t;
	struct hsdo_plan_server_result r;
	char id[32], ip[32];
	size_t i;

	ck_assert_ptr_nonnull(in);
	for (i = 0; i < N; i++) {
		snprintf(id, sizeof(id), "i-%017zx", (i * 2654435761u) % 100000007u);
		snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
		in[i] = mkinst(id, ip, false);
	}
	ck_assert_int_eq(hsdo_table_init(&t, N), 0);
	step(&t, in, N, T0, &base_st, &r);
	ck_assert_uint_eq(r.added, N);
	ck_assert_uint_eq(r.nchanged, N);
	hsdo_plan_server_result_free(&r);

	step(&t, in, N, T0, &base_st, &r);
	ck_assert_uint_eq(r.nchanged, 0);
	hsdo_plan_server_result_free(&r);

	/* Replace every tenth instance: 1,000 drain, 1,000 wait. */
	for (i = 0; i < N; i += 10) {
		snprintf(id, sizeof(id), "j-%zu", i);
		snprintf(ip, sizeof(ip), "10.200.%zu.%zu", i >> 8, i & 255);
		in[i] = mkinst(id, ip, false);
	}
	step(&t, in, N, T0 + 20 * SEC, &base_st, &r);
	ck_assert_uint_eq(r.drain_started, N / 10);
	ck_assert_uint_eq(r.overflow, N / 10);
	ck_assert_uint_eq(r.ramped, N - N / 10);
	ck_assert_uint_eq(r.nchanged, N);
	hsdo_plan_server_result_free(&r);

	step(&t, in, N, T0 + 50 * SEC, &base_st, &r);
	ck_assert_uint_eq(r.freed, N / 10);
	ck_assert_uint_eq(r.added, N / 10);
	ck_assert_uint_eq(r.overflow, 0);
	hsdo_plan_server_result_free(&r);
	for (i = 0; i < N; i++)
		ck_assert_int_eq(t.slots[i].state, HSDO_SLOT_ACTIVE);
	hsdo_table_free(&t);
	free(in);
}
END_TEST

static Suite *plan_server_suite(void)
{
	Suite *s = suite_create("plan_server");
	TCase *tc;

	tc = tcase_create("placement");
	tcase_add_test(tc, cold_start_fills_lowest);
	tcase_add_test(tc, slot_kept_until_freed);
	tcase_add_test(tc, lowest_free_slot);
	tcase_add_test(tc, free_slot_leftovers_not_reported);
	tcase_add_test(tc, deterministic_under_shuffle);
	suite_add_tcase(s, tc);

	tc = tcase_create("ramp");
	tcase_add_loop_test(tc, ramp_boundaries, 0, sizeof(ramp_cases) / sizeof(ramp_cases[0]));
	tcase_add_test(tc, ramp_reaches_max_step_by_step);
	tcase_add_test(tc, min_weight_above_one_regression);
	tcase_add_test(tc, weight_above_max_lowered);
	tcase_add_test(tc, future_clock_reset);
	tcase_add_test(tc, ramp_extreme_clock);
	suite_add_tcase(s, tc);

	tc = tcase_create("drain");
	tcase_add_test(tc, drain_then_free_at_drain_time);
	tcase_add_test(tc, drain_zero_frees_at_once);
	tcase_add_test(tc, leaving_flag_drains);
	tcase_add_test(tc, draining_back_in_service);
	suite_add_tcase(s, tc);

	tc = tcase_create("ejected");
	tcase_add_test(tc, ejected_stays_while_in_service);
	tcase_add_test(tc, ejected_leaving_drains_and_frees);
	tcase_add_test(tc, ejected_renamed_starts_fresh);
	suite_add_tcase(s, tc);

	tc = tcase_create("identity");
	tcase_add_test(tc, overflow_never_evicts);
	tcase_add_test(tc, duplicate_instance_ids);
	tcase_add_test(tc, duplicate_slot_names_lowest_wins);
	tcase_add_test(tc, duplicate_address);
	tcase_add_test(tc, match_by_ip_for_original_tables);
	tcase_add_test(tc, match_by_ip_one_slot_each);
	tcase_add_test(tc, match_by_ip_needs_the_port);
	tcase_add_test(tc, instance_fields_updated);
	tcase_add_test(tc, long_shared_prefixes);
	suite_add_tcase(s, tc);

	tc = tcase_create("changes");
	tcase_add_test(tc, zero_diff_when_nothing_due);
	tcase_add_test(tc, changed_list_exact);
	suite_add_tcase(s, tc);

	tc = tcase_create("input");
	tcase_add_loop_test(tc, invalid_settings, 0, sizeof(bad_settings) / sizeof(bad_settings[0]));
	tcase_add_test(tc, settings_bounds_accepted);
	tcase_add_test(tc, invalid_arguments_and_tables);
	tcase_add_test(tc, invalid_instances_skipped);
	tcase_add_test(tc, alloc_failure_every_step);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_add_test(tc, ten_thousand);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(plan_server_suite());
}
