/* report: the fleet-health report codec. Exact attribute-value JSON, round
 * trips (item and file), client ids, every malformed shape rejected with a
 * reason and nothing written, bounds, freshness, the report set, and
 * allocation failure at every step. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/report.h"
#include "hsdo/slot.h"
#include "hsdo_test.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct hsdo_report_slot three[] = {
	{ 3, HSDO_VERDICT_OK, HSDO_CHECK_NONE, 412, 0 },
	{ 7, HSDO_VERDICT_FAILING, HSDO_CHECK_DOWN, 120, 100 },
	{ 100000, HSDO_VERDICT_IDLE, HSDO_CHECK_UP, 4294967295u, 4294967295u },
};

static struct hsdo_report mk(const char *id, struct hsdo_report_slot *e, size_t n)
{
	struct hsdo_report r;

	memset(&r, 0, sizeof(r));
	ck_assert_uint_lt(strlen(id), sizeof(r.client_id));
	memcpy(r.client_id, id, strlen(id) + 1);
	r.generation = 42;
	r.written_ms = INT64_C(1700000000123);
	r.expires_s = 1700000030;
	r.slots = e;
	r.n = n;
	return r;
}

static void assert_same(const struct hsdo_report *a, const struct hsdo_report *b)
{
	ck_assert_str_eq(a->client_id, b->client_id);
	ck_assert_uint_eq(a->generation, b->generation);
	ck_assert_int_eq(a->written_ms, b->written_ms);
	ck_assert_int_eq(a->expires_s, b->expires_s);
	ck_assert_uint_eq(a->n, b->n);
	if (a->n > 0)
		ck_assert(memcmp(a->slots, b->slots, a->n * sizeof(*a->slots)) == 0);
}

START_TEST(exact_item)
{
	struct hsdo_report r = mk("haproxy-1.eu-west-1", three, 2);
	cJSON *got = hsdo_report_encode(&r), *want;
	char *txt;

	want = cJSON_Parse("{\"ClientId\":{\"S\":\"haproxy-1.eu-west-1\"},\"Version\":{\"N\":\"1\"},"
			   "\"Generation\":{\"N\":\"42\"},\"Written\":{\"N\":\"1700000000123\"},"
			   "\"Expires\":{\"N\":\"1700000030\"},"
			   "\"Slots\":{\"S\":\"3:o:-:412:0 7:f:d:120:100\"}}");
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(want);
	txt = cJSON_PrintUnformatted(got);
	ck_assert_msg(cJSON_Compare(got, want, 1), "got %s", txt);
	cJSON_free(txt);
	cJSON_Delete(got);
	cJSON_Delete(want);
	/* no entry: no Slots attribute (DynamoDB refuses empty strings) */
	r.n = 0;
	got = hsdo_report_encode(&r);
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(got, "Slots"));
	cJSON_Delete(got);
}
END_TEST

START_TEST(roundtrip_item_and_file)
{
	struct hsdo_report r = mk("a", three, _i), d, f;
	char err[256] = "", *doc;
	size_t len = 0;
	cJSON *j = hsdo_report_encode(&r);

	ck_assert_ptr_nonnull(j);
	memset(&d, 0x5a, sizeof(d));
	ck_assert_msg(hsdo_report_decode(j, &d, err, sizeof(err)) == 0, "%s", err);
	assert_same(&r, &d);
	cJSON_Delete(j);
	doc = hsdo_report_render_file(&r, &len);
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_eq(len, strlen(doc));
	ck_assert_ptr_nonnull(strstr(doc, "\"format\":\"hsdo-health-report\""));
	ck_assert_msg(hsdo_report_parse_file(doc, len, &f, err, sizeof(err)) == 0, "%s", err);
	assert_same(&r, &f);
	hsdo_free(doc);
	hsdo_report_free(&d);
	hsdo_report_free(&f);
	hsdo_report_free(NULL);
}
END_TEST

