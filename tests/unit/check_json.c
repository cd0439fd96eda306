/* The strict JSON rule (libhsdo/json.h) every parser of libhsdo uses:
 * bounded, one whole value, nothing after it but JSON whitespace, and an
 * allocation failure told apart from bad input, a "\u0000" that cannot
 * cut a string short; allocations go through hsdo_malloc. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/item.h"
#include "hsdo/slot.h"
#include "hsdo_test.h"
#include "json.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *in;
	size_t len;        /* 0: strlen(in) */
	size_t max;
	int rc;
	enum hsdo_json_fault fault;
	size_t at;
} cases[] = {
	{ "{}", 0, 100, 0, HSDO_JSON_FAULT_COUNT, 0 },
	{ " \t\r\n[1, 2]\n\r\t ", 0, 100, 0, HSDO_JSON_FAULT_COUNT, 0 },
	{ "\"s\"", 0, 100, 0, HSDO_JSON_FAULT_COUNT, 0 },
	{ "12", 0, 2, 0, HSDO_JSON_FAULT_COUNT, 0 },             /* len == max */
	{ "{}x", 2, 100, 0, HSDO_JSON_FAULT_COUNT, 0 },          /* only buf[0..len) */
	{ "", 0, 100, -HSDO_EPROTO, HSDO_JSON_EMPTY, 0 },
	{ "123", 0, 2, -HSDO_ETOOBIG, HSDO_JSON_TOOBIG, 0 },
	{ "{\"a\":tru}", 0, 100, -HSDO_EPROTO, HSDO_JSON_INVALID, 5 },
	{ "[", 0, 100, -HSDO_EPROTO, HSDO_JSON_INVALID, 0 },
	{ "{} x", 0, 100, -HSDO_EPROTO, HSDO_JSON_TRAILING, 3 },
	{ "{} {}", 0, 100, -HSDO_EPROTO, HSDO_JSON_TRAILING, 3 },
	{ "1 2", 0, 100, -HSDO_EPROTO, HSDO_JSON_TRAILING, 2 },
	{ "{}\v", 0, 100, -HSDO_EPROTO, HSDO_JSON_TRAILING, 2 }, /* not JSON whitespace */
	{ "{}\0 ", 4, 100, -HSDO_EPROTO, HSDO_JSON_TRAILING, 2 },
};

START_TEST(strict_rule)
{
	struct hsdo_json_error e = { HSDO_JSON_FAULT_COUNT, 99 };
	size_t len = cases[_i].len ? cases[_i].len : strlen(cases[_i].in);
	cJSON *root = (cJSON *)&e;
	int rc = hsdo_json_parse(cases[_i].in, len, cases[_i].max, &root, &e);

	ck_assert_msg(rc == cases[_i].rc, "case %d: rc %d", _i, rc);
	if (rc == 0) {
		ck_assert_ptr_nonnull(root);
		cJSON_Delete(root);
		return;
	}
	ck_assert_ptr_null(root);
	ck_assert_int_eq(e.fault, cases[_i].fault);
	if (e.fault == HSDO_JSON_INVALID || e.fault == HSDO_JSON_TRAILING)
		ck_assert_uint_eq(e.at, cases[_i].at);
}
END_TEST

START_TEST(null_buffer_is_empty)
{
	struct hsdo_json_error e;
	cJSON *root;

	ck_assert_int_eq(hsdo_json_parse(NULL, 5, 100, &root, &e), -HSDO_EPROTO);
	ck_assert_int_eq(e.fault, HSDO_JSON_EMPTY);
	ck_assert_ptr_null(root);
}
END_TEST

START_TEST(body_messages)
{
	static const struct {
		const char *in;
		const char *msg;
	} m[] = {
		{ "", "empty body" },
		{ "[1,2,3,4,5,6,7,8,9]", "body of 19 bytes over 10" },
		{ "[1,", "invalid JSON at byte 2" },
		{ "[1]  ]", "trailing data at byte 5" },
	};
	char err[128];
	cJSON *root;
	size_t i;

	for (i = 0; i < NELEM(m); i++) {
		err[0] = '\0';
		ck_assert_int_ne(hsdo_json_parse_body(m[i].in, strlen(m[i].in), 10, &root, err,
						      sizeof(err)), 0);
		ck_assert_str_eq(err, m[i].msg);
	}
	ck_assert_int_eq(hsdo_json_parse_body("[1]", 3, 10, &root, err, sizeof(err)), 0);
	cJSON_Delete(root);
}
END_TEST

/* Every allocation goes through hsdo_malloc, and any one of them failing
 * is -HSDO_ENOMEM (NOMEM), never "invalid JSON". */
