/* Least privilege, proven from the code: every AWS operation the code can
 * send (found in the sources that build requests: TARGET("...") in
 * ddb.c, "Action=...&Version=..." and the STS actions in aws_query.c, the
 * operation names of store/ and source/) is a row of the operation table
 * (aws_ops.c), and the table and the policies of docs/iam/ agree exactly:
 * each row's action is allowed by the policy of every principal that
 * sends it, on the resource its scope names, and a policy allows nothing
 * else. Then the AWS client refuses an operation its principal's policy
 * does not allow, before sending anything. */
#include <check.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/aws_ops.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo_test.h"

#define TABLE_ARN "arn:aws:dynamodb:REGION:ACCOUNT_ID:table/TABLE_NAME"
#define HEALTH_ARN "arn:aws:dynamodb:REGION:ACCOUNT_ID:table/HEALTH_TABLE_NAME"
#define ASG_ARN   "arn:aws:autoscaling:REGION:ACCOUNT_ID:autoScalingGroup:*:autoScalingGroupName/ASG_NAME"
#define ROLE_ARN  "arn:aws:iam::ACCOUNT_ID:role/ROLE_NAME"

static const struct {
	enum hsdo_aws_principal p;
	const char *file;
} policies[] = {
	{ HSDO_AWS_PRINCIPAL_SERVER, "docs/iam/hsdo-server.json" },
	{ HSDO_AWS_PRINCIPAL_CLIENT, "docs/iam/hsdo-client.json" },
	{ HSDO_AWS_PRINCIPAL_TABLE_ADMIN, "docs/iam/hsdo-create-table.json" },
	{ HSDO_AWS_PRINCIPAL_ROLE_SOURCE, "docs/iam/hsdo-assume-role.json" },
};

#define NPOL (sizeof(policies) / sizeof(policies[0]))

static char *source_file(const char *rel)
{
	const char *src = getenv("HSDO_SOURCE_DIR");
	char *data = NULL, path[1024], *text;

	if (src == NULL) {
		data = hsdo_test_data_path("../..");
		ck_assert_ptr_nonnull(data);
		src = data;
	}
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	free(data);
	text = hsdo_test_read_file(path, NULL);
	ck_assert_msg(text != NULL, "cannot read %s", path);
	return text;
}

/* ---- the policies --------------------------------------------------------------- */

struct grant {
	char action[96];
	char resource[256];
	bool region_condition;      /* aws:RequestedRegion = REGION */
};

struct policy {
	struct grant g[64];
	size_t n;
};

/* A string or an array of strings, each through fn. */
static void each_string(const cJSON *v, const char *what, void (*fn)(const char *, void *),
			void *arg)
{
	const cJSON *it;

	ck_assert_msg(v != NULL, "%s missing", what);
	if (cJSON_IsString(v)) {
		fn(v->valuestring, arg);
		return;
	}
	ck_assert_msg(cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0, "%s: a string or a list", what);
	cJSON_ArrayForEach(it, v) {
		ck_assert_msg(cJSON_IsString(it), "%s: strings only", what);
		fn(it->valuestring, arg);
	}
}

static void count_one(const char *s, void *arg)
{
	(void)s;
	(*(size_t *)arg)++;
}

static void first_of(const char *s, void *arg)
{
	const char **out = arg;

	if (*out == NULL)
		*out = s;
}

struct add_ctx {
	struct policy *pol;
	const char *resource;
	bool cond;
};

static void add_action(const char *a, void *arg)
{
	struct add_ctx *x = arg;
	struct grant *g;

	ck_assert_msg(strchr(a, '*') == NULL && strchr(a, '?') == NULL,
		      "action %s: no wildcards in a least-privilege policy", a);
	ck_assert_uint_lt(x->pol->n, 64);
	g = &x->pol->g[x->pol->n++];
	snprintf(g->action, sizeof(g->action), "%s", a);
	snprintf(g->resource, sizeof(g->resource), "%s", x->resource);
	g->region_condition = x->cond;
}

