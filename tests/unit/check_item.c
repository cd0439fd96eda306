/* DynamoDB item codec: the compatibility contract with the original Python
 * HSDO (exact attribute-value JSON, items it writes), rejection of malformed
 * items with a reason, the time helpers and allocation failures. */
#include <check.h>
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/item.h"
#include "hsdo/slot.h"
#include "hsdo_test.h"

#define T_2023 INT64_C(1683022272123456)   /* 2023-05-02 10:11:12.123456 */

static struct hsdo_slot mk(uint32_t id, enum hsdo_slot_state st, const char *ip,
			   const char *name, const char *group, const char *az,
			   uint16_t port, uint32_t weight, int64_t t)
{
	struct hsdo_slot s;

	memset(&s, 0, sizeof(s));
	s.id = id;
	hsdo_slot_clear(&s);
	s.state = st;
	s.ip = ip;           /* literals: they outlive the slot */
	s.name = name;
	s.group = group;
	s.az = az;
	s.port = port;
	s.weight = weight;
	s.last_weight_update_us = t;
	return s;
}

/* The set decoded slots' strings go to (one for the whole run). */
static struct hsdo_strset *strs(void)
{
	static struct hsdo_strset *set;

	if (set == NULL)
		set = hsdo_strset_new();
	ck_assert_ptr_nonnull(set);
	return set;
}

static char *encode_str(const struct hsdo_slot *s)
{
	cJSON *j = hsdo_item_encode(s);
	char *txt;

	ck_assert_ptr_nonnull(j);
	txt = cJSON_PrintUnformatted(j);
	ck_assert_ptr_nonnull(txt);
	cJSON_Delete(j);
	return txt;
}

/* ---- round trips ----------------------------------------------------------- */

static struct hsdo_slot rt_slot(int i)
{
	switch (i) {
	case 0: return mk(1, HSDO_SLOT_FREE, "", "", "", "", 0, 0, 0);
	case 1: return mk(2, HSDO_SLOT_ACTIVE, "10.0.0.7", "i-0abc", "my-asg", "", 0, 7, T_2023);
	case 2: return mk(3, HSDO_SLOT_ACTIVE, "2001:db8::1", "i-0def", "asg-b", "eu-west-1a",
			  8080, 256, T_2023);
	case 3: return mk(4, HSDO_SLOT_DRAINING, "10.0.0.8", "i-1", "my-asg", "", 0, 0, T_2023);
	case 4: return mk(HSDO_SLOTS_MAX, HSDO_SLOT_DRAINING, "10.0.0.9", "i-2", "", "eu-west-1c",
			  65535, 0, 1);
	case 5: return mk(6, HSDO_SLOT_ACTIVE, "::ffff:10.0.0.6", "", "", "", 0, 0, 0);  /* no name */
	case 6: return mk(7, HSDO_SLOT_ACTIVE, "10.0.0.10", "i-3", "g", "", 1, 1,
			  INT64_C(-62135596800000000));
	/* not a round trip: a draining slot still holding a weight */
	default: return mk(8, HSDO_SLOT_DRAINING, "10.0.0.11", "i-4", "g", "", 0, 5, T_2023);
	}
}

