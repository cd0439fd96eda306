/* health: status classes, parameters, the sliding window at and around
 * every bucket boundary, time going back and jumping far ahead, the key cap
 * and name rules (dropped responses), growth to many keys, allocation
 * failure at every step, server-template slot names, and a brute-force
 * model replayed against random event streams for several window shapes. */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/health.h"
#include "hsdo_test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define S(s) s, strlen(s)

static struct hsdo_health *mk(int64_t window, unsigned buckets, size_t keys, int64_t now)
{
	struct hsdo_health_params p = { window, buckets, keys };
	struct hsdo_health *h = NULL;

	ck_assert_int_eq(hsdo_health_new(&p, now, &h), 0);
	ck_assert_ptr_nonnull(h);
	return h;
}

static struct hsdo_health_stats get(const struct hsdo_health *h, const char *be, uint32_t slot,
				    int64_t now)
{
	struct hsdo_health_stats st;

	ck_assert_msg(hsdo_health_find(h, S(be), slot, now, &st) == 0, "%s/%u not found", be, slot);
	return st;
}

/* ---- classes ---------------------------------------------------------------------- */

static const struct {
	int64_t status;
	enum hsdo_health_class c;
} class_cases[] = {
	{ INT64_MIN, HSDO_HEALTH_NONE }, { -1, HSDO_HEALTH_NONE }, { 0, HSDO_HEALTH_NONE },
	{ 99, HSDO_HEALTH_NONE }, { 100, HSDO_HEALTH_1XX }, { 101, HSDO_HEALTH_1XX },
	{ 199, HSDO_HEALTH_1XX }, { 200, HSDO_HEALTH_2XX }, { 204, HSDO_HEALTH_2XX },
	{ 299, HSDO_HEALTH_2XX }, { 300, HSDO_HEALTH_3XX }, { 302, HSDO_HEALTH_3XX },
	{ 399, HSDO_HEALTH_3XX }, { 400, HSDO_HEALTH_4XX }, { 404, HSDO_HEALTH_4XX },
	{ 499, HSDO_HEALTH_4XX }, { 500, HSDO_HEALTH_5XX }, { 503, HSDO_HEALTH_5XX },
	{ 599, HSDO_HEALTH_5XX }, { 600, HSDO_HEALTH_NONE }, { 999, HSDO_HEALTH_NONE },
	{ 1000, HSDO_HEALTH_NONE }, { INT64_MAX, HSDO_HEALTH_NONE },
};

START_TEST(class_table)
{
	ck_assert_msg(hsdo_health_class_of(class_cases[_i].status) == class_cases[_i].c,
		      "status %" PRId64, class_cases[_i].status);
}
END_TEST

START_TEST(class_names)
{
	static const char *const want[] = { "1xx", "2xx", "3xx", "4xx", "5xx", "none" };
	unsigned c;

	for (c = 0; c < HSDO_HEALTH_CLASS_COUNT; c++) {
		ck_assert_str_eq(hsdo_health_class_str((enum hsdo_health_class)c), want[c]);
		ck_assert_int_eq(hsdo_health_class_is_error((enum hsdo_health_class)c),
				 c == HSDO_HEALTH_5XX || c == HSDO_HEALTH_NONE);
	}
	ck_assert_str_eq(hsdo_health_class_str(HSDO_HEALTH_CLASS_COUNT), "unknown");
	ck_assert_str_eq(hsdo_health_class_str((enum hsdo_health_class)-1), "unknown");
	ck_assert(!hsdo_health_class_is_error(HSDO_HEALTH_CLASS_COUNT));
}
END_TEST

/* ---- parameters ------------------------------------------------------------------ */

