/* The monotonic clock (libhsdo/clock.c): both units read the same clock,
 * it never goes back, and it counts the time that passed (a sleep of 20 ms
 * is at least 20 ms on it; no upper bound is asserted). */
#include <check.h>
#include <time.h>

#include "hsdo/clock.h"

#include "hsdo_test.h"

START_TEST(units_agree_and_never_go_back)
{
	int64_t ms = hsdo_clock_mono_ms(), us = hsdo_clock_mono_us(), ms2, us2;
	int i;

	ck_assert_int_ge(us / 1000, ms);
	for (i = 0; i < 1000; i++) {
		us2 = hsdo_clock_mono_us();
		ms2 = hsdo_clock_mono_ms();
		ck_assert_int_ge(us2, us);
		ck_assert_int_ge(ms2, ms);
		ck_assert_int_ge(ms2, us2 / 1000);
		us = us2;
		ms = ms2;
	}
}
END_TEST

START_TEST(counts_time_that_passed)
{
	struct timespec nap = { 0, 20 * 1000000 };
	int64_t ms = hsdo_clock_mono_ms(), us = hsdo_clock_mono_us();

	while (nanosleep(&nap, &nap) != 0)
		;
	ck_assert_int_ge(hsdo_clock_mono_us() - us, 20000);
	ck_assert_int_ge(hsdo_clock_mono_ms() - ms, 19);
}
END_TEST

static Suite *clock_suite(void)
{
	Suite *s = suite_create("clock");
	TCase *tc = tcase_create("mono");

	tcase_add_test(tc, units_agree_and_never_go_back);
	tcase_add_test(tc, counts_time_that_passed);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(clock_suite());
}