static const struct {
	const char *id;
	bool ok;
} ids[] = {
	{ "a", true }, { "ip-10-0-1-7.eu-west-1.compute.internal", true }, { "A_b-c.9", true },
	{ "...", true }, { "", false }, { ".", false }, { "..", false }, { "a/b", false },
	{ "a b", false }, { "é", false }, { "a\n", false }, { "x:1", false },
};

START_TEST(client_ids)
{
	char longest[HSDO_REPORT_ID_LEN + 1];

	ck_assert_msg(hsdo_report_id_valid(ids[_i].id) == ids[_i].ok, "'%s'", ids[_i].id);
	memset(longest, 'x', sizeof(longest));
	longest[HSDO_REPORT_ID_LEN - 1] = '\0';
	ck_assert(hsdo_report_id_valid(longest));
	longest[HSDO_REPORT_ID_LEN - 1] = 'x';
	longest[HSDO_REPORT_ID_LEN] = '\0';
	ck_assert(!hsdo_report_id_valid(longest));
	ck_assert(!hsdo_report_id_valid(NULL));
}
END_TEST

#define ITEM(slots) "{\"ClientId\":{\"S\":\"c1\"},\"Version\":{\"N\":\"1\"}," \
	"\"Generation\":{\"N\":\"5\"},\"Written\":{\"N\":\"1000\"},\"Expires\":{\"N\":\"20\"}" slots "}"

static const struct {
	const char *json;
	const char *reason;
} bad[] = {
	{ "[]", "not a JSON object" },
	{ "{\"ClientId\":{\"S\":\"c1\"}}", "missing attribute Version" },
	{ "{\"ClientId\":{\"N\":\"1\"},\"Version\":{\"N\":\"1\"},\"Generation\":{\"N\":\"5\"},"
	  "\"Written\":{\"N\":\"1\"},\"Expires\":{\"N\":\"2\"}}", "ClientId: expected type S" },
	{ "{\"ClientId\":{\"S\":\"a/b\"},\"Version\":{\"N\":\"1\"},\"Generation\":{\"N\":\"5\"},"
	  "\"Written\":{\"N\":\"1\"},\"Expires\":{\"N\":\"2\"}}", "ClientId: not 1..128" },
	{ "{\"ClientId\":{\"S\":\"c1\"},\"Version\":{\"N\":\"2\"},\"Generation\":{\"N\":\"5\"},"
	  "\"Written\":{\"N\":\"1\"},\"Expires\":{\"N\":\"2\"}}", "Version 2 is not 1" },
	{ "{\"ClientId\":{\"S\":\"c1\"},\"Version\":{\"N\":\"1\"},\"Generation\":{\"N\":\"-5\"},"
	  "\"Written\":{\"N\":\"1\"},\"Expires\":{\"N\":\"2\"}}", "Generation:" },
	{ "{\"ClientId\":{\"S\":\"c1\"},\"Version\":{\"N\":\"1\"},\"Generation\":{\"N\":\"5\"},"
	  "\"Written\":{\"N\":\"1.5\"},\"Expires\":{\"N\":\"2\"}}", "Written:" },
	{ "{\"ClientId\":{\"S\":\"c1\"},\"Version\":{\"N\":\"1\"},\"Generation\":{\"N\":\"5\"},"
	  "\"Written\":{\"N\":\"1\"},\"Expires\":{\"N\":\"253402300800\"}}", "Expires:" },
	{ "{\"ClientId\":{\"S\":\"c1\"},\"ClientId\":{\"S\":\"c2\"}}", "duplicate attribute ClientId" },
	{ ITEM(",\"Slots\":{\"N\":\"1\"}"), "Slots: expected type S" },
	{ ITEM(",\"Slots\":{\"S\":\"\"}"), "Slots: entry 1" },
	{ ITEM(",\"Slots\":{\"S\":\"0:o:-:1:0\"}"), "entry 1" },
	{ ITEM(",\"Slots\":{\"S\":\"100001:o:-:1:0\"}"), "entry 1" },
	{ ITEM(",\"Slots\":{\"S\":\"01:o:-:1:0\"}"), "entry 1" },
	{ ITEM(",\"Slots\":{\"S\":\"1:x:-:1:0\"}"), "entry 1" },
	{ ITEM(",\"Slots\":{\"S\":\"1:o:x:1:0\"}"), "entry 1" },
	{ ITEM(",\"Slots\":{\"S\":\"1:o:-:1:2\"}"), "errors <= responses" },
	{ ITEM(",\"Slots\":{\"S\":\"1:o:-:4294967296:0\"}"), "entry 1" },
	{ ITEM(",\"Slots\":{\"S\":\"1:o:-:1:0  2:o:-:1:0\"}"), "entry 2" },
	{ ITEM(",\"Slots\":{\"S\":\"2:o:-:1:0 1:o:-:1:0\"}"), "entry 2" },
	{ ITEM(",\"Slots\":{\"S\":\"2:o:-:1:0 2:o:-:1:0\"}"), "entry 2" },
	{ ITEM(",\"Slots\":{\"S\":\"1:o:-:1:0 \"}"), "entry 2" },
	{ ITEM(",\"Slots\":{\"S\":\"1:o:-:1\"}"), "entry 1" },
	{ ITEM(",\"Slots\":{\"S\":\"1:o:-:1:0:\"}"), "entry 1" },
	{ ITEM(",\"Slots\":{\"S\":\"1:o:-:+1:0\"}"), "entry 1" },
};

