/* DynamoDB JSON protocol for the slot table (see hsdo/ddb.h). Pure: builds
 * request bodies with cJSON and parses response bodies; slot items go
 * through the item codec (hsdo/item.h), the one place that knows them. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/ddb.h"
#include "hsdo/err.h"
#include "hsdo/item.h"
#include "hsdo/report.h"
#include "hsdo/slot.h"
#include "json.h"

#define TARGET(op) HSDO_DDB_TARGET_PREFIX op
#define TABLE_NAME_MIN 3
#define TABLE_NAME_MAX 255
#define GENERATION "Generation"
#define IF_ABSENT "attribute_not_exists(" HSDO_DDB_KEY ")"

/* ---- helpers --------------------------------------------------------------- */

/* At most max bytes of an untrusted string for a message (hsdo_show); buf
 * holds max + 4. */
static const char *quote(const char *s, char *buf, size_t max)
{
	return hsdo_show(s, strnlen(s, max + 1), max, false, buf, max + 4);
}

/* DynamoDB table names: 3..255 of [A-Za-z0-9_.-]. */
static int check_table(const char *t, char *err, size_t errlen)
{
	size_t i;

	if (t == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no table name");
	for (i = 0; t[i] != '\0'; i++) {
		char c = t[i];

		if (i >= TABLE_NAME_MAX)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					   "table name longer than %d characters", TABLE_NAME_MAX);
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					   "table name: character %zu is not one of A-Z a-z 0-9 _ - .",
					   i + 1);
	}
	if (i < TABLE_NAME_MIN)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "table name shorter than %d characters", TABLE_NAME_MIN);
	return 0;
}

/* Where every builder starts: *out zeroed, the table name checked. */
static int req_check(const char *table, struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	memset(out, 0, sizeof(*out));
	return check_table(table, err, errlen);
}

/* Add name: {type: s} to o. */
static bool add_av_str(cJSON *o, const char *name, const char *type, const char *s)
{
	cJSON *av = cJSON_CreateObject();

	if (av == NULL)
		return false;
	if (cJSON_AddStringToObject(av, type, s) == NULL ||
	    !cJSON_AddItemToObject(o, name, av)) {
		cJSON_Delete(av);
		return false;
	}
	return true;
}

static bool add_av_n(cJSON *o, const char *name, uint64_t n)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRIu64, n);
	return add_av_str(o, name, "N", buf);
}

/* {"BackendServerID": {"N": id}} as member name of o. */
static bool add_key(cJSON *o, const char *name, uint32_t id)
{
	cJSON *k = cJSON_CreateObject();

	if (k == NULL)
		return false;
	if (!add_av_n(k, HSDO_DDB_KEY, id) || !cJSON_AddItemToObject(o, name, k)) {
		cJSON_Delete(k);
		return false;
	}
	return true;
}