START_TEST(out_of_memory_is_not_bad_input)
{
	const char *doc = "{\"a\":[1,\"two\",{\"b\":null}],\"c\":\"dddddddddddddddd\"}";
	struct hsdo_json_error e;
	unsigned long n, i;
	cJSON *root;
	char err[128];

	hsdo_alloc_fail_at(0, 0);
	ck_assert_int_eq(hsdo_json_parse(doc, strlen(doc), 1000, &root, &e), 0);
	cJSON_Delete(root);
	n = hsdo_alloc_fail_at(0, 0);
	ck_assert_uint_ge(n, 6);   /* the tree's nodes and strings, counted by hsdo_malloc */
	for (i = 1; i <= n; i++) {
		hsdo_alloc_fail_at(i, 1);
		ck_assert_int_eq(hsdo_json_parse(doc, strlen(doc), 1000, &root, &e), -HSDO_ENOMEM);
		hsdo_alloc_fail_at(0, 0);
		ck_assert_int_eq(e.fault, HSDO_JSON_NOMEM);
		ck_assert_ptr_null(root);
		hsdo_alloc_fail_at(i, 1);
		ck_assert_int_eq(hsdo_json_parse_body(doc, strlen(doc), 1000, &root, err,
						      sizeof(err)), -HSDO_ENOMEM);
		hsdo_alloc_fail_at(0, 0);
		ck_assert_str_eq(err, "out of memory parsing JSON");
	}
	/* The flag is per parse: the next one succeeds. */
	ck_assert_int_eq(hsdo_json_parse(doc, strlen(doc), 1000, &root, &e), 0);
	ck_assert(!hsdo_json_nomem());
	cJSON_Delete(root);
}
END_TEST

/* A "\u0000" escape never cuts a string short (cJSON would stop the C
 * string at the NUL): it reads as U+FFFF, in every string; an escaped
 * backslash before "u0000" is not an escape of it; the copy's allocation
 * failing is NOMEM. */
START_TEST(nul_escape_is_not_a_terminator)
{
	const char *doc = "{\"a\":\"1.2.3.4\\u0000set\",\"b\":[\"\\u0000\"],"
			  "\"c\":\"\\\\u0000\"}";
	struct hsdo_json_error e;
	cJSON *root;

	ck_assert_int_eq(hsdo_json_parse(doc, strlen(doc), 1000, &root, &e), 0);
	ck_assert_str_eq(cJSON_GetObjectItem(root, "a")->valuestring, "1.2.3.4\xef\xbf\xbfset");
	ck_assert_str_eq(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "b"), 0)->valuestring,
			 "\xef\xbf\xbf");
	ck_assert_str_eq(cJSON_GetObjectItem(root, "c")->valuestring, "\\u0000");
	cJSON_Delete(root);
	hsdo_alloc_fail_at(1, 1);
	ck_assert_int_eq(hsdo_json_parse(doc, strlen(doc), 1000, &root, &e), -HSDO_ENOMEM);
	hsdo_alloc_fail_at(0, 0);
	ck_assert_int_eq(e.fault, HSDO_JSON_NOMEM);
	ck_assert_ptr_null(root);
}
END_TEST

START_TEST(wiped_delete_takes_null)
{
	const char *doc = "{\"k\":[\"secret\",{\"x\":\"y\"}]}";
	struct hsdo_json_error e;
	cJSON *root;

	hsdo_json_delete_wiped(NULL);
	ck_assert_int_eq(hsdo_json_parse(doc, strlen(doc), 100, &root, &e), 0);
	hsdo_json_delete_wiped(root);
}
END_TEST

/* The item codec's bound: DynamoDB's item size limit. */
START_TEST(item_is_bounded)
{
	size_t len = HSDO_ITEM_JSON_MAX + 1;
	char *buf = malloc(len), err[128];
	struct hsdo_slot s;

	ck_assert_ptr_nonnull(buf);
	memset(buf, ' ', len);
	ck_assert_int_eq(hsdo_item_decode_json(buf, len, NULL, &s, err, sizeof(err)), -HSDO_ETOOBIG);
	ck_assert_str_eq(err, "item of 409601 bytes over 409600");
	ck_assert_int_eq(hsdo_item_decode_json(buf, len - 1, NULL, &s, err, sizeof(err)), -HSDO_EPROTO);
	free(buf);
}
END_TEST

static Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("strict");

	tcase_add_loop_test(tc, strict_rule, 0, (int)NELEM(cases));
	tcase_add_test(tc, null_buffer_is_empty);
	tcase_add_test(tc, body_messages);
	tcase_add_test(tc, out_of_memory_is_not_bad_input);
	tcase_add_test(tc, nul_escape_is_not_a_terminator);
	tcase_add_test(tc, wiped_delete_takes_null);
	tcase_add_test(tc, item_is_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(json_suite());
}
