/* reports: where fleet-health reports live. The file backend in a temporary
 * directory (missing directory, replace, other files ignored, a broken or
 * misnamed file counted and named but never fatal, old files purged, an
 * unusable directory); the DynamoDB backend against dynalite behind the
 * SigV4-checking proxy (create with TTL, twice; put and Scan with pages;
 * a broken item counted; a missing table named; throttling retried; the
 * event-driven transport with a poll(2) loop). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dynalite.h"
#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/ddb.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/report.h"
#include "hsdo/reports.h"
#include "hsdo/reports_ddb.h"
#include "hsdo/reports_file.h"
#include "hsdo/store_ddb.h"
#include "hsdo_test.h"

#define NOW INT64_C(1700000000000)

struct result {
	bool done;
	int rc;
	char err[700];
};

static void on_done(void *arg, int rc, const char *err)
{
	struct result *r = arg;

	r->done = true;
	r->rc = rc;
	snprintf(r->err, sizeof(r->err), "%s", err != NULL ? err : "");
}

static struct hsdo_report_slot entries[] = {
	{ 2, HSDO_VERDICT_OK, HSDO_CHECK_UP, 300, 1 },
	{ 7, HSDO_VERDICT_FAILING, HSDO_CHECK_NONE, 120, 100 },
};

static struct hsdo_report mk(const char *id, uint64_t gen)
{
	struct hsdo_report r;

	memset(&r, 0, sizeof(r));
	snprintf(r.client_id, sizeof(r.client_id), "%s", id);
	r.generation = gen;
	r.written_ms = NOW;
	r.expires_s = NOW / 1000 + 30;
	r.slots = entries;
	r.n = 2;
	return r;
}

static void write_ok(struct hsdo_reports *rs, const struct hsdo_report *r)
{
	struct result res = { false, 0, "" };

	ck_assert_int_eq(hsdo_reports_write(rs, r, on_done, &res), 0);
	ck_assert(res.done);
	ck_assert_msg(res.rc == 0, "%s", res.err);
}

static void read_ok(struct hsdo_reports *rs, int64_t now, struct hsdo_report_set *set)
{
	struct result res = { false, 0, "" };

	memset(set, 0, sizeof(*set));
	ck_assert_int_eq(hsdo_reports_read_all(rs, now, set, on_done, &res), 0);
	ck_assert(res.done);
	ck_assert_msg(res.rc == 0, "%s", res.err);
}

static const struct hsdo_report *find(const struct hsdo_report_set *set, const char *id)
{
	size_t i;

	for (i = 0; i < set->n; i++)
		if (strcmp(set->v[i].client_id, id) == 0)
			return &set->v[i];
	return NULL;
}

/* ---- file ----------------------------------------------------------------------------- */

START_TEST(file_roundtrip)
{
	char *tmp = hsdo_test_tmpdir("reports"), *store, *dir, path[512], err[256] = "";
	struct hsdo_reports *rs = NULL;
	struct hsdo_report_set set;
	struct hsdo_report a = mk("haproxy-a", 4), b = mk("haproxy-b", 5);
	const struct hsdo_report *got;

	store = hsdo_strdup_printf("%s/slots.json", tmp);
	dir = hsdo_reports_file_dir(store);
	ck_assert_str_eq(strrchr(dir, '/'), "/slots.json.health");
	ck_assert_int_eq(hsdo_reports_file_open(dir, &rs, err, sizeof(err)), 0);
	ck_assert_str_eq(hsdo_reports_name(rs), "file");
	/* no directory yet: no report, not an error */
	read_ok(rs, NOW, &set);
	ck_assert_uint_eq(set.n, 0);
	write_ok(rs, &a);
	write_ok(rs, &b);
	b.generation = 6;
	b.n = 1;
	write_ok(rs, &b);        /* replaces b's report */
	/* files that are not reports, or not yet */
	snprintf(path, sizeof(path), "%s/.haproxy-c.tmp-123456", dir);
	ck_assert_int_eq(hsdo_test_write_file(path, "{", 1), 0);
	snprintf(path, sizeof(path), "%s/README", dir);
	ck_assert_int_eq(hsdo_test_write_file(path, "x", 1), 0);
	read_ok(rs, NOW, &set);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_uint_eq(set.bad, 0);
	got = find(&set, "haproxy-b");
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->generation, 6);
	ck_assert_uint_eq(got->n, 1);
	got = find(&set, "haproxy-a");
	ck_assert_ptr_nonnull(got);
	ck_assert_uint_eq(got->n, 2);
	ck_assert_uint_eq(got->slots[1].errors, 100);
	hsdo_report_set_free(&set);
	/* an invalid report is refused, nothing written */
	a.client_id[0] = '\0';
	{
		struct result res = { false, 0, "" };

		ck_assert_int_eq(hsdo_reports_write(rs, &a, on_done, &res), 0);
		ck_assert_int_eq(res.rc, -HSDO_EINVAL);
	}
	hsdo_reports_free(rs);
	hsdo_reports_free(NULL);
	ck_assert_str_eq(hsdo_reports_name(NULL), "none");
	hsdo_free(dir);
	hsdo_free(store);
	hsdo_test_rmtree(tmp);
	free(tmp);
}
END_TEST

