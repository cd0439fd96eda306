/* verdict: client-side fleet health. The verdict rule at and around its
 * thresholds, HAProxy's check states, collecting from a real SPOE window and
 * `show servers state`, merging backends per slot, the entry cap, when a
 * report is due, a brute-force model over random inputs, allocation
 * failures. */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/health.h"
#include "hsdo/report.h"
#include "hsdo/rtapi.h"
#include "hsdo/verdict.h"
#include "hsdo_test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define S(s) s, strlen(s)

static const struct hsdo_verdict_settings def = { 20, 500000 };

/* ---- the rule ----------------------------------------------------------------------- */

static const struct {
	uint64_t resp, err;
	enum hsdo_check check;
	uint64_t min;
	uint32_t ppm;
	enum hsdo_verdict want;
} judge_cases[] = {
	{ 0, 0, HSDO_CHECK_NONE, 20, 500000, HSDO_VERDICT_IDLE },
	{ 19, 19, HSDO_CHECK_NONE, 20, 500000, HSDO_VERDICT_IDLE },      /* too few */
	{ 20, 10, HSDO_CHECK_NONE, 20, 500000, HSDO_VERDICT_FAILING },   /* exactly 50 % */
	{ 20, 9, HSDO_CHECK_NONE, 20, 500000, HSDO_VERDICT_OK },
	{ 21, 10, HSDO_CHECK_NONE, 20, 500000, HSDO_VERDICT_OK },        /* 47.6 % */
	{ 21, 11, HSDO_CHECK_NONE, 20, 500000, HSDO_VERDICT_FAILING },
	{ 3, 1, HSDO_CHECK_NONE, 3, 333333, HSDO_VERDICT_FAILING },      /* 1/3 >= 0.333333 */
	{ 3, 1, HSDO_CHECK_NONE, 3, 333334, HSDO_VERDICT_OK },
	{ 1000, 1000, HSDO_CHECK_NONE, 1, 1000000, HSDO_VERDICT_FAILING },
	{ 1000, 999, HSDO_CHECK_NONE, 1, 1000000, HSDO_VERDICT_OK },
	{ 1, 0, HSDO_CHECK_NONE, 1, 1, HSDO_VERDICT_OK },
	{ 1, 1, HSDO_CHECK_NONE, 1, 1, HSDO_VERDICT_FAILING },
	{ 0, 0, HSDO_CHECK_DOWN, 20, 500000, HSDO_VERDICT_FAILING },     /* check alone */
	{ 500, 0, HSDO_CHECK_DOWN, 20, 500000, HSDO_VERDICT_FAILING },   /* DOWN wins */
	{ 0, 0, HSDO_CHECK_UP, 20, 500000, HSDO_VERDICT_OK },            /* a check is a vote */
	{ 5, 5, HSDO_CHECK_UP, 20, 500000, HSDO_VERDICT_OK },            /* too few to fail */
	{ 40, 40, HSDO_CHECK_UP, 20, 500000, HSDO_VERDICT_FAILING },     /* errors beat UP */
	{ 10, 20, HSDO_CHECK_NONE, 10, 500000, HSDO_VERDICT_FAILING },   /* errors capped */
	{ UINT64_MAX, UINT64_MAX / 2 + 1, HSDO_CHECK_NONE, 1, 500000, HSDO_VERDICT_FAILING },
	{ UINT64_MAX, UINT64_MAX / 2 - 1000, HSDO_CHECK_NONE, 1, 500000, HSDO_VERDICT_OK },
};

START_TEST(judge_table)
{
	struct hsdo_verdict_settings st = { judge_cases[_i].min, judge_cases[_i].ppm };
	enum hsdo_verdict v = hsdo_verdict_judge(judge_cases[_i].resp, judge_cases[_i].err,
						 judge_cases[_i].check, &st);

	ck_assert_msg(v == judge_cases[_i].want, "case %d: %s, want %s", _i, hsdo_verdict_str(v),
		      hsdo_verdict_str(judge_cases[_i].want));
}
END_TEST