/* A request object holding TableName, or NULL (ENOMEM). */
static cJSON *req_new(const char *table)
{
	cJSON *o;

	hsdo_json_begin();
	o = cJSON_CreateObject();
	if (o != NULL && cJSON_AddStringToObject(o, "TableName", table) == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* Print and consume o into *out. */
static int req_finish(cJSON *o, const char *target, struct hsdo_ddb_req *out,
		      char *err, size_t errlen)
{
	char *body;

	hsdo_json_begin();
	body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (body == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory building %s", target);
	out->body = body;
	out->len = strlen(body);
	out->target = target;
	return 0;
}

static int nomem(cJSON *o, const char *target, char *err, size_t errlen)
{
	cJSON_Delete(o);
	return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory building %s", target);
}

/* Plain decimal ("0", "12"; no sign, space, fraction or exponent) <= max. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t n = 0;
	size_t i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned)(s[i] - '0');
		if (n > (UINT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
	}
	if (n > max)
		return false;
	*out = n;
	return true;
}

/* The single member of o called name: 0 and *v (NULL if absent), or
 * -HSDO_EPROTO when it appears twice. */
static int member(const cJSON *o, const char *name, const cJSON **v,
		  const char *where, char *err, size_t errlen)
{
	const cJSON *c;

	*v = NULL;
	for (c = o->child; c != NULL; c = c->next) {
		if (c->string == NULL || strcmp(c->string, name) != 0)
			continue;
		if (*v != NULL)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s: duplicate %s",
					   where, name);
		*v = c;
	}
	return 0;
}

/* The string of an attribute value {"N": "..."}; NULL if av is not one. */
static const char *av_n(const cJSON *av)
{
	if (!cJSON_IsObject(av) || av->child == NULL || av->child->next != NULL ||
	    av->child->string == NULL || strcmp(av->child->string, "N") != 0 ||
	    !cJSON_IsString(av->child))
		return NULL;
	return av->child->valuestring;
}

/* ---- builders -------------------------------------------------------------- */

void hsdo_ddb_req_free(struct hsdo_ddb_req *r)
{
	if (r == NULL)
		return;
	hsdo_free(r->body);
	memset(r, 0, sizeof(*r));
}

int hsdo_ddb_build_describe_table(const char *table, struct hsdo_ddb_req *out,
				  char *err, size_t errlen)
{
	const char *target = TARGET("DescribeTable");
	cJSON *o;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0)
		return rc;
	if ((o = req_new(table)) == NULL)
		return nomem(NULL, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}

/* [{"AttributeName": key, field: value}] as member name of o. */
static bool add_key_list(cJSON *o, const char *key, const char *name, const char *field,
			 const char *value)
{
	cJSON *a = cJSON_AddArrayToObject(o, name), *e;

	if (a == NULL || (e = cJSON_CreateObject()) == NULL)
		return false;
	if (!cJSON_AddItemToArray(a, e)) {
		cJSON_Delete(e);
		return false;
	}
	return cJSON_AddStringToObject(e, "AttributeName", key) != NULL &&
	       cJSON_AddStringToObject(e, field, value) != NULL;
}

int hsdo_ddb_build_create_table(const char *table, struct hsdo_ddb_req *out,
				char *err, size_t errlen)
{
	return hsdo_ddb_build_create_table_key(table, HSDO_DDB_KEY, "N", out, err, errlen);
}

int hsdo_ddb_build_create_table_key(const char *table, const char *key, const char *key_type,
				    struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	const char *target = TARGET("CreateTable");
	cJSON *o;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0)
		return rc;
	if ((o = req_new(table)) == NULL)
		return nomem(NULL, target, err, errlen);
	if (!add_key_list(o, key, "AttributeDefinitions", "AttributeType", key_type) ||
	    !add_key_list(o, key, "KeySchema", "KeyType", "HASH") ||
	    cJSON_AddStringToObject(o, "BillingMode", "PAY_PER_REQUEST") == NULL)
		return nomem(o, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}

int hsdo_ddb_build_scan(const char *table, const struct hsdo_ddb_page *prev,
			struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	return hsdo_ddb_build_scan_page(table, prev, 0, out, err, errlen);
}

int hsdo_ddb_build_scan_page(const char *table, const struct hsdo_ddb_page *prev,
			     uint32_t limit, struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	const char *target = TARGET("Scan");
	cJSON *o;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0)
		return rc;
	if (prev != NULL && !prev->more)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "the previous Scan page was the last one");
	if ((o = req_new(table)) == NULL)
		return nomem(NULL, target, err, errlen);
	if (cJSON_AddTrueToObject(o, "ConsistentRead") == NULL ||
	    (prev != NULL && !add_key(o, "ExclusiveStartKey", prev->last_key)) ||
	    (limit > 0 && cJSON_AddNumberToObject(o, "Limit", limit) == NULL))
		return nomem(o, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}

int hsdo_ddb_build_get_item(const char *table, uint32_t id, struct hsdo_ddb_req *out,
			    char *err, size_t errlen)
{
	const char *target = TARGET("GetItem");
	cJSON *o;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0)
		return rc;
	if (id > HSDO_SLOTS_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "item id %" PRIu32
				   " out of range 0..%d", id, HSDO_SLOTS_MAX);
	if ((o = req_new(table)) == NULL)
		return nomem(NULL, target, err, errlen);
	if (!add_key(o, "Key", id) || cJSON_AddTrueToObject(o, "ConsistentRead") == NULL)
		return nomem(o, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}

/* PutItem of s: if_absent, or stamped with epoch (!= 0), or plain. */
static int build_put(const char *table, const struct hsdo_slot *s, bool if_absent,
		     uint64_t epoch, struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	const char *target = TARGET("PutItem");
	cJSON *o, *item, *names, *values;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0 ||
	    (rc = hsdo_item_check(s, err, errlen)) != 0)
		return rc;
	if ((o = req_new(table)) == NULL)
		return nomem(NULL, target, err, errlen);
	item = hsdo_item_encode(s);
	if (item == NULL || !cJSON_AddItemToObject(o, "Item", item)) {
		cJSON_Delete(item);
		return nomem(o, target, err, errlen);
	}
	if (if_absent && cJSON_AddStringToObject(o, "ConditionExpression", IF_ABSENT) == NULL)
		return nomem(o, target, err, errlen);
	if (epoch != 0 &&
	    (!add_av_n(item, HSDO_DDB_ATTR_EPOCH, epoch) ||
	     cJSON_AddStringToObject(o, "ConditionExpression",
				     "attribute_not_exists(#e) OR #e <= :e") == NULL ||
	     (names = cJSON_AddObjectToObject(o, "ExpressionAttributeNames")) == NULL ||
	     cJSON_AddStringToObject(names, "#e", HSDO_DDB_ATTR_EPOCH) == NULL ||
	     (values = cJSON_AddObjectToObject(o, "ExpressionAttributeValues")) == NULL ||
	     !add_av_n(values, ":e", epoch)))
		return nomem(o, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}

int hsdo_ddb_build_put_slot(const char *table, const struct hsdo_slot *s, bool if_absent,
			    struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	return build_put(table, s, if_absent, 0, out, err, errlen);
}

int hsdo_ddb_build_put_slot_fenced(const char *table, const struct hsdo_slot *s,
				   uint64_t epoch, struct hsdo_ddb_req *out,
				   char *err, size_t errlen)
{
	return build_put(table, s, false, epoch, out, err, errlen);
}

/* The attributes of the control item besides its key and Generation: a
 * free slot as the original writes one, so an original client only sends
 * commands to the non-existent server <base>0. */
static const struct {
	const char *alias, *attr, *type, *value;
} control_attrs[] = {
	{ "#ip",   "IPAddress",           "S", "none" },
	{ "#name", "ServerName",          "S", "none" },
	{ "#asg",  "ASG",                 "S", "none" },
	{ "#w",    "Weight",              "N", "0" },
	{ "#st",   "BackendServerStatus", "S", "disabled" },
	{ "#t",    "LastWeightUpdate",    "S", HSDO_ITEM_TIME_NONE },
};

#define N_CONTROL_ATTRS (sizeof(control_attrs) / sizeof(control_attrs[0]))

int hsdo_ddb_build_update_control(const char *table, uint64_t expected_gen,
				  struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	return hsdo_ddb_build_commit(table, expected_gen, 0, out, err, errlen);
}

/* Add the free-slot attributes' names (#ip...) and values (:v0...). */
static bool add_control_attrs(cJSON *names, cJSON *values)
{
	char val[16];
	size_t i;

	for (i = 0; i < N_CONTROL_ATTRS; i++) {
		snprintf(val, sizeof(val), ":v%zu", i);
		if (cJSON_AddStringToObject(names, control_attrs[i].alias,
					    control_attrs[i].attr) == NULL ||
		    !add_av_str(values, val, control_attrs[i].type, control_attrs[i].value))
			return false;
	}
	return true;
}

/* Append ", #ip = :v0, ..." to expr (size len, used *off). */
static bool control_attrs_expr(char *expr, size_t len, size_t *off)
{
	size_t i;
	int k;

	for (i = 0; i < N_CONTROL_ATTRS; i++) {
		k = snprintf(expr + *off, len - *off, ", %s = :v%zu", control_attrs[i].alias, i);
		if (k < 0 || (size_t)k >= len - *off)
			return false;
		*off += (size_t)k;
	}
	return true;
}

int hsdo_ddb_build_commit(const char *table, uint64_t expected_gen, uint64_t epoch,
			  struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	const char *target = TARGET("UpdateItem");
	const char *cond;
	char expr[256];
	cJSON *o, *names, *values;
	size_t off;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0)
		return rc;
	if (expected_gen == UINT64_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "generation would overflow");
	off = (size_t)snprintf(expr, sizeof(expr), "SET #g = :next");
	if (!control_attrs_expr(expr, sizeof(expr), &off))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "update expression too long");
	if (epoch == 0)
		cond = expected_gen == 0 ? "attribute_not_exists(#g) OR #g = :expected" :
		       "#g = :expected";
	else
		cond = expected_gen == 0 ?
		       "(attribute_not_exists(#g) OR #g = :expected) AND #le = :epoch" :
		       "#g = :expected AND #le = :epoch";
	if ((o = req_new(table)) == NULL)
		return nomem(NULL, target, err, errlen);
	if (!add_key(o, "Key", HSDO_DDB_CONTROL_ID) ||
	    cJSON_AddStringToObject(o, "UpdateExpression", expr) == NULL ||
	    cJSON_AddStringToObject(o, "ConditionExpression", cond) == NULL ||
	    (names = cJSON_AddObjectToObject(o, "ExpressionAttributeNames")) == NULL ||
	    cJSON_AddStringToObject(names, "#g", GENERATION) == NULL ||
	    (values = cJSON_AddObjectToObject(o, "ExpressionAttributeValues")) == NULL ||
	    !add_av_n(values, ":next", expected_gen + 1) ||
	    !add_av_n(values, ":expected", expected_gen) ||
	    !add_control_attrs(names, values) ||
	    (epoch != 0 &&
	     (cJSON_AddStringToObject(names, "#le", HSDO_DDB_ATTR_LEASE_EPOCH) == NULL ||
	      !add_av_n(values, ":epoch", epoch))))
		return nomem(o, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}

