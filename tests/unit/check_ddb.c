/* DynamoDB JSON protocol: exact request bodies, Scan pages and the
 * full-table assembler (including the 2-page read the original crashes
 * on), the control item, error mapping, malformed responses and
 * allocation failures. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/ddb.h"
#include "hsdo/err.h"
#include "hsdo/item.h"
#include "hsdo/slot.h"
#include "hsdo_test.h"

#define TBL "hsdo-slots"
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define FREE_ITEM(id) "{\"BackendServerID\":{\"N\":\"" id "\"},\"IPAddress\":{\"S\":\"none\"}," \
	"\"ServerName\":{\"S\":\"none\"},\"ASG\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"}," \
	"\"BackendServerStatus\":{\"S\":\"disabled\"}," \
	"\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00.000000\"}}"
/* as the original server writes one (no fraction when microseconds are 0) */
#define ACTIVE_ITEM(id, ip, w) "{\"BackendServerID\":{\"N\":\"" id "\"}," \
	"\"IPAddress\":{\"S\":\"" ip "\"},\"ServerName\":{\"S\":\"i-" id "\"}," \
	"\"ASG\":{\"S\":\"my-asg\"},\"Weight\":{\"N\":\"" w "\"}," \
	"\"BackendServerStatus\":{\"S\":\"enabled\"}," \
	"\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12\"}}"
#define CONTROL_ITEM(gen) "{\"BackendServerID\":{\"N\":\"0\"},\"Generation\":{\"N\":\"" gen "\"}," \
	"\"IPAddress\":{\"S\":\"none\"},\"ServerName\":{\"S\":\"none\"},\"ASG\":{\"S\":\"none\"}," \
	"\"Weight\":{\"N\":\"0\"},\"BackendServerStatus\":{\"S\":\"disabled\"}," \
	"\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00.000000\"}}"

static int scan_page(const char *json, struct hsdo_ddb_page *pg, char *err, size_t errlen)
{
	return hsdo_ddb_parse_scan(json, strlen(json), pg, err, errlen);
}

/* ---- builders ----------------------------------------------------------------- */

START_TEST(build_describe_create)
{
	struct hsdo_ddb_req r;
	char err[256] = "";

	ck_assert_int_eq(hsdo_ddb_build_describe_table(TBL, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.target, "DynamoDB_20120810.DescribeTable");
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\"}");
	ck_assert_uint_eq(r.len, strlen(r.body));
	hsdo_ddb_req_free(&r);
	ck_assert_ptr_null(r.body);
	hsdo_ddb_req_free(NULL);

	ck_assert_int_eq(hsdo_ddb_build_create_table(TBL, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.target, "DynamoDB_20120810.CreateTable");
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\","
			 "\"AttributeDefinitions\":[{\"AttributeName\":\"BackendServerID\",\"AttributeType\":\"N\"}],"
			 "\"KeySchema\":[{\"AttributeName\":\"BackendServerID\",\"KeyType\":\"HASH\"}],"
			 "\"BillingMode\":\"PAY_PER_REQUEST\"}");
	hsdo_ddb_req_free(&r);
}
END_TEST