START_TEST(malformed_rejected)
{
	struct hsdo_report out, before;
	char err[512] = "";
	cJSON *j = cJSON_Parse(bad[_i].json);
	int rc;

	ck_assert_ptr_nonnull(j);
	memset(&out, 0xa5, sizeof(out));
	before = out;
	rc = hsdo_report_decode(j, &out, err, sizeof(err));
	cJSON_Delete(j);
	ck_assert_msg(rc == -HSDO_EPROTO, "case %d: rc %d (%s)", _i, rc, err);
	ck_assert_msg(strstr(err, bad[_i].reason) != NULL, "case %d: \"%s\", want \"%s\"", _i,
		      err, bad[_i].reason);
	ck_assert_msg(memcmp(&out, &before, sizeof(out)) == 0, "case %d: out was written", _i);
}
END_TEST

/* The base of the malformed cases decodes, so each fails for its defect. */
START_TEST(malformed_baseline_ok)
{
	const char *js = ITEM(",\"Slots\":{\"S\":\"1:o:-:1:0 2:f:d:9:9\"},\"Other\":{\"S\":\"x\"}");
	cJSON *j = cJSON_Parse(js);
	struct hsdo_report r;
	char err[256] = "";

	ck_assert_ptr_nonnull(j);
	ck_assert_msg(hsdo_report_decode(j, &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(r.client_id, "c1");
	ck_assert_uint_eq(r.n, 2);
	ck_assert_uint_eq(r.slots[1].slot, 2);
	ck_assert_int_eq(r.slots[1].verdict, HSDO_VERDICT_FAILING);
	ck_assert_int_eq(r.slots[1].check, HSDO_CHECK_DOWN);
	ck_assert_uint_eq(r.slots[1].errors, 9);
	ck_assert_uint_eq(r.generation, 5);
	ck_assert_int_eq(r.written_ms, 1000);
	ck_assert_int_eq(r.expires_s, 20);
	hsdo_report_free(&r);
	cJSON_Delete(j);
}
END_TEST

static const struct {
	const char *doc;
	int rc;
	const char *reason;
} bad_files[] = {
	{ "", -HSDO_EPROTO, "empty" },
	{ "{", -HSDO_EPROTO, "invalid JSON" },
	{ "{}", -HSDO_EPROTO, "not a hsdo-health-report document" },
	{ "{\"format\":\"hsdo-slots\",\"version\":1,\"report\":{}}", -HSDO_EPROTO, "not a hsdo" },
	{ "{\"format\":\"hsdo-health-report\",\"version\":2,\"report\":{}}", -HSDO_EPROTO,
	  "version is not 1" },
	{ "{\"format\":\"hsdo-health-report\",\"version\":1}", -HSDO_EPROTO, "no \"report\"" },
	{ "{\"format\":\"hsdo-health-report\",\"version\":1,\"report\":{}}", -HSDO_EPROTO,
	  "missing attribute ClientId" },
	{ "{\"format\":\"hsdo-health-report\",\"version\":1,\"report\":" ITEM("") "} x",
	  -HSDO_EPROTO, "trailing data" },
};

START_TEST(malformed_files)
{
	struct hsdo_report out;
	char err[256] = "";
	int rc = hsdo_report_parse_file(bad_files[_i].doc, strlen(bad_files[_i].doc), &out, err,
					sizeof(err));

	ck_assert_msg(rc == bad_files[_i].rc, "case %d: rc %d (%s)", _i, rc, err);
	ck_assert_msg(strstr(err, bad_files[_i].reason) != NULL, "case %d: %s", _i, err);
}
END_TEST

START_TEST(file_size_bound)
{
	size_t n = HSDO_REPORT_DOC_MAX + 1;
	char *big = malloc(n), err[128] = "";
	struct hsdo_report out;

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	ck_assert_int_eq(hsdo_report_parse_file(big, n, &out, err, sizeof(err)), -HSDO_ETOOBIG);
	free(big);
}
END_TEST

/* Reports that cannot be written back the same are refused. */
START_TEST(check_refuses_invalid)
{
	struct hsdo_report_slot e[2] = { three[0], three[1] };
	struct hsdo_report r = mk("c", e, 2);
	char err[256] = "";

	ck_assert_int_eq(hsdo_report_check(&r, err, sizeof(err)), 0);
	e[1].slot = 3;
	ck_assert_int_eq(hsdo_report_check(&r, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "out of order"));
	ck_assert_ptr_null(hsdo_report_encode(&r));
	e[1] = three[1];
	e[1].errors = e[1].responses + 1;
	ck_assert_int_eq(hsdo_report_check(&r, err, sizeof(err)), -HSDO_EINVAL);
	e[1] = three[1];
	e[1].verdict = HSDO_VERDICT_COUNT;
	ck_assert_int_eq(hsdo_report_check(&r, err, sizeof(err)), -HSDO_EINVAL);
	e[1] = three[1];
	r.client_id[0] = '\0';
	ck_assert_int_eq(hsdo_report_check(&r, err, sizeof(err)), -HSDO_EINVAL);
	r = mk("c", e, HSDO_REPORT_SLOTS_MAX + 1);
	ck_assert_int_eq(hsdo_report_check(&r, err, sizeof(err)), -HSDO_EINVAL);
	r = mk("c", e, 2);
	r.expires_s = HSDO_REPORT_TIME_MAX_S + 1;
	ck_assert_int_eq(hsdo_report_check(&r, err, sizeof(err)), -HSDO_EINVAL);
	r.expires_s = 1;
	r.written_ms = -1;
	ck_assert_int_eq(hsdo_report_check(&r, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_report_check(NULL, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_null(hsdo_report_render_file(NULL, NULL));
}
END_TEST

/* The largest report: every entry as long as it gets. */
START_TEST(largest_report)
{
	struct hsdo_report_slot *e = calloc(HSDO_REPORT_SLOTS_MAX, sizeof(*e));
	struct hsdo_report r, d;
	char err[256] = "", *doc;
	size_t i, len = 0;

	ck_assert_ptr_nonnull(e);
	for (i = 0; i < HSDO_REPORT_SLOTS_MAX; i++) {
		e[i].slot = (uint32_t)(HSDO_SLOTS_MAX - HSDO_REPORT_SLOTS_MAX + 1 + i);
		e[i].verdict = HSDO_VERDICT_FAILING;
		e[i].check = HSDO_CHECK_DOWN;
		e[i].responses = e[i].errors = UINT32_MAX;
	}
	r = mk("c", e, HSDO_REPORT_SLOTS_MAX);
	doc = hsdo_report_render_file(&r, &len);
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_le(len, 400 * 1024);   /* a DynamoDB item's bound */
	ck_assert_msg(hsdo_report_parse_file(doc, len, &d, err, sizeof(err)) == 0, "%s", err);
	assert_same(&r, &d);
	hsdo_report_free(&d);
	hsdo_free(doc);
	free(e);
}
END_TEST

START_TEST(freshness)
{
	struct hsdo_report r = mk("c", NULL, 0);

	ck_assert(hsdo_report_fresh(&r, INT64_C(1700000029999)));
	ck_assert(!hsdo_report_fresh(&r, INT64_C(1700000030000)));
	r.expires_s = 0;
	ck_assert(!hsdo_report_fresh(&r, 0));
	ck_assert_str_eq(hsdo_verdict_str(HSDO_VERDICT_FAILING), "failing");
	ck_assert_str_eq(hsdo_verdict_str(HSDO_VERDICT_COUNT), "unknown");
	ck_assert_str_eq(hsdo_check_str(HSDO_CHECK_DOWN), "down");
	ck_assert_str_eq(hsdo_check_str((enum hsdo_check)-1), "unknown");
}
END_TEST

START_TEST(report_set)
{
	struct hsdo_report_set set;
	struct hsdo_report r, c;
	size_t i;

	memset(&set, 0, sizeof(set));
	for (i = 0; i < 40; i++) {
		r = mk("c", three, 3);
		ck_assert_int_eq(hsdo_report_copy(&c, &r), 0);
		ck_assert_ptr_ne(c.slots, three);
		ck_assert_int_eq(hsdo_report_set_add(&set, &c), 0);
		ck_assert_ptr_null(c.slots);
	}
	ck_assert_uint_eq(set.n, 40);
	assert_same(&set.v[39], &r);
	hsdo_report_set_bad(&set, "ghost.json", "invalid JSON at byte 3");
	hsdo_report_set_bad(&set, "other.json", "later");
	ck_assert_uint_eq(set.bad, 2);
	ck_assert_str_eq(set.first_bad, "ghost.json: invalid JSON at byte 3");
	hsdo_report_set_free(&set);
	ck_assert_uint_eq(set.n, 0);
	hsdo_report_set_free(NULL);
}
END_TEST

START_TEST(alloc_failures)
{
	struct hsdo_report r = mk("c", three, 3), d;
	unsigned long i;
	char *doc = NULL, err[128];
	size_t len = 0;
	int rc = -1;

	for (i = 1; i < 200; i++) {
		hsdo_alloc_fail_at(i, 1);
		doc = hsdo_report_render_file(&r, &len);
		hsdo_alloc_fail_at(0, 0);
		if (doc != NULL)
			break;
	}
	ck_assert_ptr_nonnull(doc);
	ck_assert_uint_gt(i, 5);
	for (i = 1; i < 200; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_report_parse_file(doc, len, &d, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "fail at %lu: %d (%s)", i, rc, err);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 5);
	assert_same(&r, &d);
	hsdo_report_free(&d);
	hsdo_free(doc);
}
END_TEST

static Suite *report_suite(void)
{
	Suite *s = suite_create("report");
	TCase *tc = tcase_create("codec");

	tcase_add_test(tc, exact_item);
	tcase_add_loop_test(tc, roundtrip_item_and_file, 0, 4);
	tcase_add_loop_test(tc, client_ids, 0, N(ids));
	tcase_add_loop_test(tc, malformed_rejected, 0, N(bad));
	tcase_add_test(tc, malformed_baseline_ok);
	tcase_add_loop_test(tc, malformed_files, 0, N(bad_files));
	tcase_add_test(tc, file_size_bound);
	tcase_add_test(tc, check_refuses_invalid);
	tcase_add_test(tc, largest_report);
	tcase_add_test(tc, freshness);
	tcase_add_test(tc, report_set);
	tcase_add_test(tc, alloc_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(report_suite());
}