/* A lease holder name: 1..HSDO_LEASE_HOLDER_LEN-1 printable ASCII bytes. */
static int check_holder(const char *me, char *err, size_t errlen)
{
	size_t i;

	if (me == NULL || me[0] == '\0')
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "lease: no holder name");
	for (i = 0; me[i] != '\0'; i++) {
		if (i >= HSDO_LEASE_HOLDER_LEN - 1)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					   "lease: holder name longer than %d bytes",
					   HSDO_LEASE_HOLDER_LEN - 1);
		if (me[i] < 0x20 || me[i] > 0x7e)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					   "lease: holder name byte %zu is not printable ASCII", i + 1);
	}
	return 0;
}

/* Add the common parts of a lease UpdateItem; names/values out. */
static cJSON *lease_req(const char *table, const char *expr, const char *cond,
			cJSON **names, cJSON **values)
{
	cJSON *o = req_new(table);

	if (o == NULL)
		return NULL;
	if (!add_key(o, "Key", HSDO_DDB_CONTROL_ID) ||
	    cJSON_AddStringToObject(o, "UpdateExpression", expr) == NULL ||
	    cJSON_AddStringToObject(o, "ConditionExpression", cond) == NULL ||
	    (*names = cJSON_AddObjectToObject(o, "ExpressionAttributeNames")) == NULL ||
	    cJSON_AddStringToObject(*names, "#h", HSDO_DDB_ATTR_LEASE_HOLDER) == NULL ||
	    cJSON_AddStringToObject(*names, "#x", HSDO_DDB_ATTR_LEASE_EXPIRY) == NULL ||
	    (*values = cJSON_AddObjectToObject(o, "ExpressionAttributeValues")) == NULL ||
	    cJSON_AddStringToObject(o, "ReturnValues", "ALL_NEW") == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int hsdo_ddb_build_lease_take(const char *table, const char *me, int64_t now_ms,
			      int64_t expires_ms, struct hsdo_ddb_req *out,
			      char *err, size_t errlen)
{
	const char *target = TARGET("UpdateItem");
	cJSON *o, *names = NULL, *values = NULL;
	char expr[320];
	size_t off;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0 ||
	    (rc = check_holder(me, err, errlen)) != 0)
		return rc;
	if (now_ms < 0 || expires_ms < now_ms)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "lease: bad times");
	off = (size_t)snprintf(expr, sizeof(expr),
			       "SET #h = :me, #x = :exp, #e = if_not_exists(#e, :now) + :one, "
			       "#g = if_not_exists(#g, :zero)");
	if (!control_attrs_expr(expr, sizeof(expr), &off))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "update expression too long");
	o = lease_req(table, expr, "attribute_not_exists(#h) OR attribute_not_exists(#x) "
		      "OR #x <= :now", &names, &values);
	if (o == NULL)
		return nomem(NULL, target, err, errlen);
	if (cJSON_AddStringToObject(names, "#e", HSDO_DDB_ATTR_LEASE_EPOCH) == NULL ||
	    cJSON_AddStringToObject(names, "#g", GENERATION) == NULL ||
	    !add_av_str(values, ":me", "S", me) ||
	    !add_av_n(values, ":exp", (uint64_t)expires_ms) ||
	    !add_av_n(values, ":now", (uint64_t)now_ms) ||
	    !add_av_n(values, ":zero", 0) ||
	    !add_av_n(values, ":one", 1) ||
	    !add_control_attrs(names, values))
		return nomem(o, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}

