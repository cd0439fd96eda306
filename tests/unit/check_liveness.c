/* Liveness decisions (libhsdo/liveness.c): the order of the reasons, the
 * bound (strictly above it is a stall), the loop's own stall first, the
 * names the agent gives its operations, a starting agent, the last
 * cycle's error, truncation. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/liveness.h"

#include "hsdo_test.h"

#define NOW 1000000

static struct hsdo_liveness healthy(void)
{
	struct hsdo_liveness l;

	memset(&l, 0, sizeof(l));
	l.bound_ms = 10000;
	l.loop_ms = NOW - 200;
	l.cycled = true;
	return l;
}

static const struct {
	const char *name;
	int64_t loop_age, store_age, haproxy_age, source_age, cycle_age;
	bool cycled;
	const char *last_error;
	const char *want;       /* NULL: healthy */
	int stalled;            /* hsdo_liveness_stalled */
} cases[] = {
	{ "healthy", 200, -1, -1, -1, -1, true, "", NULL, -1 },
	{ "operations within the bound", 200, 10000, 9000, 1, 10000, true, "", NULL, -1 },
	{ "loop stalled", 10001, -1, -1, -1, -1, true, "",
	  "event loop stalled for 10.0 s (HEALTHZ_STALL_TIMEOUT 10.0 s)", HSDO_LIVENESS_OP_COUNT },
	{ "loop stall comes first", 12000, 30000, 30000, -1, 30000, true, "boom",
	  "event loop stalled for 12.0 s", HSDO_LIVENESS_OP_COUNT },
	{ "store call outstanding", 200, 10400, -1, -1, 10400, true, "",
	  "store dynamodb: read outstanding for 10.4 s (HEALTHZ_STALL_TIMEOUT 10.0 s)",
	  HSDO_LIVENESS_STORE },
	{ "HAProxy before the cycle", 200, -1, 12000, -1, 15000, true, "",
	  "HAProxy call (unix@/run/haproxy.sock) outstanding for 12.0 s", HSDO_LIVENESS_HAPROXY },
	{ "source list outstanding", 200, -1, -1, 20000, -1, true, "",
	  "source aws list outstanding for 20.0 s", HSDO_LIVENESS_SOURCE },
	{ "the cycle alone", 200, -1, -1, -1, 11000, true, "",
	  "cycle outstanding for 11.0 s", HSDO_LIVENESS_CYCLE },
	{ "stall before not started", 200, 11000, -1, -1, -1, false, "",
	  "store dynamodb: read outstanding", HSDO_LIVENESS_STORE },
	{ "starting", 200, -1, -1, -1, -1, false, "", "starting: no cycle has run yet", -1 },
	{ "last cycle failed", 200, -1, -1, -1, -1, true, "HAProxy: connection refused",
	  "HAProxy: connection refused", -1 },
	{ "no turn yet is not a stall", -1, -1, -1, -1, -1, true, "", NULL, -1 },
};

START_TEST(reasons)
{
	struct hsdo_liveness l = healthy();
	char why[HSDO_LIVENESS_WHY_LEN];
	int64_t age = -5;
	bool ok;

	l.loop_ms = cases[_i].loop_age < 0 ? 0 : NOW - cases[_i].loop_age;
	if (cases[_i].store_age >= 0)
		l.since_ms[HSDO_LIVENESS_STORE] = NOW - cases[_i].store_age;
	if (cases[_i].haproxy_age >= 0)
		l.since_ms[HSDO_LIVENESS_HAPROXY] = NOW - cases[_i].haproxy_age;
	if (cases[_i].source_age >= 0)
		l.since_ms[HSDO_LIVENESS_SOURCE] = NOW - cases[_i].source_age;
	if (cases[_i].cycle_age >= 0)
		l.since_ms[HSDO_LIVENESS_CYCLE] = NOW - cases[_i].cycle_age;
	snprintf(l.what[HSDO_LIVENESS_STORE], HSDO_LIVENESS_WHAT_LEN, "store dynamodb: read");
	snprintf(l.what[HSDO_LIVENESS_HAPROXY], HSDO_LIVENESS_WHAT_LEN,
		 "HAProxy call (unix@/run/haproxy.sock)");
	snprintf(l.what[HSDO_LIVENESS_SOURCE], HSDO_LIVENESS_WHAT_LEN, "source aws list");
	l.cycled = cases[_i].cycled;
	snprintf(l.last_error, sizeof(l.last_error), "%s", cases[_i].last_error);
	ok = hsdo_liveness_ok(&l, NOW, why, sizeof(why));
	if (cases[_i].want == NULL) {
		ck_assert_msg(ok, "%s: unhealthy: %s", cases[_i].name, why);
		ck_assert_str_eq(why, "");
	} else {
		ck_assert_msg(!ok, "%s: healthy", cases[_i].name);
		ck_assert_msg(strncmp(why, cases[_i].want, strlen(cases[_i].want)) == 0,
			      "%s: '%s', want '%s'", cases[_i].name, why, cases[_i].want);
	}
	ck_assert_int_eq(hsdo_liveness_stalled(&l, NOW, &age), cases[_i].stalled);
	if (cases[_i].stalled < 0)
		ck_assert_int_eq(age, 0);
	else
		ck_assert_int_gt(age, l.bound_ms);
}
END_TEST

/* An operation without a name is called by its kind; the reason is cut
 * to the caller's buffer, and an empty buffer is left alone. */
START_TEST(names_and_truncation)
{
	struct hsdo_liveness l = healthy();
	char why[16], none[1] = { 'x' };

	l.since_ms[HSDO_LIVENESS_CYCLE] = NOW - 60000;
	ck_assert(!hsdo_liveness_ok(&l, NOW, why, sizeof(why)));
	ck_assert_str_eq(why, "cycle outstandi");
	ck_assert(!hsdo_liveness_ok(&l, NOW, none, 0));
	ck_assert_int_eq(none[0], 'x');
	ck_assert_str_eq(hsdo_liveness_op_str(HSDO_LIVENESS_HAPROXY), "HAProxy");
	ck_assert_str_eq(hsdo_liveness_op_str(HSDO_LIVENESS_OP_COUNT), "unknown");
}
END_TEST

static Suite *liveness_suite(void)
{
	Suite *s = suite_create("liveness");
	TCase *tc = tcase_create("liveness");

	tcase_add_loop_test(tc, reasons, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, names_and_truncation);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(liveness_suite());
}