static void load_policy(const char *file, struct policy *pol)
{
	char *text = source_file(file);
	cJSON *doc = cJSON_Parse(text), *st;
	const cJSON *ver, *cond, *se, *rr;

	ck_assert_msg(doc != NULL, "%s: not JSON", file);
	memset(pol, 0, sizeof(*pol));
	ver = cJSON_GetObjectItemCaseSensitive(doc, "Version");
	ck_assert_msg(cJSON_IsString(ver) && strcmp(ver->valuestring, "2012-10-17") == 0,
		      "%s: Version 2012-10-17", file);
	st = cJSON_GetObjectItemCaseSensitive(doc, "Statement");
	ck_assert_msg(cJSON_IsArray(st), "%s: Statement list", file);
	for (st = st->child; st != NULL; st = st->next) {
		const cJSON *eff = cJSON_GetObjectItemCaseSensitive(st, "Effect");
		struct add_ctx x = { pol, NULL, false };
		size_t nres = 0;

		ck_assert_msg(cJSON_IsString(eff) && strcmp(eff->valuestring, "Allow") == 0,
			      "%s: Allow statements only", file);
		ck_assert_msg(cJSON_GetObjectItemCaseSensitive(st, "NotAction") == NULL &&
			      cJSON_GetObjectItemCaseSensitive(st, "NotResource") == NULL,
			      "%s: no NotAction/NotResource", file);
		each_string(cJSON_GetObjectItemCaseSensitive(st, "Resource"), "Resource", count_one,
			    &nres);
		ck_assert_msg(nres == 1, "%s: one resource per statement", file);
		each_string(cJSON_GetObjectItemCaseSensitive(st, "Resource"), "Resource", first_of,
			    &x.resource);
		cond = cJSON_GetObjectItemCaseSensitive(st, "Condition");
		if (cond != NULL) {
			se = cJSON_GetObjectItemCaseSensitive(cond, "StringEquals");
			rr = se != NULL ? cJSON_GetObjectItemCaseSensitive(se, "aws:RequestedRegion") :
			     NULL;
			ck_assert_msg(cJSON_IsString(rr) && strcmp(rr->valuestring, "REGION") == 0 &&
				      cJSON_GetArraySize(cond) == 1 && cJSON_GetArraySize(se) == 1,
				      "%s: the only condition is aws:RequestedRegion = REGION", file);
			x.cond = true;
		}
		each_string(cJSON_GetObjectItemCaseSensitive(st, "Action"), "Action", add_action, &x);
	}
	cJSON_Delete(doc);
	free(text);
}

static const char *scope_resource(enum hsdo_aws_scope s)
{
	switch (s) {
	case HSDO_AWS_SCOPE_TABLE: return TABLE_ARN;
	case HSDO_AWS_SCOPE_HEALTH_TABLE: return HEALTH_ARN;
	case HSDO_AWS_SCOPE_ASG: return ASG_ARN;
	case HSDO_AWS_SCOPE_ROLE: return ROLE_ARN;
	case HSDO_AWS_SCOPE_ANY: return "*";
	default: return NULL;
	}
}

/* The grant of action on resource (NULL: on any resource). */
static const struct grant *granted(const struct policy *pol, const char *action,
				   const char *resource)
{
	size_t i;

	for (i = 0; i < pol->n; i++)
		if (strcmp(pol->g[i].action, action) == 0 &&
		    (resource == NULL || strcmp(pol->g[i].resource, resource) == 0))
			return &pol->g[i];
	return NULL;
}

/* Each row's action is allowed to every principal that sends it, on its
 * scope's resource, and to no other principal. */