static const struct {
	int64_t window;
	unsigned buckets;
	size_t keys;
	int64_t now;
	int rc;
} param_cases[] = {
	{ 60000, 10, 4096, 0, 0 },
	{ 1, 1, 1, 0, 0 },                                   /* smallest */
	{ HSDO_HEALTH_WINDOW_MAX, HSDO_HEALTH_BUCKETS_MAX, HSDO_HEALTH_KEYS_MAX, INT64_MAX, 0 },
	{ 600, 600, 1, 0, 0 },                               /* 1 ms buckets */
	{ 599, 600, 1, 0, -HSDO_EINVAL },                    /* < 1 ms buckets */
	{ 0, 1, 1, 0, -HSDO_EINVAL },
	{ -1, 1, 1, 0, -HSDO_EINVAL },
	{ HSDO_HEALTH_WINDOW_MAX + 1, 10, 1, 0, -HSDO_EINVAL },
	{ 60000, 0, 1, 0, -HSDO_EINVAL },
	{ 60000, HSDO_HEALTH_BUCKETS_MAX + 1, 1, 0, -HSDO_EINVAL },
	{ 60000, 10, 0, 0, -HSDO_EINVAL },
	{ 60000, 10, HSDO_HEALTH_KEYS_MAX + 1, 0, -HSDO_EINVAL },
	{ 60000, 10, 10, -1, -HSDO_EINVAL },
};

START_TEST(param_table)
{
	struct hsdo_health_params p = { param_cases[_i].window, param_cases[_i].buckets,
					param_cases[_i].keys };
	struct hsdo_health *h = (struct hsdo_health *)&p;   /* must stay untouched on error */
	int rc = hsdo_health_new(&p, param_cases[_i].now, &h);

	ck_assert_int_eq(rc, param_cases[_i].rc);
	if (rc == 0) {
		ck_assert_int_eq(hsdo_health_window_ms(h), param_cases[_i].window);
		ck_assert_uint_eq(hsdo_health_count(h), 0);
		ck_assert_int_eq(hsdo_health_record(h, S("be"), 1, HSDO_HEALTH_2XX,
						    param_cases[_i].now), 0);
		ck_assert_uint_eq(get(h, "be", 1, param_cases[_i].now).window[HSDO_HEALTH_2XX], 1);
		hsdo_health_free(h);
	} else {
		ck_assert_ptr_eq(h, (struct hsdo_health *)&p);
	}
}
END_TEST

