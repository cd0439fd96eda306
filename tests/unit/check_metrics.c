/* Metrics registry and text format 0.0.4: exact rendering of a small
 * registry, escaping, histogram buckets, value formatting, descriptor
 * validation, update errors, bounds, and every allocation failing in turn. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/metrics.h"
#include "hsdo_test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const double lat_buckets[] = { 0.25, 0.5, 1 };
static const double size_buckets[] = { 1024 };

enum { F_REQ, F_EMPTY, F_TEMP, F_LAT, F_SIZE };
static const struct hsdo_metrics_family_desc small[] = {
	[F_REQ] = { .name = "t_requests", .help = "Requests handled.",
		    .type = HSDO_METRICS_COUNTER, .labels = { "code", "method" } },
	[F_EMPTY] = { .name = "t_empty", .help = "Never set: not rendered.",
		      .type = HSDO_METRICS_GAUGE },
	[F_TEMP] = { .name = "t_temperature_celsius",
		     .help = "Help with \\ and\nnewline \"quoted\".", .type = HSDO_METRICS_GAUGE },
	[F_LAT] = { .name = "t_latency_seconds", .help = "Latency.",
		    .type = HSDO_METRICS_HISTOGRAM, .labels = { "path" },
		    .buckets = lat_buckets, .nbuckets = N(lat_buckets) },
	[F_SIZE] = { .name = "t_size_bytes", .help = "Sizes.", .type = HSDO_METRICS_HISTOGRAM,
		     .buckets = size_buckets, .nbuckets = N(size_buckets) },
};

static const char golden[] =
	"# HELP t_requests_total Requests handled.\n"
	"# TYPE t_requests_total counter\n"
	"t_requests_total{code=\"200\",method=\"GET\"} 5\n"
	"t_requests_total{code=\"500\",method=\"POST\"} 1\n"
	"# HELP t_temperature_celsius Help with \\\\ and\\nnewline \"quoted\".\n"
	"# TYPE t_temperature_celsius gauge\n"
	"t_temperature_celsius -3.5\n"
	"# HELP t_latency_seconds Latency.\n"
	"# TYPE t_latency_seconds histogram\n"
	"t_latency_seconds_bucket{path=\"/a\",le=\"0.25\"} 2\n"
	"t_latency_seconds_bucket{path=\"/a\",le=\"0.5\"} 2\n"
	"t_latency_seconds_bucket{path=\"/a\",le=\"1\"} 3\n"
	"t_latency_seconds_bucket{path=\"/a\",le=\"+Inf\"} 4\n"
	"t_latency_seconds_sum{path=\"/a\"} 4.125\n"
	"t_latency_seconds_count{path=\"/a\"} 4\n"
	"t_latency_seconds_bucket{path=\"/b\",le=\"0.25\"} 0\n"
	"t_latency_seconds_bucket{path=\"/b\",le=\"0.5\"} 0\n"
	"t_latency_seconds_bucket{path=\"/b\",le=\"1\"} 0\n"
	"t_latency_seconds_bucket{path=\"/b\",le=\"+Inf\"} 0\n"
	"t_latency_seconds_sum{path=\"/b\"} 0\n"
	"t_latency_seconds_count{path=\"/b\"} 0\n"
	"# HELP t_size_bytes Sizes.\n"
	"# TYPE t_size_bytes histogram\n"
	"t_size_bytes_bucket{le=\"1024\"} 0\n"
	"t_size_bytes_bucket{le=\"+Inf\"} 1\n"
	"t_size_bytes_sum 2048\n"
	"t_size_bytes_count 1\n";

/* The updates behind `golden`; stops at the first error and returns it. */
static int fill_small(struct hsdo_metrics *m)
{
	const char *ok_get[] = { "200", "GET" }, *err_post[] = { "500", "POST" };
	const char *a[] = { "/a" }, *b[] = { "/b" };
	int rc;

	if ((rc = hsdo_metrics_add(m, F_REQ, ok_get, 3)) != 0 ||
	    (rc = hsdo_metrics_add(m, F_REQ, err_post, 1)) != 0 ||
	    (rc = hsdo_metrics_add(m, F_REQ, ok_get, 2)) != 0 ||
	    (rc = hsdo_metrics_set(m, F_TEMP, NULL, -3.5)) != 0 ||
	    (rc = hsdo_metrics_observe(m, F_LAT, a, 0.125)) != 0 ||
	    (rc = hsdo_metrics_observe(m, F_LAT, a, 0.25)) != 0 ||   /* on a bound: le="0.25" */
	    (rc = hsdo_metrics_observe(m, F_LAT, a, 0.75)) != 0 ||
	    (rc = hsdo_metrics_observe(m, F_LAT, a, 3)) != 0 ||      /* past the last: +Inf only */
	    (rc = hsdo_metrics_touch(m, F_LAT, b)) != 0 ||
	    (rc = hsdo_metrics_observe(m, F_SIZE, NULL, 2048)) != 0)
		return rc;
	return 0;
}