START_TEST(ratio_ppm)
{
	ck_assert_uint_eq(hsdo_verdict_ratio_ppm(0.5), 500000);
	ck_assert_uint_eq(hsdo_verdict_ratio_ppm(1.0), 1000000);
	ck_assert_uint_eq(hsdo_verdict_ratio_ppm(0.0000004), 1);
	ck_assert_uint_eq(hsdo_verdict_ratio_ppm(0.1234567), 123457);
	ck_assert_uint_eq(hsdo_verdict_ratio_ppm(7.0), 1000000);
	ck_assert_uint_eq(hsdo_verdict_ratio_ppm(-1.0), 1);
}
END_TEST

/* check_state, op_state, admin_state -> check */
static const struct {
	unsigned chk, op, admin;
	enum hsdo_check want;
} check_cases[] = {
	{ 0x00, 0, 0, HSDO_CHECK_NONE },      /* no check: a stopped server says nothing */
	{ 0x02, 0, 0, HSDO_CHECK_NONE },      /* configured, not enabled (template `disabled`) */
	{ 0x06, 0, 0, HSDO_CHECK_DOWN },
	{ 0x06, 2, 0, HSDO_CHECK_UP },
	{ 0x07, 1, 0, HSDO_CHECK_UP },        /* starting, check in progress */
	{ 0x06, 3, 0, HSDO_CHECK_UP },        /* stopping */
	{ 0x0e, 0, 0, HSDO_CHECK_NONE },      /* paused */
	{ 0x06, 0, 0x01, HSDO_CHECK_NONE },   /* maint: a free slot */
	{ 0x06, 0, 0x20, HSDO_CHECK_NONE },   /* DNS maint */
	{ 0x06, 0, 0x04, HSDO_CHECK_DOWN },   /* CMAINT is not maint */
	{ 0x06, 0, 0x08, HSDO_CHECK_DOWN },   /* drained (ejected), still checked */
	{ 0x16, 2, 0, HSDO_CHECK_UP },        /* agent bit */
};

START_TEST(check_table)
{
	struct hsdo_srv_state s;

	memset(&s, 0, sizeof(s));
	s.check_state = check_cases[_i].chk;
	s.op_state = check_cases[_i].op;
	s.admin_state = check_cases[_i].admin;
	ck_assert_msg(hsdo_verdict_check_of(&s) == check_cases[_i].want, "case %d: %s", _i,
		      hsdo_check_str(hsdo_verdict_check_of(&s)));
}
END_TEST

/* ---- collect ------------------------------------------------------------------------ */

static const struct hsdo_verdict_backend bes[] = { { "be_app", "web" }, { "be_api", "api" } };

static void add_srv(struct hsdo_servers_state *st, const char *be, const char *srv, unsigned op,
		    unsigned chk, unsigned admin)
{
	struct hsdo_srv_state *s = &st->srv[st->n++];

	memset(s, 0, sizeof(*s));
	snprintf(s->be_name, sizeof(s->be_name), "%s", be);
	snprintf(s->srv_name, sizeof(s->srv_name), "%s", srv);
	s->op_state = op;
	s->check_state = chk;
	s->admin_state = admin;
}

static void record(struct hsdo_health *h, const char *be, uint32_t slot, int ok, int bad,
		   int64_t now)
{
	int i;

	for (i = 0; i < ok; i++)
		ck_assert_int_eq(hsdo_health_record(h, S(be), slot, HSDO_HEALTH_2XX, now), 0);
	for (i = 0; i < bad; i++)
		ck_assert_int_eq(hsdo_health_record(h, S(be), slot, i % 2 ? HSDO_HEALTH_NONE :
							    HSDO_HEALTH_5XX, now), 0);
}