START_TEST(build_scan_pages)
{
	struct hsdo_ddb_page prev;
	struct hsdo_ddb_req r;
	char err[256] = "";

	ck_assert_int_eq(hsdo_ddb_build_scan(TBL, NULL, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.target, "DynamoDB_20120810.Scan");
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"ConsistentRead\":true}");
	hsdo_ddb_req_free(&r);

	memset(&prev, 0, sizeof(prev));
	prev.more = true;
	prev.last_key = 42;
	ck_assert_int_eq(hsdo_ddb_build_scan(TBL, &prev, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"ConsistentRead\":true,"
			 "\"ExclusiveStartKey\":{\"BackendServerID\":{\"N\":\"42\"}}}");
	hsdo_ddb_req_free(&r);

	prev.more = false;
	ck_assert_int_eq(hsdo_ddb_build_scan(TBL, &prev, &r, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_null(r.body);
	ck_assert_ptr_nonnull(strstr(err, "last one"));
}
END_TEST

START_TEST(build_get_item)
{
	struct hsdo_ddb_req r;
	char err[256] = "";

	ck_assert_int_eq(hsdo_ddb_build_get_item(TBL, HSDO_DDB_CONTROL_ID, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.target, "DynamoDB_20120810.GetItem");
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\","
			 "\"Key\":{\"BackendServerID\":{\"N\":\"0\"}},\"ConsistentRead\":true}");
	hsdo_ddb_req_free(&r);
	ck_assert_int_eq(hsdo_ddb_build_get_item(TBL, HSDO_SLOTS_MAX + 1, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "out of range"));
}
END_TEST

START_TEST(build_put_slot)
{
	struct hsdo_ddb_req r;
	struct hsdo_slot s;
	char err[256] = "";

	memset(&s, 0, sizeof(s));
	s.id = 3;
	hsdo_slot_clear(&s);
	ck_assert_int_eq(hsdo_ddb_build_put_slot(TBL, &s, true, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.target, "DynamoDB_20120810.PutItem");
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"Item\":" FREE_ITEM("3") ","
			 "\"ConditionExpression\":\"attribute_not_exists(BackendServerID)\"}");
	hsdo_ddb_req_free(&r);

	s.state = HSDO_SLOT_ACTIVE;
	s.ip = "10.0.0.7";
	s.name = "i-3";
	s.group = "my-asg";
	s.weight = 5;
	s.last_weight_update_us = INT64_C(1683022272000000);
	ck_assert_int_eq(hsdo_ddb_build_put_slot(TBL, &s, false, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"Item\":"
			 "{\"BackendServerID\":{\"N\":\"3\"},\"IPAddress\":{\"S\":\"10.0.0.7\"},"
			 "\"ServerName\":{\"S\":\"i-3\"},\"ASG\":{\"S\":\"my-asg\"},\"Weight\":{\"N\":\"5\"},"
			 "\"BackendServerStatus\":{\"S\":\"enabled\"},"
			 "\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.000000\"}}}");
	hsdo_ddb_req_free(&r);

	s.weight = HSDO_WEIGHT_MAX + 1;
	ck_assert_int_eq(hsdo_ddb_build_put_slot(TBL, &s, false, &r, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "weight"));
	ck_assert_int_eq(hsdo_ddb_build_put_slot(TBL, NULL, false, &r, err, sizeof(err)), -HSDO_EINVAL);
	s.weight = 1;
	s.id = 0;   /* the control item's id is not a slot */
	ck_assert_int_eq(hsdo_ddb_build_put_slot(TBL, &s, false, &r, err, sizeof(err)), -HSDO_EINVAL);
}
END_TEST

#define UPDATE_TAIL \
	"\"UpdateExpression\":\"SET #g = :next, #ip = :v0, #name = :v1, #asg = :v2, #w = :v3, " \
	"#st = :v4, #t = :v5\","

#define UPDATE_NAMES_VALUES(next, expected) \
	"\"ExpressionAttributeNames\":{\"#g\":\"Generation\",\"#ip\":\"IPAddress\"," \
	"\"#name\":\"ServerName\",\"#asg\":\"ASG\",\"#w\":\"Weight\"," \
	"\"#st\":\"BackendServerStatus\",\"#t\":\"LastWeightUpdate\"}," \
	"\"ExpressionAttributeValues\":{\":next\":{\"N\":\"" next "\"}," \
	"\":expected\":{\"N\":\"" expected "\"},\":v0\":{\"S\":\"none\"},\":v1\":{\"S\":\"none\"}," \
	"\":v2\":{\"S\":\"none\"},\":v3\":{\"N\":\"0\"},\":v4\":{\"S\":\"disabled\"}," \
	"\":v5\":{\"S\":\"0-0-0 00:00:00.000000\"}}}"

START_TEST(build_update_control)
{
	struct hsdo_ddb_req r;
	char err[256] = "";

	ck_assert_int_eq(hsdo_ddb_build_update_control(TBL, 12, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.target, "DynamoDB_20120810.UpdateItem");
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\","
			 "\"Key\":{\"BackendServerID\":{\"N\":\"0\"}}," UPDATE_TAIL
			 "\"ConditionExpression\":\"#g = :expected\","
			 UPDATE_NAMES_VALUES("13", "12"));
	hsdo_ddb_req_free(&r);

	ck_assert_int_eq(hsdo_ddb_build_update_control(TBL, 0, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\","
			 "\"Key\":{\"BackendServerID\":{\"N\":\"0\"}}," UPDATE_TAIL
			 "\"ConditionExpression\":\"attribute_not_exists(#g) OR #g = :expected\","
			 UPDATE_NAMES_VALUES("1", "0"));
	hsdo_ddb_req_free(&r);

	ck_assert_int_eq(hsdo_ddb_build_update_control(TBL, UINT64_MAX - 1, &r, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\":next\":{\"N\":\"18446744073709551615\"}"));
	hsdo_ddb_req_free(&r);
	ck_assert_int_eq(hsdo_ddb_build_update_control(TBL, UINT64_MAX, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_null(r.body);
}
END_TEST

START_TEST(build_scan_limit)
{
	struct hsdo_ddb_page prev;
	struct hsdo_ddb_req r;
	char err[256] = "";

	ck_assert_int_eq(hsdo_ddb_build_scan_page(TBL, NULL, 25, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"ConsistentRead\":true,"
			 "\"Limit\":25}");
	hsdo_ddb_req_free(&r);
	memset(&prev, 0, sizeof(prev));
	prev.more = true;
	prev.last_key = 7;
	ck_assert_int_eq(hsdo_ddb_build_scan_page(TBL, &prev, 2, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"ConsistentRead\":true,"
			 "\"ExclusiveStartKey\":{\"BackendServerID\":{\"N\":\"7\"}},\"Limit\":2}");
	hsdo_ddb_req_free(&r);
	/* 0: no Limit, exactly the plain Scan */
	ck_assert_int_eq(hsdo_ddb_build_scan_page(TBL, NULL, 0, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"ConsistentRead\":true}");
	hsdo_ddb_req_free(&r);
}
END_TEST

START_TEST(build_put_slot_fenced)
{
	struct hsdo_ddb_req r;
	struct hsdo_slot s;
	char err[256] = "";

	memset(&s, 0, sizeof(s));
	s.id = 4;
	ck_assert_int_eq(hsdo_ddb_build_put_slot_fenced(TBL, &s, 12, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.target, "DynamoDB_20120810.PutItem");
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"Item\":{"
			 "\"BackendServerID\":{\"N\":\"4\"},\"IPAddress\":{\"S\":\"none\"},"
			 "\"ServerName\":{\"S\":\"none\"},\"ASG\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
			 "\"BackendServerStatus\":{\"S\":\"disabled\"},"
			 "\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00.000000\"},\"Epoch\":{\"N\":\"12\"}},"
			 "\"ConditionExpression\":\"attribute_not_exists(#e) OR #e <= :e\","
			 "\"ExpressionAttributeNames\":{\"#e\":\"Epoch\"},"
			 "\"ExpressionAttributeValues\":{\":e\":{\"N\":\"12\"}}}");
	hsdo_ddb_req_free(&r);
	/* epoch 0: the plain put */
	ck_assert_int_eq(hsdo_ddb_build_put_slot_fenced(TBL, &s, 0, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"Item\":" FREE_ITEM("4") "}");
	hsdo_ddb_req_free(&r);
	s.id = 0;
	ck_assert_int_eq(hsdo_ddb_build_put_slot_fenced(TBL, &s, 3, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_null(r.body);
}
END_TEST

START_TEST(build_commit)
{
	struct hsdo_ddb_req r, r0;
	char err[256] = "";

	/* epoch 0 is exactly the unfenced control update */
	ck_assert_int_eq(hsdo_ddb_build_commit(TBL, 12, 0, &r, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_ddb_build_update_control(TBL, 12, &r0, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, r0.body);
	hsdo_ddb_req_free(&r);
	hsdo_ddb_req_free(&r0);

	ck_assert_int_eq(hsdo_ddb_build_commit(TBL, 12, 3, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.target, "DynamoDB_20120810.UpdateItem");
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\","
			 "\"Key\":{\"BackendServerID\":{\"N\":\"0\"}}," UPDATE_TAIL
			 "\"ConditionExpression\":\"#g = :expected AND #le = :epoch\","
			 "\"ExpressionAttributeNames\":{\"#g\":\"Generation\",\"#ip\":\"IPAddress\","
			 "\"#name\":\"ServerName\",\"#asg\":\"ASG\",\"#w\":\"Weight\","
			 "\"#st\":\"BackendServerStatus\",\"#t\":\"LastWeightUpdate\","
			 "\"#le\":\"LeaseEpoch\"},"
			 "\"ExpressionAttributeValues\":{\":next\":{\"N\":\"13\"},"
			 "\":expected\":{\"N\":\"12\"},\":v0\":{\"S\":\"none\"},\":v1\":{\"S\":\"none\"},"
			 "\":v2\":{\"S\":\"none\"},\":v3\":{\"N\":\"0\"},\":v4\":{\"S\":\"disabled\"},"
			 "\":v5\":{\"S\":\"0-0-0 00:00:00.000000\"},\":epoch\":{\"N\":\"3\"}}}");
	hsdo_ddb_req_free(&r);
	ck_assert_int_eq(hsdo_ddb_build_commit(TBL, 0, 3, &r, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\"ConditionExpression\":\"(attribute_not_exists(#g) "
				     "OR #g = :expected) AND #le = :epoch\""));
	hsdo_ddb_req_free(&r);
	ck_assert_int_eq(hsdo_ddb_build_commit(TBL, UINT64_MAX, 3, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
}
END_TEST

START_TEST(build_lease)
{
	struct hsdo_ddb_req r;
	char err[256] = "", name[HSDO_LEASE_HOLDER_LEN + 1];

	ck_assert_int_eq(hsdo_ddb_build_lease_take(TBL, "srv-a", 1000, 31000, &r, err,
						   sizeof(err)), 0);
	ck_assert_str_eq(r.target, "DynamoDB_20120810.UpdateItem");
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\","
			 "\"Key\":{\"BackendServerID\":{\"N\":\"0\"}},"
			 "\"UpdateExpression\":\"SET #h = :me, #x = :exp, "
			 "#e = if_not_exists(#e, :now) + :one, #g = if_not_exists(#g, :zero), "
			 "#ip = :v0, #name = :v1, #asg = :v2, #w = :v3, #st = :v4, #t = :v5\","
			 "\"ConditionExpression\":\"attribute_not_exists(#h) OR "
			 "attribute_not_exists(#x) OR #x <= :now\","
			 "\"ExpressionAttributeNames\":{\"#h\":\"LeaseHolder\",\"#x\":\"LeaseExpiry\","
			 "\"#e\":\"LeaseEpoch\",\"#g\":\"Generation\",\"#ip\":\"IPAddress\","
			 "\"#name\":\"ServerName\",\"#asg\":\"ASG\",\"#w\":\"Weight\","
			 "\"#st\":\"BackendServerStatus\",\"#t\":\"LastWeightUpdate\"},"
			 "\"ExpressionAttributeValues\":{\":me\":{\"S\":\"srv-a\"},"
			 "\":exp\":{\"N\":\"31000\"},\":now\":{\"N\":\"1000\"},\":zero\":{\"N\":\"0\"},"
			 "\":one\":{\"N\":\"1\"},\":v0\":{\"S\":\"none\"},\":v1\":{\"S\":\"none\"},"
			 "\":v2\":{\"S\":\"none\"},\":v3\":{\"N\":\"0\"},\":v4\":{\"S\":\"disabled\"},"
			 "\":v5\":{\"S\":\"0-0-0 00:00:00.000000\"}},"
			 "\"ReturnValues\":\"ALL_NEW\"}");
	hsdo_ddb_req_free(&r);

	ck_assert_int_eq(hsdo_ddb_build_lease_renew(TBL, "srv-a", 4, 41000, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\","
			 "\"Key\":{\"BackendServerID\":{\"N\":\"0\"}},"
			 "\"UpdateExpression\":\"SET #x = :exp\","
			 "\"ConditionExpression\":\"#h = :me AND #e = :epoch\","
			 "\"ExpressionAttributeNames\":{\"#h\":\"LeaseHolder\",\"#x\":\"LeaseExpiry\","
			 "\"#e\":\"LeaseEpoch\"},"
			 "\"ExpressionAttributeValues\":{\":epoch\":{\"N\":\"4\"},"
			 "\":me\":{\"S\":\"srv-a\"},\":exp\":{\"N\":\"41000\"}},"
			 "\"ReturnValues\":\"ALL_NEW\"}");
	hsdo_ddb_req_free(&r);
	ck_assert_int_eq(hsdo_ddb_build_lease_renew(TBL, "srv-a", 0, 41000, &r, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\"ConditionExpression\":\"#h = :me\""));
	ck_assert_ptr_null(strstr(r.body, "LeaseEpoch"));
	hsdo_ddb_req_free(&r);

	/* holder names: printable, bounded */
	ck_assert_int_eq(hsdo_ddb_build_lease_take(TBL, "", 1, 2, &r, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_ddb_build_lease_take(TBL, NULL, 1, 2, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_ddb_build_lease_take(TBL, "a\"b\n", 1, 2, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "printable"));
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ck_assert_int_eq(hsdo_ddb_build_lease_renew(TBL, name, 1, 2, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
	name[HSDO_LEASE_HOLDER_LEN - 1] = '\0';
	ck_assert_int_eq(hsdo_ddb_build_lease_renew(TBL, name, 1, 2, &r, err, sizeof(err)), 0);
	hsdo_ddb_req_free(&r);
	ck_assert_int_eq(hsdo_ddb_build_lease_take(TBL, "a", 5, 4, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_ddb_build_lease_take(TBL, "a", -1, 4, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_ddb_build_lease_renew("x", "a", 1, 4, &r, err, sizeof(err)),
			 -HSDO_EINVAL);
}
END_TEST

static const struct {
	const char *name;
	int rc;
} table_names[] = {
	{ "abc", 0 },
	{ "My_Table-1.prod", 0 },
	{ NULL, -HSDO_EINVAL },
	{ "", -HSDO_EINVAL },
	{ "ab", -HSDO_EINVAL },
	{ "a b", -HSDO_EINVAL },
	{ "tbl\"x", -HSDO_EINVAL },
	{ "t\xc3\xa9t", -HSDO_EINVAL },
};

START_TEST(build_table_names)
{
	struct hsdo_ddb_req r;
	char err[256] = "";
	int rc;

	rc = hsdo_ddb_build_describe_table(table_names[_i].name, &r, err, sizeof(err));
	ck_assert_msg(rc == table_names[_i].rc, "case %d: %d (%s)", _i, rc, err);
	if (rc == 0)
		hsdo_ddb_req_free(&r);
	else
		ck_assert_ptr_null(r.body);
	/* every builder checks */
	if (rc != 0) {
		ck_assert_int_eq(hsdo_ddb_build_scan(table_names[_i].name, NULL, &r, NULL, 0), rc);
		ck_assert_int_eq(hsdo_ddb_build_create_table(table_names[_i].name, &r, NULL, 0), rc);
		ck_assert_int_eq(hsdo_ddb_build_get_item(table_names[_i].name, 1, &r, NULL, 0), rc);
		ck_assert_int_eq(hsdo_ddb_build_update_control(table_names[_i].name, 1, &r, NULL, 0), rc);
	}
}
END_TEST

START_TEST(build_table_name_length)
{
	char name[300], err[256];
	struct hsdo_ddb_req r;

	memset(name, 'a', sizeof(name));
	name[255] = '\0';
	ck_assert_int_eq(hsdo_ddb_build_describe_table(name, &r, err, sizeof(err)), 0);
	hsdo_ddb_req_free(&r);
	name[255] = 'a';
	name[256] = '\0';
	ck_assert_int_eq(hsdo_ddb_build_describe_table(name, &r, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "longer"));
}
END_TEST

/* ---- DescribeTable ----------------------------------------------------------------- */

#define DESCRIBE(status, keys, attrs, count) "{\"Table\":{\"TableName\":\"hsdo-slots\"," \
	"\"TableStatus\":\"" status "\",\"KeySchema\":[" keys "],\"AttributeDefinitions\":[" \
	attrs "]" count "}}"
#define HASH_ID "{\"AttributeName\":\"BackendServerID\",\"KeyType\":\"HASH\"}"
#define DEF_ID_N "{\"AttributeName\":\"BackendServerID\",\"AttributeType\":\"N\"}"

START_TEST(describe_ok)
{
	const char *j = DESCRIBE("ACTIVE", HASH_ID, DEF_ID_N, ",\"ItemCount\":11");
	struct hsdo_ddb_table_info info;
	char err[256] = "";

	ck_assert_int_eq(hsdo_ddb_parse_describe_table(j, strlen(j), &info, err, sizeof(err)), 0);
	ck_assert_str_eq(info.status, "ACTIVE");
	ck_assert(info.active);
	ck_assert(info.has_item_count);
	ck_assert_uint_eq(info.item_count, 11);

	j = DESCRIBE("CREATING", HASH_ID, DEF_ID_N "," "{\"AttributeName\":\"ASG\",\"AttributeType\":\"S\"}", "");
	ck_assert_int_eq(hsdo_ddb_parse_describe_table(j, strlen(j), &info, err, sizeof(err)), 0);
	ck_assert_str_eq(info.status, "CREATING");
	ck_assert(!info.active);
	ck_assert(!info.has_item_count);
}
END_TEST

static const struct {
	const char *json;
	int rc;
	const char *msg;
} bad_describe[] = {
	{ DESCRIBE("ACTIVE", HASH_ID ",{\"AttributeName\":\"Sort\",\"KeyType\":\"RANGE\"}", DEF_ID_N, ""),
	  -HSDO_EPROTO, "table key has RANGE Sort" },
	{ DESCRIBE("ACTIVE", "{\"AttributeName\":\"Id\",\"KeyType\":\"HASH\"}", DEF_ID_N, ""),
	  -HSDO_EPROTO, "key has HASH Id" },
	{ DESCRIBE("ACTIVE", "{\"AttributeName\":\"BackendServerID\",\"KeyType\":\"RANGE\"}", DEF_ID_N, ""),
	  -HSDO_EPROTO, "KeyType RANGE; HSDO needs HASH" },
	{ DESCRIBE("ACTIVE", HASH_ID, "{\"AttributeName\":\"BackendServerID\",\"AttributeType\":\"S\"}", ""),
	  -HSDO_EPROTO, "AttributeType S; HSDO needs N" },
	{ DESCRIBE("ACTIVE", HASH_ID, "", ""), -HSDO_EPROTO, "no BackendServerID in AttributeDefinitions" },
	{ DESCRIBE("ACTIVE", "", DEF_ID_N, ""), -HSDO_EPROTO, "no BackendServerID in KeySchema" },
	{ DESCRIBE("ACTIVE", HASH_ID "," HASH_ID, DEF_ID_N, ""), -HSDO_EPROTO, "listed twice" },
	{ DESCRIBE("ACTIVE", HASH_ID, DEF_ID_N, ",\"ItemCount\":-1"), -HSDO_EPROTO, "ItemCount" },
	{ DESCRIBE("ACTIVE", HASH_ID, DEF_ID_N, ",\"ItemCount\":1.5"), -HSDO_EPROTO, "ItemCount" },
	{ "{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":{}}}", -HSDO_EPROTO, "not an array" },
	{ "{\"Table\":{\"TableStatus\":\"ACTIVE\",\"KeySchema\":[1]}}", -HSDO_EPROTO, "without AttributeName" },
	{ "{\"Table\":{\"TableStatus\":7}}", -HSDO_EPROTO, "TableStatus" },
	{ "{\"Table\":{\"TableStatus\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}}",
	  -HSDO_EPROTO, "too long" },
	{ "{\"Table\":[]}", -HSDO_EPROTO, "no Table" },
	{ "[]", -HSDO_EPROTO, "not a JSON object" },
	{ "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\","
	  "\"message\":\"Requested resource not found: Table: hsdo-slots not found\"}",
	  -HSDO_ENOTFOUND, "ResourceNotFoundException: Requested resource not found: Table: hsdo-slots not found" },
};

START_TEST(describe_bad)
{
	const char *j = bad_describe[_i].json;
	struct hsdo_ddb_table_info info, before;
	char err[256] = "";

	memset(&info, 0x5a, sizeof(info));
	before = info;
	ck_assert_int_eq(hsdo_ddb_parse_describe_table(j, strlen(j), &info, err, sizeof(err)),
			 bad_describe[_i].rc);
	ck_assert_msg(strstr(err, bad_describe[_i].msg) != NULL, "case %d: %s", _i, err);
	ck_assert(memcmp(&info, &before, sizeof(info)) == 0);
}
END_TEST

/* ---- Scan ----------------------------------------------------------------------------- */

START_TEST(scan_single_page)
{
	const char *j = "{\"Items\":[" ACTIVE_ITEM("2", "10.0.0.2", "7") "," CONTROL_ITEM("12") ","
		FREE_ITEM("1") "],\"Count\":3,\"ScannedCount\":3}";
	struct hsdo_ddb_page pg;
	struct hsdo_ddb_scan sc;
	struct hsdo_table t;
	char err[256] = "";

	ck_assert_msg(scan_page(j, &pg, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(pg.n, 2);
	ck_assert(pg.has_control);
	ck_assert_uint_eq(pg.generation, 12);
	ck_assert(!pg.more);
	ck_assert_uint_eq(pg.slots[0].id, 2);
	ck_assert_int_eq(pg.slots[0].state, HSDO_SLOT_ACTIVE);
	ck_assert_str_eq(pg.slots[0].ip, "10.0.0.2");
	ck_assert_uint_eq(pg.slots[0].weight, 7);
	ck_assert_uint_eq(pg.slots[1].id, 1);
	ck_assert_int_eq(pg.slots[1].state, HSDO_SLOT_FREE);

	hsdo_ddb_scan_init(&sc, 2);
	ck_assert_int_eq(hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err)), 0);
	hsdo_ddb_page_free(&pg);
	ck_assert_ptr_null(pg.slots);
	hsdo_ddb_page_free(NULL);
	ck_assert_msg(hsdo_ddb_scan_finish(&sc, &t, err, sizeof(err)) == 0, "%s", err);
	ck_assert_ptr_null(sc.slots);
	ck_assert_uint_eq(t.n, 2);
	ck_assert_uint_eq(t.generation, 12);
	ck_assert_uint_eq(t.slots[0].id, 1);
	ck_assert_uint_eq(t.slots[1].id, 2);
	ck_assert_str_eq(t.slots[1].name, "i-2");
	hsdo_table_free(&t);
}
END_TEST

/* The read the original crashes on (its Scan continuation names an undefined
 * `table`, dynamodb.py:61, so a truncated page raises NameError): page 1 ends
 * with a LastEvaluatedKey, the next request starts from it, page 2 ends the scan. */
START_TEST(scan_two_pages)
{
	const char *p1 = "{\"Items\":[" ACTIVE_ITEM("3", "10.0.0.3", "10") "," FREE_ITEM("1") "],"
		"\"Count\":2,\"ScannedCount\":2,\"LastEvaluatedKey\":{\"BackendServerID\":{\"N\":\"1\"}}}";
	const char *p2 = "{\"Items\":[" CONTROL_ITEM("7") "," ACTIVE_ITEM("2", "2001:db8::2", "1") "],"
		"\"Count\":2,\"ScannedCount\":2}";
	struct hsdo_ddb_page pg;
	struct hsdo_ddb_scan sc;
	struct hsdo_ddb_req r;
	struct hsdo_table t;
	char err[256] = "";

	hsdo_ddb_scan_init(&sc, 0);
	ck_assert_int_eq(hsdo_ddb_build_scan(TBL, NULL, &r, err, sizeof(err)), 0);
	hsdo_ddb_req_free(&r);
	ck_assert_msg(scan_page(p1, &pg, err, sizeof(err)) == 0, "%s", err);
	ck_assert(pg.more);
	ck_assert_uint_eq(pg.last_key, 1);
	ck_assert(!pg.has_control);
	ck_assert_int_eq(hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_ddb_build_scan(TBL, &pg, &r, err, sizeof(err)), 0);
	ck_assert_str_eq(r.body, "{\"TableName\":\"hsdo-slots\",\"ConsistentRead\":true,"
			 "\"ExclusiveStartKey\":{\"BackendServerID\":{\"N\":\"1\"}}}");
	hsdo_ddb_req_free(&r);
	hsdo_ddb_page_free(&pg);

	ck_assert_msg(scan_page(p2, &pg, err, sizeof(err)) == 0, "%s", err);
	ck_assert(!pg.more);
	ck_assert(pg.has_control);
	ck_assert_int_eq(hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_ddb_build_scan(TBL, &pg, &r, err, sizeof(err)), -HSDO_EINVAL);
	hsdo_ddb_page_free(&pg);
	ck_assert_uint_eq(sc.pages, 2);

	ck_assert_msg(hsdo_ddb_scan_finish(&sc, &t, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(t.generation, 7);
	ck_assert_str_eq(t.slots[1].ip, "2001:db8::2");
	ck_assert_uint_eq(t.slots[2].weight, 10);
	ck_assert_int_eq(t.slots[0].state, HSDO_SLOT_FREE);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(scan_empty_table)
{
	const char *j = "{\"Items\":[],\"Count\":0,\"ScannedCount\":0}";
	struct hsdo_ddb_page pg;
	struct hsdo_ddb_scan sc;
	struct hsdo_table t;
	char err[256] = "";

	ck_assert_int_eq(scan_page(j, &pg, err, sizeof(err)), 0);
	ck_assert_uint_eq(pg.n, 0);
	hsdo_ddb_scan_init(&sc, 10);
	ck_assert_int_eq(hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_ddb_scan_finish(&sc, &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.n, 0);
	ck_assert_uint_eq(t.generation, 0);
	hsdo_table_free(&t);
	hsdo_ddb_page_free(&pg);
}
END_TEST

/* An item 0 without Generation (made by hand, or a lease taken before any
 * write) is a control item of generation 0: the table is unversioned, the
 * read does not fail. */
START_TEST(scan_control_without_generation)
{
	const char *j = "{\"Items\":[" FREE_ITEM("1") ",{\"BackendServerID\":{\"N\":\"0\"},"
		"\"LeaseHolder\":{\"S\":\"srv-a\"}}]}";
	struct hsdo_ddb_page pg;
	struct hsdo_ddb_scan sc;
	struct hsdo_table t;
	char err[256] = "";

	ck_assert_msg(scan_page(j, &pg, err, sizeof(err)) == 0, "%s", err);
	ck_assert(pg.has_control);
	ck_assert_uint_eq(pg.generation, 0);
	ck_assert_uint_eq(pg.n, 1);
	hsdo_ddb_scan_init(&sc, 10);
	ck_assert_int_eq(hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_ddb_scan_finish(&sc, &t, err, sizeof(err)), 0);
	ck_assert_uint_eq(t.n, 1);
	ck_assert_uint_eq(t.generation, 0);
	hsdo_table_free(&t);
	hsdo_ddb_page_free(&pg);
}
END_TEST

/* Assembler: pages of ids that do not make 1..n. */
static const struct {
	const char *p1, *p2;
	size_t max;
	const char *msg;
} bad_tables[] = {
	{ "{\"Items\":[" FREE_ITEM("1") "," FREE_ITEM("2") "]}",
	  "{\"Items\":[" FREE_ITEM("2") "]}", 0, "duplicate slot 2" },
	{ "{\"Items\":[" FREE_ITEM("1") "]}",
	  "{\"Items\":[" FREE_ITEM("3") "," FREE_ITEM("4") "]}", 0, "slot 2 missing" },
	{ "{\"Items\":[" FREE_ITEM("2") "]}", "{\"Items\":[]}", 0, "slot 1 missing" },
	{ "{\"Items\":[" FREE_ITEM("1") "]}",
	  "{\"Items\":[" FREE_ITEM("3") "]}", 2, "slot 3 out of range 1..2" },
	{ "{\"Items\":[" CONTROL_ITEM("1") "]}",
	  "{\"Items\":[" CONTROL_ITEM("2") "]}", 0, "control item 0 seen twice" },
	{ "{\"Items\":[" FREE_ITEM("1") "," FREE_ITEM("2") "]}",
	  "{\"Items\":[" FREE_ITEM("1") "]}", 2, "more than 2 slot items" },
};

START_TEST(scan_assembler_rejects)
{
	struct hsdo_ddb_page pg;
	struct hsdo_ddb_scan sc;
	struct hsdo_table t;
	char err[256] = "";
	int rc;

	hsdo_ddb_scan_init(&sc, bad_tables[_i].max);
	ck_assert_int_eq(scan_page(bad_tables[_i].p1, &pg, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err)), 0);
	hsdo_ddb_page_free(&pg);
	ck_assert_int_eq(scan_page(bad_tables[_i].p2, &pg, err, sizeof(err)), 0);
	rc = hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err));
	hsdo_ddb_page_free(&pg);
	if (rc == 0) {
		memset(&t, 0x5a, sizeof(t));
		rc = hsdo_ddb_scan_finish(&sc, &t, err, sizeof(err));
		ck_assert_ptr_eq(t.slots, (void *)(uintptr_t)0x5a5a5a5a5a5a5a5aULL);
	} else {
		hsdo_ddb_scan_free(&sc);
	}
	ck_assert_int_eq(rc, -HSDO_EPROTO);
	ck_assert_msg(strstr(err, bad_tables[_i].msg) != NULL, "case %d: %s", _i, err);
	ck_assert_ptr_null(sc.slots);
	hsdo_ddb_scan_free(&sc);
}
END_TEST

/* A Scan page with items that fail: the error names the item. */
static const struct {
	const char *json;
	int rc;
	const char *msg;
} bad_scans[] = {
	{ "{\"Items\":[" FREE_ITEM("1") "," ACTIVE_ITEM("2", "10.0.0.2", "300") "]}", -HSDO_EPROTO,
	  "Scan item 1 (BackendServerID 2): Weight" },
	{ "{\"Items\":[" FREE_ITEM("100001") "]}", -HSDO_EPROTO,
	  "Scan item 0 (BackendServerID 100001): BackendServerID" },
	{ "{\"Items\":[{\"BackendServerID\":{\"S\":\"1\"}}]}", -HSDO_EPROTO,
	  "Scan item 0 (BackendServerID ?): BackendServerID: expected type N" },
	{ "{\"Items\":[{\"BackendServerID\":{\"N\":\"1\"},\"BackendServerID\":{\"N\":\"2\"}}]}",
	  -HSDO_EPROTO, "Scan item 0: item: duplicate BackendServerID" },
	{ "{\"Items\":[" FREE_ITEM("1") ",7]}", -HSDO_EPROTO, "Scan item 1 (BackendServerID ?): item is not" },
	{ "{\"Items\":[{\"BackendServerID\":{\"N\":\"0\"},\"Generation\":{\"S\":\"1\"}}]}",
	  -HSDO_EPROTO, "Generation is not an N" },
	{ "{\"Items\":[{\"BackendServerID\":{\"N\":\"0\"},\"Generation\":{\"N\":\"-1\"}}]}",
	  -HSDO_EPROTO, "Generation \"-1\" is not a plain decimal" },
	{ "{\"Items\":[{\"BackendServerID\":{\"N\":\"0\"},\"Generation\":{\"N\":\"1\"},"
	  "\"Generation\":{\"N\":\"2\"}}]}", -HSDO_EPROTO, "duplicate Generation" },
	{ "{\"Items\":[" CONTROL_ITEM("1") "," CONTROL_ITEM("1") "]}", -HSDO_EPROTO,
	  "Scan item 1: second control item 0" },
	{ "{\"Items\":[" FREE_ITEM("1") "],\"Count\":2}", -HSDO_EPROTO, "Count does not match" },
	{ "{\"Items\":[],\"LastEvaluatedKey\":{\"BackendServerID\":{\"S\":\"1\"}}}", -HSDO_EPROTO,
	  "LastEvaluatedKey is not an N" },
	{ "{\"Items\":[],\"LastEvaluatedKey\":{\"BackendServerID\":{\"N\":\"100001\"}}}", -HSDO_EPROTO,
	  "LastEvaluatedKey is not an N" },
	{ "{\"Items\":[],\"LastEvaluatedKey\":{\"Other\":{\"N\":\"1\"}}}", -HSDO_EPROTO,
	  "LastEvaluatedKey is not" },
	{ "{\"Items\":{}}", -HSDO_EPROTO, "Items missing or not an array" },
	{ "{\"Count\":0}", -HSDO_EPROTO, "Items missing" },
	{ "[]", -HSDO_EPROTO, "Scan response is not a JSON object" },
	{ "{\"Items\":[]", -HSDO_EPROTO, "invalid JSON at byte" },
	{ "{\"Items\":[]} x", -HSDO_EPROTO, "trailing data at byte 13" },
	{ "", -HSDO_EPROTO, "empty body" },
	{ "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException\","
	  "\"message\":\"slow down\"}", -HSDO_EAGAIN,
	  "ProvisionedThroughputExceededException: slow down" },
};

START_TEST(scan_bad)
{
	struct hsdo_ddb_page pg, before;
	char err[256] = "";

	memset(&pg, 0x5a, sizeof(pg));
	before = pg;
	ck_assert_int_eq(scan_page(bad_scans[_i].json, &pg, err, sizeof(err)), bad_scans[_i].rc);
	ck_assert_msg(strstr(err, bad_scans[_i].msg) != NULL, "case %d: %s", _i, err);
	ck_assert(memcmp(&pg, &before, sizeof(pg)) == 0);
}
END_TEST

START_TEST(scan_bounds)
{
	const char *j = "{\"Items\":[]}";
	struct hsdo_ddb_page pg;
	struct hsdo_ddb_scan sc;
	char err[256] = "";
	int i;

	/* the length is checked before a byte is read */
	ck_assert_int_eq(hsdo_ddb_parse_scan(j, HSDO_DDB_BODY_MAX + 1, &pg, err, sizeof(err)),
			 -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_ddb_parse_scan(NULL, 0, &pg, err, sizeof(err)), -HSDO_EPROTO);
	/* a server that never stops paginating */
	ck_assert_int_eq(scan_page(j, &pg, err, sizeof(err)), 0);
	hsdo_ddb_scan_init(&sc, 0);
	for (i = 0; i < HSDO_DDB_PAGES_MAX; i++)
		ck_assert_int_eq(hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err)), -HSDO_ETOOBIG);
	hsdo_ddb_scan_free(&sc);
	hsdo_ddb_scan_free(NULL);
}
END_TEST

/* ---- control item -------------------------------------------------------------------- */

/* Apply an UpdateItem request the way DynamoDB would (SET of plain
 * "#name = :value" pairs) to an item, returning the new item's JSON. */
static char *apply_update(const char *body, const char *item_json)
{
	cJSON *req = cJSON_Parse(body), *item, *names, *values, *key;
	const char *expr;
	char *out, lhs[32], rhs[32];
	int n;

	ck_assert_ptr_nonnull(req);
	item = item_json ? cJSON_Parse(item_json) : cJSON_CreateObject();
	ck_assert_ptr_nonnull(item);
	names = cJSON_GetObjectItem(req, "ExpressionAttributeNames");
	values = cJSON_GetObjectItem(req, "ExpressionAttributeValues");
	key = cJSON_GetObjectItem(cJSON_GetObjectItem(req, "Key"), "BackendServerID");
	if (cJSON_GetObjectItem(item, "BackendServerID") == NULL)
		cJSON_AddItemToObject(item, "BackendServerID", cJSON_Duplicate(key, 1));
	expr = cJSON_GetObjectItem(req, "UpdateExpression")->valuestring;
	ck_assert(strncmp(expr, "SET ", 4) == 0);
	expr += 4;
	while (sscanf(expr, "%31s = %31[^,]%n", lhs, rhs, &n) == 2) {
		const char *attr = cJSON_GetObjectItem(names, lhs)->valuestring;

		cJSON_DeleteItemFromObject(item, attr);
		cJSON_AddItemToObject(item, attr, cJSON_Duplicate(cJSON_GetObjectItem(values, rhs), 1));
		expr += n;
		if (*expr == ',')
			expr += 2;
	}
	out = cJSON_PrintUnformatted(item);
	cJSON_Delete(item);
	cJSON_Delete(req);
	return out;
}

START_TEST(control_roundtrip)
{
	struct hsdo_ddb_req r;
	struct hsdo_slot s;
	struct hsdo_strset *strs = hsdo_strset_new();
	char err[256] = "", *item, *item1, *resp, *p;
	uint64_t gen = 99;
	size_t len;

	/* create (expected 0 on a missing item), then bump from 1 keeping a lease */
	ck_assert_int_eq(hsdo_ddb_build_update_control(TBL, 0, &r, err, sizeof(err)), 0);
	item = apply_update(r.body, NULL);
	hsdo_ddb_req_free(&r);
	ck_assert_int_eq(hsdo_ddb_build_update_control(TBL, 1, &r, err, sizeof(err)), 0);
	p = strrchr(item, '}');
	*p = '\0';
	len = strlen(item) + 64;
	item1 = malloc(len);
	snprintf(item1, len, "%s,\"LeaseOwner\":{\"S\":\"a\"}}", item);
	cJSON_free(item);
	item = apply_update(r.body, item1);
	free(item1);
	hsdo_ddb_req_free(&r);
	ck_assert_ptr_nonnull(strstr(item, "\"LeaseOwner\":{\"S\":\"a\"}"));

	len = strlen(item) + 16;
	resp = malloc(len);
	snprintf(resp, len, "{\"Item\":%s}", item);
	ck_assert_msg(hsdo_ddb_parse_get_control(resp, strlen(resp), &gen, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_uint_eq(gen, 2);
	free(resp);
	resp = malloc(len + 32);
	snprintf(resp, len + 32, "{\"Items\":[%s],\"Count\":1}", item);
	{
		struct hsdo_ddb_page pg;

		ck_assert_int_eq(scan_page(resp, &pg, err, sizeof(err)), 0);
		ck_assert(pg.has_control);
		ck_assert_uint_eq(pg.generation, 2);
		ck_assert_uint_eq(pg.n, 0);
		hsdo_ddb_page_free(&pg);
	}
	free(resp);

	/* What an original client sees: the item is a complete free slot, only
	 * its id (0, no server <base>0 in a server-template 1-N) is off. */
	p = strstr(item, "{\"N\":\"0\"}");
	ck_assert_ptr_nonnull(p);
	p[6] = '1';
	ck_assert_msg(hsdo_item_decode_json(item, strlen(item), strs, &s, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(s.state, HSDO_SLOT_FREE);
	ck_assert_str_eq(s.ip, "");
	p[6] = '0';
	ck_assert_int_eq(hsdo_item_decode_json(item, strlen(item), strs, &s, err, sizeof(err)), -HSDO_EPROTO);
	cJSON_free(item);
	hsdo_strset_free(strs);
}
END_TEST

static const struct {
	const char *json;
	int rc;
	uint64_t gen;
	const char *msg;
} get_controls[] = {
	{ "{}", 0, 0, NULL },
	{ "{\"Item\":" CONTROL_ITEM("5") "}", 0, 5, NULL },
	{ "{\"Item\":" CONTROL_ITEM("18446744073709551615") "}", 0, UINT64_MAX, NULL },
	{ "{\"Item\":" CONTROL_ITEM("18446744073709551616") "}", -HSDO_EPROTO, 0, "not a plain decimal" },
	{ "{\"Item\":" CONTROL_ITEM("1.5") "}", -HSDO_EPROTO, 0, "not a plain decimal" },
	{ "{\"Item\":" CONTROL_ITEM("") "}", -HSDO_EPROTO, 0, "not a plain decimal" },
	{ "{\"Item\":" FREE_ITEM("5") "}", -HSDO_EPROTO, 0, "not the control item" },
	/* an item 0 without Generation: the table is unversioned */
	{ "{\"Item\":{\"BackendServerID\":{\"N\":\"0\"}}}", 0, 0, NULL },
	{ "{\"Item\":[]}", -HSDO_EPROTO, 0, "not the control item" },
	{ "{\"Item\":{\"BackendServerID\":{\"N\":\"0\"},\"BackendServerID\":{\"N\":\"0\"}}}",
	  -HSDO_EPROTO, 0, "duplicate BackendServerID" },
	{ "nope", -HSDO_EPROTO, 0, "invalid JSON" },
	{ "{\"__type\":\"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException\"}",
	  -HSDO_ENOTFOUND, 0, "ResourceNotFoundException" },
};

START_TEST(get_control)
{
	char err[256] = "";
	uint64_t gen = 77;
	int rc;

	rc = hsdo_ddb_parse_get_control(get_controls[_i].json, strlen(get_controls[_i].json),
					&gen, err, sizeof(err));
	ck_assert_msg(rc == get_controls[_i].rc, "case %d: %d %s", _i, rc, err);
	if (rc == 0) {
		ck_assert_uint_eq(gen, get_controls[_i].gen);
	} else {
		ck_assert_uint_eq(gen, 77);
		ck_assert_msg(strstr(err, get_controls[_i].msg) != NULL, "case %d: %s", _i, err);
	}
}
END_TEST

#define LEASED_ITEM(gen, holder, epoch, exp) "{\"BackendServerID\":{\"N\":\"0\"}," gen \
	"\"LeaseHolder\":{\"S\":\"" holder "\"},\"LeaseEpoch\":{\"N\":\"" epoch "\"}," \
	"\"LeaseExpiry\":{\"N\":\"" exp "\"},\"IPAddress\":{\"S\":\"none\"}}"

static const struct {
	const char *json;
	int rc;
	bool exists;
	uint64_t gen, epoch;
	int64_t exp;
	const char *holder;   /* or the message when rc != 0 */
} controls[] = {
	{ "{}", 0, false, 0, 0, 0, "" },
	{ "{\"Item\":" CONTROL_ITEM("5") "}", 0, true, 5, 0, 0, "" },
	{ "{\"Item\":" LEASED_ITEM("\"Generation\":{\"N\":\"9\"},", "srv-a", "3", "1700000000000")
	  "}", 0, true, 9, 3, INT64_C(1700000000000), "srv-a" },
	/* an UpdateItem ALL_NEW reply; a lease take before any write (no Generation) */
	{ "{\"Attributes\":" LEASED_ITEM("", "b", "1", "5") "}", 0, true, 0, 1, 5, "b" },
	{ "{\"Attributes\":" LEASED_ITEM("", "b", "18446744073709551615", "9223372036854775807")
	  "}", 0, true, 0, UINT64_MAX, INT64_MAX, "b" },
	{ "{\"Attributes\":" LEASED_ITEM("", "b", "1", "9223372036854775808") "}",
	  -HSDO_EPROTO, false, 0, 0, 0, "LeaseExpiry" },
	{ "{\"Attributes\":" LEASED_ITEM("", "b", "-1", "5") "}",
	  -HSDO_EPROTO, false, 0, 0, 0, "LeaseEpoch" },
	{ "{\"Attributes\":{\"BackendServerID\":{\"N\":\"0\"},\"LeaseHolder\":{\"N\":\"1\"}}}",
	  -HSDO_EPROTO, false, 0, 0, 0, "LeaseHolder is not an S" },
	{ "{\"Attributes\":{\"BackendServerID\":{\"N\":\"0\"},\"LeaseEpoch\":{\"S\":\"1\"}}}",
	  -HSDO_EPROTO, false, 0, 0, 0, "LeaseEpoch is not an N" },
	{ "{\"Item\":" CONTROL_ITEM("5") ",\"Attributes\":" CONTROL_ITEM("5") "}",
	  -HSDO_EPROTO, false, 0, 0, 0, "both Item and Attributes" },
	{ "{\"Item\":" FREE_ITEM("3") "}", -HSDO_EPROTO, false, 0, 0, 0, "not the control item" },
	{ "{\"Item\":7}", -HSDO_EPROTO, false, 0, 0, 0, "not an object" },
	{ "{\"Item\":{\"BackendServerID\":{\"N\":\"0\"},\"LeaseHolder\":{\"S\":\""
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}}",
	  -HSDO_EPROTO, false, 0, 0, 0, "longer than 127" },
	{ "{\"__type\":\"x#ConditionalCheckFailedException\",\"message\":\"c\"}",
	  -HSDO_ECONFLICT, false, 0, 0, 0, "ConditionalCheckFailedException: c" },
};

START_TEST(parse_control)
{
	struct hsdo_ddb_control c;
	char err[256] = "";
	int rc;

	memset(&c, 0x5a, sizeof(c));
	rc = hsdo_ddb_parse_control(controls[_i].json, strlen(controls[_i].json), &c, err,
				    sizeof(err));
	ck_assert_msg(rc == controls[_i].rc, "case %d: %d %s", _i, rc, err);
	if (rc != 0) {
		ck_assert_msg(strstr(err, controls[_i].holder) != NULL, "case %d: %s", _i, err);
		ck_assert_uint_eq(c.generation, 0x5a5a5a5a5a5a5a5aULL);   /* untouched */
		return;
	}
	ck_assert(c.exists == controls[_i].exists);
	ck_assert_uint_eq(c.generation, controls[_i].gen);
	ck_assert_uint_eq(c.lease.epoch, controls[_i].epoch);
	ck_assert_int_eq(c.lease.expires_ms, controls[_i].exp);
	ck_assert_str_eq(c.lease.holder, controls[_i].holder);
	ck_assert(!c.lease.taken_over);
}
END_TEST

/* ---- errors --------------------------------------------------------------------------- */

#define AWS_ERR(t, m) "{\"__type\":\"com.amazonaws.dynamodb.v20120810#" t "\",\"message\":\"" m "\"}"

static const struct {
	const char *json;
	int rc;
	const char *err;
} errors[] = {
	{ AWS_ERR("ConditionalCheckFailedException", "The conditional request failed"),
	  -HSDO_ECONFLICT, "ConditionalCheckFailedException: The conditional request failed" },
	{ AWS_ERR("ResourceNotFoundException", "Requested resource not found"),
	  -HSDO_ENOTFOUND, "ResourceNotFoundException: Requested resource not found" },
	{ AWS_ERR("ProvisionedThroughputExceededException", "x"),
	  -HSDO_EAGAIN, "ProvisionedThroughputExceededException: x" },
	{ AWS_ERR("ThrottlingException", "Rate of requests exceeds the allowed throughput."),
	  -HSDO_EAGAIN, "ThrottlingException: Rate of requests exceeds the allowed throughput." },
	{ AWS_ERR("RequestLimitExceeded", "y"), -HSDO_EAGAIN, "RequestLimitExceeded: y" },
	{ AWS_ERR("InternalServerError", "z"), -HSDO_EAGAIN, "InternalServerError: z" },
	{ AWS_ERR("ServiceUnavailable", "z"), -HSDO_EAGAIN, "ServiceUnavailable: z" },
	{ AWS_ERR("ValidationException", "One or more parameter values were invalid"),
	  -HSDO_EAWS, "ValidationException: One or more parameter values were invalid" },
	{ "{\"__type\":\"com.amazon.coral.service#UnrecognizedClientException\","
	  "\"Message\":\"The security token included in the request is invalid.\"}",
	  -HSDO_EAWS, "UnrecognizedClientException: The security token included in the request is invalid." },
	{ "{\"__type\":\"ThrottlingException\"}", -HSDO_EAGAIN, "ThrottlingException" },
	{ "{\"__type\":\"com.x#ConditionalCheckFailedExceptionX\"}", -HSDO_EAWS,
	  "ConditionalCheckFailedExceptionX" },
	{ AWS_ERR("ValidationException", "bad\\u0001byte"), -HSDO_EAWS, "ValidationException: bad?byte" },
	{ "{\"__type\":\"com.x#\",\"message\":\"m\"}", -HSDO_EAWS, "(empty __type): m" },
	{ "{\"__type\":\"\"}", -HSDO_EAWS, "(empty __type)" },
	{ "{\"message\":\"no type\"}", -HSDO_EAWS, "AWS error without a __type" },
	{ "{\"__type\":5}", -HSDO_EAWS, "AWS error without a __type" },
	{ "[1]", -HSDO_EAWS, "AWS error body is not a JSON object" },
	{ "<html>502 Bad Gateway</html>", -HSDO_EAWS, "AWS error with an unparseable body (28 bytes)" },
	{ "", -HSDO_EAWS, "AWS error with an unparseable body (0 bytes)" },
};

START_TEST(error_types)
{
	char err[256] = "";

	ck_assert_int_eq(hsdo_ddb_parse_error(errors[_i].json, strlen(errors[_i].json),
					      err, sizeof(err)), errors[_i].rc);
	ck_assert_str_eq(err, errors[_i].err);
}
END_TEST

/* The same bodies taken apart: code and message are what err joins with
 * ": " (or err alone when there is no __type at all). */
START_TEST(error_parts)
{
	struct hsdo_ddb_error e;
	char err[256] = "", joined[400];
	const char *want = errors[_i].err;

	ck_assert_int_eq(hsdo_ddb_decode_error(errors[_i].json, strlen(errors[_i].json), &e,
					       err, sizeof(err)), errors[_i].rc);
	ck_assert_str_eq(err, want);
	if (strncmp(want, "AWS error", 9) == 0) {
		ck_assert_str_eq(e.code, "");
		ck_assert_str_eq(e.message, "");
		return;
	}
	snprintf(joined, sizeof(joined), "%s%s%s", e.code[0] ? e.code : "(empty __type)",
		 e.message[0] ? ": " : "", e.message);
	ck_assert_str_eq(joined, want);
	ck_assert_ptr_null(strchr(e.code, ':'));
}
END_TEST

/* Every success parser maps an error body it is handed. */
START_TEST(error_through_parsers)
{
	const char *j = AWS_ERR("ConditionalCheckFailedException", "The conditional request failed");
	struct hsdo_ddb_table_info info;
	struct hsdo_ddb_page pg;
	char err[256] = "";
	uint64_t gen;

	ck_assert_int_eq(hsdo_ddb_parse_scan(j, strlen(j), &pg, err, sizeof(err)), -HSDO_ECONFLICT);
	ck_assert_int_eq(hsdo_ddb_parse_get_control(j, strlen(j), &gen, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	ck_assert_int_eq(hsdo_ddb_parse_describe_table(j, strlen(j), &info, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	ck_assert_str_eq(err, "ConditionalCheckFailedException: The conditional request failed");
	/* a long message is cut, err stays terminated */
	{
		char big[1024], small[16], err2[512];

		snprintf(big, sizeof(big), AWS_ERR("ValidationException", "%0600d"), 0);
		ck_assert_int_eq(hsdo_ddb_parse_error(big, strlen(big), err2, sizeof(err2)), -HSDO_EAWS);
		ck_assert_ptr_nonnull(strstr(err2, "0..."));
		ck_assert_int_eq(hsdo_ddb_parse_error(big, strlen(big), small, sizeof(small)), -HSDO_EAWS);
		ck_assert_str_eq(small, "ValidationExcep");
		ck_assert_int_eq(hsdo_ddb_parse_error(big, strlen(big), NULL, 0), -HSDO_EAWS);
	}
}
END_TEST

/* ---- allocation failures ----------------------------------------------------------------- */

START_TEST(alloc_failure_builders)
{
	struct hsdo_ddb_page prev;
	struct hsdo_ddb_req r;
	struct hsdo_slot s;
	char err[256];
	unsigned long i;
	int op, rc = -1;

	memset(&s, 0, sizeof(s));
	s.id = 9;
	memset(&prev, 0, sizeof(prev));
	prev.more = true;
	prev.last_key = 3;
	for (op = 0; op < 11; op++) {
		for (i = 1; i < 1000; i++) {
			hsdo_alloc_fail_at(i, 1);
			switch (op) {
			case 0: rc = hsdo_ddb_build_describe_table(TBL, &r, err, sizeof(err)); break;
			case 1: rc = hsdo_ddb_build_create_table(TBL, &r, err, sizeof(err)); break;
			case 2: rc = hsdo_ddb_build_scan(TBL, &prev, &r, err, sizeof(err)); break;
			case 3: rc = hsdo_ddb_build_get_item(TBL, 0, &r, err, sizeof(err)); break;
			case 4: rc = hsdo_ddb_build_put_slot(TBL, &s, true, &r, err, sizeof(err)); break;
			case 5: rc = hsdo_ddb_build_update_control(TBL, 5, &r, err, sizeof(err)); break;
			case 6: rc = hsdo_ddb_build_scan_page(TBL, &prev, 9, &r, err, sizeof(err)); break;
			case 7: rc = hsdo_ddb_build_put_slot_fenced(TBL, &s, 4, &r, err, sizeof(err)); break;
			case 8: rc = hsdo_ddb_build_commit(TBL, 5, 4, &r, err, sizeof(err)); break;
			case 9: rc = hsdo_ddb_build_lease_take(TBL, "me", 1, 2, &r, err, sizeof(err)); break;
			default: rc = hsdo_ddb_build_lease_renew(TBL, "me", 3, 2, &r, err, sizeof(err)); break;
			}
			hsdo_alloc_fail_at(0, 0);
			if (rc == 0)
				break;
			ck_assert_msg(rc == -HSDO_ENOMEM, "op %d step %lu: %d %s", op, i, rc, err);
			ck_assert_ptr_null(r.body);
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_gt(i, 2);
		hsdo_ddb_req_free(&r);
	}
}
END_TEST

START_TEST(alloc_failure_parsers)
{
	const char *p1 = "{\"Items\":[" ACTIVE_ITEM("2", "10.0.0.2", "3") "," FREE_ITEM("1") "],"
		"\"LastEvaluatedKey\":{\"BackendServerID\":{\"N\":\"1\"}}}";
	const char *p2 = "{\"Items\":[" CONTROL_ITEM("4") "," FREE_ITEM("3") "]}";
	const char *d = DESCRIBE("ACTIVE", HASH_ID, DEF_ID_N, ",\"ItemCount\":3");
	const char *e = AWS_ERR("ThrottlingException", "x");
	struct hsdo_ddb_table_info info;
	struct hsdo_ddb_page pg;
	struct hsdo_ddb_scan sc;
	struct hsdo_table t;
	char err[256];
	unsigned long i;
	uint64_t gen;
	int rc = -1;

	/* a full two-page read */
	for (i = 1; i < 2000; i++) {
		hsdo_alloc_fail_at(i, 1);
		hsdo_ddb_scan_init(&sc, 0);
		memset(&t, 0, sizeof(t));
		rc = scan_page(p1, &pg, err, sizeof(err));
		if (rc == 0) {
			rc = hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err));
			hsdo_ddb_page_free(&pg);
		}
		if (rc == 0 && (rc = scan_page(p2, &pg, err, sizeof(err))) == 0) {
			rc = hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err));
			hsdo_ddb_page_free(&pg);
		}
		if (rc == 0)
			rc = hsdo_ddb_scan_finish(&sc, &t, err, sizeof(err));
		hsdo_ddb_scan_free(&sc);
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "step %lu: %d %s", i, rc, err);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 10);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(t.generation, 4);
	hsdo_table_free(&t);

	for (i = 1; i < 1000; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_ddb_parse_describe_table(d, strlen(d), &info, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "step %lu: %d %s", i, rc, err);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 5);

	for (i = 1; i < 1000; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_ddb_parse_error(e, strlen(e), err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == -HSDO_EAGAIN)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "step %lu: %d %s", i, rc, err);
	}
	ck_assert_int_eq(rc, -HSDO_EAGAIN);

	for (i = 1; i < 1000; i++) {
		const char *g = "{\"Item\":" CONTROL_ITEM("8") "}";

		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_ddb_parse_get_control(g, strlen(g), &gen, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "step %lu: %d %s", i, rc, err);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_eq(gen, 8);

	for (i = 1; i < 1000; i++) {
		const char *g = "{\"Attributes\":" LEASED_ITEM("", "b", "1", "5") "}";
		struct hsdo_ddb_control c;

		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_ddb_parse_control(g, strlen(g), &c, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "step %lu: %d %s", i, rc, err);
	}
	ck_assert_int_eq(rc, 0);
}
END_TEST

static Suite *ddb_suite(void)
{
	Suite *s = suite_create("ddb");
	TCase *tc;

	tc = tcase_create("build");
	tcase_add_test(tc, build_describe_create);
	tcase_add_test(tc, build_scan_pages);
	tcase_add_test(tc, build_get_item);
	tcase_add_test(tc, build_put_slot);
	tcase_add_test(tc, build_update_control);
	tcase_add_test(tc, build_scan_limit);
	tcase_add_test(tc, build_put_slot_fenced);
	tcase_add_test(tc, build_commit);
	tcase_add_test(tc, build_lease);
	tcase_add_loop_test(tc, build_table_names, 0, N(table_names));
	tcase_add_test(tc, build_table_name_length);
	suite_add_tcase(s, tc);

	tc = tcase_create("parse");
	tcase_add_test(tc, describe_ok);
	tcase_add_loop_test(tc, describe_bad, 0, N(bad_describe));
	tcase_add_test(tc, scan_single_page);
	tcase_add_test(tc, scan_two_pages);
	tcase_add_test(tc, scan_empty_table);
	tcase_add_test(tc, scan_control_without_generation);
	tcase_add_loop_test(tc, scan_assembler_rejects, 0, N(bad_tables));
	tcase_add_loop_test(tc, scan_bad, 0, N(bad_scans));
	tcase_add_test(tc, scan_bounds);
	tcase_add_test(tc, control_roundtrip);
	tcase_add_loop_test(tc, get_control, 0, N(get_controls));
	tcase_add_loop_test(tc, parse_control, 0, N(controls));
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_loop_test(tc, error_types, 0, N(errors));
	tcase_add_loop_test(tc, error_parts, 0, N(errors));
	tcase_add_test(tc, error_through_parsers);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, alloc_failure_builders);
	tcase_add_test(tc, alloc_failure_parsers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(ddb_suite());
}