static struct hsdo_metrics *new_small(void)
{
	struct hsdo_metrics *m = NULL;
	char err[200] = "";

	ck_assert_msg(hsdo_metrics_new(small, N(small), &m, err, sizeof(err)) == 0, "%s", err);
	return m;
}

static char *render(const struct hsdo_metrics *m)
{
	char *out = NULL;
	size_t len = 0;

	ck_assert_int_eq(hsdo_metrics_render(m, &out, &len), 0);
	ck_assert_uint_eq(len, strlen(out));
	return out;
}

START_TEST(golden_small_registry)
{
	struct hsdo_metrics *m = new_small();
	char *out;

	ck_assert_int_eq(fill_small(m), 0);
	out = render(m);
	ck_assert_str_eq(out, golden);
	hsdo_free(out);
	hsdo_metrics_free(m);
	hsdo_metrics_free(NULL);
}
END_TEST

START_TEST(empty_registry_renders_nothing)
{
	struct hsdo_metrics *m = new_small();
	char *out = render(m);

	ck_assert_str_eq(out, "");
	hsdo_free(out);
	hsdo_metrics_free(m);
}
END_TEST

START_TEST(label_value_escaping)
{
	struct hsdo_metrics *m = new_small();
	const char *v[] = { "a\\b\"c\nd", "é ☃ 😀 {x=\"y\"}" };
	char *out;

	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, v, 1), 0);
	out = render(m);
	ck_assert_msg(strstr(out, "t_requests_total{code=\"a\\\\b\\\"c\\nd\","
			     "method=\"é ☃ 😀 {x=\\\"y\\\"}\"} 1\n") != NULL, "%s", out);
	hsdo_free(out);
	hsdo_metrics_free(m);
}
END_TEST

static const struct {
	double v;
	const char *text;
} values[] = {
	{ 0, "0" }, { -0.0, "0" }, { 1, "1" }, { -42, "-42" }, { 0.1, "0.1" },
	{ 0.1 + 0.2, "0.30000000000000004" }, { 1.5e-7, "1.5e-07" },
	{ 9007199254740991.0, "9007199254740991" }, { 1e21, "1e+21" },
	{ 1234567.25, "1234567.25" }, { INFINITY, "+Inf" }, { -INFINITY, "-Inf" },
	{ NAN, "NaN" },
};

START_TEST(value_formatting)
{
	struct hsdo_metrics *m = new_small();
	char want[64], *out;

	ck_assert_int_eq(hsdo_metrics_set(m, F_TEMP, NULL, values[_i].v), 0);
	out = render(m);
	snprintf(want, sizeof(want), "\nt_temperature_celsius %s\n", values[_i].text);
	ck_assert_msg(strstr(out, want) != NULL, "want %s in %s", values[_i].text, out);
	hsdo_free(out);
	hsdo_metrics_free(m);
}
END_TEST