START_TEST(roundtrip)
{
	struct hsdo_slot s = rt_slot(_i), d, dj;
	char err[256] = "", *txt;
	cJSON *j;

	j = hsdo_item_encode(&s);
	ck_assert_ptr_nonnull(j);
	memset(&d, 0x5a, sizeof(d));
	ck_assert_msg(hsdo_item_decode(j, strs(), &d, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(hsdo_slot_equal(&s, &d), "case %d differs after decode", _i);
	txt = cJSON_PrintUnformatted(j);
	ck_assert_ptr_nonnull(txt);
	ck_assert_int_eq(hsdo_item_decode_json(txt, strlen(txt), strs(), &dj, err, sizeof(err)), 0);
	ck_assert(hsdo_slot_equal(&s, &dj));
	cJSON_free(txt);
	cJSON_Delete(j);
}
END_TEST

/* A free slot is written as the original writes it, whatever it holds, and
 * reads back cleared. */
START_TEST(free_slot_clears_leftovers)
{
	struct hsdo_slot s = mk(5, HSDO_SLOT_FREE, "10.0.0.1", "i-x", "g", "az", 80, 9, T_2023), d;
	char err[256];
	cJSON *j = hsdo_item_encode(&s);

	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(hsdo_item_decode(j, strs(), &d, err, sizeof(err)), 0);
	hsdo_slot_clear(&s);
	ck_assert(hsdo_slot_equal(&s, &d));
	cJSON_Delete(j);
}
END_TEST

/* ---- exact JSON: the contract ---------------------------------------------- */

static const struct {
	int slot;    /* rt_slot index, or -1 for the free slot with leftovers */
	const char *json;
} exact[] = {
	{ 0, "{\"BackendServerID\":{\"N\":\"1\"},\"IPAddress\":{\"S\":\"none\"},"
	     "\"ServerName\":{\"S\":\"none\"},\"ASG\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
	     "\"BackendServerStatus\":{\"S\":\"disabled\"},"
	     "\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00.000000\"}}" },
	{ -1, "{\"BackendServerID\":{\"N\":\"5\"},\"IPAddress\":{\"S\":\"none\"},"
	      "\"ServerName\":{\"S\":\"none\"},\"ASG\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
	      "\"BackendServerStatus\":{\"S\":\"disabled\"},"
	      "\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00.000000\"}}" },
	{ 1, "{\"BackendServerID\":{\"N\":\"2\"},\"IPAddress\":{\"S\":\"10.0.0.7\"},"
	     "\"ServerName\":{\"S\":\"i-0abc\"},\"ASG\":{\"S\":\"my-asg\"},\"Weight\":{\"N\":\"7\"},"
	     "\"BackendServerStatus\":{\"S\":\"enabled\"},"
	     "\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.123456\"}}" },
	{ 2, "{\"BackendServerID\":{\"N\":\"3\"},\"IPAddress\":{\"S\":\"2001:db8::1\"},"
	     "\"ServerName\":{\"S\":\"i-0def\"},\"ASG\":{\"S\":\"asg-b\"},\"Weight\":{\"N\":\"256\"},"
	     "\"BackendServerStatus\":{\"S\":\"enabled\"},"
	     "\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.123456\"},"
	     "\"Port\":{\"N\":\"8080\"},\"AZ\":{\"S\":\"eu-west-1a\"}}" },
	/* draining: enabled, Weight 0, address kept */
	{ 3, "{\"BackendServerID\":{\"N\":\"4\"},\"IPAddress\":{\"S\":\"10.0.0.8\"},"
	     "\"ServerName\":{\"S\":\"i-1\"},\"ASG\":{\"S\":\"my-asg\"},\"Weight\":{\"N\":\"0\"},"
	     "\"BackendServerStatus\":{\"S\":\"enabled\"},"
	     "\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.123456\"},"
	     "\"Draining\":{\"BOOL\":true}}" },
	{ 7, "{\"BackendServerID\":{\"N\":\"8\"},\"IPAddress\":{\"S\":\"10.0.0.11\"},"
	     "\"ServerName\":{\"S\":\"i-4\"},\"ASG\":{\"S\":\"g\"},\"Weight\":{\"N\":\"0\"},"
	     "\"BackendServerStatus\":{\"S\":\"enabled\"},"
	     "\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.123456\"},"
	     "\"Draining\":{\"BOOL\":true}}" },
	{ 5, "{\"BackendServerID\":{\"N\":\"6\"},\"IPAddress\":{\"S\":\"::ffff:10.0.0.6\"},"
	     "\"ServerName\":{\"S\":\"none\"},\"ASG\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
	     "\"BackendServerStatus\":{\"S\":\"enabled\"},"
	     "\"LastWeightUpdate\":{\"S\":\"1970-01-01 00:00:00.000000\"}}" },
};

START_TEST(exact_json)
{
	struct hsdo_slot s = exact[_i].slot >= 0 ? rt_slot(exact[_i].slot) :
		mk(5, HSDO_SLOT_FREE, "10.0.0.1", "i-x", "g", "az", 80, 9, T_2023);
	cJSON *got = hsdo_item_encode(&s), *want = cJSON_Parse(exact[_i].json);
	char *txt;

	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(want);
	txt = cJSON_PrintUnformatted(got);
	ck_assert_msg(cJSON_Compare(got, want, 1), "case %d: got %s", _i, txt);
	cJSON_free(txt);
	cJSON_Delete(got);
	cJSON_Delete(want);
}
END_TEST

/* Attribute order is part of what an operator sees in the console. */
START_TEST(exact_text_order)
{
	struct hsdo_slot s = rt_slot(1);
	char *txt = encode_str(&s);

	ck_assert_str_eq(txt, exact[2].json);
	cJSON_free(txt);
}
END_TEST

/* ---- items written by the original server ---------------------------------- */

static const struct {
	const char *json;
	enum hsdo_slot_state state;
	uint32_t id, weight;
	const char *ip, *name, *group;
	int64_t t;
} original[] = {
	{ "{\"BackendServerID\":{\"N\":\"1\"},\"IPAddress\":{\"S\":\"10.0.1.12\"},"
	  "\"ServerName\":{\"S\":\"i-0abc\"},\"ASG\":{\"S\":\"my-asg\"},\"Weight\":{\"N\":\"1\"},"
	  "\"BackendServerStatus\":{\"S\":\"enabled\"},"
	  "\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.123456\"}}",
	  HSDO_SLOT_ACTIVE, 1, 1, "10.0.1.12", "i-0abc", "my-asg", T_2023 },
	/* str(datetime.now()) at a whole second has no fraction */
	{ "{\"BackendServerID\":{\"N\":\"2\"},\"IPAddress\":{\"S\":\"10.0.1.13\"},"
	  "\"ServerName\":{\"S\":\"i-0abd\"},\"ASG\":{\"S\":\"my-asg\"},\"Weight\":{\"N\":\"10\"},"
	  "\"BackendServerStatus\":{\"S\":\"enabled\"},"
	  "\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12\"}}",
	  HSDO_SLOT_ACTIVE, 2, 10, "10.0.1.13", "i-0abd", "my-asg", T_2023 - 123456 },
	/* a slot freed by removeUnexistingServers, and a fresh ServerModel() */
	{ "{\"BackendServerID\":{\"N\":\"3\"},\"IPAddress\":{\"S\":\"none\"},"
	  "\"ServerName\":{\"S\":\"none\"},\"ASG\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
	  "\"BackendServerStatus\":{\"S\":\"disabled\"},"
	  "\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00.000000\"}}",
	  HSDO_SLOT_FREE, 3, 0, "", "", "", 0 },
	/* attribute order is whatever DynamoDB returns */
	{ "{\"Weight\":{\"N\":\"0\"},\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00.000000\"},"
	  "\"ASG\":{\"S\":\"none\"},\"BackendServerStatus\":{\"S\":\"disabled\"},"
	  "\"ServerName\":{\"S\":\"none\"},\"IPAddress\":{\"S\":\"none\"},"
	  "\"BackendServerID\":{\"N\":\"10\"}}",
	  HSDO_SLOT_FREE, 10, 0, "", "", "", 0 },
	/* an item from before v3 has no ASG (the original tolerates it) */
	{ "{\"BackendServerID\":{\"N\":\"4\"},\"IPAddress\":{\"S\":\"10.0.1.14\"},"
	  "\"ServerName\":{\"S\":\"i-0abe\"},\"Weight\":{\"N\":\"3\"},"
	  "\"BackendServerStatus\":{\"S\":\"enabled\"},"
	  "\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.123456\"}}",
	  HSDO_SLOT_ACTIVE, 4, 3, "10.0.1.14", "i-0abe", "", T_2023 },
	/* unknown attributes are ignored; a disabled item's leftovers too */
	{ "{\"BackendServerID\":{\"N\":\"5\"},\"IPAddress\":{\"S\":\"10.0.1.15\"},"
	  "\"ServerName\":{\"S\":\"i-0abf\"},\"ASG\":{\"S\":\"g\"},\"Weight\":{\"N\":\"4\"},"
	  "\"BackendServerStatus\":{\"S\":\"disabled\"},"
	  "\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.123456\"},"
	  "\"Future\":{\"M\":{\"x\":{\"N\":\"1\"}}},\"Port\":{\"N\":\"81\"}}",
	  HSDO_SLOT_FREE, 5, 0, "", "", "", 0 },
};

START_TEST(original_items_decode)
{
	struct hsdo_slot d;
	char err[256] = "";
	const char *j = original[_i].json;

	ck_assert_msg(hsdo_item_decode_json(j, strlen(j), strs(), &d, err, sizeof(err)) == 0,
		      "case %d: %s", _i, err);
	ck_assert_int_eq(d.state, original[_i].state);
	ck_assert_uint_eq(d.id, original[_i].id);
	ck_assert_uint_eq(d.weight, original[_i].weight);
	ck_assert_str_eq(d.ip, original[_i].ip);
	ck_assert_str_eq(d.name, original[_i].name);
	ck_assert_str_eq(d.group, original[_i].group);
	ck_assert_str_eq(d.az, "");
	ck_assert_uint_eq(d.port, 0);
	ck_assert_int_eq(d.last_weight_update_us, original[_i].t);
}
END_TEST

/* What an original client reads from an item we write: the same types and,
 * for a draining slot, an address to keep and weight 0. */
START_TEST(original_client_reads_ours)
{
	struct hsdo_slot s = rt_slot(3);
	cJSON *j = hsdo_item_encode(&s);
	const char *keys[] = { "BackendServerID", "IPAddress", "ServerName", "ASG", "Weight",
			       "BackendServerStatus", "LastWeightUpdate" };
	const char *types[] = { "N", "S", "S", "S", "N", "S", "S" };
	cJSON *av;
	size_t i;

	ck_assert_ptr_nonnull(j);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		av = cJSON_GetObjectItemCaseSensitive(j, keys[i]);
		ck_assert_msg(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(av, types[i])),
			      "%s is not %s", keys[i], types[i]);
	}
	av = cJSON_GetObjectItemCaseSensitive(j, "Weight");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(av, "N")->valuestring, "0");
	av = cJSON_GetObjectItemCaseSensitive(j, "IPAddress");
	ck_assert_str_eq(cJSON_GetObjectItemCaseSensitive(av, "S")->valuestring, "10.0.0.8");
	cJSON_Delete(j);
}
END_TEST