START_TEST(table_matches_policies)
{
	struct policy pol[NPOL];
	const struct hsdo_aws_op *ops;
	char action[96];
	size_t n, i, k;

	for (k = 0; k < NPOL; k++)
		load_policy(policies[k].file, &pol[k]);
	ops = hsdo_aws_ops(&n);
	printf("| operation | sent by | policies | resource |\n|---|---|---|---|\n");
	for (i = 0; i < n; i++) {
		const char *want = scope_resource(ops[i].scope);
		char who[128] = "";

		snprintf(action, sizeof(action), "%s:%s", hsdo_aws_ops_iam_service(ops[i].service),
			 ops[i].name);
		for (k = 0; k < NPOL; k++) {
			const struct grant *g = granted(&pol[k], action, want);
			bool sends = (ops[i].principals & policies[k].p) != 0;

			/* a row a principal does not send may still be granted to
			 * it on another resource by another row */
			if (!sends && g != NULL) {
				size_t j;
				bool other = false;

				for (j = 0; j < n && !other; j++)
					other = j != i && ops[j].service == ops[i].service &&
						strcmp(ops[j].name, ops[i].name) == 0 &&
						(ops[j].principals & policies[k].p) != 0 &&
						ops[j].scope == ops[i].scope;
				if (other)
					continue;
			}
			ck_assert_msg(sends == (g != NULL), "%s on %s: %s by %s's table row, %s by %s",
				      action, want != NULL ? want : "(none)",
				      sends ? "sent" : "not sent",
				      hsdo_aws_principal_str(policies[k].p),
				      g != NULL ? "allowed" : "not allowed", policies[k].file);
			if (g == NULL || !sends)
				continue;
			ck_assert_msg(want != NULL && strcmp(g->resource, want) == 0,
				      "%s in %s: resource %s, want %s", action, policies[k].file,
				      g->resource, want != NULL ? want : "(none)");
			ck_assert_msg(g->region_condition == (ops[i].scope == HSDO_AWS_SCOPE_ANY),
				      "%s in %s: an unscoped action is limited to the region, and "
				      "only it", action, policies[k].file);
			snprintf(who + strlen(who), sizeof(who) - strlen(who), "%s%s",
				 who[0] ? ", " : "", strrchr(policies[k].file, '/') + 1);
		}
		printf("| %s | %s | %s | %s |\n", action,
		       ops[i].principals == 0 ? "(nobody signs it)" : ops[i].why, who[0] ? who : "none",
		       hsdo_aws_scope_str(ops[i].scope));
	}
	/* and a policy allows nothing the table does not list for it */
	for (k = 0; k < NPOL; k++) {
		for (i = 0; i < pol[k].n; i++) {
			const char *colon = strchr(pol[k].g[i].action, ':');
			const struct hsdo_aws_op *row = NULL;
			size_t j;

			ck_assert_ptr_nonnull(colon);
			for (j = 0; j < n && row == NULL; j++)
				if (strncmp(pol[k].g[i].action, hsdo_aws_ops_iam_service(ops[j].service),
					    (size_t)(colon - pol[k].g[i].action)) == 0 &&
				    strcmp(colon + 1, ops[j].name) == 0 &&
				    (ops[j].principals & policies[k].p) != 0 &&
				    scope_resource(ops[j].scope) != NULL &&
				    strcmp(scope_resource(ops[j].scope), pol[k].g[i].resource) == 0)
					row = &ops[j];
			ck_assert_msg(row != NULL, "%s allows %s on %s, which the code never sends "
				      "there as %s", policies[k].file, pol[k].g[i].action,
				      pol[k].g[i].resource, hsdo_aws_principal_str(policies[k].p));
		}
	}
}
END_TEST

/* ---- the operations in the code -------------------------------------------------------- */

struct found {
	enum hsdo_creds_service svc;
	char name[64];
};

static size_t scan(const char *text, const char *before, const char *after, char *names[],
		   size_t max)
{
	const char *p = text, *q;
	size_t n = 0, len;

	while ((p = strstr(p, before)) != NULL) {
		p += strlen(before);
		len = strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
		q = p + len;
		if (len > 0 && strncmp(q, after, strlen(after)) == 0) {
			ck_assert_uint_lt(n, max);
			names[n++] = strndup(p, len);
		}
		p = q;
	}
	return n;
}

static void expect_row(enum hsdo_creds_service svc, const char *name, const char *where)
{
	ck_assert_msg(hsdo_aws_ops_find(svc, name) != NULL,
		      "%s sends %s:%s, which libhsdo/aws/aws_ops.c does not list", where,
		      hsdo_aws_ops_iam_service(svc), name);
}

/* Every request builder's operation is in the table, and every row of the
 * table is built somewhere (no stale grant). */