int hsdo_ddb_build_lease_renew(const char *table, const char *me, uint64_t epoch,
			       int64_t expires_ms, struct hsdo_ddb_req *out,
			       char *err, size_t errlen)
{
	const char *target = TARGET("UpdateItem");
	cJSON *o, *names = NULL, *values = NULL;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0 ||
	    (rc = check_holder(me, err, errlen)) != 0)
		return rc;
	if (expires_ms < 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "lease: bad expiry");
	o = lease_req(table, "SET #x = :exp", epoch != 0 ? "#h = :me AND #e = :epoch" :
		      "#h = :me", &names, &values);
	if (o == NULL)
		return nomem(NULL, target, err, errlen);
	if ((epoch != 0 &&
	     (cJSON_AddStringToObject(names, "#e", HSDO_DDB_ATTR_LEASE_EPOCH) == NULL ||
	      !add_av_n(values, ":epoch", epoch))) ||
	    !add_av_str(values, ":me", "S", me) ||
	    !add_av_n(values, ":exp", (uint64_t)expires_ms))
		return nomem(o, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}

/* ---- errors ---------------------------------------------------------------- */

static const struct {
	const char *type;
	int code;
} error_types[] = {
	{ "ConditionalCheckFailedException",        -HSDO_ECONFLICT },
	{ "ResourceNotFoundException",              -HSDO_ENOTFOUND },
	{ "ProvisionedThroughputExceededException", -HSDO_EAGAIN },
	{ "ThrottlingException",                    -HSDO_EAGAIN },
	{ "RequestLimitExceeded",                   -HSDO_EAGAIN },
	/* 500 / 503: AWS documents both as safe to retry */
	{ "InternalServerError",                    -HSDO_EAGAIN },
	{ "ServiceUnavailable",                     -HSDO_EAGAIN },
};

/* Map a parsed error object into *out; always negative. */
static int error_parts(const cJSON *root, struct hsdo_ddb_error *out)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "__type"), *m;
	const char *type, *hash;
	size_t i;

	if (!cJSON_IsString(t))
		return -HSDO_EAWS;
	type = t->valuestring;
	hash = strrchr(type, '#');
	if (hash != NULL)
		type = hash + 1;
	m = cJSON_GetObjectItemCaseSensitive(root, "message");
	if (m == NULL)
		m = cJSON_GetObjectItemCaseSensitive(root, "Message");
	quote(type, out->code, sizeof(out->code) - 4);
	if (cJSON_IsString(m))
		quote(m->valuestring, out->message, sizeof(out->message) - 4);
	for (i = 0; i < sizeof(error_types) / sizeof(error_types[0]); i++)
		if (strcmp(type, error_types[i].type) == 0)
			return error_types[i].code;
	return -HSDO_EAWS;
}

/* Map a parsed error object; always negative. */
static int error_from(const cJSON *root, char *err, size_t errlen)
{
	struct hsdo_ddb_error e;
	int rc;

	memset(&e, 0, sizeof(e));
	if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "__type")))
		return hsdo_seterr(err, errlen, -HSDO_EAWS, "AWS error without a __type");
	rc = error_parts(root, &e);
	return hsdo_seterr(err, errlen, rc, "%s%s%s", e.code[0] ? e.code : "(empty __type)",
			   e.message[0] ? ": " : "", e.message);
}

/* A success body: a JSON object that is not an error ("__type"). */
static int parse_response(const char *buf, size_t len, const char *op, cJSON **root,
			  char *err, size_t errlen)
{
	cJSON *r = NULL;
	int rc;

	if ((rc = hsdo_json_parse_body(buf, len, HSDO_DDB_BODY_MAX, &r, err, errlen)) != 0)
		return rc;
	if (!cJSON_IsObject(r)) {
		cJSON_Delete(r);
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "%s response is not a JSON object", op);
	}
	if (cJSON_GetObjectItemCaseSensitive(r, "__type") != NULL) {
		rc = error_from(r, err, errlen);
		cJSON_Delete(r);
		return rc;
	}
	*root = r;
	return 0;
}

int hsdo_ddb_decode_error(const char *buf, size_t len, struct hsdo_ddb_error *out,
			  char *err, size_t errlen)
{
	cJSON *r = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = hsdo_json_parse_body(buf, len, HSDO_DDB_BODY_MAX, &r, err, errlen);
	if (rc == -HSDO_ENOMEM)
		return rc;
	if (rc != 0)
		return hsdo_seterr(err, errlen, -HSDO_EAWS,
				   "AWS error with an unparseable body (%zu bytes)", len);
	if (!cJSON_IsObject(r)) {
		cJSON_Delete(r);
		return hsdo_seterr(err, errlen, -HSDO_EAWS, "AWS error body is not a JSON object");
	}
	(void)error_parts(r, out);
	rc = error_from(r, err, errlen);
	cJSON_Delete(r);
	return rc;
}

int hsdo_ddb_parse_error(const char *buf, size_t len, char *err, size_t errlen)
{
	struct hsdo_ddb_error e;

	return hsdo_ddb_decode_error(buf, len, &e, err, errlen);
}

/* ---- DescribeTable ---------------------------------------------------------- */

/* The one element of a KeySchema / AttributeDefinitions array naming the
 * hash key `key` must have field == want; any other element is an error. */
