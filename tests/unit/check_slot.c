/* Slot model helpers: table init/copy/free, field copies, IP validation,
 * error strings and the allocation failure hook. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/slot.h"
#include "hsdo_test.h"

START_TEST(table_init_numbers_slots)
{
	struct hsdo_table t;
	size_t i;

	ck_assert_int_eq(hsdo_table_init(&t, 10), 0);
	ck_assert_uint_eq(t.n, 10);
	for (i = 0; i < t.n; i++) {
		ck_assert_uint_eq(t.slots[i].id, i + 1);
		ck_assert_int_eq(t.slots[i].state, HSDO_SLOT_FREE);
		ck_assert_str_eq(t.slots[i].ip, "");
	}
	hsdo_table_free(&t);
	ck_assert_ptr_null(t.slots);
	ck_assert_uint_eq(t.n, 0);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(table_init_bounds)
{
	struct hsdo_table t;

	ck_assert_int_eq(hsdo_table_init(&t, HSDO_SLOTS_MAX + 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_table_init(&t, 0), 0);
	ck_assert_uint_eq(t.n, 0);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(table_copy_is_deep)
{
	struct hsdo_table a, b;

	ck_assert_int_eq(hsdo_table_init(&a, 3), 0);
	ck_assert_int_eq(hsdo_strlcpy_field(a.slots[1].ip, sizeof(a.slots[1].ip), "10.0.0.1"), 0);
	a.slots[1].state = HSDO_SLOT_ACTIVE;
	a.generation = 7;
	ck_assert_int_eq(hsdo_table_copy(&b, &a), 0);
	ck_assert(hsdo_slot_equal(&a.slots[1], &b.slots[1]));
	ck_assert_uint_eq(b.generation, 7);
	b.slots[1].weight = 5;
	ck_assert(!hsdo_slot_equal(&a.slots[1], &b.slots[1]));
	hsdo_slot_clear(&b.slots[1]);
	ck_assert_uint_eq(b.slots[1].id, 2);
	ck_assert_str_eq(b.slots[1].ip, "");
	hsdo_table_free(&a);
	hsdo_table_free(&b);
}
END_TEST

START_TEST(table_init_alloc_failure)
{
	struct hsdo_table t;

	hsdo_alloc_fail_at(1, 0);
	ck_assert_int_eq(hsdo_table_init(&t, 4), -HSDO_ENOMEM);
	hsdo_alloc_fail_at(0, 0);
	ck_assert_ptr_null(t.slots);
}
END_TEST

START_TEST(field_copy_bounds)
{
	char buf[4] = "ab";

	ck_assert_int_eq(hsdo_strlcpy_field(buf, sizeof(buf), "xyz"), 0);
	ck_assert_str_eq(buf, "xyz");
	ck_assert_int_eq(hsdo_strlcpy_field(buf, sizeof(buf), "wxyz"), -HSDO_ETOOBIG);
	ck_assert_str_eq(buf, "xyz");
}
END_TEST

static const struct {
	const char *s;
	bool ok;
} ip_cases[] = {
	{ "10.0.0.1", true }, { "::1", true }, { "fe80::1:2", true },
	{ "10.0.0.256", false }, { "999.1.1.1", false }, { "example.com", false },
	{ "", false }, { "none", false }, { "10.0.0.1 ", false }, { "1.2.3", false },
};

START_TEST(ip_validation)
{
	ck_assert_msg(hsdo_ip_valid(ip_cases[_i].s) == ip_cases[_i].ok,
		      "ip '%s'", ip_cases[_i].s);
}
END_TEST

START_TEST(strerror_both_signs)
{
	ck_assert_str_eq(hsdo_strerror(-HSDO_ENOMEM), "out of memory");
	ck_assert_str_eq(hsdo_strerror(HSDO_EPROTO), "malformed data");
	ck_assert_str_eq(hsdo_strerror(-9999), "unknown error");
	ck_assert_str_eq(hsdo_slot_state_str(HSDO_SLOT_DRAINING), "draining");
	ck_assert_str_eq(hsdo_slot_state_str(HSDO_SLOT_STATE_COUNT), "unknown");
}
END_TEST

static Suite *slot_suite(void)
{
	Suite *s = suite_create("slot");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, table_init_numbers_slots);
	tcase_add_test(tc, table_init_bounds);
	tcase_add_test(tc, table_copy_is_deep);
	tcase_add_test(tc, table_init_alloc_failure);
	tcase_add_test(tc, field_copy_bounds);
	tcase_add_loop_test(tc, ip_validation, 0, sizeof(ip_cases) / sizeof(ip_cases[0]));
	tcase_add_test(tc, strerror_both_signs);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(slot_suite());
}