START_TEST(code_operations_are_in_the_table)
{
	char *ddb = source_file("libhsdo/aws/ddb.c"), *query = source_file("libhsdo/aws/aws_query.c");
	char *store = source_file("libhsdo/store/store_ddb.c");
	char *source = source_file("libhsdo/source/source_aws.c");
	char *reports = source_file("libhsdo/store/reports_ddb.c");
	char *names[64];
	struct found all[64];
	const struct hsdo_aws_op *ops;
	size_t n, i, k, nall = 0, nops;

	n = scan(ddb, "TARGET(\"", "\")", names, 64);
	ck_assert_uint_ge(n, 6);
	for (i = 0; i < n; i++) {
		expect_row(HSDO_CREDS_SVC_DYNAMODB, names[i], "ddb.c");
		all[nall].svc = HSDO_CREDS_SVC_DYNAMODB;
		snprintf(all[nall++].name, sizeof(all[0].name), "%s", names[i]);
		free(names[i]);
	}
	n = scan(query, "\"Action=", "&Version=2011-01-01", names, 64);
	ck_assert_uint_ge(n, 2);
	for (i = 0; i < n; i++) {
		expect_row(HSDO_CREDS_SVC_AUTO_SCALING, names[i], "aws_query.c");
		all[nall].svc = HSDO_CREDS_SVC_AUTO_SCALING;
		snprintf(all[nall++].name, sizeof(all[0].name), "%s", names[i]);
		free(names[i]);
	}
	n = scan(query, "\"Action=", "&Version=2016-11-15", names, 64);
	ck_assert_uint_ge(n, 1);
	for (i = 0; i < n; i++) {
		expect_row(HSDO_CREDS_SVC_EC2, names[i], "aws_query.c");
		all[nall].svc = HSDO_CREDS_SVC_EC2;
		snprintf(all[nall++].name, sizeof(all[0].name), "%s", names[i]);
		free(names[i]);
	}
	n = scan(query, "sts_head(&w, \"", "\"", names, 64);
	ck_assert_uint_ge(n, 2);
	for (i = 0; i < n; i++) {
		expect_row(HSDO_CREDS_SVC_STS, names[i], "aws_query.c");
		all[nall].svc = HSDO_CREDS_SVC_STS;
		snprintf(all[nall++].name, sizeof(all[0].name), "%s", names[i]);
		free(names[i]);
	}
	/* no other Action= in the Query builder than those */
	n = scan(query, "\"Action=", "&", names, 64);
	ck_assert_uint_eq(n, 4);
	for (i = 0; i < n; i++)
		free(names[i]);
	/* the names the store and the source label their calls with */
	n = scan(store, "op_send(o, &r, \"", "\"", names, 64);
	n += scan(store, "hsdo_store_ddb_request(&req, &r, \"", "\"", names + n, 64 - n);
	n += scan(source, ".operation = \"", "\"", names + n, 64 - n);
	n += scan(source, "call_new(s, cap, \"", "\"", names + n, 64 - n);
	n += scan(reports, "hsdo_store_ddb_request(&req, &r, \"", "\"", names + n, 64 - n);
	n += scan(reports, "hsdo_store_ddb_request(&req, &q, \"", "\"", names + n, 64 - n);
	ck_assert_uint_ge(n, 15);
	for (i = 0; i < n; i++) {
		bool any = false;

		for (k = 0; k < nall; k++)
			any = any || strcmp(all[k].name, names[i]) == 0;
		ck_assert_msg(any, "store/source label %s is built nowhere", names[i]);
		free(names[i]);
	}
	ops = hsdo_aws_ops(&nops);
	for (i = 0; i < nops; i++) {
		bool seen = false;

		for (k = 0; k < nall; k++)
			seen = seen || (all[k].svc == ops[i].service &&
					strcmp(all[k].name, ops[i].name) == 0);
		ck_assert_msg(seen, "aws_ops.c lists %s:%s, which no code builds",
			      hsdo_aws_ops_iam_service(ops[i].service), ops[i].name);
	}
	free(ddb);
	free(query);
	free(store);
	free(source);
	free(reports);
}
END_TEST

/* ---- enforcement --------------------------------------------------------------- */

struct result {
	bool done;
	int rc;
	char err[512];
};

static void on_done(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct result *r = arg;

	(void)body;
	(void)len;
	r->done = true;
	r->rc = rc;
	snprintf(r->err, sizeof(r->err), "%s", err);
}