/* ---- malformed items ------------------------------------------------------- */

#define ITEM(id, ip, w, st, t) \
	"{\"BackendServerID\":" id ",\"IPAddress\":{\"S\":\"" ip "\"}," \
	"\"ServerName\":{\"S\":\"i-1\"},\"ASG\":{\"S\":\"g\"},\"Weight\":" w "," \
	"\"BackendServerStatus\":{\"S\":\"" st "\"},\"LastWeightUpdate\":{\"S\":\"" t "\"}"
#define OKID   "{\"N\":\"3\"}"
#define OKW    "{\"N\":\"5\"}"
#define W0     "{\"N\":\"0\"}"
#define OKT    "2023-05-02 10:11:12"
#define OKITEM(extra) ITEM(OKID, "10.0.0.1", OKW, "enabled", OKT) extra "}"
#define X40  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
#define X256 X40 X40 X40 X40 X40 X40 "xxxxxxxxxxxxxxxx"

static const struct {
	const char *json;
	const char *reason;
} bad[] = {
	{ "[1,2]", "not a JSON object" },
	{ "\"item\"", "not a JSON object" },
	{ "{\"BackendServerID\":", "invalid JSON" },
	{ "", "empty" },
	{ OKITEM("") " x", "trailing data" },
	{ "{\"IPAddress\":{\"S\":\"none\"}}", "missing attribute BackendServerID" },
	{ "{\"BackendServerID\":{\"N\":\"3\"},\"IPAddress\":{\"S\":\"none\"},\"ServerName\":{\"S\":\"none\"},"
	  "\"Weight\":{\"N\":\"0\"},\"BackendServerStatus\":{\"S\":\"disabled\"}}",
	  "missing attribute LastWeightUpdate" },
	{ "{\"BackendServerID\":{\"N\":\"3\"},\"ServerName\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
	  "\"BackendServerStatus\":{\"S\":\"disabled\"},\"LastWeightUpdate\":{\"S\":\"" OKT "\"}}",
	  "missing attribute IPAddress" },
	{ ITEM("{\"S\":\"3\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: expected type N, got S" },
	{ ITEM("3", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: not a DynamoDB attribute value" },
	{ ITEM("{}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: not a DynamoDB attribute value" },
	{ ITEM("{\"N\":\"3\",\"S\":\"3\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: not a DynamoDB attribute value" },
	{ ITEM("{\"N\":3}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: N value is not a JSON string" },
	{ ITEM("{\"N\":\"3.0\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: N \"3.0\" is not a plain decimal integer" },
	{ ITEM("{\"N\":\"3x\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "is not a plain decimal integer" },
	{ ITEM("{\"N\":\" 3\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "is not a plain decimal integer" },
	{ ITEM("{\"N\":\"+3\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "is not a plain decimal integer" },
	{ ITEM("{\"N\":\"3e0\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "is not a plain decimal integer" },
	{ ITEM("{\"N\":\"\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: N \"\" is not a decimal integer" },
	{ ITEM("{\"N\":\"-\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "is not a decimal integer" },
	{ ITEM("{\"N\":\"99999999999999999999999\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: 99999999999999999999999 out of range 1..100000" },
	{ ITEM("{\"N\":\"0\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: 0 out of range 1..100000" },
	{ ITEM("{\"N\":\"-1\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: -1 out of range" },
	{ ITEM("{\"N\":\"100001\"}", "10.0.0.1", OKW, "enabled", OKT) "}",
	  "BackendServerID: 100001 out of range 1..100000" },
	{ ITEM(OKID, "10.0.0.1", "{\"N\":\"257\"}", "enabled", OKT) "}",
	  "Weight: 257 out of range 0..256" },
	{ ITEM(OKID, "10.0.0.1", "{\"N\":\"-1\"}", "enabled", OKT) "}",
	  "Weight: -1 out of range 0..256" },
	{ ITEM(OKID, "10.0.0.1", "{\"S\":\"5\"}", "enabled", OKT) "}",
	  "Weight: expected type N, got S" },
	{ ITEM(OKID, "10.0.0.1", OKW, "Enabled", OKT) "}",
	  "BackendServerStatus: unknown status \"Enabled\"" },
	{ ITEM(OKID, "10.0.0.1", OKW, "draining", OKT) "}",
	  "BackendServerStatus: unknown status \"draining\"" },
	{ ITEM(OKID, "10.0.0.1", OKW, "enabled", "2023-05-02T10:11:12") "}",
	  "LastWeightUpdate: bad timestamp \"2023-05-02T10:11:12\"" },
	{ ITEM(OKID, "10.0.0.1", OKW, "enabled", "2023-02-29 10:11:12") "}",
	  "LastWeightUpdate: bad timestamp" },
	{ ITEM(OKID, "10.0.0.1", OKW, "enabled", "yesterday") "}",
	  "LastWeightUpdate: bad timestamp \"yesterday\"" },
	{ ITEM(OKID, "10.0.0.1", OKW, "enabled", "0-0-0 00:00:00.000001") "}",
	  "LastWeightUpdate: bad timestamp" },
	{ ITEM(OKID, "10.0.0.1", OKW, "enabled", "2023-05-02 10:11:12\\n") "}",
	  "LastWeightUpdate: bad timestamp \"2023-05-02 10:11:12?\"" },
	{ ITEM(OKID, "1234567890123456789012345678901234567890123456", OKW, "enabled", OKT) "}",
	  "IPAddress: too long (46 bytes, at most 45)" },
	{ "{\"BackendServerID\":{\"N\":\"3\"},\"IPAddress\":{\"S\":\"none\"},\"ServerName\":{\"S\":\""
	  X256 "\"},\"Weight\":{\"N\":\"0\"},\"BackendServerStatus\":{\"S\":\"disabled\"},"
	  "\"LastWeightUpdate\":{\"S\":\"" OKT "\"}}", "ServerName: too long (256 bytes, at most 255)" },
	{ OKITEM(",\"ASG\":{\"S\":\"" X256 "\"}"), "duplicate attribute ASG" },
	{ "{\"BackendServerID\":{\"N\":\"3\"},\"IPAddress\":{\"S\":\"none\"},\"ServerName\":{\"S\":\"x\"},"
	  "\"ASG\":{\"S\":\"" X256 "\"},\"Weight\":{\"N\":\"0\"},\"BackendServerStatus\":{\"S\":\"enabled\"},"
	  "\"LastWeightUpdate\":{\"S\":\"" OKT "\"}}", "ASG: too long (256 bytes, at most 255)" },
	{ OKITEM(",\"AZ\":{\"S\":\"" X40 "\"}"), "AZ: too long (40 bytes, at most 31)" },
	{ OKITEM(",\"AZ\":{\"N\":\"1\"}"), "AZ: expected type S, got N" },
	{ OKITEM(",\"Port\":{\"N\":\"0\"}"), "Port: 0 out of range 1..65535" },
	{ OKITEM(",\"Port\":{\"N\":\"65536\"}"), "Port: 65536 out of range 1..65535" },
	{ OKITEM(",\"Port\":{\"S\":\"80\"}"), "Port: expected type N, got S" },
	{ OKITEM(",\"Draining\":{\"S\":\"true\"}"), "Draining: expected type BOOL, got S" },
	{ OKITEM(",\"Draining\":{\"BOOL\":\"true\"}"), "Draining: BOOL value is not a JSON boolean" },
	{ OKITEM(",\"Draining\":{\"BOOL\":true},\"Draining\":{\"BOOL\":false}"),
	  "duplicate attribute Draining" },
	{ OKITEM(",\"IPAddress\":{\"S\":\"10.0.0.2\"}"), "duplicate attribute IPAddress" },
	/* Values are what they claim to be: an address, and text. */
	{ ITEM(OKID, "127.0.0.9\\u0000set server be_app/web2 state maint", OKW, "enabled", OKT) "}",
	  "IPAddress: NUL (\\u0000) or U+FFFF at byte 9 (not text)" },
	{ ITEM(OKID, "127.0.0.9\\u0000", OKW, "enabled", OKT) "}",
	  "IPAddress: NUL (\\u0000) or U+FFFF at byte 9" },
	{ ITEM(OKID, "\\u0000", OKW, "disabled", OKT) "}", "IPAddress: NUL (\\u0000)" },
	{ ITEM(OKID, "10.0.0.1\\n", OKW, "enabled", OKT) "}",
	  "IPAddress: control character 0x0a at byte 8 (not text)" },
	{ ITEM(OKID, "not-an-ip", OKW, "enabled", OKT) "}",
	  "IPAddress: \"not-an-ip\" is not an IPv4 or IPv6 address (the item is enabled)" },
	{ ITEM(OKID, "none", OKW, "enabled", OKT) "}",
	  "IPAddress: \"none\" is not an IPv4 or IPv6 address" },
	{ ITEM(OKID, "10.0.0.1:80", OKW, "enabled", OKT) "}",
	  "IPAddress: \"10.0.0.1:80\" is not an IPv4 or IPv6 address" },
	{ OKITEM(",\"AZ\":{\"S\":\"eu-west-1a\\u007f\"}"), "AZ: control character 0x7f at byte 10" },
	{ "{\"BackendServerID\":{\"N\":\"3\"},\"IPAddress\":{\"S\":\"none\"},\"ServerName\":{\"S\":\""
	  "i-1\\r\\nset server x\"},\"Weight\":{\"N\":\"0\"},\"BackendServerStatus\":{\"S\":\"disabled\"},"
	  "\"LastWeightUpdate\":{\"S\":\"" OKT "\"}}", "ServerName: control character 0x0d at byte 3" },
	{ OKITEM(",\"AZ\":{\"S\":\"a\\uFFFF\"}"), "AZ: NUL (\\u0000) or U+FFFF at byte 1" },
};

START_TEST(malformed_rejected)
{
	struct hsdo_slot out, before;
	char err[512] = "";
	int rc;

	memset(&out, 0xa5, sizeof(out));
	before = out;
	rc = hsdo_item_decode_json(bad[_i].json, strlen(bad[_i].json), strs(), &out, err, sizeof(err));
	ck_assert_msg(rc == -HSDO_EPROTO, "case %d: rc %d (%s)", _i, rc, err);
	ck_assert_msg(strstr(err, bad[_i].reason) != NULL, "case %d: reason \"%s\", want \"%s\"",
		      _i, err, bad[_i].reason);
	ck_assert_msg(memcmp(&out, &before, sizeof(out)) == 0, "case %d: out was written", _i);
}
END_TEST

/* The same item minus the defect decodes, so each bad case fails for its
 * stated reason only. */
START_TEST(malformed_baseline_ok)
{
	const char *j = OKITEM(",\"Port\":{\"N\":\"80\"},\"AZ\":{\"S\":\"a\"},\"Draining\":{\"BOOL\":false}");
	struct hsdo_slot d;
	char err[256] = "";

	ck_assert_msg(hsdo_item_decode_json(j, strlen(j), strs(), &d, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(d.state, HSDO_SLOT_ACTIVE);
	ck_assert_uint_eq(d.port, 80);
	ck_assert_uint_eq(d.weight, 5);
	ck_assert_str_eq(d.az, "a");
}
END_TEST

/* A free item's address is not looked at (it is cleared); an escaped
 * backslash before "u0000" is not a NUL. NULL err is fine. */
START_TEST(free_item_address_ignored)
{
	const char *j = ITEM(OKID, "not-an-ip", OKW, "disabled", OKT) "}";
	const char *k = ITEM(OKID, "10.0.0.1", OKW, "enabled", OKT) ",\"AZ\":{\"S\":\"a\\\\u0000\"}}";
	struct hsdo_slot d;

	ck_assert_int_eq(hsdo_item_decode_json(j, strlen(j), strs(), &d, NULL, 0), 0);
	ck_assert_int_eq(d.state, HSDO_SLOT_FREE);
	ck_assert_str_eq(d.ip, "");
	ck_assert_int_eq(hsdo_item_decode_json(k, strlen(k), strs(), &d, NULL, 0), 0);
	ck_assert_str_eq(d.az, "a\\u0000");
	ck_assert_int_eq(hsdo_item_decode(NULL, strs(), &d, NULL, 0), -HSDO_EPROTO);
}
END_TEST

/* Draining is ours and always written with Weight 0. A Draining next to a
 * Weight above 0 was left behind by a writer that does not know it (the
 * original server updates its six attributes only, so a slot it reuses
 * keeps our Draining): the slot is active. */
START_TEST(draining_needs_weight_zero)
{
	const char *j = ITEM(OKID, "10.0.0.1", "{\"N\":\"0\"}", "enabled", OKT)
		",\"Draining\":{\"BOOL\":true}}";
	const char *stale = OKITEM(",\"Draining\":{\"BOOL\":true}");
	struct hsdo_slot d;

	ck_assert_int_eq(hsdo_item_decode_json(j, strlen(j), strs(), &d, NULL, 0), 0);
	ck_assert_int_eq(d.state, HSDO_SLOT_DRAINING);
	ck_assert_uint_eq(d.weight, 0);
	ck_assert_str_eq(d.ip, "10.0.0.1");
	ck_assert_int_eq(hsdo_item_decode_json(stale, strlen(stale), strs(), &d, NULL, 0), 0);
	ck_assert_int_eq(d.state, HSDO_SLOT_ACTIVE);
	ck_assert_uint_eq(d.weight, 5);
}
END_TEST

/* ---- fleet health: ejected slots (docs/health.md) -------------------------- */

#define T_EJ   INT64_C(1683022302123)   /* ms: T_2023 + 30 s, rounded to ms */
#define T_SINCE INT64_C(1683022200000)

static struct hsdo_slot ejected_slot(void)
{
	struct hsdo_slot s = mk(9, HSDO_SLOT_EJECTED, "10.0.1.7", "i-0abc", "asg-a", "", 0, 0,
				T_2023);

	s.ejected_until_ms = T_EJ;
	s.eject_since_ms = T_SINCE;
	s.eject_count = 2;
	s.eject_reason = "4 of 5 HAProxies see errors ≥ 50 % (median 83 %)";
	return s;
}

/* An ejected slot is enabled, Weight 0, address kept (an original client
 * drains it), plus Ejected/EjectReason/EjectCount/EjectedSince. */
START_TEST(ejected_exact_json)
{
	struct hsdo_slot s = ejected_slot();
	cJSON *got = hsdo_item_encode(&s);
	cJSON *want = cJSON_Parse(
		"{\"BackendServerID\":{\"N\":\"9\"},\"IPAddress\":{\"S\":\"10.0.1.7\"},"
		"\"ServerName\":{\"S\":\"i-0abc\"},\"ASG\":{\"S\":\"asg-a\"},\"Weight\":{\"N\":\"0\"},"
		"\"BackendServerStatus\":{\"S\":\"enabled\"},"
		"\"LastWeightUpdate\":{\"S\":\"2023-05-02 10:11:12.123456\"},"
		"\"Ejected\":{\"N\":\"1683022302123\"},"
		"\"EjectReason\":{\"S\":\"4 of 5 HAProxies see errors ≥ 50 % (median 83 %)\"},"
		"\"EjectCount\":{\"N\":\"2\"},\"EjectedSince\":{\"N\":\"1683022200000\"}}");
	char *txt;

	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_nonnull(want);
	txt = cJSON_PrintUnformatted(got);
	ck_assert_msg(cJSON_Compare(got, want, 1), "got %s", txt);
	cJSON_free(txt);
	cJSON_Delete(got);
	cJSON_Delete(want);
}
END_TEST

START_TEST(ejected_roundtrip)
{
	struct hsdo_slot s = ejected_slot(), back = ejected_slot(), d;
	char err[256] = "";
	cJSON *j;

	/* ejected, then back in service with its history */
	back.state = HSDO_SLOT_ACTIVE;
	back.weight = 3;
	back.ejected_until_ms = 0;
	back.eject_reason = "";
	j = hsdo_item_encode(&s);
	ck_assert_ptr_nonnull(j);
	ck_assert_msg(hsdo_item_decode(j, strs(), &d, err, sizeof(err)) == 0, "%s", err);
	ck_assert(hsdo_slot_equal(&s, &d));
	ck_assert_str_eq(hsdo_slot_state_str(d.state), "ejected");
	cJSON_Delete(j);
	j = hsdo_item_encode(&back);
	ck_assert_ptr_nonnull(j);
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(j, "Ejected"));
	ck_assert_ptr_null(cJSON_GetObjectItemCaseSensitive(j, "EjectReason"));
	ck_assert_msg(hsdo_item_decode(j, strs(), &d, err, sizeof(err)) == 0, "%s", err);
	ck_assert(hsdo_slot_equal(&back, &d));
	ck_assert_uint_eq(d.eject_count, 2);
	cJSON_Delete(j);
	/* an ejected slot needs its time */
	s.ejected_until_ms = 0;
	ck_assert_int_eq(hsdo_item_check(&s, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_null(hsdo_item_encode(&s));
}
END_TEST

/* Ejected is ours and always written with Weight 0; like Draining, next to
 * a Weight above 0 it was left behind by a writer that does not know it
 * (the original server filled the slot again): the slot is active and the
 * stale ejection is dropped. */
static const struct {
	const char *w;           /* the item's Weight */
	const char *extra;
	enum hsdo_slot_state state;
	uint32_t weight, count;
	int64_t until;
	const char *reason;      /* NULL: must fail with this text in err */
	const char *err;
} eject_items[] = {
	{ W0, ",\"Ejected\":{\"N\":\"5000\"},\"EjectReason\":{\"S\":\"r\"}", HSDO_SLOT_EJECTED,
	  0, 0, 5000, "r", NULL },
	/* without a reason it is still ejected: the time is what matters */
	{ W0, ",\"Ejected\":{\"N\":\"5000\"},\"EjectCount\":{\"N\":\"3\"}", HSDO_SLOT_EJECTED,
	  0, 3, 5000, "", NULL },
	/* with a Weight: a slot the original server filled again */
	{ OKW, ",\"Ejected\":{\"N\":\"5000\"},\"EjectCount\":{\"N\":\"3\"},"
	  "\"EjectReason\":{\"S\":\"r\"}", HSDO_SLOT_ACTIVE, 5, 0, 0, "", NULL },
	/* draining wins: the instance left, its ejection ends with it */
	{ W0, ",\"Draining\":{\"BOOL\":true},\"Ejected\":{\"N\":\"5000\"},"
	  "\"EjectCount\":{\"N\":\"3\"}", HSDO_SLOT_DRAINING, 0, 0, 0, "", NULL },
	/* active with its history; a stray reason is dropped */
	{ OKW, ",\"EjectCount\":{\"N\":\"4\"},\"EjectedSince\":{\"N\":\"7\"},"
	  "\"EjectReason\":{\"S\":\"x\"}", HSDO_SLOT_ACTIVE, 5, 4, 0, "", NULL },
	{ W0, ",\"Ejected\":{\"N\":\"0\"}", 0, 0, 0, 0, NULL, "Ejected: 0 out of range" },
	{ W0, ",\"Ejected\":{\"S\":\"5000\"}", 0, 0, 0, 0, NULL, "Ejected: expected type N" },
	{ W0, ",\"Ejected\":{\"N\":\"253402300800000\"}", 0, 0, 0, 0, NULL, "out of range" },
	{ OKW, ",\"EjectCount\":{\"N\":\"4294967296\"}", 0, 0, 0, 0, NULL, "EjectCount:" },
	{ OKW, ",\"EjectedSince\":{\"N\":\"-1\"}", 0, 0, 0, 0, NULL, "EjectedSince:" },
	{ OKW, ",\"EjectReason\":{\"N\":\"1\"}", 0, 0, 0, 0, NULL, "EjectReason: expected type S" },
	{ OKW, ",\"EjectReason\":{\"S\":\"" X256 "\"}", 0, 0, 0, 0, NULL, "EjectReason: too long" },
};

START_TEST(ejected_decode_rules)
{
	char json[1024], err[256] = "";
	struct hsdo_slot d;
	int rc;

	snprintf(json, sizeof(json), ITEM(OKID, "10.0.0.1", "%s", "enabled", OKT) "%s}",
		 eject_items[_i].w, eject_items[_i].extra);
	rc = hsdo_item_decode_json(json, strlen(json), strs(), &d, err, sizeof(err));
	if (eject_items[_i].reason == NULL) {
		ck_assert_msg(rc == -HSDO_EPROTO, "case %d: rc %d", _i, rc);
		ck_assert_msg(strstr(err, eject_items[_i].err) != NULL, "case %d: %s", _i, err);
		return;
	}
	ck_assert_msg(rc == 0, "case %d: %s", _i, err);
	ck_assert_int_eq(d.state, eject_items[_i].state);
	ck_assert_uint_eq(d.weight, eject_items[_i].weight);
	ck_assert_uint_eq(d.eject_count, eject_items[_i].count);
	ck_assert_int_eq(d.ejected_until_ms, eject_items[_i].until);
	ck_assert_str_eq(d.eject_reason, eject_items[_i].reason);
}
END_TEST

/* A disabled item is free whatever ejection attributes it carries. */
START_TEST(ejected_free_clears)
{
	const char *j = ITEM(OKID, "10.0.0.1", OKW, "disabled", OKT)
		",\"Ejected\":{\"N\":\"5000\"},\"EjectCount\":{\"N\":\"3\"},"
		"\"EjectReason\":{\"S\":\"r\"}}";
	struct hsdo_slot d;

	ck_assert_int_eq(hsdo_item_decode_json(j, strlen(j), strs(), &d, NULL, 0), 0);
	ck_assert_int_eq(d.state, HSDO_SLOT_FREE);
	ck_assert_uint_eq(d.eject_count, 0);
	ck_assert_int_eq(d.ejected_until_ms, 0);
	ck_assert_str_eq(d.eject_reason, "");
}
END_TEST

/* Slots that cannot be written as a decodable item are refused. */
START_TEST(encode_refuses_invalid)
{
	struct hsdo_slot s = rt_slot(1);
	char err[256] = "";

	s.weight = HSDO_WEIGHT_MAX + 1;
	ck_assert_ptr_null(hsdo_item_encode(&s));
	ck_assert_int_eq(hsdo_item_check(&s, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "weight 257"));
	s = rt_slot(1);
	s.id = 0;
	ck_assert_ptr_null(hsdo_item_encode(&s));
	s = rt_slot(1);
	s.state = HSDO_SLOT_STATE_COUNT;
	ck_assert_ptr_null(hsdo_item_encode(&s));
	s = rt_slot(1);
	{
		static char over[HSDO_IP_LEN + 1];   /* a string over the field's bound */

		memset(over, 'x', HSDO_IP_LEN);
		s.ip = over;
		ck_assert_ptr_null(hsdo_item_encode(&s));
		s.ip = NULL;                         /* and no string at all */
		ck_assert_ptr_null(hsdo_item_encode(&s));
	}
	s = rt_slot(1);
	s.last_weight_update_us = INT64_MAX;
	ck_assert_ptr_null(hsdo_item_encode(&s));
	/* what the decoder refuses is never written: an address that is not
	 * one, a string that is not text */
	s = rt_slot(1);
	s.ip = "";
	ck_assert_int_eq(hsdo_item_check(&s, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_msg(strstr(err, "slot 2: address \"\" is not an IPv4 or IPv6 address") != NULL,
		      "%s", err);
	s.ip = "web-1";
	ck_assert_ptr_null(hsdo_item_encode(&s));
	/* the bad address is shown by the one rule (hsdo_show): no raw bytes */
	s.ip = "10.0.0.1\nset server be/srv1 state maint";
	ck_assert_int_eq(hsdo_item_check(&s, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_msg(strstr(err, "address \"10.0.0.1?set server be/srv1 stat...\" is not") != NULL,
		      "%s", err);
	s = rt_slot(1);
	s.name = "i-1\nset server x";
	ck_assert_int_eq(hsdo_item_check(&s, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_msg(strstr(err, "slot 2: ServerName: control character 0x0a") != NULL, "%s", err);
	/* a free slot's leftovers do not matter */
	s.state = HSDO_SLOT_FREE;
	s.weight = 1000;
	ck_assert_int_eq(hsdo_item_check(&s, err, sizeof(err)), 0);
}
END_TEST

/* ---- time helpers ------------------------------------------------------------ */

static const struct {
	const char *text;   /* canonical form */
	int64_t us;
} times[] = {
	{ "1970-01-01 00:00:00.000000", 0 },
	{ "1969-12-31 23:59:59.999999", -1 },
	{ "2000-02-29 12:34:56.000001", INT64_C(951827696000001) },
	{ "2023-05-02 10:11:12.123456", T_2023 },
	{ "2024-12-31 23:59:59.250000", INT64_C(1735689599250000) },
	{ "2038-01-19 03:14:08.000000", INT64_C(2147483648000000) },
	{ "1900-03-01 00:00:00.500000", INT64_C(-2203891199500000) },
	{ "0001-01-01 00:00:00.000000", INT64_C(-62135596800000000) },
	{ "9999-12-31 23:59:59.999999", INT64_C(253402300799999999) },
};

START_TEST(time_roundtrip)
{
	char buf[HSDO_ITEM_TIME_LEN];
	int64_t us = 42;

	ck_assert_int_eq(hsdo_item_format_time(times[_i].us, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, times[_i].text);
	ck_assert_int_eq(hsdo_item_parse_time(times[_i].text, &us), 0);
	ck_assert_int_eq(us, times[_i].us);
}
END_TEST

static const struct {
	const char *text;
	int64_t us;
} time_forms[] = {
	{ "2023-05-02 10:11:12", T_2023 - 123456 },
	{ "2023-05-02 10:11:12.1", T_2023 - 23456 },
	{ "2023-05-02 10:11:12.12345", T_2023 - 6 },
	{ "2024-12-31 23:59:59.25", INT64_C(1735689599250000) },
	{ "0-0-0 00:00:00.000000", 0 },
	{ "0-0-0 00:00:00", 0 },
	{ "0-0-0 00:00:00.0", 0 },
};

START_TEST(time_accepted_forms)
{
	int64_t us = 42;

	ck_assert_msg(hsdo_item_parse_time(time_forms[_i].text, &us) == 0, "%s", time_forms[_i].text);
	ck_assert_int_eq(us, time_forms[_i].us);
}
END_TEST

static const char *const bad_times[] = {
	"", "2023", "2023-05-02", "2023-05-02 10:11", "2023-05-02T10:11:12",
	"2023-05-02 10:11:12.", "2023-05-02 10:11:12.1234567", "2023-05-02 10:11:12.12a",
	"2023-05-02 10:11:12 ", " 2023-05-02 10:11:12", "2023-05-02 10:11:12Z",
	"2023-05-02 10:11:12+00:00", "2023-02-29 00:00:00", "1900-02-29 00:00:00",
	"2023-13-01 00:00:00", "2023-00-10 00:00:00", "2023-04-31 00:00:00",
	"2023-05-00 00:00:00", "2023-05-02 24:00:00", "2023-05-02 10:60:00",
	"2023-05-02 10:11:60", "0000-01-01 00:00:00", "+023-05-02 10:11:12",
	"2023-5-02 10:11:12", "10000-01-01 00:00:00", "0-0-0 00:00:00.000001",
	"0-0-0 00:00:00.", "0-0-0", "0-0-0 00:00:01", "2023-05-02 10:11:1x",
};

START_TEST(time_bad_strings)
{
	int64_t us = 42;

	ck_assert_msg(hsdo_item_parse_time(bad_times[_i], &us) == -HSDO_EINVAL, "%s", bad_times[_i]);
	ck_assert_int_eq(us, 42);
}
END_TEST

START_TEST(time_format_bounds)
{
	char buf[HSDO_ITEM_TIME_LEN];

	ck_assert_int_eq(hsdo_item_format_time(INT64_C(253402300800000000), buf, sizeof(buf)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_item_format_time(INT64_C(-62135596800000001), buf, sizeof(buf)),
			 -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_item_format_time(INT64_MIN, buf, sizeof(buf)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_item_format_time(0, buf, sizeof(buf) - 1), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_item_parse_time(NULL, NULL), -HSDO_EINVAL);
}
END_TEST

/* Every day of 1999-2001 (a leap year between two common ones) and one
 * day per year across the whole range survives format -> parse. */
START_TEST(time_sweep)
{
	char buf[HSDO_ITEM_TIME_LEN];
	int64_t us, back, day = INT64_C(86400000000);

	for (us = INT64_C(915148800000000); us < INT64_C(1009843200000000); us += day + 1) {
		ck_assert_int_eq(hsdo_item_format_time(us, buf, sizeof(buf)), 0);
		ck_assert_int_eq(hsdo_item_parse_time(buf, &back), 0);
		ck_assert_int_eq(back, us);
	}
	for (us = INT64_C(-62135596800000000); us <= INT64_C(253402300799999999); us += 365 * day + 7) {
		ck_assert_int_eq(hsdo_item_format_time(us, buf, sizeof(buf)), 0);
		ck_assert_int_eq(hsdo_item_parse_time(buf, &back), 0);
		ck_assert_int_eq(back, us);
	}
}
END_TEST

/* ---- local time, as the original writes it ------------------------------------ */

static void set_tz(const char *tz)
{
	ck_assert_int_eq(setenv("TZ", tz, 1), 0);
	tzset();
}

static int64_t decode_time(const char *t)
{
	char j[512];
	struct hsdo_slot s;

	snprintf(j, sizeof(j), ITEM(OKID, "10.0.0.1", OKW, "enabled", "%s") "}", t);
	ck_assert_msg(hsdo_item_decode_json(j, strlen(j), strs(), &s, NULL, 0) == 0, "%s", j);
	return s.last_weight_update_us;
}

static const char *encode_time(int64_t us, char *buf, size_t len)
{
	struct hsdo_slot s = mk(2, HSDO_SLOT_ACTIVE, "10.0.0.7", "i-0abc", "g", "", 0, 7, us);
	cJSON *j = hsdo_item_encode(&s);
	const cJSON *av;

	ck_assert_ptr_nonnull(j);
	av = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "LastWeightUpdate"),
					      "S");
	snprintf(buf, len, "%s", av->valuestring);
	cJSON_Delete(j);
	return buf;
}

#define H INT64_C(3600000000)

/* The original writes str(datetime.now()): naive local time. An item is
 * read and written in the process's zone (TZ), around daylight saving
 * time: a local time that happens twice (clocks back) is read as the later
 * instant, one that never happens (clocks forward) as if the clocks had
 * not moved yet. */
static const struct {
	const char *tz;
	const char *local;
	int64_t utc_us;         /* what it means */
	bool roundtrip;         /* encoding utc_us gives local back */
} zones[] = {
	{ "UTC", "2026-07-01 12:00:00.000000", INT64_C(1782907200000000), true },
	{ "Europe/Paris", "2026-07-01 14:00:00.000000", INT64_C(1782907200000000), true },
	{ "Europe/Paris", "2026-01-15 13:00:00.250000", INT64_C(1768478400250000), true },
	{ "America/New_York", "2026-07-01 08:00:00.000000", INT64_C(1782907200000000), true },
	{ "America/New_York", "2026-01-15 07:00:00.000001", INT64_C(1768478400000001), true },
	/* Paris, 2026-03-29: 02:00 CET -> 03:00 CEST; 01:30 CET = 00:30Z */
	{ "Europe/Paris", "2026-03-29 01:30:00.000000", INT64_C(1774744200000000), true },
	{ "Europe/Paris", "2026-03-29 03:30:00.000000", INT64_C(1774744200000000) + H, true },
	/* 02:30 never happens: read with the offset before the change, +1 */
	{ "Europe/Paris", "2026-03-29 02:30:00.000000", INT64_C(1774744200000000) + H, false },
	/* Paris, 2026-10-25: 03:00 CEST -> 02:00 CET; 02:30 happens at 00:30Z
	 * and at 01:30Z: the later one */
	{ "Europe/Paris", "2026-10-25 02:30:00.000000", INT64_C(1792891800000000), true },
	{ "Europe/Paris", "2026-10-25 01:30:00.000000", INT64_C(1792891800000000) - 2 * H, true },
	/* New York, 2026-11-01: 01:30 happens at 05:30Z (EDT) and 06:30Z (EST) */
	{ "America/New_York", "2026-11-01 01:30:00.000000", INT64_C(1793514600000000), true },
};

START_TEST(local_time_zones)
{
	char buf[64];

	set_tz(zones[_i].tz);
	ck_assert_msg(decode_time(zones[_i].local) == zones[_i].utc_us, "%s %s: %" PRId64,
		      zones[_i].tz, zones[_i].local, decode_time(zones[_i].local));
	if (zones[_i].roundtrip)
		ck_assert_str_eq(encode_time(zones[_i].utc_us, buf, sizeof(buf)), zones[_i].local);
	set_tz("UTC");
}
END_TEST

/* The ambiguous hour, both sides: the earlier instant (still on summer
 * time) is written with the same text as the later one, which is how it
 * reads back: the ramp or drain clock moves at most one hour later, never
 * earlier (a drain never ends early). */
START_TEST(local_time_ambiguous_hour)
{
	char buf[64];

	set_tz("Europe/Paris");
	ck_assert_str_eq(encode_time(INT64_C(1792891800000000) - H, buf, sizeof(buf)),
			 "2026-10-25 02:30:00.000000");
	ck_assert_int_eq(decode_time("2026-10-25 02:30:00.000000"), INT64_C(1792891800000000));
	set_tz("UTC");
}
END_TEST

/* ---- allocation failures ----------------------------------------------------- */

START_TEST(alloc_failure_encode)
{
	struct hsdo_slot s = rt_slot(2);
	unsigned long i;
	cJSON *j = NULL;

	for (i = 1; i < 1000; i++) {
		hsdo_alloc_fail_at(i, 1);
		j = hsdo_item_encode(&s);
		hsdo_alloc_fail_at(0, 0);
		if (j != NULL)
			break;
	}
	ck_assert_ptr_nonnull(j);
	ck_assert_uint_gt(i, 10);
	cJSON_Delete(j);
}
END_TEST

START_TEST(alloc_failure_decode)
{
	const char *j = original[0].json;
	struct hsdo_slot d, before;
	char err[256];
	unsigned long i;
	int rc = -1;
	struct hsdo_strset *set = strs();   /* before any failure */

	memset(&d, 0xa5, sizeof(d));
	before = d;
	for (i = 1; i < 1000; i++) {
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_item_decode_json(j, strlen(j), set, &d, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "step %lu: %d %s", i, rc, err);
		ck_assert(memcmp(&d, &before, sizeof(d)) == 0);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 10);
	ck_assert_str_eq(d.ip, "10.0.1.12");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *item_suite(void)
{
	Suite *s = suite_create("item");
	TCase *tc;

	tc = tcase_create("codec");
	tcase_add_loop_test(tc, roundtrip, 0, 7);
	tcase_add_test(tc, free_slot_clears_leftovers);
	tcase_add_loop_test(tc, exact_json, 0, N(exact));
	tcase_add_test(tc, exact_text_order);
	tcase_add_loop_test(tc, original_items_decode, 0, N(original));
	tcase_add_test(tc, original_client_reads_ours);
	tcase_add_loop_test(tc, malformed_rejected, 0, N(bad));
	tcase_add_test(tc, malformed_baseline_ok);
	tcase_add_test(tc, free_item_address_ignored);
	tcase_add_test(tc, draining_needs_weight_zero);
	tcase_add_test(tc, ejected_exact_json);
	tcase_add_test(tc, ejected_roundtrip);
	tcase_add_loop_test(tc, ejected_decode_rules, 0, N(eject_items));
	tcase_add_test(tc, ejected_free_clears);
	tcase_add_test(tc, encode_refuses_invalid);
	suite_add_tcase(s, tc);

	tc = tcase_create("time");
	tcase_add_loop_test(tc, time_roundtrip, 0, N(times));
	tcase_add_loop_test(tc, time_accepted_forms, 0, N(time_forms));
	tcase_add_loop_test(tc, time_bad_strings, 0, N(bad_times));
	tcase_add_test(tc, time_format_bounds);
	tcase_add_test(tc, time_sweep);
	tcase_add_loop_test(tc, local_time_zones, 0, N(zones));
	tcase_add_test(tc, local_time_ambiguous_hour);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, alloc_failure_encode);
	tcase_add_test(tc, alloc_failure_decode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(item_suite());
}