START_TEST(defaults_and_null)
{
	struct hsdo_health_params p;
	struct hsdo_health *h = NULL;
	struct hsdo_health_stats st;

	hsdo_health_params_default(&p);
	ck_assert_int_eq(p.window_ms, 60000);
	ck_assert_uint_eq(p.buckets, 10);
	ck_assert_uint_eq(p.max_keys, 4096);
	ck_assert_int_eq(hsdo_health_new(NULL, 0, &h), 0);
	ck_assert_int_eq(hsdo_health_window_ms(h), 60000);
	hsdo_health_free(h);
	ck_assert_int_eq(hsdo_health_new(NULL, 0, NULL), -HSDO_EINVAL);
	hsdo_health_free(NULL);
	ck_assert_uint_eq(hsdo_health_count(NULL), 0);
	ck_assert_uint_eq(hsdo_health_dropped(NULL), 0);
	ck_assert_int_eq(hsdo_health_window_ms(NULL), 0);
	ck_assert_int_eq(hsdo_health_record(NULL, S("be"), 1, HSDO_HEALTH_2XX, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_health_find(NULL, S("be"), 1, 0, &st), -HSDO_ENOTFOUND);
	ck_assert_ptr_null(st.backend);
	hsdo_health_get(NULL, 0, 0, &st);
	ck_assert_ptr_null(st.backend);
}
END_TEST

/* ---- counting ------------------------------------------------------------------------ */

START_TEST(counts_by_key_and_class)
{
	struct hsdo_health *h = mk(60000, 10, 100, 1000);
	struct hsdo_health_stats st;
	static const int64_t statuses[] = { 200, 200, 201, 302, 404, 500, 503, -1, 101, 700 };
	size_t i;

	for (i = 0; i < NELEM(statuses); i++)
		ck_assert_int_eq(hsdo_health_record(h, S("be_app"), 1,
						    hsdo_health_class_of(statuses[i]), 1000), 0);
	ck_assert_int_eq(hsdo_health_record(h, S("be_app"), 2, HSDO_HEALTH_2XX, 1000), 0);
	ck_assert_int_eq(hsdo_health_record(h, S("be"), 1, HSDO_HEALTH_4XX, 1000), 0);   /* prefix */
	ck_assert_int_eq(hsdo_health_record(h, S("be_app2"), 1, HSDO_HEALTH_5XX, 1000), 0);
	ck_assert_int_eq(hsdo_health_record(h, S("be_app"), 0, HSDO_HEALTH_NONE, 1000), 0);
	ck_assert_uint_eq(hsdo_health_count(h), 5);

	st = get(h, "be_app", 1, 1000);
	ck_assert_str_eq(st.backend, "be_app");
	ck_assert_uint_eq(st.slot, 1);
	ck_assert_uint_eq(st.total[HSDO_HEALTH_1XX], 1);
	ck_assert_uint_eq(st.total[HSDO_HEALTH_2XX], 3);
	ck_assert_uint_eq(st.total[HSDO_HEALTH_3XX], 1);
	ck_assert_uint_eq(st.total[HSDO_HEALTH_4XX], 1);
	ck_assert_uint_eq(st.total[HSDO_HEALTH_5XX], 2);
	ck_assert_uint_eq(st.total[HSDO_HEALTH_NONE], 2);
	ck_assert_mem_eq(st.window, st.total, sizeof(st.total));
	ck_assert_uint_eq(st.window_total, 10);
	ck_assert_uint_eq(st.window_errors, 4);

	/* order of appearance */
	hsdo_health_get(h, 0, 1000, &st);
	ck_assert(strcmp(st.backend, "be_app") == 0 && st.slot == 1);
	hsdo_health_get(h, 1, 1000, &st);
	ck_assert(strcmp(st.backend, "be_app") == 0 && st.slot == 2 && st.total[HSDO_HEALTH_2XX] == 1);
	hsdo_health_get(h, 2, 1000, &st);
	ck_assert(strcmp(st.backend, "be") == 0 && st.slot == 1 && st.window_total == 1);
	hsdo_health_get(h, 3, 1000, &st);
	ck_assert(strcmp(st.backend, "be_app2") == 0 && st.window_errors == 1);
	hsdo_health_get(h, 4, 1000, &st);
	ck_assert(strcmp(st.backend, "be_app") == 0 && st.slot == 0 && st.window_errors == 1);
	hsdo_health_get(h, 5, 1000, &st);
	ck_assert_ptr_null(st.backend);
	ck_assert_uint_eq(st.window_total, 0);

	ck_assert_int_eq(hsdo_health_find(h, S("be_ap"), 1, 1000, &st), -HSDO_ENOTFOUND);
	ck_assert_int_eq(hsdo_health_find(h, S("be_app"), 3, 1000, &st), -HSDO_ENOTFOUND);
	ck_assert_int_eq(hsdo_health_find(h, "", 0, 1, 1000, &st), -HSDO_ENOTFOUND);
	ck_assert_uint_eq(hsdo_health_dropped(h), 0);
	hsdo_health_free(h);
}
END_TEST

/* Window 60 s, 10 buckets of 6 s. */
START_TEST(window_boundaries)
{
	struct hsdo_health *h = mk(60000, 10, 10, 0);

	ck_assert_int_eq(hsdo_health_record(h, S("b"), 1, HSDO_HEALTH_2XX, 0), 0);
	ck_assert_int_eq(hsdo_health_record(h, S("b"), 1, HSDO_HEALTH_2XX, 5999), 0);
	ck_assert_int_eq(hsdo_health_record(h, S("b"), 1, HSDO_HEALTH_5XX, 6000), 0);
	ck_assert_uint_eq(get(h, "b", 1, 6000).window_total, 3);
	/* bucket 0 is in the window until bucket 10 starts */
	ck_assert_uint_eq(get(h, "b", 1, 59999).window_total, 3);
	ck_assert_uint_eq(get(h, "b", 1, 60000).window_total, 1);
	ck_assert_uint_eq(get(h, "b", 1, 60000).window_errors, 1);
	ck_assert_uint_eq(get(h, "b", 1, 65999).window_total, 1);
	ck_assert_uint_eq(get(h, "b", 1, 66000).window_total, 0);
	/* reading is pure: an earlier time still sees everything */
	ck_assert_uint_eq(get(h, "b", 1, 100).window_total, 3);
	ck_assert_uint_eq(get(h, "b", 1, 66000).total[HSDO_HEALTH_2XX], 2);

	/* a record at 60000 reuses bucket 0: its old counts go */
	ck_assert_int_eq(hsdo_health_record(h, S("b"), 1, HSDO_HEALTH_4XX, 60000), 0);
	ck_assert_uint_eq(get(h, "b", 1, 60000).window_total, 2);
	ck_assert_uint_eq(get(h, "b", 1, 60000).window[HSDO_HEALTH_2XX], 0);
	/* now that time reached 60000, an earlier query is answered at 60000 */
	ck_assert_uint_eq(get(h, "b", 1, 0).window_total, 2);
	ck_assert_uint_eq(get(h, "b", 1, 0).total[HSDO_HEALTH_2XX], 2);
	hsdo_health_free(h);
}
END_TEST

START_TEST(window_time_back_and_jump)
{
	struct hsdo_health *h = mk(1000, 4, 10, 10000);   /* 250 ms buckets */
	struct hsdo_health_stats st;

	ck_assert_int_eq(hsdo_health_record(h, S("b"), 7, HSDO_HEALTH_2XX, 10000), 0);
	ck_assert_int_eq(hsdo_health_record(h, S("b"), 7, HSDO_HEALTH_2XX, 10600), 0);
	/* back in time: counted in the current bucket (10500..10749) */
	ck_assert_int_eq(hsdo_health_record(h, S("b"), 7, HSDO_HEALTH_3XX, 5), 0);
	ck_assert_int_eq(hsdo_health_record(h, S("b"), 7, HSDO_HEALTH_3XX, -5), 0);
	st = get(h, "b", 7, 10700);
	ck_assert_uint_eq(st.window_total, 4);
	st = get(h, "b", 7, 11000);     /* bucket 44: window 41..44 */
	ck_assert_uint_eq(st.window_total, 3);
	ck_assert_uint_eq(st.window[HSDO_HEALTH_3XX], 2);
	st = get(h, "b", 7, 11499);     /* bucket 45: 42..45 */
	ck_assert_uint_eq(st.window_total, 3);
	st = get(h, "b", 7, 11500);     /* bucket 46: 43..46 */
	ck_assert_uint_eq(st.window_total, 0);
	/* a jump far past the window empties every bucket */
	ck_assert_int_eq(hsdo_health_record(h, S("b"), 8, HSDO_HEALTH_4XX, 10000000), 0);
	st = get(h, "b", 7, 10000000);
	ck_assert_uint_eq(st.window_total, 0);
	ck_assert_uint_eq(st.total[HSDO_HEALTH_2XX], 2);
	ck_assert_uint_eq(st.total[HSDO_HEALTH_3XX], 2);
	ck_assert_uint_eq(get(h, "b", 8, 10000000).window_total, 1);
	ck_assert_uint_eq(get(h, "b", 8, 10000249).window_total, 1);
	ck_assert_uint_eq(get(h, "b", 8, 10001000).window_total, 0);
	hsdo_health_free(h);
}
END_TEST

/* One bucket: the window is the current bucket only. */
START_TEST(window_one_bucket)
{
	struct hsdo_health *h = mk(100, 1, 10, 0);

	ck_assert_int_eq(hsdo_health_record(h, S("b"), 1, HSDO_HEALTH_2XX, 0), 0);
	ck_assert_int_eq(hsdo_health_record(h, S("b"), 1, HSDO_HEALTH_2XX, 99), 0);
	ck_assert_uint_eq(get(h, "b", 1, 99).window_total, 2);
	ck_assert_uint_eq(get(h, "b", 1, 100).window_total, 0);
	ck_assert_int_eq(hsdo_health_record(h, S("b"), 1, HSDO_HEALTH_2XX, 150), 0);
	ck_assert_uint_eq(get(h, "b", 1, 199).window_total, 1);
	ck_assert_uint_eq(get(h, "b", 1, 199).total[HSDO_HEALTH_2XX], 3);
	hsdo_health_free(h);
}
END_TEST

/* ---- bounds: names and the key cap ----------------------------------------------------- */

START_TEST(names_and_cap)
{
	struct hsdo_health *h = mk(60000, 10, 3, 0);
	char name[200];
	uint64_t dropped = 0;

	memset(name, 'x', sizeof(name));
	ck_assert_int_eq(hsdo_health_record(h, name, HSDO_HEALTH_BACKEND_MAX, 1, HSDO_HEALTH_2XX, 0), 0);
	ck_assert_int_eq(hsdo_health_record(h, name, HSDO_HEALTH_BACKEND_MAX + 1, 1,
					    HSDO_HEALTH_2XX, 0), -HSDO_ETOOBIG);
	ck_assert_uint_eq(hsdo_health_dropped(h), ++dropped);
	ck_assert_int_eq(hsdo_health_record(h, "", 0, 1, HSDO_HEALTH_2XX, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_health_record(h, NULL, 3, 1, HSDO_HEALTH_2XX, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_health_record(h, "a b", 3, 1, HSDO_HEALTH_2XX, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_health_record(h, "a\0b", 3, 1, HSDO_HEALTH_2XX, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_health_record(h, "a\x7f", 2, 1, HSDO_HEALTH_2XX, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_health_record(h, "\xc3\xa9", 2, 1, HSDO_HEALTH_2XX, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_health_record(h, "a\n", 2, 1, HSDO_HEALTH_2XX, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_health_record(h, S("ok"), 1, HSDO_HEALTH_CLASS_COUNT, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_health_record(h, S("ok"), 1, (enum hsdo_health_class)-1, 0), -HSDO_EINVAL);
	dropped += 9;
	ck_assert_uint_eq(hsdo_health_dropped(h), dropped);
	ck_assert_uint_eq(hsdo_health_count(h), 1);
	ck_assert_int_eq(hsdo_health_record(h, "!~", 2, 1, HSDO_HEALTH_2XX, 0), 0);
	ck_assert_int_eq(hsdo_health_record(h, S("be"), 1, HSDO_HEALTH_2XX, 0), 0);
	/* three keys: a fourth is dropped, the three keep counting */
	ck_assert_int_eq(hsdo_health_record(h, S("be"), 2, HSDO_HEALTH_2XX, 0), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_health_record(h, S("other"), 1, HSDO_HEALTH_5XX, 0), -HSDO_ETOOBIG);
	dropped += 2;
	ck_assert_int_eq(hsdo_health_record(h, S("be"), 1, HSDO_HEALTH_2XX, 0), 0);
	ck_assert_int_eq(hsdo_health_record(h, name, HSDO_HEALTH_BACKEND_MAX, 1, HSDO_HEALTH_4XX, 0), 0);
	ck_assert_uint_eq(hsdo_health_dropped(h), dropped);
	ck_assert_uint_eq(hsdo_health_count(h), 3);
	ck_assert_uint_eq(get(h, "be", 1, 0).total[HSDO_HEALTH_2XX], 2);
	name[HSDO_HEALTH_BACKEND_MAX] = '\0';
	ck_assert_uint_eq(get(h, name, 1, 0).window_total, 2);
	ck_assert_uint_eq(strlen(get(h, name, 1, 0).backend), HSDO_HEALTH_BACKEND_MAX);
	hsdo_health_free(h);
}
END_TEST

START_TEST(many_keys)
{
	enum { N = 20000 };
	struct hsdo_health *h = mk(60000, 10, N, 0);
	struct hsdo_health_stats st;
	char be[32];
	size_t i;

	for (i = 0; i < N; i++) {
		snprintf(be, sizeof(be), "be%zu", i % 97);
		ck_assert_int_eq(hsdo_health_record(h, S(be), (uint32_t)(i / 97),
						    (enum hsdo_health_class)(i % 6), (int64_t)i), 0);
	}
	ck_assert_int_eq(hsdo_health_record(h, S("be0"), 100000, HSDO_HEALTH_2XX, N), -HSDO_ETOOBIG);
	ck_assert_uint_eq(hsdo_health_count(h), N);
	for (i = 0; i < N; i++) {
		snprintf(be, sizeof(be), "be%zu", i % 97);
		ck_assert_int_eq(hsdo_health_find(h, S(be), (uint32_t)(i / 97), N, &st), 0);
		ck_assert_uint_eq(st.total[i % 6], 1);
		ck_assert_uint_eq(st.window_total, 1);
		hsdo_health_get(h, i, N, &st);
		ck_assert_str_eq(st.backend, be);
		ck_assert_uint_eq(st.slot, i / 97);
	}
	hsdo_health_free(h);
}
END_TEST

/* An allocation failing at any step drops that one response and nothing
 * else; the next record of the same key succeeds. */
START_TEST(alloc_failures)
{
	unsigned long step;
	size_t i, fails = 0;
	char be[16];

	for (step = 1; step < 200; step++) {
		struct hsdo_health *h = NULL;
		struct hsdo_health_stats st;
		int rc, failed = -1;

		hsdo_alloc_fail_at(step, 0);
		rc = hsdo_health_new(NULL, 0, &h);
		if (rc != 0) {
			hsdo_alloc_fail_at(0, 0);
			ck_assert_int_eq(rc, -HSDO_ENOMEM);
			ck_assert_ptr_null(h);
			fails++;
			continue;
		}
		for (i = 0; i < 60; i++) {
			snprintf(be, sizeof(be), "be%zu", i);
			rc = hsdo_health_record(h, S(be), 1, HSDO_HEALTH_2XX, 0);
			if (rc != 0) {
				ck_assert_int_eq(rc, -HSDO_ENOMEM);
				ck_assert_int_eq(failed, -1);
				failed = (int)i;
			}
		}
		hsdo_alloc_fail_at(0, 0);
		fails += failed >= 0;
		ck_assert_uint_eq(hsdo_health_dropped(h), failed >= 0);
		ck_assert_uint_eq(hsdo_health_count(h), failed >= 0 ? 59 : 60);
		for (i = 0; i < 60; i++) {
			snprintf(be, sizeof(be), "be%zu", i);
			ck_assert_int_eq(hsdo_health_find(h, S(be), 1, 0, &st),
					 (int)i == failed ? -HSDO_ENOTFOUND : 0);
			ck_assert_int_eq(hsdo_health_record(h, S(be), 1, HSDO_HEALTH_4XX, 0), 0);
			st = get(h, be, 1, 0);
			ck_assert_uint_eq(st.window_total, (int)i == failed ? 1 : 2);
		}
		hsdo_health_free(h);
	}
	ck_assert_uint_gt(fails, 5);
}
END_TEST

/* ---- a model: every event kept, the window recomputed from scratch ------------------- */

struct ev {
	unsigned key;
	enum hsdo_health_class c;
	int64_t bucket;   /* effective: never before an earlier event's */
};

START_TEST(model_random)
{
	static const struct {
		int64_t window;
		unsigned nb;
	} shapes[] = { { 60000, 10 }, { 1000, 1 }, { 1000, 3 }, { 700, 7 }, { 1003, 10 }, { 50, 50 } };
	enum { NEV = 3000, NKEY = 12 };
	const int64_t window = shapes[_i].window;
	const unsigned nb = shapes[_i].nb;
	const int64_t width = window / nb;
	struct ev *evs = calloc(NEV, sizeof(*evs));
	struct hsdo_health *h;
	int64_t now = 123456, maxb;
	unsigned seed = 42u + (unsigned)_i, k, c;
	size_t n = 0, i, j;
	char be[16];

	ck_assert_ptr_nonnull(evs);
	h = mk(window, nb, NKEY, now);
	maxb = now / width;
	for (i = 0; i < NEV; i++) {
		unsigned r = (unsigned)rand_r(&seed);

		/* mostly forward by up to a bucket, sometimes a window, sometimes back */
		if (r % 50 == 0)
			now -= (int64_t)(r % (unsigned)(2 * window));
		else if (r % 17 == 0)
			now += window + (int64_t)(r % (unsigned)window);
		else
			now += (int64_t)(r % (unsigned)(width + 1)) / 3;
		if (now < 0)
			now = 0;
		k = (unsigned)rand_r(&seed) % NKEY;
		c = (unsigned)rand_r(&seed) % HSDO_HEALTH_CLASS_COUNT;
		snprintf(be, sizeof(be), "be%u", k % 4);
		ck_assert_int_eq(hsdo_health_record(h, S(be), k / 4, (enum hsdo_health_class)c, now), 0);
		if (now / width > maxb)
			maxb = now / width;
		evs[n].key = k;
		evs[n].c = (enum hsdo_health_class)c;
		evs[n].bucket = maxb;
		n++;
		if (i % 7 != 0)
			continue;
		/* query every key at a time at or a little after the last one */
		for (k = 0; k < NKEY; k++) {
			struct hsdo_health_stats st;
			uint64_t tot[HSDO_HEALTH_CLASS_COUNT] = { 0 }, win[HSDO_HEALTH_CLASS_COUNT] = { 0 };
			int64_t qt = now + (int64_t)((unsigned)rand_r(&seed) % (unsigned)window);
			int64_t q = qt / width > maxb ? qt / width : maxb;

			snprintf(be, sizeof(be), "be%u", k % 4);
			for (j = 0; j < n; j++) {
				if (evs[j].key != k)
					continue;
				tot[evs[j].c]++;
				if (evs[j].bucket > q - (int64_t)nb)
					win[evs[j].c]++;
			}
			if (hsdo_health_find(h, S(be), k / 4, qt, &st) != 0) {
				for (c = 0; c < HSDO_HEALTH_CLASS_COUNT; c++)
					ck_assert_uint_eq(tot[c], 0);
				continue;
			}
			for (c = 0; c < HSDO_HEALTH_CLASS_COUNT; c++) {
				ck_assert_msg(st.total[c] == tot[c], "shape %d ev %zu key %u class %u total",
					      _i, i, k, c);
				ck_assert_msg(st.window[c] == win[c], "shape %d ev %zu key %u class %u: "
					      "window %" PRIu64 ", model %" PRIu64, _i, i, k, c,
					      st.window[c], win[c]);
			}
		}
	}
	hsdo_health_free(h);
	free(evs);
}
END_TEST

static Suite *health_suite(void)
{
	Suite *s = suite_create("health");
	TCase *tc = tcase_create("classes");

	tcase_add_loop_test(tc, class_table, 0, (int)NELEM(class_cases));
	tcase_add_test(tc, class_names);
	tcase_add_loop_test(tc, param_table, 0, (int)NELEM(param_cases));
	tcase_add_test(tc, defaults_and_null);
	suite_add_tcase(s, tc);

	tc = tcase_create("window");
	tcase_add_test(tc, counts_by_key_and_class);
	tcase_add_test(tc, window_boundaries);
	tcase_add_test(tc, window_time_back_and_jump);
	tcase_add_test(tc, window_one_bucket);
	tcase_add_loop_test(tc, model_random, 0, 6);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_add_test(tc, names_and_cap);
	tcase_add_test(tc, many_keys);
	tcase_add_test(tc, alloc_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(health_suite());
}