START_TEST(file_bad_files_counted)
{
	char *tmp = hsdo_test_tmpdir("reports"), path[512], err[256] = "";
	struct hsdo_reports *rs = NULL;
	struct hsdo_report_set set;
	struct hsdo_report a = mk("good", 1), c = mk("other", 1);
	char *doc;
	size_t len;

	ck_assert_int_eq(hsdo_reports_file_open(tmp, &rs, err, sizeof(err)), 0);
	write_ok(rs, &a);
	snprintf(path, sizeof(path), "%s/broken.json", tmp);
	ck_assert_int_eq(hsdo_test_write_file(path, "{\"format\":", 10), 0);
	/* a report filed under another client's name */
	doc = hsdo_report_render_file(&c, &len);
	ck_assert_ptr_nonnull(doc);
	snprintf(path, sizeof(path), "%s/impostor.json", tmp);
	ck_assert_int_eq(hsdo_test_write_file(path, doc, len), 0);
	hsdo_free(doc);
	read_ok(rs, NOW, &set);
	ck_assert_uint_eq(set.n, 1);
	ck_assert_str_eq(set.v[0].client_id, "good");
	ck_assert_uint_eq(set.bad, 2);
	ck_assert_msg(strstr(set.first_bad, "broken.json: invalid JSON") != NULL ||
		      strstr(set.first_bad, "impostor.json: holds the report of client other") !=
		      NULL, "%s", set.first_bad);
	hsdo_report_set_free(&set);
	hsdo_reports_free(rs);
	hsdo_test_rmtree(tmp);
	free(tmp);
}
END_TEST

/* Expired for more than a day: removed, as DynamoDB's TTL would. */
START_TEST(file_purge)
{
	char *tmp = hsdo_test_tmpdir("reports"), path[512], err[256] = "";
	struct hsdo_reports *rs = NULL;
	struct hsdo_report_set set;
	struct hsdo_report old = mk("old", 1), recent = mk("recent", 1);
	struct stat sb;

	old.expires_s = NOW / 1000 - 86401;
	recent.expires_s = NOW / 1000 - 86399;
	ck_assert_int_eq(hsdo_reports_file_open(tmp, &rs, err, sizeof(err)), 0);
	write_ok(rs, &old);
	write_ok(rs, &recent);
	read_ok(rs, NOW, &set);
	ck_assert_uint_eq(set.n, 1);
	ck_assert_str_eq(set.v[0].client_id, "recent");   /* expired, still read: the server judges */
	hsdo_report_set_free(&set);
	snprintf(path, sizeof(path), "%s/old.json", tmp);
	ck_assert_int_eq(stat(path, &sb), -1);
	hsdo_reports_free(rs);
	hsdo_test_rmtree(tmp);
	free(tmp);
}
END_TEST