START_TEST(collect_from_window_and_state)
{
	struct hsdo_health_params p = { 30000, 10, 64 };
	struct hsdo_servers_state st = { calloc(8, sizeof(struct hsdo_srv_state)), 0 };
	struct hsdo_verdict_input *in = NULL;
	struct hsdo_health *h = NULL;
	size_t n = 0;

	ck_assert_ptr_nonnull(st.srv);
	ck_assert_int_eq(hsdo_health_new(&p, 0, &h), 0);
	record(h, "be_app", 2, 5, 25, 1000);
	record(h, "be_api", 2, 30, 0, 1000);
	record(h, "be_app", 0, 9, 9, 1000);         /* no server: not a slot */
	record(h, "be_app", 9, 9, 9, 1000);         /* above nslots */
	record(h, "other", 1, 9, 9, 1000);          /* not ours */
	record(h, "be_app", 1, 50, 0, 1000);        /* out of the window by then */
	add_srv(&st, "be_app", "web2", 2, 0x06, 0);     /* same key as the window */
	add_srv(&st, "be_app", "web3", 0, 0x06, 0);     /* DOWN, no traffic */
	add_srv(&st, "be_app", "web4", 0, 0x00, 0);     /* no check */
	add_srv(&st, "be_api", "api1", 0, 0x06, 0x01);  /* maint */
	add_srv(&st, "other", "web1", 0, 0x06, 0);
	add_srv(&st, "be_app", "web04", 0, 0x06, 0);    /* not a template name */
	/* everything recorded at 1 s is out of the window at 35 s: only checks */
	ck_assert_int_eq(hsdo_verdict_collect(h, 35000, &st, bes, N(bes), 8, &in, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(in[0].slot, 2);
	ck_assert_uint_eq(in[0].responses, 0);
	ck_assert_int_eq(in[0].check, HSDO_CHECK_UP);
	ck_assert_uint_eq(in[1].slot, 3);
	ck_assert_int_eq(in[1].check, HSDO_CHECK_DOWN);
	hsdo_free(in);
	record(h, "be_app", 2, 5, 25, 34000);
	record(h, "be_api", 2, 30, 0, 34000);
	record(h, "be_app", 0, 9, 9, 34000);
	record(h, "be_app", 9, 9, 9, 34000);
	record(h, "other", 1, 9, 9, 34000);
	ck_assert_int_eq(hsdo_verdict_collect(h, 35000, &st, bes, N(bes), 8, &in, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(in[0].backend, 0);
	ck_assert_uint_eq(in[0].slot, 2);
	ck_assert_uint_eq(in[0].responses, 30);
	ck_assert_uint_eq(in[0].errors, 25);
	ck_assert_int_eq(in[0].check, HSDO_CHECK_UP);
	ck_assert_uint_eq(in[1].slot, 3);
	ck_assert_uint_eq(in[1].responses, 0);
	ck_assert_int_eq(in[1].check, HSDO_CHECK_DOWN);
	ck_assert_uint_eq(in[2].backend, 1);
	ck_assert_uint_eq(in[2].slot, 2);
	ck_assert_uint_eq(in[2].responses, 30);
	ck_assert_int_eq(in[2].check, HSDO_CHECK_NONE);
	hsdo_free(in);
	ck_assert_int_eq(hsdo_verdict_collect(NULL, 0, NULL, bes, N(bes), 8, &in, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(hsdo_verdict_collect(h, 0, NULL, NULL, 1, 8, &in, &n), -HSDO_EINVAL);
	hsdo_health_free(h);
	free(st.srv);
}
END_TEST

/* ---- build -------------------------------------------------------------------------- */

START_TEST(build_merges_backends)
{
	const struct hsdo_verdict_input in[] = {
		{ 1, 5, 100, 0, HSDO_CHECK_NONE },    /* slot 5 fine in be 1 ... */
		{ 0, 5, 40, 30, HSDO_CHECK_UP },      /* ... failing in be 0 */
		{ 0, 2, 10, 10, HSDO_CHECK_NONE },    /* too few: idle, kept for its counts */
		{ 0, 3, 0, 0, HSDO_CHECK_NONE },      /* nothing: dropped */
		{ 1, 4, 0, 0, HSDO_CHECK_DOWN },
		{ 0, 4, 25, 0, HSDO_CHECK_UP },
		{ 0, 0, 25, 0, HSDO_CHECK_UP },       /* slot 0: ignored */
	};
	struct hsdo_report_slot *e = NULL;
	size_t n = 0, dropped = 9;

	ck_assert_int_eq(hsdo_verdict_build(in, N(in), &def, &e, &n, &dropped), 0);
	ck_assert_uint_eq(dropped, 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_uint_eq(e[0].slot, 2);
	ck_assert_int_eq(e[0].verdict, HSDO_VERDICT_IDLE);
	ck_assert_uint_eq(e[0].responses, 10);
	ck_assert_uint_eq(e[1].slot, 4);
	ck_assert_int_eq(e[1].verdict, HSDO_VERDICT_FAILING);
	ck_assert_int_eq(e[1].check, HSDO_CHECK_DOWN);
	ck_assert_uint_eq(e[1].responses, 25);
	ck_assert_uint_eq(e[2].slot, 5);
	ck_assert_int_eq(e[2].verdict, HSDO_VERDICT_FAILING);
	ck_assert_int_eq(e[2].check, HSDO_CHECK_UP);
	ck_assert_uint_eq(e[2].responses, 140);
	ck_assert_uint_eq(e[2].errors, 30);
	hsdo_free(e);
	ck_assert_int_eq(hsdo_verdict_build(NULL, 0, &def, &e, &n, NULL), 0);
	ck_assert_ptr_null(e);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(build_bad_settings)
{
	const struct hsdo_verdict_input in[] = { { 0, 1, 1, 1, HSDO_CHECK_NONE } };
	struct hsdo_verdict_settings st = def;
	struct hsdo_report_slot *e = NULL;
	size_t n;

	st.min_requests = 0;
	ck_assert_int_eq(hsdo_verdict_build(in, 1, &st, &e, &n, NULL), -HSDO_EINVAL);
	st = def;
	st.error_ratio_ppm = 0;
	ck_assert_int_eq(hsdo_verdict_build(in, 1, &st, &e, &n, NULL), -HSDO_EINVAL);
	st.error_ratio_ppm = 1000001;
	ck_assert_int_eq(hsdo_verdict_build(in, 1, &st, &e, &n, NULL), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_verdict_build(NULL, 1, &def, &e, &n, NULL), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_verdict_build(in, 1, NULL, &e, &n, NULL), -HSDO_EINVAL);
}
END_TEST

/* Counts saturate instead of wrapping. */
START_TEST(build_saturates)
{
	const struct hsdo_verdict_input in[] = {
		{ 0, 1, UINT64_MAX - 1, UINT64_MAX - 1, HSDO_CHECK_NONE },
		{ 1, 1, 10, 5, HSDO_CHECK_NONE },
	};
	struct hsdo_report_slot *e = NULL;
	size_t n = 0;

	ck_assert_int_eq(hsdo_verdict_build(in, N(in), &def, &e, &n, NULL), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(e[0].responses, UINT32_MAX);
	ck_assert_uint_eq(e[0].errors, UINT32_MAX);
	hsdo_free(e);
}
END_TEST

/* Over HSDO_REPORT_SLOTS_MAX entries: idle ones go first (highest slots
 * first), then the highest slots. */
START_TEST(build_cap)
{
	size_t total = HSDO_REPORT_SLOTS_MAX + 100, n = 0, dropped = 0, i;
	struct hsdo_verdict_input *in = calloc(total, sizeof(*in));
	struct hsdo_report_slot *e = NULL;

	ck_assert_ptr_nonnull(in);
	for (i = 0; i < total; i++) {
		in[i].slot = (uint32_t)(i + 1);
		/* every tenth slot idle (5 responses) */
		in[i].responses = i % 10 == 0 ? 5 : 50;
	}
	ck_assert_int_eq(hsdo_verdict_build(in, total, &def, &e, &n, &dropped), 0);
	ck_assert_uint_eq(n, HSDO_REPORT_SLOTS_MAX);
	ck_assert_uint_eq(dropped, 100);
	ck_assert_uint_eq(e[n - 1].slot, total);              /* the top voting slot stays */
	for (i = 0; i < n; i++)
		ck_assert(e[i].slot < total - 1000 || e[i].verdict != HSDO_VERDICT_IDLE);
	hsdo_free(e);
	/* all voting: the highest slots go */
	for (i = 0; i < total; i++)
		in[i].responses = 50;
	ck_assert_int_eq(hsdo_verdict_build(in, total, &def, &e, &n, &dropped), 0);
	ck_assert_uint_eq(n, HSDO_REPORT_SLOTS_MAX);
	ck_assert_uint_eq(dropped, 100);
	ck_assert_uint_eq(e[n - 1].slot, HSDO_REPORT_SLOTS_MAX);
	hsdo_free(e);
	free(in);
}
END_TEST

/* ---- when to write ------------------------------------------------------------------ */

#define E(slot, v) { slot, v, HSDO_CHECK_NONE, 0, 0 }
static const struct hsdo_report_slot ea[] = { E(1, HSDO_VERDICT_OK), E(2, HSDO_VERDICT_IDLE),
					      E(3, HSDO_VERDICT_FAILING) };
static const struct hsdo_report_slot eb[] = { E(1, HSDO_VERDICT_OK), E(3, HSDO_VERDICT_FAILING),
					      E(4, HSDO_VERDICT_IDLE) };
static const struct hsdo_report_slot ec[] = { E(1, HSDO_VERDICT_OK), E(3, HSDO_VERDICT_OK) };
static const struct hsdo_report_slot ed[] = { E(1, HSDO_VERDICT_OK) };

START_TEST(changed_ignores_idle_and_counts)
{
	struct hsdo_report_slot x[1] = { { 1, HSDO_VERDICT_OK, HSDO_CHECK_UP, 99, 3 } };

	ck_assert(!hsdo_verdict_changed(ea, N(ea), eb, N(eb)));
	ck_assert(hsdo_verdict_changed(ea, N(ea), ec, N(ec)));
	ck_assert(hsdo_verdict_changed(ec, N(ec), ed, N(ed)));
	ck_assert(hsdo_verdict_changed(ed, N(ed), ec, N(ec)));
	ck_assert(!hsdo_verdict_changed(ed, N(ed), x, 1));
	ck_assert(!hsdo_verdict_changed(NULL, 0, NULL, 0));
	ck_assert(hsdo_verdict_changed(NULL, 0, ed, 1));
	ck_assert(!hsdo_verdict_changed(&ea[1], 1, NULL, 0));
}
END_TEST

static const struct {
	int64_t last, now;
	bool changed;
	bool want;
} due_cases[] = {
	{ -1, 0, false, true },          /* never written */
	{ 0, 999, true, false },         /* changed, but within the gap (1 s) */
	{ 0, 1000, true, true },
	{ 0, 9999, false, false },       /* heartbeat 10 s */
	{ 0, 10000, false, true },
	{ 5000, 4000, false, true },     /* the clock went back */
};

START_TEST(due_table)
{
	ck_assert_msg(hsdo_verdict_due(due_cases[_i].last, due_cases[_i].now, due_cases[_i].changed,
				       1000, 10000) == due_cases[_i].want, "case %d", _i);
}
END_TEST

/* ---- a model: every slot recomputed from all inputs -------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

START_TEST(model_random)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL + (uint64_t)_i;
	struct hsdo_verdict_input in[64];
	struct hsdo_verdict_settings st = { 1 + _i % 30, (uint32_t)(100000 * (1 + _i % 10)) };
	struct hsdo_report_slot *e = NULL;
	size_t n, k, i, j, round;

	for (round = 0; round < 200; round++) {
		n = rnd(&seed) % N(in);
		for (i = 0; i < n; i++) {
			in[i].backend = (uint32_t)(rnd(&seed) % 3);
			in[i].slot = (uint32_t)(rnd(&seed) % 12);
			in[i].responses = rnd(&seed) % 60;
			in[i].errors = rnd(&seed) % (in[i].responses + 2);
			in[i].check = (enum hsdo_check)(rnd(&seed) % HSDO_CHECK_COUNT);
		}
		ck_assert_int_eq(hsdo_verdict_build(in, n, &st, &e, &k, NULL), 0);
		/* the model: slots 1..11 in order, each from every input */
		for (j = 0, i = 1; i < 12; i++) {
			enum hsdo_verdict v = HSDO_VERDICT_IDLE;
			enum hsdo_check c = HSDO_CHECK_NONE;
			uint64_t resp = 0, errs = 0, m;
			bool seen = false;

			for (m = 0; m < n; m++) {
				enum hsdo_verdict w;

				if (in[m].slot != i)
					continue;
				seen = true;
				w = hsdo_verdict_judge(in[m].responses, in[m].errors, in[m].check, &st);
				/* the rule, restated */
				ck_assert_int_eq(w, in[m].check == HSDO_CHECK_DOWN ||
						 (in[m].responses >= st.min_requests &&
						  (double)(in[m].errors < in[m].responses ? in[m].errors :
							   in[m].responses) * 1e6 >=
						  (double)in[m].responses * st.error_ratio_ppm) ?
						 HSDO_VERDICT_FAILING :
						 (in[m].responses >= st.min_requests ||
						  in[m].check == HSDO_CHECK_UP) ? HSDO_VERDICT_OK :
						 HSDO_VERDICT_IDLE);
				v = w > v ? w : v;
				c = in[m].check > c ? in[m].check : c;
				resp += in[m].responses;
				errs += in[m].errors < in[m].responses ? in[m].errors : in[m].responses;
			}
			if (!seen || (v == HSDO_VERDICT_IDLE && resp == 0))
				continue;
			ck_assert_uint_lt(j, k);
			ck_assert_uint_eq(e[j].slot, i);
			ck_assert_int_eq(e[j].verdict, v);
			ck_assert_int_eq(e[j].check, c);
			ck_assert_uint_eq(e[j].responses, resp);
			ck_assert_uint_eq(e[j].errors, errs);
			j++;
		}
		ck_assert_uint_eq(j, k);
		hsdo_free(e);
	}
}
END_TEST

START_TEST(alloc_failures)
{
	struct hsdo_health_params p = { 30000, 10, 64 };
	struct hsdo_verdict_input *in = NULL;
	struct hsdo_report_slot *e = NULL;
	struct hsdo_health *h = NULL;
	unsigned long i;
	size_t n = 0, k = 0;
	int rc = -1;

	ck_assert_int_eq(hsdo_health_new(&p, 0, &h), 0);
	record(h, "be_app", 1, 30, 0, 10);
	record(h, "be_app", 2, 0, 30, 10);
	for (i = 1; i < 50; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_verdict_collect(h, 20, NULL, bes, N(bes), 8, &in, &n);
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, -HSDO_ENOMEM);
		ck_assert_ptr_null(in);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(n, 2);
	for (i = 1; i < 50; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_verdict_build(in, n, &def, &e, &k, NULL);
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, -HSDO_ENOMEM);
		ck_assert_ptr_null(e);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(k, 2);
	ck_assert_int_eq(e[1].verdict, HSDO_VERDICT_FAILING);
	hsdo_free(e);
	hsdo_free(in);
	hsdo_health_free(h);
}
END_TEST

static Suite *verdict_suite(void)
{
	Suite *s = suite_create("verdict");
	TCase *tc = tcase_create("verdict");

	tcase_add_loop_test(tc, judge_table, 0, N(judge_cases));
	tcase_add_test(tc, ratio_ppm);
	tcase_add_loop_test(tc, check_table, 0, N(check_cases));
	tcase_add_test(tc, collect_from_window_and_state);
	tcase_add_test(tc, build_merges_backends);
	tcase_add_test(tc, build_bad_settings);
	tcase_add_test(tc, build_saturates);
	tcase_add_test(tc, build_cap);
	tcase_add_test(tc, changed_ignores_idle_and_counts);
	tcase_add_loop_test(tc, due_table, 0, N(due_cases));
	tcase_add_loop_test(tc, model_random, 0, 8);
	tcase_add_test(tc, alloc_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(verdict_suite());
}
