/* eject: server-side fleet health as a pure function. Table-driven cases
 * for the quorum, idle votes, the cap per group (at least one, never the
 * last active one, the most failing first), outlier clients (and the fleet
 * agreeing), freshness and duplicate clients, stale votes, the return with
 * its ramp, the backoff and its cap, forgetting, HEALTH_EJECT off, the
 * Auto Scaling list, the reason text; bad input; allocation failure at
 * every step leaving the table untouched; and a brute-force model replayed
 * against random tables and reports. */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/eject.h"
#include "hsdo/err.h"
#include "hsdo/report.h"
#include "hsdo/slot.h"
#include "hsdo_test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NOW INT64_C(1700000000000)           /* ms */
#define SEC INT64_C(1000)

static const struct hsdo_eject_settings def = {
	.enabled = true, .quorum_ppm = 500000, .eject_time_ms = 30 * SEC,
	.max_ejected_percent = 20, .min_weight = 1, .max_weight = 10,
	.asg_after_ms = -1, .error_ratio_ppm = 500000,
};

/* n active slots at full weight, groups from a string of letters ("aab":
 * slots 1, 2 in group "a", slot 3 in "b"); '.' is a free slot. */
static void mktable(struct hsdo_table *t, const char *groups)
{
	size_t i, n = strlen(groups);

	ck_assert_int_eq(hsdo_table_init(t, n), 0);
	t->generation = 10;
	for (i = 0; i < n; i++) {
		struct hsdo_slot *s = &t->slots[i];

		if (groups[i] == '.')
			continue;
		s->state = HSDO_SLOT_ACTIVE;
		hsdo_table_setf(t, &s->ip, HSDO_IP_LEN, "10.0.0.%zu", i + 1);
		hsdo_table_setf(t, &s->name, HSDO_NAME_LEN, "i-%zu", i + 1);
		hsdo_table_setf(t, &s->group, HSDO_GROUP_LEN, "asg-%c", groups[i]);
		s->weight = 10;
		s->last_weight_update_us = (NOW - 3600 * SEC) * 1000;
	}
}

/* Reports from a compact form: "<id>[@gen]: <slot><v>[d] ..." with v one of
 * f (failing, 100 responses, 80 errors), o (ok, 100/0), i (idle, 5/0);
 * a trailing 'd' sets the check DOWN (and, for f, no response). */
struct reps {
	struct hsdo_report v[16];
	size_t n;
};

static void add_rep(struct reps *r, const char *spec)
{
	struct hsdo_report *rep = &r->v[r->n++];
	const char *p = strchr(spec, ':'), *at;
	size_t cap = 0;

	ck_assert_ptr_nonnull(p);
	memset(rep, 0, sizeof(*rep));
	at = memchr(spec, '@', (size_t)(p - spec));
	snprintf(rep->client_id, sizeof(rep->client_id), "%.*s",
		 (int)((at != NULL ? at : p) - spec), spec);
	rep->generation = at != NULL ? strtoull(at + 1, NULL, 10) : 10;
	rep->written_ms = NOW - 2 * SEC;
	rep->expires_s = NOW / 1000 + 20;
	rep->slots = calloc(64, sizeof(*rep->slots));
	ck_assert_ptr_nonnull(rep->slots);
	for (p++; *p != '\0';) {
		struct hsdo_report_slot *e;
		char *end;

		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		ck_assert_uint_lt(cap, 64);
		e = &rep->slots[cap++];
		e->slot = (uint32_t)strtoul(p, &end, 10);
		p = end;
		switch (*p++) {
		case 'f':
			e->verdict = HSDO_VERDICT_FAILING;
			e->responses = 100;
			e->errors = 80;
			break;
		case 'o':
			e->verdict = HSDO_VERDICT_OK;
			e->responses = 100;
			break;
		default:
			e->verdict = HSDO_VERDICT_IDLE;
			e->responses = 5;
			break;
		}
		if (*p == 'd') {
			p++;
			e->check = HSDO_CHECK_DOWN;
			if (e->verdict == HSDO_VERDICT_FAILING)
				e->responses = e->errors = 0;
		}
	}
	rep->n = cap;
}

static void reps_free(struct reps *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->v[i].slots);
	r->n = 0;
}

static void run(struct hsdo_table *t, struct reps *r, const struct hsdo_eject_settings *st,
		struct hsdo_eject_result *out)
{
	ck_assert_int_eq(hsdo_eject_plan(t, r ? r->v : NULL, r ? r->n : 0, NULL, NOW, st, out), 0);
}

static const struct hsdo_eject_event *event(const struct hsdo_eject_result *r, uint32_t slot)
{
	size_t i;

	for (i = 0; i < r->nevents; i++)
		if (r->events[i].slot == slot)
			return &r->events[i];
	return NULL;
}

/* The state of every slot as letters: a active, e ejected, d draining, . free. */
static const char *states(const struct hsdo_table *t, char *buf)
{
	static const char letters[] = ".ade";
	size_t i;

	for (i = 0; i < t->n; i++)
		buf[i] = letters[t->slots[i].state];
	buf[i] = '\0';
	return buf;
}

/* ---- the quorum --------------------------------------------------------------------- */