START_TEST(histogram_buckets)
{
	static const double bk[] = { 0.005, 0.01, 0.1, 1, 10 };
	static const struct hsdo_metrics_family_desc d[] = {
		{ .name = "h", .help = "h", .type = HSDO_METRICS_HISTOGRAM, .labels = { "mode" },
		  .buckets = bk, .nbuckets = N(bk) },
	};
	static const double obs[] = { 0.001, 0.005, 0.0051, 0.05, 0.5, 0.5, 5, 50, -1, INFINITY };
	const char *mode[] = { "client" };
	struct hsdo_metrics *m = NULL;
	char *out;
	size_t i;

	ck_assert_int_eq(hsdo_metrics_new(d, N(d), &m, NULL, 0), 0);
	for (i = 0; i < N(obs); i++)
		ck_assert_int_eq(hsdo_metrics_observe(m, 0, mode, obs[i]), 0);
	ck_assert_int_eq(hsdo_metrics_observe(m, 0, mode, NAN), -HSDO_EINVAL);
	out = render(m);
	ck_assert_str_eq(out,
		"# HELP h h\n# TYPE h histogram\n"
		"h_bucket{mode=\"client\",le=\"0.005\"} 3\n"
		"h_bucket{mode=\"client\",le=\"0.01\"} 4\n"
		"h_bucket{mode=\"client\",le=\"0.1\"} 5\n"
		"h_bucket{mode=\"client\",le=\"1\"} 7\n"
		"h_bucket{mode=\"client\",le=\"10\"} 8\n"
		"h_bucket{mode=\"client\",le=\"+Inf\"} 10\n"
		"h_sum{mode=\"client\"} +Inf\n"
		"h_count{mode=\"client\"} 10\n");
	hsdo_free(out);
	hsdo_metrics_free(m);
}
END_TEST

static const double b_bad[] = { 1, 1 };
static const double b_nan[] = { NAN };
static const struct {
	struct hsdo_metrics_family_desc d;
	const char *why;
} bad_descs[] = {
	{ { .name = "", .help = "x", .type = HSDO_METRICS_GAUGE }, "invalid metric name" },
	{ { .name = "9lives", .help = "x", .type = HSDO_METRICS_GAUGE }, "invalid metric name" },
	{ { .name = "a-b", .help = "x", .type = HSDO_METRICS_GAUGE }, "invalid metric name" },
	{ { .name = "a", .help = NULL, .type = HSDO_METRICS_GAUGE }, "no help text" },
	{ { .name = "a", .help = "x", .type = HSDO_METRICS_TYPE_COUNT }, "unknown type" },
	{ { .name = "a_total", .help = "x", .type = HSDO_METRICS_COUNTER }, "omit '_total'" },
	{ { .name = "a", .help = "x", .type = HSDO_METRICS_GAUGE, .labels = { "__name" } },
	  "invalid label name" },
	{ { .name = "a", .help = "x", .type = HSDO_METRICS_GAUGE, .labels = { "a:b" } },
	  "invalid label name" },
	{ { .name = "a", .help = "x", .type = HSDO_METRICS_GAUGE, .labels = { "x", "x" } },
	  "given twice" },
	{ { .name = "a", .help = "x", .type = HSDO_METRICS_HISTOGRAM, .labels = { "le" },
	    .buckets = lat_buckets, .nbuckets = 1 }, "invalid label name 'le'" },
	{ { .name = "a", .help = "x", .type = HSDO_METRICS_HISTOGRAM }, "needs 1..32 buckets" },
	{ { .name = "a", .help = "x", .type = HSDO_METRICS_HISTOGRAM, .buckets = b_bad,
	    .nbuckets = 2 }, "strictly increasing" },
	{ { .name = "a", .help = "x", .type = HSDO_METRICS_HISTOGRAM, .buckets = b_nan,
	    .nbuckets = 1 }, "finite" },
	{ { .name = "t_empty", .help = "x", .type = HSDO_METRICS_GAUGE }, "defined twice" },
};