START_TEST(file_unusable_directory)
{
	char *tmp = hsdo_test_tmpdir("reports"), *dir, err[256] = "";
	struct hsdo_reports *rs = NULL;
	struct hsdo_report a = mk("a", 1);
	struct result res = { false, 0, "" };

	dir = hsdo_strdup_printf("%s/file", tmp);
	ck_assert_int_eq(hsdo_test_write_file(dir, "x", 1), 0);
	ck_assert_int_eq(hsdo_reports_file_open(dir, &rs, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_reports_write(rs, &a, on_done, &res), 0);
	ck_assert_int_eq(res.rc, -HSDO_EIO);
	ck_assert_msg(strstr(res.err, "exists and is not a directory") != NULL, "%s", res.err);
	memset(&res, 0, sizeof(res));
	{
		struct hsdo_report_set set;

		memset(&set, 0, sizeof(set));
		ck_assert_int_eq(hsdo_reports_read_all(rs, NOW, &set, on_done, &res), 0);
		ck_assert_int_eq(res.rc, -HSDO_EIO);
		ck_assert_uint_eq(set.n, 0);
	}
	hsdo_reports_free(rs);
	ck_assert_int_eq(hsdo_reports_file_open("", &rs, err, sizeof(err)), -HSDO_EINVAL);
	hsdo_free(dir);
	hsdo_test_rmtree(tmp);
	free(tmp);
}
END_TEST

/* ---- DynamoDB -------------------------------------------------------------------------- */

static struct hsdo_test_dynalite dyn;
static char ep_env[128], direct_env[128];
static char *client_env[] = { "HOME=/nonexistent", "AWS_REGION=" HSDO_TEST_REGION, ep_env,
			      "AWS_EC2_METADATA_DISABLED=true",
			      "AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
			      "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET, NULL };
/* dynalite itself, without the proxy (which also answers the TTL calls). */
static char *direct_client_env[] = { "HOME=/nonexistent", "AWS_REGION=" HSDO_TEST_REGION,
				     direct_env, "AWS_EC2_METADATA_DISABLED=true",
				     "AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				     "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET, NULL };

static void peers_up(void)
{
	char err[1024] = "";

	if (hsdo_test_dynalite_start(&dyn, NULL, err, sizeof(err)) != 0)
		ck_abort_msg("dynalite: %s", err);
	snprintf(ep_env, sizeof(ep_env), "AWS_ENDPOINT_URL_DYNAMODB=%s", dyn.url);
	snprintf(direct_env, sizeof(direct_env), "AWS_ENDPOINT_URL_DYNAMODB=%s", dyn.direct_url);
}

static void peers_down(void)
{
	hsdo_test_dynalite_stop(&dyn);
}

static void ctl(const char *path, const char *body)
{
	hsdo_test_dynalite_ctl_ok(&dyn, path, body);
}

static long pstat(const char *key)
{
	return hsdo_test_dynalite_stat_ok(&dyn, key);
}

static void aws_up_env(struct hsdo_http **http, struct hsdo_aws **aws,
		       const struct hsdo_http_loop *loop, char **envp)
{
	struct hsdo_aws_options o;
	char err[512] = "";

	ck_assert_int_eq(hsdo_http_new(NULL, loop, http, err, sizeof(err)), 0);
	memset(&o, 0, sizeof(o));
	o.envp = envp;
	o.max_tries = 4;
	o.base_delay_ms = 5;
	o.max_delay_ms = 50;
	ck_assert_msg(hsdo_aws_new(&o, *http, aws, err, sizeof(err)) == 0, "%s", err);
}

static void aws_up(struct hsdo_http **http, struct hsdo_aws **aws, const struct hsdo_http_loop *loop)
{
	aws_up_env(http, aws, loop, client_env);
}

/* A raw PutItem into the health table (what another writer might leave). */
static void put_raw(struct hsdo_aws *aws, const char *item)
{
	char body[1024], err[512] = "";
	struct hsdo_aws_request req = { HSDO_CREDS_SVC_DYNAMODB, HSDO_AWS_JSON, "PutItem",
					"DynamoDB_20120810.PutItem", body, 0 };

	req.len = (size_t)snprintf(body, sizeof(body), "{\"TableName\":\"hsdo-health\",\"Item\":%s}",
				   item);
	ck_assert_msg(hsdo_aws_call_sync(aws, &req, NULL, NULL, err, sizeof(err)) == 0, "%s", err);
}

START_TEST(ddb_create_put_scan)
{
	struct hsdo_http *http = NULL;
	struct hsdo_aws *aws = NULL;
	struct hsdo_reports *rs = NULL;
	struct hsdo_report_set set;
	struct hsdo_report r;
	struct result res;
	char err[700] = "", id[32], ttls[512];
	bool ttl = false;
	int i;

	aws_up(&http, &aws, NULL);
	ck_assert_msg(hsdo_reports_ddb_create_table(aws, "hsdo-health", &ttl, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(ttl);
	/* TTL is on Expires */
	ck_assert_int_eq(hsdo_test_http_req(dyn.proxy.port, "GET", "/__ttl", NULL, ttls,
					    sizeof(ttls)), 200);
	ck_assert_msg(strstr(ttls, "\"hsdo-health\":\"Expires\"") != NULL, "%s", ttls);
	/* again: the table and its TTL exist, still fine */
	ttl = false;
	ck_assert_msg(hsdo_reports_ddb_create_table(aws, "hsdo-health", &ttl, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert(ttl);
	ck_assert_int_eq(hsdo_reports_ddb_open("hsdo-health", aws, 3, &rs, err, sizeof(err)), 0);
	ck_assert_str_eq(hsdo_reports_name(rs), "dynamodb");
	ctl("/__reset", "{}");
	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "haproxy-%d", i);
		r = mk(id, (uint64_t)i);
		write_ok(rs, &r);
	}
	r = mk("haproxy-3", 33);      /* replaces haproxy-3's */
	write_ok(rs, &r);
	ck_assert_int_eq(pstat("DynamoDB_20120810.PutItem"), 11);
	/* an item another version wrote is counted, the rest is read */
	put_raw(aws, "{\"ClientId\":{\"S\":\"future\"},\"Version\":{\"N\":\"9\"}}");
	read_ok(rs, NOW, &set);
	ck_assert_uint_eq(set.n, 10);
	ck_assert_uint_eq(set.bad, 1);
	ck_assert_msg(strstr(set.first_bad, "item future: Version 9") != NULL, "%s",
		      set.first_bad);
	ck_assert_uint_eq(find(&set, "haproxy-3")->generation, 33);
	ck_assert_uint_eq(find(&set, "haproxy-9")->slots[1].responses, 120);
	ck_assert_int_ge(pstat("DynamoDB_20120810.Scan"), 4);   /* 11 items, 3 a page */
	hsdo_report_set_free(&set);
	/* throttled Scans are retried inside the operation */
	ctl("/__inject", "{\"count\":2,\"status\":400,\"code\":\"ProvisionedThroughputExceededException\","
	    "\"target\":\"DynamoDB_20120810.Scan\"}");
	read_ok(rs, NOW, &set);
	ck_assert_uint_eq(set.n, 10);
	hsdo_report_set_free(&set);
	hsdo_reports_free(rs);
	/* a missing table: named, with the region */
	ck_assert_int_eq(hsdo_reports_ddb_open("hsdo-nohealth", aws, 0, &rs, err, sizeof(err)), 0);
	memset(&res, 0, sizeof(res));
	memset(&set, 0, sizeof(set));
	ck_assert_int_eq(hsdo_reports_read_all(rs, NOW, &set, on_done, &res), 0);
	ck_assert(res.done);
	ck_assert_int_eq(res.rc, -HSDO_ENOTFOUND);
	ck_assert_msg(strstr(res.err, "health table hsdo-nohealth in " HSDO_TEST_REGION) == res.err,
		      "%s", res.err);
	memset(&res, 0, sizeof(res));
	r = mk("x", 1);
	ck_assert_int_eq(hsdo_reports_write(rs, &r, on_done, &res), 0);
	ck_assert_int_eq(res.rc, -HSDO_ENOTFOUND);
	hsdo_reports_free(rs);
	ck_assert_int_eq(hsdo_reports_ddb_open("a b", aws, 0, &rs, err, sizeof(err)), -HSDO_ECONFIG);
	/* HEALTH_TABLE_NAME pointing at a slot table is refused, naming the key */
	ck_assert_msg(hsdo_store_ddb_create_table(aws, "hsdo-slots-x", err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_int_eq(hsdo_reports_ddb_create_table(aws, "hsdo-slots-x", NULL, err, sizeof(err)),
			 -HSDO_EPROTO);
	ck_assert_msg(strstr(err, "ClientId (S)") != NULL, "%s", err);
	hsdo_http_free(http);
	hsdo_aws_free(aws);
}
END_TEST

/* An endpoint without UpdateTimeToLive (dynalite; DynamoDB has it): the
 * table is made and used, the TTL only warned about. A refused TTL (IAM)
 * still fails, naming it. */
START_TEST(ddb_create_without_ttl)
{
	struct hsdo_http *http = NULL;
	struct hsdo_aws *aws = NULL;
	struct hsdo_reports *rs = NULL;
	struct hsdo_report_set set;
	struct hsdo_report r = mk("no-ttl", 4);
	char err[700] = "";
	bool ttl = true;

	aws_up_env(&http, &aws, NULL, direct_client_env);
	ck_assert_msg(hsdo_reports_ddb_create_table(aws, "hsdo-health-nottl", &ttl, err,
						    sizeof(err)) == 0, "%s", err);
	ck_assert(!ttl);
	ck_assert_int_eq(hsdo_reports_ddb_open("hsdo-health-nottl", aws, 0, &rs, err, sizeof(err)), 0);
	write_ok(rs, &r);
	read_ok(rs, NOW, &set);
	ck_assert_uint_eq(set.n, 1);
	hsdo_report_set_free(&set);
	hsdo_reports_free(rs);
	hsdo_http_free(http);
	hsdo_aws_free(aws);

	aws_up(&http, &aws, NULL);
	ctl("/__inject", "{\"count\":1,\"status\":400,\"code\":\"AccessDeniedException\","
	    "\"message\":\"not authorized to perform: dynamodb:UpdateTimeToLive\","
	    "\"target\":\"DynamoDB_20120810.UpdateTimeToLive\"}");
	ck_assert_int_ne(hsdo_reports_ddb_create_table(aws, "hsdo-health-denied", NULL, err, sizeof(err)), 0);
	ck_assert_msg(strstr(err, "TTL on Expires") != NULL && strstr(err, "AccessDenied") != NULL,
		      "%s", err);
	hsdo_http_free(http);
	hsdo_aws_free(aws);
}
END_TEST

START_TEST(ddb_event_mode)
{
	struct hsdo_http_loop loop;
	struct hsdo_test_poll pl;
	struct hsdo_http *bh = NULL, *eh = NULL;
	struct hsdo_aws *baws = NULL, *eaws = NULL;
	struct hsdo_reports *rs = NULL;
	struct hsdo_report_set set;
	struct hsdo_report r = mk("ev-1", 8);
	struct result res;
	char err[700] = "";

	aws_up(&bh, &baws, NULL);
	ck_assert_msg(hsdo_reports_ddb_create_table(baws, "hsdo-health-ev", NULL, err, sizeof(err)) == 0,
		      "%s", err);
	hsdo_test_poll_init(&pl, &loop);
	aws_up(&eh, &eaws, &loop);
	pl.h = eh;
	ck_assert_int_eq(hsdo_reports_ddb_open("hsdo-health-ev", eaws, 1, &rs, err, sizeof(err)), 0);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_reports_write(rs, &r, on_done, &res), 0);
	r.client_id[0] = 'X';      /* the caller's report may change at once */
	ck_assert(!res.done);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 20000), 0);
	ck_assert_msg(res.rc == 0, "%s", res.err);
	r = mk("ev-2", 9);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_reports_write(rs, &r, on_done, &res), 0);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 20000), 0);
	memset(&res, 0, sizeof(res));
	memset(&set, 0, sizeof(set));
	ck_assert_int_eq(hsdo_reports_read_all(rs, NOW, &set, on_done, &res), 0);
	ck_assert(!res.done);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 20000), 0);
	ck_assert_msg(res.rc == 0, "%s", res.err);
	ck_assert_uint_eq(set.n, 2);
	ck_assert_ptr_nonnull(find(&set, "ev-1"));
	ck_assert_ptr_nonnull(find(&set, "ev-2"));
	hsdo_report_set_free(&set);
	/* freeing the transport cancels a Scan in flight; the set is emptied */
	ctl("/__delay", "{\"ms\":2000}");
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_reports_read_all(rs, NOW, &set, on_done, &res), 0);
	ck_assert(!res.done);
	hsdo_http_free(eh);
	ck_assert(res.done);
	ck_assert_int_eq(res.rc, -HSDO_EAGAIN);
	ck_assert_uint_eq(set.n, 0);
	ctl("/__delay", "{\"ms\":0}");
	hsdo_reports_free(rs);
	hsdo_aws_free(eaws);
	hsdo_http_free(bh);
	hsdo_aws_free(baws);
}
END_TEST

static Suite *reports_suite(void)
{
	Suite *s = suite_create("reports");
	TCase *tc = tcase_create("file");

	tcase_add_test(tc, file_roundtrip);
	tcase_add_test(tc, file_bad_files_counted);
	tcase_add_test(tc, file_purge);
	tcase_add_test(tc, file_unusable_directory);
	suite_add_tcase(s, tc);
	tc = tcase_create("dynalite");
	tcase_add_unchecked_fixture(tc, peers_up, peers_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, ddb_create_put_scan);
	tcase_add_test(tc, ddb_create_without_ttl);
	tcase_add_test(tc, ddb_event_mode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(reports_suite());
}