static int check_key_list(const cJSON *table, const char *key, const char *list,
			  const char *field, const char *want, const char *key_type,
			  char *err, size_t errlen)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(table, list), *e, *n, *v;
	char q1[80], q2[80];
	bool found = false;

	if (!cJSON_IsArray(a))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "Table.%s missing or not an array",
				   list);
	cJSON_ArrayForEach(e, a) {
		n = cJSON_GetObjectItemCaseSensitive(e, "AttributeName");
		v = cJSON_GetObjectItemCaseSensitive(e, field);
		if (!cJSON_IsString(n) || !cJSON_IsString(v))
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "Table.%s: element without AttributeName/%s", list, field);
		if (strcmp(n->valuestring, key) != 0) {
			/* extra attribute definitions are only there for
			 * indexes; an extra key schema element is a range key */
			if (strcmp(list, "KeySchema") == 0)
				return hsdo_seterr(err, errlen, -HSDO_EPROTO,
						   "table key has %s %s; HSDO needs a table whose only key is hash key "
						   "%s (%s)", quote(v->valuestring, q1, 32),
						   quote(n->valuestring, q2, 64), key, key_type);
			continue;
		}
		if (found)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO, "Table.%s: %s listed twice",
					   list, key);
		found = true;
		if (strcmp(v->valuestring, want) != 0)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "table key %s has %s %s; HSDO needs %s", key,
					   field, quote(v->valuestring, q1, 32), want);
	}
	if (!found)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "table has no %s in %s; HSDO needs hash key %s (%s)", key, list,
				   key, key_type);
	return 0;
}

int hsdo_ddb_parse_describe_table(const char *buf, size_t len,
				  struct hsdo_ddb_table_info *out, char *err, size_t errlen)
{
	return hsdo_ddb_parse_describe_table_key(buf, len, HSDO_DDB_KEY, "N", out, err, errlen);
}

int hsdo_ddb_parse_describe_table_key(const char *buf, size_t len, const char *key,
				      const char *key_type, struct hsdo_ddb_table_info *out,
				      char *err, size_t errlen)
{
	const cJSON *t, *st, *cnt;
	struct hsdo_ddb_table_info info;
	cJSON *root = NULL;
	char q[80];
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	if ((rc = parse_response(buf, len, "DescribeTable", &root, err, errlen)) != 0)
		return rc;
	memset(&info, 0, sizeof(info));
	t = cJSON_GetObjectItemCaseSensitive(root, "Table");
	if (!cJSON_IsObject(t)) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "DescribeTable: no Table object");
		goto out;
	}
	st = cJSON_GetObjectItemCaseSensitive(t, "TableStatus");
	if (!cJSON_IsString(st)) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "DescribeTable: no TableStatus string");
		goto out;
	}
	if (hsdo_strlcpy_field(info.status, sizeof(info.status), st->valuestring) != 0) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "DescribeTable: TableStatus %s too long",
				 quote(st->valuestring, q, 64));
		goto out;
	}
	info.active = strcmp(info.status, "ACTIVE") == 0;
	if ((rc = check_key_list(t, key, "KeySchema", "KeyType", "HASH", key_type, err,
				 errlen)) != 0 ||
	    (rc = check_key_list(t, key, "AttributeDefinitions", "AttributeType", key_type,
				 key_type, err, errlen)) != 0)
		goto out;
	cnt = cJSON_GetObjectItemCaseSensitive(t, "ItemCount");
	if (cnt != NULL) {
		if (!cJSON_IsNumber(cnt) || cnt->valuedouble < 0 ||
		    cnt->valuedouble >= 18446744073709551616.0 ||
		    cnt->valuedouble != (double)(uint64_t)cnt->valuedouble) {
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
					 "DescribeTable: ItemCount is not a count");
			goto out;
		}
		info.item_count = (uint64_t)cnt->valuedouble;
		info.has_item_count = true;
	}
	*out = info;
out:
	cJSON_Delete(root);
	return rc;
}

/* ---- Scan / GetItem ---------------------------------------------------------- */

/* The Generation of control item `item`; 0 when it has none (an item 0
 * that no writer committed through: the table is unversioned). */
static int control_generation(const cJSON *item, uint64_t *gen, char *err, size_t errlen)
{
	const cJSON *av;
	const char *s;
	char q[40];
	int rc;

	if ((rc = member(item, GENERATION, &av, "control item 0", err, errlen)) != 0)
		return rc;
	if (av == NULL) {
		*gen = 0;
		return 0;
	}
	if ((s = av_n(av)) == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "control item 0: " GENERATION " is not an N attribute value");
	if (!parse_u64(s, UINT64_MAX, gen))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "control item 0: " GENERATION
				   " \"%s\" is not a plain decimal integer", quote(s, q, 32));
	return 0;
}

/* The id string of an item, for classification and messages ("?" if none). */
static const char *item_id(const cJSON *item, int *rc, char *err, size_t errlen)
{
	const cJSON *av = NULL;
	const char *s;

	*rc = cJSON_IsObject(item) ? member(item, HSDO_DDB_KEY, &av, "item", err, errlen) : 0;
	if (*rc != 0 || !cJSON_IsObject(item) || (s = av_n(av)) == NULL)
		return NULL;
	return s;
}