START_TEST(client_refuses_what_its_policy_does_not_allow)
{
	char *envp[] = { "HOME=/nonexistent", "AWS_REGION=us-east-1",
			 "AWS_ACCESS_KEY_ID=AKIDTEST", "AWS_SECRET_ACCESS_KEY=secret",
			 "AWS_EC2_METADATA_DISABLED=true",
			 "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:9",
			 "AWS_ENDPOINT_URL_AUTO_SCALING=http://127.0.0.1:9", NULL };
	/* (a client sends PutItem, but to the health table only: the policy's
	 * resource says which table; the client refuses the actions it never
	 * sends anywhere) */
	struct hsdo_aws_request put = { HSDO_CREDS_SVC_DYNAMODB, HSDO_AWS_JSON, "UpdateItem",
					"DynamoDB_20120810.UpdateItem", "{}", 2 };
	struct hsdo_aws_request sneaky = { HSDO_CREDS_SVC_DYNAMODB, HSDO_AWS_JSON, "GetItem",
					   "DynamoDB_20120810.DeleteTable", "{}", 2 };
	struct hsdo_aws_request complete = { HSDO_CREDS_SVC_AUTO_SCALING, HSDO_AWS_QUERY,
					     "CompleteLifecycleAction", NULL,
					     "Action=CompleteLifecycleAction&Version=2011-01-01", 50 };
	struct hsdo_aws_request get = { HSDO_CREDS_SVC_DYNAMODB, HSDO_AWS_JSON, "GetItem",
					"DynamoDB_20120810.GetItem", "{}", 2 };
	struct hsdo_aws_options o;
	struct hsdo_http *http;
	struct hsdo_aws *aws;
	struct result r;
	char err[256];

	ck_assert_int_eq(hsdo_http_new(NULL, NULL, &http, err, sizeof(err)), 0);
	memset(&o, 0, sizeof(o));
	o.envp = envp;
	o.max_tries = 1;
	o.principal = HSDO_AWS_PRINCIPAL_CLIENT;
	ck_assert_int_eq(hsdo_aws_new(&o, http, &aws, err, sizeof(err)), 0);
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(hsdo_aws_call(aws, &put, on_done, &r), 0);
	ck_assert(r.done);
	ck_assert_int_eq(r.rc, -HSDO_EINVAL);
	ck_assert_str_eq(r.err, "dynamodb UpdateItem: not an operation of the client's IAM policy "
			 "(libhsdo/aws/aws_ops.c, docs/iam/)");
	/* what counts is the action sent, not the label */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(hsdo_aws_call(aws, &sneaky, on_done, &r), 0);
	ck_assert_int_eq(r.rc, -HSDO_EINVAL);
	memset(&r, 0, sizeof(r));
	complete.len = strlen(complete.body);
	ck_assert_int_eq(hsdo_aws_call(aws, &complete, on_done, &r), 0);
	ck_assert_int_eq(r.rc, -HSDO_EINVAL);
	/* an allowed one goes out (and finds nobody listening) */
	memset(&r, 0, sizeof(r));
	ck_assert_int_eq(hsdo_aws_call(aws, &get, on_done, &r), 0);
	ck_assert(r.done);
	ck_assert_int_eq(r.rc, -HSDO_EHTTP);
	hsdo_http_free(http);
	hsdo_aws_free(aws);
	ck_assert(hsdo_aws_ops_allowed(0, HSDO_CREDS_SVC_DYNAMODB, "DeleteTable"));
	ck_assert(!hsdo_aws_ops_allowed(HSDO_AWS_PRINCIPAL_ALL, HSDO_CREDS_SVC_DYNAMODB,
					"DeleteTable"));
	ck_assert(hsdo_aws_ops_allowed(HSDO_AWS_PRINCIPAL_SERVER, HSDO_CREDS_SVC_EC2,
				       "DescribeInstances"));
	ck_assert_str_eq(hsdo_aws_principal_str(HSDO_AWS_PRINCIPAL_ALL), "unknown");
	ck_assert_str_eq(hsdo_aws_scope_str(HSDO_AWS_SCOPE_COUNT), "unknown");
}
END_TEST

static Suite *ops_suite(void)
{
	Suite *s = suite_create("aws_ops");
	TCase *tc = tcase_create("iam");

	tcase_add_test(tc, table_matches_policies);
	tcase_add_test(tc, code_operations_are_in_the_table);
	tcase_add_test(tc, client_refuses_what_its_policy_does_not_allow);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(ops_suite());
}