static const struct {
	const char *groups;
	const char *reports[6];
	uint32_t quorum_ppm;
	const char *want;        /* states after */
	size_t outliers;
} cases[] = {
	/* fails for everyone: out */
	{ "aaaaaaaaaa", { "h1: 7f 1o", "h2: 7f", "h3: 7f 2o" }, 500000, "aaaaaaeaaa", 0 },
	/* fails for one HAProxy only: never ejected */
	{ "aaaaaaaaaa", { "h1: 7f", "h2: 7o", "h3: 7o" }, 500000, "aaaaaaaaaa", 0 },
	{ "aaaaaaaaaa", { "h1: 7f 1o 2o", "h2: 7o 1o 2o", "h3: 7o 1o 2o" }, 500000, "aaaaaaaaaa", 0 },
	/* 2 of 3 > 0.5 */
	{ "aaaaaaaaaa", { "h1: 7f", "h2: 7f", "h3: 7o" }, 500000, "aaaaaaeaaa", 0 },
	/* 2 of 4 is not more than half */
	{ "aaaaaaaaaa", { "h1: 7f", "h2: 7f", "h3: 7o", "h4: 7o" }, 500000, "aaaaaaaaaa", 0 },
	{ "aaaaaaaaaa", { "h1: 7f", "h2: 7f", "h3: 7f", "h4: 7o" }, 500000, "aaaaaaeaaa", 0 },
	/* idle is no vote: one failing vote is all there is */
	{ "aaaaaaaaaa", { "h1: 7f", "h2: 7i", "h3: 7i" }, 500000, "aaaaaaeaaa", 0 },
	/* quorum 0: any failing vote; quorum 1: never */
	{ "aaaaaaaaaa", { "h1: 7f", "h2: 7o", "h3: 7o" }, 0, "aaaaaaeaaa", 0 },
	{ "aaaaaaaaaa", { "h1: 7f", "h2: 7f", "h3: 7f" }, 1000000, "aaaaaaaaaa", 0 },
	/* votes on free or draining slots, or out of range, count for nothing */
	{ "aaaaa.aaaa", { "h1: 6f 11f", "h2: 6f 11f", "h3: 6f" }, 500000, "aaaaa.aaaa", 0 },
	/* the check alone */
	{ "aaaaaaaaaa", { "h1: 3fd", "h2: 3fd", "h3: 3o" }, 500000, "aaeaaaaaaa", 0 },
	/* the cap: 20 % of 10 is 2, the most failing first */
	{ "aaaaaaaaaa", { "h1: 2f 3f 4f", "h2: 2f 3f 4o", "h3: 2f 3o 4f" }, 500000, "aeeaaaaaaa", 0 },
	/* h1 calls 3 of 4 failing, but the others split on 3 and 4: no outlier */
	{ "aaaaa", { "h1: 2f 3f 4f 1o", "h2: 2f 3f 4o 1o", "h3: 2f 3o 4f 1o" }, 500000, "aeaaa", 0 },
	{ "aaaaaaaaaa", { "h1: 2f 3f 4f", "h2: 2f 3f 4f", "h3: 2f 3o 4o" }, 500000, "aeeaaaaaaa", 0 },
	/* three of four fail for everyone: the fleet agrees, no outlier; one
	 * ejected (20 % of 4, at least one) */
	{ "aaaa", { "h1: 1f 2f 3f 4o", "h2: 1f 2f 3f 4o", "h3: 1f 2f 3f 4o" }, 500000, "eaaa", 0 },
	/* never the last active one */
	{ "a", { "h1: 1f", "h2: 1f" }, 500000, "a", 0 },
	{ "ab", { "h1: 1f 2f", "h2: 1f 2f" }, 500000, "aa", 0 },
	{ "aa", { "h1: 1f 2f", "h2: 1f 2f" }, 500000, "ea", 0 },
	/* groups are capped apart */
	{ "aaaaabbbbb", { "h1: 1f 6f", "h2: 1f 6f", "h3: 1f 6f" }, 500000, "eaaaaeaaaa", 0 },
	/* one broken client among three: an outlier, nothing ejected */
	{ "aaaa", { "h1: 1o 2o 3o 4o", "h2: 1o 2o 3o 4o", "h3: 1f 2f 3f 4f" }, 0, "aaaa", 1 },
	/* the outlier's ok votes do not count either */
	{ "aaaa", { "h1: 1f 2f 3f 4o", "h2: 1o 2o 3o 4f", "h3: 1o 2o 3o" }, 500000, "aaae", 1 },
	/* two clients, one calling everything failing that the other calls ok */
	{ "aaaa", { "h1: 1o 2o 3o 4o", "h2: 1f 2f 3f 4f" }, 0, "aaaa", 1 },
	/* a lone client has nobody to disagree with */
	{ "aaaaaaaaaa", { "h1: 1f 2f 3o" }, 500000, "eeaaaaaaaa", 0 },
	/* failing where nobody else votes is no disagreement */
	{ "aaaaaaaaaa", { "h1: 1f 2f 3f 4o", "h2: 4o 5o", "h3: 4o 5o" }, 500000, "eeaaaaaaaa", 0 },
	/* exactly half failing is not an outlier */
	{ "aaaa", { "h1: 1f 2f 3o 4o", "h2: 1o 2o 3o 4o", "h3: 1o 2o 3o 4o" }, 500000, "aaaa", 0 },
};