START_TEST(invalid_descriptors)
{
	struct hsdo_metrics_family_desc d[2] = { small[F_EMPTY], bad_descs[_i].d };
	struct hsdo_metrics *m = NULL;
	char err[200] = "";

	ck_assert_int_eq(hsdo_metrics_new(d, 2, &m, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(err, bad_descs[_i].why) != NULL, "case %d: %s", _i, err);
}
END_TEST

START_TEST(new_bounds)
{
	struct hsdo_metrics *m = NULL;

	ck_assert_int_eq(hsdo_metrics_new(small, 0, &m, NULL, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_new(NULL, 1, &m, NULL, 0), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_new(small, HSDO_METRICS_FAMILIES_MAX + 1, &m, NULL, 0),
			 -HSDO_EINVAL);
	ck_assert_ptr_null(m);
	ck_assert_str_eq(hsdo_metrics_type_str(HSDO_METRICS_HISTOGRAM), "histogram");
	ck_assert_str_eq(hsdo_metrics_type_str(HSDO_METRICS_TYPE_COUNT), "unknown");
}
END_TEST

START_TEST(update_errors_change_nothing)
{
	struct hsdo_metrics *m = new_small();
	char long_value[HSDO_METRICS_VALUE_MAX + 2], *out;
	const char *bad_utf8[] = { "\xc3\x28", "GET" }, *overlong[] = { "\xc0\xaf", "GET" };
	const char *surrogate[] = { "\xed\xa0\x80", "GET" }, *cut[] = { "\xe2\x98", "GET" };
	const char *toolong[] = { long_value, "GET" }, *null_value[] = { "200", NULL };
	const char *ok_get[] = { "200", "GET" }, *path[] = { "/a" };

	ck_assert_int_eq(fill_small(m), 0);
	memset(long_value, 'x', sizeof(long_value) - 1);
	long_value[sizeof(long_value) - 1] = '\0';
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, ok_get, -1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, ok_get, NAN), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, ok_get, INFINITY), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, NULL, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, null_value, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, bad_utf8, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, overlong, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, surrogate, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, cut, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, toolong, 1), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_metrics_observe(m, F_REQ, ok_get, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_add(m, F_LAT, path, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_set(m, F_LAT, path, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_set(m, N(small), NULL, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_metrics_touch(NULL, 0, NULL), -HSDO_EINVAL);
	hsdo_metrics_clear(m, N(small));
	hsdo_metrics_clear(NULL, 0);
	out = render(m);
	ck_assert_str_eq(out, golden);
	hsdo_free(out);
	long_value[HSDO_METRICS_VALUE_MAX] = '\0';   /* exactly the bound: accepted */
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, toolong, 1), 0);
	hsdo_metrics_free(m);
}
END_TEST

START_TEST(clear_drops_a_family)
{
	struct hsdo_metrics *m = new_small();
	const char *ok_get[] = { "200", "GET" }, *v[] = { "201", "PUT" };
	char *out;

	ck_assert_int_eq(fill_small(m), 0);
	hsdo_metrics_clear(m, F_REQ);
	hsdo_metrics_clear(m, F_LAT);
	hsdo_metrics_clear(m, F_SIZE);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, v, 2), 0);
	ck_assert_int_eq(hsdo_metrics_add(m, F_REQ, ok_get, 0), 0);
	out = render(m);
	ck_assert_str_eq(out,
		"# HELP t_requests_total Requests handled.\n"
		"# TYPE t_requests_total counter\n"
		"t_requests_total{code=\"201\",method=\"PUT\"} 2\n"
		"t_requests_total{code=\"200\",method=\"GET\"} 0\n"
		"# HELP t_temperature_celsius Help with \\\\ and\\nnewline \"quoted\".\n"
		"# TYPE t_temperature_celsius gauge\n"
		"t_temperature_celsius -3.5\n");
	hsdo_free(out);
	hsdo_metrics_free(m);
}
END_TEST

/* One series per slot of the largest table, looked up again by value; then
 * the per-family bound. */