int hsdo_ddb_parse_scan(const char *buf, size_t len, struct hsdo_ddb_page *out,
			char *err, size_t errlen)
{
	struct hsdo_ddb_page pg;
	const cJSON *items, *it, *cnt, *lek, *av;
	char ierr[256], q[40];
	const char *id;
	uint64_t k;
	size_t n = 0, i;
	cJSON *root = NULL;
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	if ((rc = parse_response(buf, len, "Scan", &root, err, errlen)) != 0)
		return rc;
	memset(&pg, 0, sizeof(pg));
	items = cJSON_GetObjectItemCaseSensitive(root, "Items");
	if (!cJSON_IsArray(items)) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "Scan: Items missing or not an array");
		goto fail;
	}
	cJSON_ArrayForEach(it, items) {
		if (++n > HSDO_SLOTS_MAX + 1) {
			rc = hsdo_seterr(err, errlen, -HSDO_ETOOBIG,
					 "Scan: more than %d items in one page", HSDO_SLOTS_MAX + 1);
			goto fail;
		}
	}
	cnt = cJSON_GetObjectItemCaseSensitive(root, "Count");
	if (cnt != NULL && (!cJSON_IsNumber(cnt) || cnt->valuedouble != (double)n)) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
				 "Scan: Count does not match the %zu items", n);
		goto fail;
	}
	if (n > 0 && ((pg.slots = hsdo_calloc(n, sizeof(*pg.slots))) == NULL ||
		      (pg.strs = hsdo_strset_new()) == NULL)) {
		rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory for %zu slots", n);
		goto fail;
	}
	i = 0;
	cJSON_ArrayForEach(it, items) {
		id = item_id(it, &rc, ierr, sizeof(ierr));
		if (rc != 0) {
			rc = hsdo_seterr(err, errlen, rc, "Scan item %zu: %s", i, ierr);
			goto fail;
		}
		if (id != NULL && strcmp(id, "0") == 0) {
			if (pg.has_control) {
				rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
						 "Scan item %zu: second control item 0", i);
				goto fail;
			}
			if ((rc = control_generation(it, &pg.generation, ierr, sizeof(ierr))) != 0) {
				rc = hsdo_seterr(err, errlen, rc, "Scan item %zu: %s", i, ierr);
				goto fail;
			}
			pg.has_control = true;
		} else if ((rc = hsdo_item_decode(it, pg.strs, &pg.slots[pg.n], ierr, sizeof(ierr))) != 0) {
			rc = hsdo_seterr(err, errlen, rc, "Scan item %zu (" HSDO_DDB_KEY " %s): %s",
					 i, id != NULL ? quote(id, q, 24) : "?", ierr);
			goto fail;
		} else {
			pg.n++;
		}
		i++;
	}
	lek = cJSON_GetObjectItemCaseSensitive(root, "LastEvaluatedKey");
	if (lek != NULL) {
		if (!cJSON_IsObject(lek) || lek->child == NULL || lek->child->next != NULL ||
		    lek->child->string == NULL || strcmp(lek->child->string, HSDO_DDB_KEY) != 0) {
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
					 "Scan: LastEvaluatedKey is not {\"" HSDO_DDB_KEY "\": ...}");
			goto fail;
		}
		av = lek->child;
		if (!parse_u64(av_n(av), HSDO_SLOTS_MAX, &k)) {
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
					 "Scan: LastEvaluatedKey is not an N in 0..%d", HSDO_SLOTS_MAX);
			goto fail;
		}
		pg.more = true;
		pg.last_key = (uint32_t)k;
	}
	cJSON_Delete(root);
	*out = pg;
	return 0;
fail:
	hsdo_free(pg.slots);
	hsdo_strset_free(pg.strs);
	cJSON_Delete(root);
	return rc;
}

void hsdo_ddb_page_free(struct hsdo_ddb_page *p)
{
	if (p == NULL)
		return;
	hsdo_free(p->slots);
	hsdo_strset_free(p->strs);
	memset(p, 0, sizeof(*p));
}

int hsdo_ddb_parse_get_control(const char *buf, size_t len, uint64_t *gen,
			       char *err, size_t errlen)
{
	const cJSON *item;
	const char *id;
	uint64_t g = 0;
	cJSON *root = NULL;
	char ierr[256];
	int rc;

	if (gen == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	if ((rc = parse_response(buf, len, "GetItem", &root, err, errlen)) != 0)
		return rc;
	item = cJSON_GetObjectItemCaseSensitive(root, "Item");
	if (item != NULL) {
		id = item_id(item, &rc, ierr, sizeof(ierr));
		if (rc != 0)
			rc = hsdo_seterr(err, errlen, rc, "GetItem: %s", ierr);
		else if (id == NULL || strcmp(id, "0") != 0)
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
					 "GetItem: Item is not the control item "
					 HSDO_DDB_KEY " 0");
		else if ((rc = control_generation(item, &g, ierr, sizeof(ierr))) != 0)
			rc = hsdo_seterr(err, errlen, rc, "GetItem: %s", ierr);
	}
	cJSON_Delete(root);
	if (rc == 0)
		*gen = g;
	return rc;
}

/* An optional attribute of type `type` ("S" or "N") of the control item:
 * its string, or NULL when absent. */
static int control_attr(const cJSON *item, const char *name, const char *type,
			const char **v, char *err, size_t errlen)
{
	const cJSON *av;
	int rc;

	*v = NULL;
	if ((rc = member(item, name, &av, "control item 0", err, errlen)) != 0)
		return rc;
	if (av == NULL)
		return 0;
	if (!cJSON_IsObject(av) || av->child == NULL || av->child->next != NULL ||
	    av->child->string == NULL || strcmp(av->child->string, type) != 0 ||
	    !cJSON_IsString(av->child))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "control item 0: %s is not an %s attribute value", name, type);
	*v = av->child->valuestring;
	return 0;
}

static int control_u64(const cJSON *item, const char *name, uint64_t max, uint64_t *out,
		       char *err, size_t errlen)
{
	const char *s;
	char q[40];
	int rc;

	*out = 0;
	if ((rc = control_attr(item, name, "N", &s, err, errlen)) != 0 || s == NULL)
		return rc;
	if (!parse_u64(s, max, out))
		return hsdo_seterr(err, errlen, -HSDO_EPROTO, "control item 0: %s \"%s\" is not "
				   "a plain decimal integer in 0..%" PRIu64, name, quote(s, q, 32), max);
	return 0;
}

