/* Logging helpers (libhsdo/log.c): the cause of an error message, by which
 * the agent logs each error once (issue #10: a ResourceNotFoundException
 * was logged every cycle, each line made new by its request id). */
#include <check.h>
#include <string.h>

#include "hsdo/log.h"

#include "hsdo_test.h"

static const struct {
	const char *msg, *cause;
} causes[] = {
	{ "read: not found: dynamodb GetItem: ResourceNotFoundException: Requested resource not "
	  "found (HTTP 400, 1 try, request id 8F4B2C)",
	  "read: not found: dynamodb GetItem: ResourceNotFoundException: Requested resource not "
	  "found" },
	{ "dynamodb Scan: timed out (5 tries)", "dynamodb Scan: timed out" },
	{ "unix@/x.sock: timed out after 2000 ms (0 of 24 bytes sent, 0 of 1 replies read)",
	  "unix@/x.sock: timed out after 2000 ms" },
	{ "a (nested (details) here) b (c)", "a b" },
	{ "unbalanced ) stays", "unbalanced ) stays" },
	{ "no details", "no details" },
	{ "(all)", "" },
	{ "", "" },
};

START_TEST(cause)
{
	char key[256];

	hsdo_log_cause(causes[_i].msg, key, sizeof(key));
	ck_assert_str_eq(key, causes[_i].cause);
}
END_TEST

START_TEST(cause_truncated)
{
	char key[5], none[1] = { 'x' };

	hsdo_log_cause("abcdefgh (x)", key, sizeof(key));
	ck_assert_str_eq(key, "abcd");
	hsdo_log_cause("abc", none, 0);
	ck_assert_int_eq(none[0], 'x');
}
END_TEST

static Suite *log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("log");

	tcase_add_loop_test(tc, cause, 0, (int)(sizeof(causes) / sizeof(causes[0])));
	tcase_add_test(tc, cause_truncated);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(log_suite());
}