START_TEST(quorum_cap_outliers)
{
	struct hsdo_eject_settings st = def;
	struct hsdo_eject_result res;
	struct hsdo_table t;
	struct reps r = { .n = 0 };
	char got[64];
	size_t i;

	st.quorum_ppm = cases[_i].quorum_ppm;
	mktable(&t, cases[_i].groups);
	for (i = 0; i < N(cases[_i].reports) && cases[_i].reports[i] != NULL; i++)
		add_rep(&r, cases[_i].reports[i]);
	run(&t, &r, &st, &res);
	ck_assert_msg(strcmp(states(&t, got), cases[_i].want) == 0, "case %d: %s, want %s", _i,
		      got, cases[_i].want);
	ck_assert_uint_eq(res.outlier_count, cases[_i].outliers);
	ck_assert_uint_eq(res.noutliers, cases[_i].outliers);
	ck_assert_uint_eq(res.fresh, r.n);
	for (i = 0; i < t.n; i++) {
		const struct hsdo_slot *s = &t.slots[i];

		if (s->state != HSDO_SLOT_EJECTED)
			continue;
		ck_assert_uint_eq(s->weight, 0);
		ck_assert_uint_eq(s->eject_count, 1);
		ck_assert_int_eq(s->ejected_until_ms, NOW + 30 * SEC);
		ck_assert_int_eq(s->eject_since_ms, NOW);
		ck_assert_int_eq(s->last_weight_update_us, NOW * 1000);
		ck_assert_ptr_nonnull(event(&res, s->id));
		ck_assert_int_eq(event(&res, s->id)->kind, HSDO_EJECT_EJECTED);
	}
	ck_assert_uint_eq(res.ejected, res.counts[HSDO_EJECT_EJECTED]);
	hsdo_eject_result_free(&res);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(event_votes_and_reason)
{
	struct hsdo_eject_result res;
	struct hsdo_table t;
	struct reps r = { .n = 0 };
	const struct hsdo_eject_event *ev;

	mktable(&t, "aaaaaaaaaa");
	add_rep(&r, "h1: 7f");
	add_rep(&r, "h2: 7f");
	add_rep(&r, "h3: 7f");
	add_rep(&r, "h4: 7fd");
	add_rep(&r, "h5: 7o");
	r.v[0].slots[0].errors = 60;
	r.v[2].slots[0].errors = 100;
	run(&t, &r, &def, &res);
	ev = event(&res, 7);
	ck_assert_ptr_nonnull(ev);
	ck_assert_int_eq(ev->kind, HSDO_EJECT_EJECTED);
	ck_assert_uint_eq(ev->votes.voters, 5);
	ck_assert_uint_eq(ev->votes.failing, 4);
	ck_assert_uint_eq(ev->votes.by_check, 1);
	ck_assert_uint_eq(ev->votes.median_pct, 80);   /* 60, 80, 100 */
	ck_assert_int_eq(ev->cause, HSDO_EJECT_CAUSE_ERRORS);
	ck_assert_int_eq(ev->duration_ms, 30 * SEC);
	ck_assert_uint_eq(ev->count, 1);
	ck_assert_str_eq(t.slots[6].eject_reason,
			 "4 of 5 HAProxies see errors ≥ 50 % or its check DOWN (median 80 %)");
	hsdo_eject_result_free(&res);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(reason_texts)
{
	struct hsdo_eject_tally v = { 5, 4, 0, 83 };
	char buf[HSDO_EJECT_REASON_LEN];

	ck_assert_str_eq(hsdo_eject_reason(&v, HSDO_EJECT_CAUSE_ERRORS, 500000, buf, sizeof(buf)),
			 "4 of 5 HAProxies see errors ≥ 50 % (median 83 %)");
	ck_assert_str_eq(hsdo_eject_reason(&v, HSDO_EJECT_CAUSE_ERRORS, 125000, buf, sizeof(buf)),
			 "4 of 5 HAProxies see errors ≥ 12.5 % (median 83 %)");
	v.voters = v.failing = 1;
	ck_assert_str_eq(hsdo_eject_reason(&v, HSDO_EJECT_CAUSE_CHECK, 500000, buf, sizeof(buf)),
			 "1 of 1 HAProxy sees its check DOWN");
	ck_assert_str_eq(hsdo_eject_kind_str(HSDO_EJECT_READMITTED), "readmitted");
	ck_assert_str_eq(hsdo_eject_kind_str(HSDO_EJECT_KIND_COUNT), "unknown");
	ck_assert_str_eq(hsdo_eject_cause_str(HSDO_EJECT_CAUSE_CHECK), "check");
	ck_assert_str_eq(hsdo_eject_cause_str(HSDO_EJECT_CAUSE_COUNT), "unknown");
}
END_TEST

/* ---- reports ------------------------------------------------------------------------ */

START_TEST(no_fresh_report_ejects_nothing)
{
	struct hsdo_eject_result res;
	struct hsdo_table t;
	struct reps r = { .n = 0 };
	char got[16];

	mktable(&t, "aaaa");
	add_rep(&r, "h1: 1f");
	add_rep(&r, "h2: 1f");
	r.v[0].expires_s = NOW / 1000;        /* expires now */
	r.v[1].expires_s = NOW / 1000 - 100;
	run(&t, &r, &def, &res);
	ck_assert_str_eq(states(&t, got), "aaaa");
	ck_assert_uint_eq(res.fresh, 0);
	ck_assert_uint_eq(res.expired, 2);
	ck_assert_uint_eq(res.nevents, 0);
	hsdo_eject_result_free(&res);
	run(&t, NULL, &def, &res);
	ck_assert_str_eq(states(&t, got), "aaaa");
	hsdo_eject_result_free(&res);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* Two reports with one client id: the later counts. */
START_TEST(duplicate_client_later_wins)
{
	struct hsdo_eject_result res;
	struct hsdo_table t;
	struct reps r = { .n = 0 };
	char got[16];

	mktable(&t, "aaaa");
	add_rep(&r, "h1: 1o");
	add_rep(&r, "h1: 1f");
	add_rep(&r, "h2: 1f");
	add_rep(&r, "h3: 1o");
	r.v[0].written_ms = NOW - 10 * SEC;   /* the failing one is later */
	run(&t, &r, &def, &res);
	ck_assert_str_eq(states(&t, got), "eaaa");
	ck_assert_uint_eq(res.fresh, 3);
	ck_assert_uint_eq(res.expired, 1);
	hsdo_eject_result_free(&res);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* Votes from a client holding a generation older than the slot's change
 * (its counts were about another instance, or from before a return). */
START_TEST(stale_votes_by_generation)
{
	struct hsdo_eject_settings st = def;
	struct hsdo_eject_result res;
	struct hsdo_table t;
	struct reps r = { .n = 0 };
	uint64_t min_gen[4] = { 12, 0, 0, 0 };
	char got[16];

	st.max_ejected_percent = 50;
	mktable(&t, "aaaa");
	add_rep(&r, "h1@11: 1f 2f");
	add_rep(&r, "h2@12: 1f 2f");
	add_rep(&r, "h3@11: 1o 2o");
	ck_assert_int_eq(hsdo_eject_plan(&t, r.v, r.n, min_gen, NOW, &st, &res), 0);
	/* slot 1: h1 and h3 hold an older generation: not failing, so 1 of 3;
	 * slot 2: 2 of 3 */
	ck_assert_uint_eq(res.stale, 2);
	ck_assert_ptr_null(event(&res, 1));
	ck_assert_str_eq(states(&t, got), "aeaa");
	hsdo_eject_result_free(&res);
	/* once h1 and h3 hold it too, slot 1 goes */
	r.v[0].generation = r.v[2].generation = 12;
	r.v[2].slots[0].verdict = HSDO_VERDICT_FAILING;
	ck_assert_int_eq(hsdo_eject_plan(&t, r.v, r.n, min_gen, NOW, &st, &res), 0);
	ck_assert_uint_eq(event(&res, 1)->votes.voters, 3);
	ck_assert_str_eq(states(&t, got), "eeaa");
	hsdo_eject_result_free(&res);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* ---- return, backoff, forgetting ----------------------------------------------------- */

static void eject_slot(struct hsdo_table *t, uint32_t id, int64_t until, uint32_t count,
		       int64_t since)
{
	struct hsdo_slot *s = &t->slots[id - 1];

	s->state = HSDO_SLOT_EJECTED;
	s->weight = 0;
	s->ejected_until_ms = until;
	s->eject_count = count;
	s->eject_since_ms = since;
	hsdo_table_setf(t, &s->eject_reason, HSDO_EJECT_REASON_LEN, "before");
}

START_TEST(return_ramps_from_min_weight)
{
	struct hsdo_eject_result res;
	struct hsdo_table t;
	struct reps r = { .n = 0 };
	const struct hsdo_slot *s;
	char got[16];

	mktable(&t, "aaaaa");
	eject_slot(&t, 1, NOW, 2, NOW - 100 * SEC);        /* due now */
	eject_slot(&t, 2, NOW + 1, 1, NOW - 10 * SEC);     /* 1 ms to go */
	/* failing votes on the returning slot do not eject it again at once */
	add_rep(&r, "h1: 1f");
	add_rep(&r, "h2: 1f");
	run(&t, &r, &def, &res);
	ck_assert_str_eq(states(&t, got), "aeaaa");
	s = &t.slots[0];
	ck_assert_uint_eq(s->weight, 1);
	ck_assert_int_eq(s->last_weight_update_us, NOW * 1000);
	ck_assert_uint_eq(s->eject_count, 2);                 /* kept for the backoff */
	ck_assert_int_eq(s->eject_since_ms, NOW - 100 * SEC);
	ck_assert_int_eq(s->ejected_until_ms, 0);
	ck_assert_str_eq(s->eject_reason, "");
	ck_assert_int_eq(event(&res, 1)->kind, HSDO_EJECT_READMITTED);
	ck_assert_uint_eq(res.counts[HSDO_EJECT_READMITTED], 1);
	ck_assert_uint_eq(res.ejected, 1);
	hsdo_eject_result_free(&res);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* eject_time x count, capped at 300 s. */
static const struct {
	int64_t base;
	uint32_t count_before;
	int64_t want;
} backoff_cases[] = {
	{ 30 * SEC, 0, 30 * SEC }, { 30 * SEC, 1, 60 * SEC }, { 30 * SEC, 2, 90 * SEC },
	{ 30 * SEC, 9, 300 * SEC }, { 30 * SEC, 10, 300 * SEC }, { 200 * SEC, 1, 300 * SEC },
	{ 1, 0, 1 }, { 300 * SEC, 0, 300 * SEC }, { 30 * SEC, UINT32_MAX - 1, 300 * SEC },
	{ 30 * SEC, UINT32_MAX, 300 * SEC },
};

START_TEST(backoff)
{
	struct hsdo_eject_settings st = def;
	struct hsdo_eject_result res;
	struct hsdo_table t;
	struct reps r = { .n = 0 };

	st.eject_time_ms = backoff_cases[_i].base;
	mktable(&t, "aaaaa");
	t.slots[2].eject_count = backoff_cases[_i].count_before;
	t.slots[2].eject_since_ms = NOW - 5 * SEC;
	t.slots[2].last_weight_update_us = NOW * 1000;   /* not forgotten */
	add_rep(&r, "h1: 3f");
	run(&t, &r, &st, &res);
	ck_assert_int_eq(t.slots[2].state, HSDO_SLOT_EJECTED);
	ck_assert_int_eq(t.slots[2].ejected_until_ms, NOW + backoff_cases[_i].want);
	ck_assert_int_eq(event(&res, 3)->duration_ms, backoff_cases[_i].want);
	ck_assert_uint_eq(t.slots[2].eject_count, backoff_cases[_i].count_before == UINT32_MAX ?
			  UINT32_MAX : backoff_cases[_i].count_before + 1);
	/* the trouble began at the first ejection */
	ck_assert_int_eq(t.slots[2].eject_since_ms,
			 backoff_cases[_i].count_before ? NOW - 5 * SEC : NOW);
	hsdo_eject_result_free(&res);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(forgotten_after_serving_at_full_weight)
{
	struct hsdo_eject_result res;
	struct hsdo_table t;

	mktable(&t, "aaa");
	t.slots[0].eject_count = t.slots[1].eject_count = t.slots[2].eject_count = 3;
	t.slots[0].eject_since_ms = t.slots[1].eject_since_ms = t.slots[2].eject_since_ms = 1;
	t.slots[0].last_weight_update_us = (NOW - 300 * SEC) * 1000;       /* forgotten */
	t.slots[1].last_weight_update_us = (NOW - 300 * SEC) * 1000 + 1;   /* not yet */
	t.slots[2].last_weight_update_us = (NOW - 900 * SEC) * 1000;
	t.slots[2].weight = 9;                                             /* still ramping */
	run(&t, NULL, &def, &res);
	ck_assert_uint_eq(t.slots[0].eject_count, 0);
	ck_assert_int_eq(t.slots[0].eject_since_ms, 0);
	ck_assert_uint_eq(t.slots[1].eject_count, 3);
	ck_assert_uint_eq(t.slots[2].eject_count, 3);
	ck_assert_int_eq(event(&res, 1)->kind, HSDO_EJECT_FORGOTTEN);
	ck_assert_uint_eq(res.nevents, 1);
	hsdo_eject_result_free(&res);
	hsdo_table_free(&t);
}
END_TEST

/* HEALTH_EJECT off: every ejected slot returns at once, nothing else. */
START_TEST(disabled_returns_everything)
{
	struct hsdo_eject_settings st = def;
	struct hsdo_eject_result res;
	struct hsdo_table t;
	struct reps r = { .n = 0 };
	char got[16];

	st.enabled = false;
	mktable(&t, "aaaa");
	eject_slot(&t, 2, NOW + 100 * SEC, 1, NOW);
	add_rep(&r, "h1: 1f");
	add_rep(&r, "h2: 1f");
	run(&t, &r, &st, &res);
	ck_assert_str_eq(states(&t, got), "aaaa");
	ck_assert_uint_eq(t.slots[1].weight, 1);
	ck_assert_uint_eq(res.fresh, 0);
	ck_assert_uint_eq(res.counts[HSDO_EJECT_READMITTED], 1);
	hsdo_eject_result_free(&res);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(asg_list)
{
	struct hsdo_eject_settings st = def;
	struct hsdo_eject_result res;
	struct hsdo_table t;
	struct reps r = { .n = 0 };

	mktable(&t, "aaaaaaaaaa");
	eject_slot(&t, 2, NOW + 10 * SEC, 3, NOW - 300 * SEC);    /* bad for 300 s */
	eject_slot(&t, 3, NOW + 10 * SEC, 2, NOW - 299 * SEC);
	eject_slot(&t, 4, NOW - 10 * SEC, 4, NOW - 900 * SEC);    /* returns this step */
	add_rep(&r, "h1: 5f");
	run(&t, &r, &st, &res);                                    /* asg_after -1: none */
	ck_assert_uint_eq(res.nasg_due, 0);
	ck_assert_ptr_null(res.asg_due);
	hsdo_eject_result_free(&res);
	hsdo_table_free(&t);

	st.asg_after_ms = 300 * SEC;
	mktable(&t, "aaaaaaaaaa");
	eject_slot(&t, 2, NOW + 10 * SEC, 3, NOW - 300 * SEC);
	eject_slot(&t, 3, NOW + 10 * SEC, 2, NOW - 299 * SEC);
	eject_slot(&t, 4, NOW - 10 * SEC, 4, NOW - 900 * SEC);
	run(&t, &r, &st, &res);
	ck_assert_uint_eq(res.nasg_due, 1);
	ck_assert_uint_eq(res.asg_due[0], 2);
	hsdo_eject_result_free(&res);
	hsdo_table_free(&t);

	st.asg_after_ms = 0;    /* at once, a fresh ejection too */
	mktable(&t, "aaaaaaaaaa");
	run(&t, &r, &st, &res);
	ck_assert_uint_eq(res.nasg_due, 1);
	ck_assert_uint_eq(res.asg_due[0], 5);
	hsdo_eject_result_free(&res);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* ---- input -------------------------------------------------------------------------- */

START_TEST(bad_settings_and_tables)
{
	struct hsdo_eject_settings st;
	struct hsdo_eject_result res;
	struct hsdo_table t;

	mktable(&t, "aa");
	st = def;
	st.quorum_ppm = 1000001;
	ck_assert_int_eq(hsdo_eject_plan(&t, NULL, 0, NULL, NOW, &st, &res), -HSDO_EINVAL);
	st = def;
	st.eject_time_ms = 0;
	ck_assert_int_eq(hsdo_eject_settings_check(&st), -HSDO_EINVAL);
	st.eject_time_ms = HSDO_EJECT_TIME_MAX_MS + 1;
	ck_assert_int_eq(hsdo_eject_settings_check(&st), -HSDO_EINVAL);
	st = def;
	st.max_ejected_percent = 0;
	ck_assert_int_eq(hsdo_eject_settings_check(&st), -HSDO_EINVAL);
	st.max_ejected_percent = 101;
	ck_assert_int_eq(hsdo_eject_settings_check(&st), -HSDO_EINVAL);
	st = def;
	st.min_weight = 11;
	ck_assert_int_eq(hsdo_eject_settings_check(&st), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_eject_settings_check(NULL), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_eject_settings_check(&def), 0);
	ck_assert_int_eq(hsdo_eject_plan(&t, NULL, 1, NULL, NOW, &def, &res), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_eject_plan(&t, NULL, 0, NULL, -1, &def, &res), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_eject_plan(NULL, NULL, 0, NULL, NOW, &def, &res), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_eject_plan(&t, NULL, 0, NULL, NOW, &def, NULL), -HSDO_EINVAL);
	t.slots[1].id = 7;
	ck_assert_int_eq(hsdo_eject_plan(&t, NULL, 0, NULL, NOW, &def, &res), -HSDO_EINVAL);
	ck_assert_uint_eq(res.nevents, 0);
	hsdo_table_free(&t);
	ck_assert_int_eq(hsdo_table_init(&t, 0), 0);
	ck_assert_int_eq(hsdo_eject_plan(&t, NULL, 0, NULL, NOW, &def, &res), 0);
	hsdo_table_free(&t);
	hsdo_eject_result_free(NULL);
}
END_TEST

/* Every allocation failing in turn: -HSDO_ENOMEM and the table as it was. */
START_TEST(alloc_failures)
{
	struct hsdo_eject_settings st = def;
	struct hsdo_eject_result res;
	struct hsdo_table t, before;
	struct reps r = { .n = 0 };
	unsigned long i;
	int rc = -1;

	st.asg_after_ms = 0;
	mktable(&t, "aaaaaaaaaa");
	eject_slot(&t, 9, NOW - 1, 1, NOW - 100);
	t.slots[0].eject_count = 1;
	add_rep(&r, "h1: 1f 3f 4f 5f 7o");      /* the outlier */
	add_rep(&r, "h2: 1o 2f 3o 4o 5o 6f");
	add_rep(&r, "h3: 1o 2f 3o 4o 5o 6f");
	add_rep(&r, "h4: 1o 2f 3o 4o 5o 6f");
	ck_assert_int_eq(hsdo_table_copy(&before, &t), 0);
	for (i = 1; i < 100; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_eject_plan(&t, r.v, r.n, NULL, NOW, &st, &res);
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, -HSDO_ENOMEM);
		ck_assert_mem_eq(t.slots, before.slots, t.n * sizeof(*t.slots));
		ck_assert_ptr_null(res.events);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 6);
	ck_assert_uint_eq(res.outlier_count, 1);
	ck_assert_uint_eq(res.counts[HSDO_EJECT_EJECTED], 2);
	ck_assert_uint_eq(res.counts[HSDO_EJECT_READMITTED], 1);
	ck_assert_uint_eq(res.counts[HSDO_EJECT_FORGOTTEN], 1);
	ck_assert_uint_eq(res.nasg_due, 2);
	hsdo_eject_result_free(&res);
	hsdo_table_free(&before);
	reps_free(&r);
	hsdo_table_free(&t);
}
END_TEST

/* ---- a brute-force model -------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static bool model_fresh(const struct hsdo_report *r, int64_t now)
{
	return r->expires_s > 0 && now / 1000 < r->expires_s;
}

/* The report of client i that counts: fresh, the later written (then the
 * higher generation); NULL if none. */
static const struct hsdo_report *model_pick(const struct reps *r, size_t i, int64_t now)
{
	const struct hsdo_report *a = &r->v[i];
	size_t j;

	if (!model_fresh(a, now))
		return NULL;
	for (j = 0; j < r->n; j++) {
		const struct hsdo_report *b = &r->v[j];

		if (j == i || !model_fresh(b, now) || strcmp(a->client_id, b->client_id) != 0)
			continue;
		if (b->written_ms > a->written_ms ||
		    (b->written_ms == a->written_ms && b->generation > a->generation) ||
		    (b->written_ms == a->written_ms && b->generation == a->generation && j < i))
			return NULL;
	}
	return a;
}

static const struct hsdo_report_slot *entry(const struct hsdo_report *r, uint32_t slot)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (r->slots[i].slot == slot)
			return &r->slots[i];
	return NULL;
}

/* Straight from the contract in eject.h, written without looking at
 * eject.c's data structures. */
static void model(struct hsdo_table *t, const struct reps *r, const uint64_t *min_gen,
		  int64_t now, const struct hsdo_eject_settings *st, size_t *nej, size_t *nout)
{
	bool back[16] = { false }, outl[16] = { false }, ej[16] = { false };
	unsigned voters[16] = { 0 }, failing[16] = { 0 }, pcts[16][16], np[16] = { 0 };
	unsigned median[16] = { 0 };
	size_t i, j, k;

	*nej = *nout = 0;
	for (i = 0; i < t->n; i++) {
		struct hsdo_slot *s = &t->slots[i];

		if (s->state == HSDO_SLOT_EJECTED && (!st->enabled || s->ejected_until_ms <= now)) {
			back[i] = true;
		} else if (s->state == HSDO_SLOT_ACTIVE && s->eject_count > 0 &&
			   s->weight >= st->max_weight && s->last_weight_update_us <= now * 1000 &&
			   now * 1000 - s->last_weight_update_us >= 300000000) {
			hsdo_slot_clear_eject(s);
		}
	}
	for (i = 0; i < t->n; i++)
		if (back[i]) {
			t->slots[i].state = HSDO_SLOT_ACTIVE;
			t->slots[i].weight = st->min_weight;
			t->slots[i].last_weight_update_us = now * 1000;
			t->slots[i].ejected_until_ms = 0;
			t->slots[i].eject_reason = "";
		}
	if (st->enabled) {
		/* outliers: more than half failing and ok for most others */
		for (i = 0; i < r->n; i++) {
			const struct hsdo_report *p = model_pick(r, i, now);
			unsigned v = 0, against = 0;

			if (p == NULL)
				continue;
			for (j = 0; j < p->n; j++) {
				const struct hsdo_report_slot *e = &p->slots[j];
				const struct hsdo_slot *s;
				unsigned ok = 0, bad = 0;

				if (e->slot < 1 || e->slot > t->n || e->verdict == HSDO_VERDICT_IDLE)
					continue;
				s = &t->slots[e->slot - 1];
				if (s->state != HSDO_SLOT_ACTIVE && s->state != HSDO_SLOT_EJECTED &&
				    !back[e->slot - 1])
					continue;
				v++;
				if (e->verdict != HSDO_VERDICT_FAILING)
					continue;
				for (k = 0; k < r->n; k++) {
					const struct hsdo_report *q = k == i ? NULL : model_pick(r, k, now);
					const struct hsdo_report_slot *o = q ? entry(q, e->slot) : NULL;

					if (o == NULL || o->verdict == HSDO_VERDICT_IDLE)
						continue;
					ok += o->verdict == HSDO_VERDICT_OK;
					bad += o->verdict == HSDO_VERDICT_FAILING;
				}
				against += ok > bad;
			}
			outl[i] = v >= 2 && 2 * against > v;
			*nout += outl[i];
		}
		/* votes */
		for (k = 0; k < t->n; k++) {
			if (t->slots[k].state != HSDO_SLOT_ACTIVE || back[k])
				continue;
			for (i = 0; i < r->n; i++) {
				const struct hsdo_report *p = model_pick(r, i, now);
				const struct hsdo_report_slot *e;

				if (p == NULL || outl[i] || (e = entry(p, (uint32_t)(k + 1))) == NULL ||
				    e->verdict == HSDO_VERDICT_IDLE)
					continue;
				voters[k]++;
				if (min_gen != NULL && p->generation < min_gen[k])
					continue;   /* stale: a vote, not failing */
				if (e->verdict == HSDO_VERDICT_FAILING) {
					failing[k]++;
					if (e->responses > 0)
						pcts[k][np[k]++] = (unsigned)((uint64_t)e->errors * 100 /
									      e->responses);
				}
			}
			/* median: the middle of the sorted values (the higher of two) */
			for (i = 0; i < np[k]; i++)
				for (j = i + 1; j < np[k]; j++)
					if (pcts[k][j] < pcts[k][i]) {
						unsigned x = pcts[k][i];

						pcts[k][i] = pcts[k][j];
						pcts[k][j] = x;
					}
			median[k] = np[k] ? pcts[k][np[k] / 2] : 0;
		}
		/* the cap, group by group, by selection */
		for (k = 0; k < t->n; k++) {
			const char *g = t->slots[k].group;
			size_t in = 0, ejn = 0, allowed, taken = 0, limit;

			if (t->slots[k].state != HSDO_SLOT_ACTIVE || back[k] || voters[k] == 0 ||
			    (uint64_t)failing[k] * 1000000 <= (uint64_t)st->quorum_ppm * voters[k])
				continue;
			/* first candidate of its group? */
			for (j = 0; j < k; j++)
				if (strcmp(t->slots[j].group, g) == 0 && t->slots[j].state == HSDO_SLOT_ACTIVE &&
				    !back[j] && voters[j] > 0 &&
				    (uint64_t)failing[j] * 1000000 > (uint64_t)st->quorum_ppm * voters[j])
					break;
			if (j < k)
				continue;
			for (j = 0; j < t->n; j++)
				if ((t->slots[j].state == HSDO_SLOT_ACTIVE ||
				     t->slots[j].state == HSDO_SLOT_EJECTED) &&
				    strcmp(t->slots[j].group, g) == 0) {
					in++;
					ejn += t->slots[j].state == HSDO_SLOT_EJECTED;
				}
			limit = in * st->max_ejected_percent / 100;
			limit = limit < 1 ? 1 : limit;
			allowed = limit > ejn ? limit - ejn : 0;
			allowed = allowed > in - ejn - 1 ? in - ejn - 1 : allowed;
			while (taken < allowed) {
				size_t best = SIZE_MAX;

				for (j = 0; j < t->n; j++) {
					if (t->slots[j].state != HSDO_SLOT_ACTIVE || back[j] || ej[j] ||
					    strcmp(t->slots[j].group, g) != 0 || voters[j] == 0 ||
					    (uint64_t)failing[j] * 1000000 <=
					    (uint64_t)st->quorum_ppm * voters[j])
						continue;
					if (best == SIZE_MAX ||
					    (uint64_t)failing[j] * voters[best] >
					    (uint64_t)failing[best] * voters[j] ||
					    ((uint64_t)failing[j] * voters[best] ==
					     (uint64_t)failing[best] * voters[j] && median[j] > median[best]))
						best = j;
				}
				if (best == SIZE_MAX)
					break;
				ej[best] = true;
				taken++;
			}
		}
		for (k = 0; k < t->n; k++) {
			struct hsdo_slot *s = &t->slots[k];
			int64_t d;

			if (!ej[k])
				continue;
			if (s->eject_count == 0 || s->eject_since_ms == 0)
				s->eject_since_ms = now;
			if (s->eject_count < UINT32_MAX)
				s->eject_count++;
			d = st->eject_time_ms * s->eject_count;
			if (s->eject_count > 300000 / st->eject_time_ms || d > 300000)
				d = 300000;
			s->state = HSDO_SLOT_EJECTED;
			s->weight = 0;
			s->last_weight_update_us = now * 1000;
			s->ejected_until_ms = now + d;
		}
	}
	for (k = 0; k < t->n; k++)
		*nej += t->slots[k].state == HSDO_SLOT_EJECTED;
}

START_TEST(model_random)
{
	uint64_t seed = 0x2545f4914f6cdd1dULL * (uint64_t)(_i + 1);
	struct hsdo_eject_settings st = def;
	size_t round, i, j, nej, nout, seen[HSDO_EJECT_KIND_COUNT] = { 0 }, outliers = 0;

	for (round = 0; round < 300; round++) {
		struct hsdo_table t, m;
		struct reps r = { .n = 0 };
		struct hsdo_eject_result res;
		uint64_t min_gen[16];
		size_t n = 1 + rnd(&seed) % 12, nc = rnd(&seed) % 8;
		int64_t now = NOW + (int64_t)(rnd(&seed) % 1000) * SEC;

		st.enabled = rnd(&seed) % 8 != 0;
		st.quorum_ppm = (uint32_t)(rnd(&seed) % 5) * 250000;
		st.max_ejected_percent = 1 + (unsigned)(rnd(&seed) % 100);
		st.eject_time_ms = 1 + (int64_t)(rnd(&seed) % 200) * SEC;
		ck_assert_int_eq(hsdo_table_init(&t, n), 0);
		for (i = 0; i < n; i++) {
			struct hsdo_slot *s = &t.slots[i];
			unsigned kind = (unsigned)(rnd(&seed) % 10);

			min_gen[i] = rnd(&seed) % 4 == 0 ? 10 + rnd(&seed) % 3 : 0;
			if (kind == 0)
				continue;   /* free */
			s->state = kind == 1 ? HSDO_SLOT_DRAINING : kind < 4 ? HSDO_SLOT_EJECTED :
				   HSDO_SLOT_ACTIVE;
			hsdo_table_setf(&t, &s->group, HSDO_GROUP_LEN, "g%u", (unsigned)(rnd(&seed) % 3));
			hsdo_table_setf(&t, &s->name, HSDO_NAME_LEN, "i-%zu", i);
			hsdo_table_setf(&t, &s->ip, HSDO_IP_LEN, "10.0.0.%zu", i + 1);
			s->weight = s->state == HSDO_SLOT_ACTIVE ? 1 + (uint32_t)(rnd(&seed) % 10) : 0;
			s->last_weight_update_us = (now - (int64_t)(rnd(&seed) % 600) * SEC) * 1000;
			s->eject_count = (uint32_t)(rnd(&seed) % 4);
			s->eject_since_ms = s->eject_count ? now - (int64_t)(rnd(&seed) % 900) * SEC : 0;
			if (s->state == HSDO_SLOT_EJECTED) {
				s->eject_count += s->eject_count == 0;
				s->eject_since_ms = now - 1000 * SEC;
				s->ejected_until_ms = now - 50 * SEC + (int64_t)(rnd(&seed) % 100) * SEC;
			}
		}
		for (i = 0; i < nc; i++) {
			struct hsdo_report *p = &r.v[r.n++];
			size_t ne = 0;

			memset(p, 0, sizeof(*p));
			snprintf(p->client_id, sizeof(p->client_id), "h%u",
				 (unsigned)(rnd(&seed) % 6));
			p->generation = 9 + rnd(&seed) % 4;
			p->written_ms = now - (int64_t)(rnd(&seed) % 30) * SEC;
			p->expires_s = now / 1000 - 5 + (int64_t)(rnd(&seed) % 30);
			p->slots = calloc(16, sizeof(*p->slots));
			ck_assert_ptr_nonnull(p->slots);
			for (j = 1; j <= n + 1; j++) {
				struct hsdo_report_slot *e;

				if (rnd(&seed) % 3 == 0)
					continue;
				e = &p->slots[ne++];
				e->slot = (uint32_t)j;
				e->verdict = (enum hsdo_verdict)(rnd(&seed) % 3);
				e->check = (enum hsdo_check)(rnd(&seed) % 3);
				e->responses = (uint32_t)(rnd(&seed) % 50);
				e->errors = e->responses ? (uint32_t)(rnd(&seed) % (e->responses + 1)) : 0;
			}
			p->n = ne;
		}
		ck_assert_int_eq(hsdo_table_copy(&m, &t), 0);
		ck_assert_int_eq(hsdo_eject_plan(&t, r.v, r.n, min_gen, now, &st, &res), 0);
		model(&m, &r, min_gen, now, &st, &nej, &nout);
		for (i = 0; i < n; i++) {
			struct hsdo_slot a = t.slots[i], b = m.slots[i];

			/* the reason text is checked elsewhere */
			a.eject_reason = "";
			b.eject_reason = "";
			ck_assert_msg(hsdo_slot_equal(&a, &b),
				      "seed %d round %zu slot %zu: %s w%u n%u / model %s w%u n%u", _i,
				      round, i + 1, hsdo_slot_state_str(a.state), a.weight,
				      a.eject_count, hsdo_slot_state_str(b.state), b.weight,
				      b.eject_count);
		}
		ck_assert_uint_eq(res.ejected, nej);
		ck_assert_uint_eq(res.outlier_count, nout);
		for (i = 0; i < HSDO_EJECT_KIND_COUNT; i++)
			seen[i] += res.counts[i];
		outliers += nout;
		reps_free(&r);
		hsdo_eject_result_free(&res);
		hsdo_table_free(&t);
		hsdo_table_free(&m);
	}
	/* the random inputs reach every decision */
	for (i = 0; i < HSDO_EJECT_KIND_COUNT; i++)
		ck_assert_msg(seen[i] > 0, "no %s event", hsdo_eject_kind_str((enum hsdo_eject_kind)i));
	ck_assert_uint_gt(outliers, 0);
}
END_TEST

static Suite *eject_suite(void)
{
	Suite *s = suite_create("eject");
	TCase *tc = tcase_create("decisions");

	tcase_add_loop_test(tc, quorum_cap_outliers, 0, N(cases));
	tcase_add_test(tc, event_votes_and_reason);
	tcase_add_test(tc, reason_texts);
	tcase_add_test(tc, no_fresh_report_ejects_nothing);
	tcase_add_test(tc, duplicate_client_later_wins);
	tcase_add_test(tc, stale_votes_by_generation);
	tcase_add_test(tc, return_ramps_from_min_weight);
	tcase_add_loop_test(tc, backoff, 0, N(backoff_cases));
	tcase_add_test(tc, forgotten_after_serving_at_full_weight);
	tcase_add_test(tc, disabled_returns_everything);
	tcase_add_test(tc, asg_list);
	suite_add_tcase(s, tc);

	tc = tcase_create("input");
	tcase_add_test(tc, bad_settings_and_tables);
	tcase_add_test(tc, alloc_failures);
	tcase_add_loop_test(tc, model_random, 0, 10);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(eject_suite());
}