int hsdo_ddb_parse_control(const char *buf, size_t len, struct hsdo_ddb_control *out,
			   char *err, size_t errlen)
{
	struct hsdo_ddb_control c;
	const cJSON *item, *attrs;
	const char *id, *holder;
	uint64_t exp;
	cJSON *root = NULL;
	char ierr[256];
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	if ((rc = parse_response(buf, len, "control item read", &root, err, errlen)) != 0)
		return rc;
	memset(&c, 0, sizeof(c));
	item = cJSON_GetObjectItemCaseSensitive(root, "Item");
	attrs = cJSON_GetObjectItemCaseSensitive(root, "Attributes");
	if (item != NULL && attrs != NULL) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "both Item and Attributes");
		goto out;
	}
	if (item == NULL)
		item = attrs;
	if (item == NULL)
		goto out;
	if (!cJSON_IsObject(item)) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "control item is not an object");
		goto out;
	}
	id = item_id(item, &rc, ierr, sizeof(ierr));
	if (rc != 0) {
		rc = hsdo_seterr(err, errlen, rc, "%s", ierr);
		goto out;
	}
	if (id == NULL || strcmp(id, "0") != 0) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
				 "the item is not the control item " HSDO_DDB_KEY " 0");
		goto out;
	}
	c.exists = true;
	if ((rc = control_u64(item, GENERATION, UINT64_MAX, &c.generation, err, errlen)) != 0 ||
	    (rc = control_u64(item, HSDO_DDB_ATTR_LEASE_EPOCH, UINT64_MAX, &c.lease.epoch,
			      err, errlen)) != 0 ||
	    (rc = control_u64(item, HSDO_DDB_ATTR_LEASE_EXPIRY, INT64_MAX, &exp,
			      err, errlen)) != 0 ||
	    (rc = control_attr(item, HSDO_DDB_ATTR_LEASE_HOLDER, "S", &holder, err, errlen)) != 0)
		goto out;
	c.lease.expires_ms = (int64_t)exp;
	if (holder != NULL &&
	    hsdo_strlcpy_field(c.lease.holder, sizeof(c.lease.holder), holder) != 0) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "control item 0: "
				 HSDO_DDB_ATTR_LEASE_HOLDER " longer than %d bytes",
				 HSDO_LEASE_HOLDER_LEN - 1);
		goto out;
	}
out:
	cJSON_Delete(root);
	if (rc == 0)
		*out = c;
	return rc;
}

/* ---- full-table assembly ----------------------------------------------------- */

void hsdo_ddb_scan_init(struct hsdo_ddb_scan *sc, size_t max_slots)
{
	memset(sc, 0, sizeof(*sc));
	sc->max_slots = max_slots == 0 || max_slots > HSDO_SLOTS_MAX ? HSDO_SLOTS_MAX : max_slots;
}

void hsdo_ddb_scan_free(struct hsdo_ddb_scan *sc)
{
	size_t max;

	if (sc == NULL)
		return;
	max = sc->max_slots;
	hsdo_free(sc->slots);
	hsdo_strset_free(sc->strs);
	hsdo_ddb_scan_init(sc, max);
}

int hsdo_ddb_scan_add(struct hsdo_ddb_scan *sc, const struct hsdo_ddb_page *page,
		      char *err, size_t errlen)
{
	struct hsdo_slot *p;
	size_t i, cap;

	if (sc == NULL || page == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no scan or page");
	if (sc->pages >= HSDO_DDB_PAGES_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "Scan: more than %d pages",
				   HSDO_DDB_PAGES_MAX);
	if (page->has_control && sc->has_control)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "Scan page %zu: control item 0 seen twice", sc->pages + 1);
	for (i = 0; i < page->n; i++)
		if (page->slots[i].id < 1 || page->slots[i].id > sc->max_slots)
			return hsdo_seterr(err, errlen, -HSDO_EPROTO,
					   "Scan page %zu: slot %" PRIu32 " out of range 1..%zu",
					   sc->pages + 1, page->slots[i].id, sc->max_slots);
	if (page->n > sc->max_slots - sc->n)
		return hsdo_seterr(err, errlen, -HSDO_EPROTO,
				   "Scan page %zu: more than %zu slot items (duplicate ids)",
				   sc->pages + 1, sc->max_slots);
	if (sc->n + page->n > sc->cap) {
		cap = sc->cap ? sc->cap : 64;
		while (cap < sc->n + page->n)
			cap *= 2;
		if (cap > sc->max_slots)
			cap = sc->max_slots;
		p = hsdo_reallocarray(sc->slots, cap, sizeof(*p));
		if (p == NULL)
			return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory for %zu slots",
					   cap);
		sc->slots = p;
		sc->cap = cap;
	}
	if (sc->strs == NULL && (sc->strs = hsdo_strset_new()) == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory for the strings");
	/* The page's strings are the page's: the scan interns its own. */
	for (i = 0; i < page->n; i++) {
		struct hsdo_slot s = page->slots[i];
		int rc = hsdo_slot_intern(&s, sc->strs);

		if (rc != 0)
			return hsdo_seterr(err, errlen, rc, "Scan page %zu: slot %" PRIu32
					   ": %s", sc->pages + 1, s.id,
					   rc == -HSDO_ENOMEM ? "out of memory" : "bad string");
		sc->slots[sc->n + i] = s;
	}
	sc->n += page->n;
	sc->pages++;
	if (page->has_control) {
		sc->has_control = true;
		sc->generation = page->generation;
	}
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = ((const struct hsdo_slot *)a)->id, y = ((const struct hsdo_slot *)b)->id;

	return (x > y) - (x < y);
}