START_TEST(many_series)
{
	static const struct hsdo_metrics_family_desc d[] = {
		{ .name = "w", .help = "w", .type = HSDO_METRICS_GAUGE, .labels = { "id", "ip" } },
	};
	struct hsdo_metrics *m = NULL;
	char id[16], ip[32], *out, *p;
	const char *v[] = { id, ip };
	size_t i, len, lines = 0;

	ck_assert_int_eq(hsdo_metrics_new(d, 1, &m, NULL, 0), 0);
	for (i = 0; i < HSDO_METRICS_SERIES_MAX; i++) {
		snprintf(id, sizeof(id), "%zu", i + 1);
		snprintf(ip, sizeof(ip), "10.%zu.%zu.%zu", i >> 16, (i >> 8) & 255, i & 255);
		ck_assert_int_eq(hsdo_metrics_set(m, 0, v, (double)(i % 257)), 0);
	}
	snprintf(id, sizeof(id), "%d", 777);
	snprintf(ip, sizeof(ip), "10.0.3.8");
	ck_assert_int_eq(hsdo_metrics_add(m, 0, v, 1000), 0);     /* an existing series */
	snprintf(id, sizeof(id), "x");
	ck_assert_int_eq(hsdo_metrics_touch(m, 0, v), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_metrics_render(m, &out, &len), 0);
	for (p = out; p < out + len; p++)   /* not strchr: ASan's strict_string_checks */
		lines += *p == '\n';             /* would make that quadratic */
	ck_assert_uint_eq(lines, HSDO_METRICS_SERIES_MAX + 2);
	ck_assert_ptr_nonnull(strstr(out, "\nw{id=\"777\",ip=\"10.0.3.8\"} 1005\n"));
	ck_assert_ptr_nonnull(strstr(out, "\nw{id=\"250000\",ip=\"10.3.208.143\"} 195\n"));
	hsdo_free(out);
	hsdo_metrics_free(m);
}
END_TEST

/* 8 labels of the largest value: about 8 KiB a series, so the output bound
 * is reached after ~8,200 of them. */
START_TEST(output_bound)
{
	static const struct hsdo_metrics_family_desc d[] = {
		{ .name = "big", .help = "big", .type = HSDO_METRICS_GAUGE,
		  .labels = { "a", "b", "c", "d", "e", "f", "g", "h" } },
	};
	static char val[HSDO_METRICS_VALUE_MAX + 1];
	const char *v[] = { val, val, val, val, val, val, val, val };
	struct hsdo_metrics *m = NULL;
	char *out = (char *)1;
	size_t i, len = 1;

	ck_assert_int_eq(hsdo_metrics_new(d, 1, &m, NULL, 0), 0);
	memset(val, 'v', HSDO_METRICS_VALUE_MAX);
	for (i = 0; i < HSDO_METRICS_OUTPUT_MAX / (8 * HSDO_METRICS_VALUE_MAX) + 1; i++) {
		snprintf(val, 16, "%015zu", i);
		val[15] = 'v';
		ck_assert_int_eq(hsdo_metrics_touch(m, 0, v), 0);
	}
	ck_assert_int_eq(hsdo_metrics_render(m, &out, &len), -HSDO_ETOOBIG);
	ck_assert_ptr_null(out);
	ck_assert_uint_eq(len, 0);
	hsdo_metrics_free(m);
}
END_TEST

/* Every allocation of new + updates + render fails in turn: each step
 * reports ENOMEM and leaks nothing, the registry stays consistent, and the
 * first run with enough memory renders the golden text. */