int hsdo_ddb_scan_finish(struct hsdo_ddb_scan *sc, struct hsdo_table *out,
			 char *err, size_t errlen)
{
	struct hsdo_table t;
	size_t i;
	int rc = 0;

	if (sc == NULL || out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no scan or table");
	if (sc->n > 0)
		qsort(sc->slots, sc->n, sizeof(*sc->slots), cmp_id);
	for (i = 0; i < sc->n; i++) {
		if (sc->slots[i].id == i + 1)
			continue;
		if (i > 0 && sc->slots[i].id == sc->slots[i - 1].id)
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
					 "slot table: duplicate slot %" PRIu32, sc->slots[i].id);
		else
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO,
					 "slot table: slot %zu missing (ids must be 1..n)", i + 1);
		goto done;
	}
	if (sc->n == 0) {
		if ((rc = hsdo_table_init(&t, 0)) != 0) {
			rc = hsdo_seterr(err, errlen, rc, "out of memory for an empty table");
			goto done;
		}
	} else {
		memset(&t, 0, sizeof(t));
		t.slots = sc->slots;
		t.n = sc->n;
		t.strs = sc->strs;
		sc->slots = NULL;
		sc->strs = NULL;
	}
	t.generation = sc->has_control ? sc->generation : 0;
	*out = t;
done:
	hsdo_ddb_scan_free(sc);
	return rc;
}

/* ---- the health table (fleet-health reports) -------------------------------- */

int hsdo_ddb_build_put_report(const char *table, const struct hsdo_report *r,
			      struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	const char *target = TARGET("PutItem");
	cJSON *o, *item;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0 ||
	    (rc = hsdo_report_check(r, err, errlen)) != 0)
		return rc;
	if ((o = req_new(table)) == NULL)
		return nomem(NULL, target, err, errlen);
	item = hsdo_report_encode(r);
	if (item == NULL || !cJSON_AddItemToObject(o, "Item", item)) {
		cJSON_Delete(item);
		return nomem(o, target, err, errlen);
	}
	return req_finish(o, target, out, err, errlen);
}

int hsdo_ddb_build_scan_reports(const char *table, const char *start, uint32_t limit,
				struct hsdo_ddb_req *out, char *err, size_t errlen)
{
	const char *target = TARGET("Scan");
	cJSON *o, *k;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0)
		return rc;
	if (start != NULL && !hsdo_report_id_valid(start))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "bad ExclusiveStartKey");
	if ((o = req_new(table)) == NULL)
		return nomem(NULL, target, err, errlen);
	/* Eventually consistent: half the read units, and a report a second
	 * old is as good as a new one. */
	if ((limit > 0 && cJSON_AddNumberToObject(o, "Limit", limit) == NULL) ||
	    (start != NULL && ((k = cJSON_AddObjectToObject(o, "ExclusiveStartKey")) == NULL ||
			       !add_av_str(k, HSDO_DDB_REPORTS_KEY, "S", start))))
		return nomem(o, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}

int hsdo_ddb_parse_scan_reports(const char *buf, size_t len, struct hsdo_report_set *set,
				char *next, size_t nextlen, char *err, size_t errlen)
{
	const cJSON *items, *it, *lek, *id;
	struct hsdo_report r;
	char ierr[256], where[HSDO_REPORT_ID_LEN + 16];
	cJSON *root = NULL;
	size_t i = 0;
	int rc;

	if (set == NULL || next == NULL || nextlen < HSDO_REPORT_ID_LEN)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	next[0] = '\0';
	if ((rc = parse_response(buf, len, "Scan", &root, err, errlen)) != 0)
		return rc;
	items = cJSON_GetObjectItemCaseSensitive(root, "Items");
	if (!cJSON_IsArray(items)) {
		rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "Scan: Items missing or not an array");
		goto out;
	}
	cJSON_ArrayForEach(it, items) {
		i++;
		rc = hsdo_report_decode(it, &r, ierr, sizeof(ierr));
		if (rc == -HSDO_ENOMEM)
			goto out;
		if (rc != 0) {
			/* One broken report is counted and named, never fatal. */
			id = cJSON_GetObjectItemCaseSensitive(
				cJSON_GetObjectItemCaseSensitive(it, HSDO_DDB_REPORTS_KEY), "S");
			snprintf(where, sizeof(where), "item %s",
				 cJSON_IsString(id) && hsdo_report_id_valid(id->valuestring) ?
				 id->valuestring : "?");
			hsdo_report_set_bad(set, where, ierr);
			continue;
		}
		if ((rc = hsdo_report_set_add(set, &r)) != 0) {
			hsdo_report_free(&r);
			rc = hsdo_seterr(err, errlen, rc, "Scan: %s after %zu reports",
					 hsdo_strerror(rc), set->n);
			goto out;
		}
	}
	rc = 0;
	lek = cJSON_GetObjectItemCaseSensitive(root, "LastEvaluatedKey");
	if (lek != NULL) {
		id = cJSON_GetObjectItemCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(lek, HSDO_DDB_REPORTS_KEY), "S");
		if (!cJSON_IsObject(lek) || lek->child == NULL || lek->child->next != NULL ||
		    !cJSON_IsString(id) || !hsdo_report_id_valid(id->valuestring)) {
			rc = hsdo_seterr(err, errlen, -HSDO_EPROTO, "Scan: LastEvaluatedKey is not "
					 "{\"" HSDO_DDB_REPORTS_KEY "\": {\"S\": <client id>}}");
			goto out;
		}
		snprintf(next, nextlen, "%s", id->valuestring);
	}
out:
	cJSON_Delete(root);
	return rc;
}

int hsdo_ddb_build_update_ttl(const char *table, const char *attr, struct hsdo_ddb_req *out,
			      char *err, size_t errlen)
{
	const char *target = TARGET("UpdateTimeToLive");
	cJSON *o, *spec;
	int rc;

	if ((rc = req_check(table, out, err, errlen)) != 0)
		return rc;
	if ((o = req_new(table)) == NULL)
		return nomem(NULL, target, err, errlen);
	if ((spec = cJSON_AddObjectToObject(o, "TimeToLiveSpecification")) == NULL ||
	    cJSON_AddStringToObject(spec, "AttributeName", attr) == NULL ||
	    cJSON_AddTrueToObject(spec, "Enabled") == NULL)
		return nomem(o, target, err, errlen);
	return req_finish(o, target, out, err, errlen);
}