START_TEST(alloc_failure_loop)
{
	unsigned long i;
	int rc = -1;
	char *out = NULL;
	size_t len;

	for (i = 1; i < 2000; i++) {
		struct hsdo_metrics *m = NULL;

		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_metrics_new(small, N(small), &m, NULL, 0);
		if (rc == 0)
			rc = fill_small(m);
		if (rc == 0)
			rc = hsdo_metrics_render(m, &out, &len);
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0) {
			hsdo_metrics_free(m);
			break;
		}
		ck_assert_msg(rc == -HSDO_ENOMEM, "step %lu: %d", i, rc);
		ck_assert_ptr_null(out);
		if (m != NULL) {
			/* What was applied before the failure still renders. */
			ck_assert_int_eq(hsdo_metrics_render(m, &out, &len), 0);
			ck_assert_uint_eq(len, strlen(out));
			hsdo_free(out);
			out = NULL;
			ck_assert_int_eq(fill_small(m), 0);
		}
		hsdo_metrics_free(m);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 10);
	ck_assert_str_eq(out, golden);
	hsdo_free(out);
}
END_TEST

/* One allocation failing while a family grows (series array, index,
 * values): that series is absent, the others present once each. */
START_TEST(alloc_failure_while_growing)
{
	static const struct hsdo_metrics_family_desc d[] = {
		{ .name = "g", .help = "g", .type = HSDO_METRICS_GAUGE, .labels = { "id" } },
	};
	char id[16], want[40], *out;
	const char *v[] = { id }, *first;
	unsigned long step, failures = 0;
	size_t i, len;
	long failed;
	int rc;

	for (step = 1; step < 120; step++) {
		struct hsdo_metrics *m = NULL;

		ck_assert_int_eq(hsdo_metrics_new(d, 1, &m, NULL, 0), 0);
		failed = -1;
		hsdo_alloc_fail_at(step, 0);
		for (i = 0; i < 40; i++) {
			snprintf(id, sizeof(id), "%zu", i);
			rc = hsdo_metrics_set(m, 0, v, (double)i);
			if (rc != 0) {
				ck_assert_int_eq(rc, -HSDO_ENOMEM);
				ck_assert_int_eq(failed, -1);
				failed = (long)i;
			}
		}
		hsdo_alloc_fail_at(0, 0);
		failures += failed >= 0;
		ck_assert_int_eq(hsdo_metrics_render(m, &out, &len), 0);
		for (i = 0; i < 40; i++) {
			snprintf(want, sizeof(want), "\ng{id=\"%zu\"} %zu\n", i, i);
			ck_assert_msg((strstr(out, want) == NULL) == ((long)i == failed),
				      "step %lu: series %zu", step, i);
		}
		hsdo_free(out);
		for (i = 0; i < 40; i++) {
			snprintf(id, sizeof(id), "%zu", i);
			ck_assert_int_eq(hsdo_metrics_set(m, 0, v, (double)i), 0);
		}
		ck_assert_int_eq(hsdo_metrics_render(m, &out, &len), 0);
		for (i = 0; i < 40; i++) {
			snprintf(want, sizeof(want), "\ng{id=\"%zu\"} %zu\n", i, i);
			first = strstr(out, want);
			ck_assert_msg(first != NULL, "step %lu: %s missing", step, want);
			ck_assert_ptr_null(strstr(first + 1, want));
		}
		hsdo_free(out);
		hsdo_metrics_free(m);
	}
	ck_assert_uint_gt(failures, 40);
}
END_TEST

static Suite *metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc;

	tc = tcase_create("render");
	tcase_add_test(tc, golden_small_registry);
	tcase_add_test(tc, empty_registry_renders_nothing);
	tcase_add_test(tc, label_value_escaping);
	tcase_add_loop_test(tc, value_formatting, 0, (int)N(values));
	tcase_add_test(tc, histogram_buckets);
	tcase_add_test(tc, clear_drops_a_family);
	suite_add_tcase(s, tc);

	tc = tcase_create("validation");
	tcase_add_loop_test(tc, invalid_descriptors, 0, (int)N(bad_descs));
	tcase_add_test(tc, new_bounds);
	tcase_add_test(tc, update_errors_change_nothing);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, many_series);
	tcase_add_test(tc, output_bound);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, alloc_failure_loop);
	tcase_add_test(tc, alloc_failure_while_growing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(metrics_suite());
}
