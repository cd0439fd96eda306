/* The AWS client over the blocking transport, against real peers:
 * dynalite behind a proxy that checks every request's SigV4 with the
 * reference signer (@smithy/signature-v4) and injects throttling, 5xx,
 * dropped connections and raw error bodies; and an IMDSv2/ECS credentials
 * fixture. Covers: signatures with and without a session token, a wrong
 * secret (403 surfaced as -HSDO_EAWS naming the code, no retry), retries
 * with backoff on throttling/5xx/transport errors and their bound,
 * non-retryable errors at once, the credential chain's order, IMDSv2
 * token flow and refresh before expiry (injected clock), ECS full URI
 * with an authorization token, Query-protocol signing and XML errors,
 * and secrets never in an error string. */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynalite.h"
#include "haproxy_peer.h"
#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo_test.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static struct hsdo_test_dynalite dyn;
static struct hsdo_test_node imds, ec2proxy;
static char *tmpdir;
static char ep_ddb[128], ep_ec2[128], imds_url[128];

/* ---- fixtures ----------------------------------------------------------------- */

static void peers_up(void)
{
	char err[1024] = "";
	const char *ec2args[] = { "--embed", "--service", "ec2", "--region", HSDO_TEST_REGION,
				  "--creds", "[{\"accessKeyId\":\"" HSDO_TEST_AKID "\","
				  "\"secretAccessKey\":\"" HSDO_TEST_SECRET "\"}]", NULL };

	tmpdir = hsdo_test_tmpdir("aws");
	ck_assert_ptr_nonnull(tmpdir);
	if (hsdo_test_dynalite_start(&dyn, NULL, err, sizeof(err)) != 0)
		ck_abort_msg("dynalite: %s", err);
	if (hsdo_test_node_start(&imds, tmpdir, "imds.js", NULL, err, sizeof(err)) != 0)
		ck_abort_msg("imds: %s", err);
	if (hsdo_test_node_start(&ec2proxy, tmpdir, "sigv4_proxy.js", ec2args, err,
				 sizeof(err)) != 0)
		ck_abort_msg("ec2 proxy: %s", err);
	snprintf(ep_ddb, sizeof(ep_ddb), "AWS_ENDPOINT_URL_DYNAMODB=%s", dyn.url);
	snprintf(ep_ec2, sizeof(ep_ec2), "AWS_ENDPOINT_URL_EC2=http://127.0.0.1:%u",
		 ec2proxy.port);
	snprintf(imds_url, sizeof(imds_url), "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:%u",
		 imds.port);
}

static void peers_down(void)
{
	hsdo_test_node_stop(&ec2proxy);
	hsdo_test_node_stop(&imds);
	hsdo_test_dynalite_stop(&dyn);
	if (tmpdir != NULL) {
		hsdo_test_rmtree(tmpdir);
		free(tmpdir);
		tmpdir = NULL;
	}
}

static void ctl(uint16_t port, const char *path, const char *body)
{
	char out[512];
	int st = hsdo_test_http_req(port, "POST", path, body, out, sizeof(out));

	ck_assert_msg(st == 200, "POST %s: %d %s", path, st, out);
}

static void reset_peers(void)
{
	ctl(dyn.proxy.port, "/__reset", "{}");
	ctl(ec2proxy.port, "/__reset", "{}");
	ctl(imds.port, "/__reset", "{}");
	ctl(imds.port, "/__expire_tokens", "{}");
	ctl(imds.port, "/__set", "{\"accessKeyId\":\"ASIAIMDSTEST\",\"secretAccessKey\":"
	    "\"imds-secret-key\",\"token\":\"imds-session-token\",\"expiresIn\":3600,"
	    "\"ecsAuthToken\":\"\",\"failCreds\":0}");
}

static long stat_of(uint16_t port, const char *key)
{
	char out[8192];
	int st = hsdo_test_http_req(port, "GET", "/__stats", NULL, out, sizeof(out));

	ck_assert_int_eq(st, 200);
	return hsdo_test_json_int(out, key);
}

static void stats_text(uint16_t port, char *out, size_t len)
{
	ck_assert_int_eq(hsdo_test_http_req(port, "GET", "/__stats", NULL, out, len), 200);
}

/* ---- the client under test ------------------------------------------------------------ */

static int64_t clock_offset;
static uint32_t rnd_value;
static bool rnd_fixed;

static int64_t test_now(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL) + clock_offset;
}

static uint32_t test_rnd(void *ctx)
{
	(void)ctx;
	return rnd_fixed ? rnd_value : (uint32_t)rand();
}

struct client {
	struct hsdo_http *http;
	struct hsdo_aws *aws;
};

static int client_new(struct client *c, char **envp, int max_tries, char *err, size_t errlen)
{
	struct hsdo_aws_options o;
	char herr[256];
	int rc;

	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(hsdo_http_new(NULL, NULL, &c->http, herr, sizeof(herr)), 0);
	memset(&o, 0, sizeof(o));
	o.envp = envp;
	o.max_tries = max_tries;
	o.base_delay_ms = 10;
	o.max_delay_ms = 200;
	o.now_s = test_now;
	o.random = test_rnd;
	rc = hsdo_aws_new(&o, c->http, &c->aws, err, errlen);
	if (rc != 0) {
		hsdo_http_free(c->http);
		c->http = NULL;
	}
	return rc;
}

static void client_free(struct client *c)
{
	hsdo_http_free(c->http);
	hsdo_aws_free(c->aws);
	memset(c, 0, sizeof(*c));
}

static int list_tables(struct client *c, char *err, size_t errlen)
{
	struct hsdo_aws_request r = { HSDO_CREDS_SVC_DYNAMODB, HSDO_AWS_JSON, "ListTables",
				      "DynamoDB_20120810.ListTables", "{}", 2 };
	char *body = NULL;
	size_t len = 0;
	int rc;

	rc = hsdo_aws_call_sync(c->aws, &r, &body, &len, err, errlen);
	if (rc == 0) {
		ck_assert_ptr_nonnull(body);
		ck_assert_msg(strstr(body, "TableNames") != NULL, "body %s", body);
		ck_assert_uint_eq(len, strlen(body));
	}
	hsdo_free(body);
	return rc;
}

static const struct hsdo_aws_op_stats *op_stats(struct client *c, const char *op)
{
	static struct hsdo_aws_op_stats rows[16];
	size_t n = hsdo_aws_stats(c->aws, rows, 16), i;

	for (i = 0; i < n; i++)
		if (strcmp(rows[i].operation, op) == 0)
			return &rows[i];
	return NULL;
}

#define STATIC_ENV(...) { "HOME=/nonexistent", "AWS_REGION=" HSDO_TEST_REGION, ep_ddb, ep_ec2, \
	"AWS_EC2_METADATA_DISABLED=true", __VA_ARGS__, NULL }

static void no_secrets(const char *err)
{
	static const char *const secrets[] = {
		HSDO_TEST_SECRET, HSDO_TEST_SECRET2, HSDO_TEST_TOKEN2, "imds-secret-key",
		"imds-session-token", "hsdo-ecs-auth-secret",
	};
	int i;

	for (i = 0; i < N(secrets); i++)
		ck_assert_msg(strstr(err, secrets[i]) == NULL, "secret %s in \"%s\"", secrets[i], err);
}

/* ---- pure helpers --------------------------------------------------------------------- */

START_TEST(backoff_bounds)
{
	uint32_t r;
	int a;

	ck_assert_int_eq(hsdo_aws_backoff_ms(0, 50, 5000, 123), 0);
	ck_assert_int_eq(hsdo_aws_backoff_ms(1, 50, 5000, 0), 0);
	ck_assert_int_eq(hsdo_aws_backoff_ms(1, 50, 5000, 50), 50);
	ck_assert_int_eq(hsdo_aws_backoff_ms(1, 50, 5000, 51), 0);     /* 0..50 */
	ck_assert_int_eq(hsdo_aws_backoff_ms(2, 50, 5000, 100), 100);  /* 0..100 */
	ck_assert_int_eq(hsdo_aws_backoff_ms(3, 50, 5000, 200), 200);
	ck_assert_int_eq(hsdo_aws_backoff_ms(3, 50, 5000, 201), 0);
	ck_assert_int_eq(hsdo_aws_backoff_ms(30, 50, 5000, 5000), 5000);
	ck_assert_int_eq(hsdo_aws_backoff_ms(63, 50, 5000, 5001), 0);
	for (a = 1; a < 70; a++)
		for (r = 0; r < 100000; r += 997)
			ck_assert_int_le(hsdo_aws_backoff_ms(a, 50, 5000, r * 7919u), 5000);
}
END_TEST

static const struct {
	const char *code;
	long status;
	bool retry;
} retryables[] = {
	{ "ProvisionedThroughputExceededException", 400, true },
	{ "ThrottlingException", 400, true },
	{ "Throttling", 400, true },
	{ "RequestLimitExceeded", 503, true },
	{ "TooManyRequestsException", 429, true },
	{ "InternalServerError", 500, true },
	{ "", 500, true },
	{ "", 503, true },
	{ "", 429, true },
	{ "ConditionalCheckFailedException", 400, false },
	{ "ValidationException", 400, false },
	{ "ResourceNotFoundException", 400, false },
	{ "InvalidSignatureException", 403, false },
	{ "UnrecognizedClientException", 400, false },
	{ "", 404, false },
	{ NULL, 200, false },
};

START_TEST(retryable_codes)
{
	ck_assert_msg(hsdo_aws_retryable(retryables[_i].code, retryables[_i].status) ==
		      retryables[_i].retry, "%s %ld", retryables[_i].code ? retryables[_i].code : "-",
		      retryables[_i].status);
}
END_TEST

/* ---- signing ---------------------------------------------------------------------------- */

START_TEST(sign_static_keys)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET);
	const struct hsdo_aws_op_stats *st;
	struct client c;
	char err[512] = "", stats[4096];

	reset_peers();
	ck_assert_int_eq(client_new(&c, env, 3, err, sizeof(err)), 0);
	ck_assert_str_eq(hsdo_aws_region(c.aws), HSDO_TEST_REGION);
	ck_assert_str_eq(hsdo_aws_endpoint(c.aws, HSDO_CREDS_SVC_DYNAMODB), dyn.url);
	ck_assert_str_eq(hsdo_aws_creds_source(c.aws), "env");
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "ok"), 2);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "bad"), 0);
	ck_assert_int_eq(stat_of(dyn.proxy.port, HSDO_TEST_AKID), 2);
	stats_text(dyn.proxy.port, stats, sizeof(stats));
	ck_assert_msg(strstr(stats, "\"tokens\":{\"\":2}") != NULL, "%s", stats);
	st = op_stats(&c, "ListTables");
	ck_assert_ptr_nonnull(st);
	ck_assert_str_eq(st->service, "dynamodb");
	ck_assert_uint_eq(st->ok, 2);
	ck_assert_uint_eq(st->errors, 0);
	ck_assert_uint_eq(st->retries, 0);
	ck_assert_uint_eq(hsdo_aws_pending(c.aws), 0);
	client_free(&c);
}
END_TEST

START_TEST(sign_session_token)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID2,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET2,
				 "AWS_SESSION_TOKEN=" HSDO_TEST_TOKEN2);
	struct client c;
	char err[512] = "";

	reset_peers();
	ck_assert_int_eq(client_new(&c, env, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "ok"), 1);
	ck_assert_int_eq(stat_of(dyn.proxy.port, HSDO_TEST_TOKEN2), 1);
	client_free(&c);
}
END_TEST

START_TEST(wrong_secret_is_403)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				 "AWS_SECRET_ACCESS_KEY=wrong/" HSDO_TEST_SECRET2);
	const struct hsdo_aws_op_stats *st;
	struct client c;
	char err[512] = "";

	reset_peers();
	ck_assert_int_eq(client_new(&c, env, 5, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_msg(strstr(err, "dynamodb ListTables: InvalidSignatureException: ") == err,
		      "%s", err);
	ck_assert_msg(strstr(err, "HTTP 403") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "1 try") != NULL, "%s", err);
	no_secrets(err);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "bad"), 1);    /* not retried */
	ck_assert_int_eq(stat_of(dyn.proxy.port, "ok"), 0);
	st = op_stats(&c, "ListTables");
	ck_assert_uint_eq(st->errors, 1);
	client_free(&c);
}
END_TEST

START_TEST(token_missing_is_refused)
{
	/* session credentials without their token: the proxy refuses them */
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID2,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET2);
	struct client c;
	char err[512] = "";

	reset_peers();
	ck_assert_int_eq(client_new(&c, env, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_msg(strstr(err, "UnrecognizedClientException") != NULL, "%s", err);
	client_free(&c);
}
END_TEST

/* ---- retries ------------------------------------------------------------------------------- */

START_TEST(throttled_then_success)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET);
	const struct hsdo_aws_op_stats *st;
	struct timespec t0, t1;
	struct client c;
	char err[512] = "";
	long min_ms, ms;

	reset_peers();
	rnd_fixed = true;
	rnd_value = 1000003;
	min_ms = hsdo_aws_backoff_ms(1, 10, 200, rnd_value) + hsdo_aws_backoff_ms(2, 10, 200, rnd_value);
	ctl(dyn.proxy.port, "/__inject", "{\"count\":2}");
	ck_assert_int_eq(client_new(&c, env, 5, err, sizeof(err)), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(list_tables(&c, err, sizeof(err)) == 0, "%s", err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	ck_assert_int_ge(ms, min_ms);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "injected"), 2);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "ok"), 3);
	st = op_stats(&c, "ListTables");
	ck_assert_uint_eq(st->ok, 1);
	ck_assert_uint_eq(st->retries, 2);
	ck_assert_uint_eq(st->throttled, 2);
	ck_assert_uint_eq(st->errors, 0);
	rnd_fixed = false;
	client_free(&c);
}
END_TEST

START_TEST(throttled_bounded_tries)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET);
	const struct hsdo_aws_op_stats *st;
	struct client c;
	char err[512] = "";

	reset_peers();
	ctl(dyn.proxy.port, "/__inject", "{\"count\":10,\"code\":\"ThrottlingException\","
	    "\"message\":\"Rate exceeded\"}");
	ck_assert_int_eq(client_new(&c, env, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_msg(strstr(err, "dynamodb ListTables: ThrottlingException: Rate exceeded") == err,
		      "%s", err);
	ck_assert_msg(strstr(err, "3 tries") != NULL, "%s", err);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "injected"), 3);
	st = op_stats(&c, "ListTables");
	ck_assert_uint_eq(st->retries, 2);
	ck_assert_uint_eq(st->throttled, 3);
	ck_assert_uint_eq(st->errors, 1);
	client_free(&c);
}
END_TEST

static const struct {
	const char *inject;
	int rc;             /* after the call */
	long injected;      /* requests that got the injection */
	const char *in_err;
} server_errors[] = {
	/* a bare 500 (an HTML page) is retried */
	{ "{\"count\":1,\"status\":500,\"code\":\"\"}", 0, 1, NULL },
	{ "{\"count\":2,\"status\":503,\"code\":\"ServiceUnavailable\"}", 0, 2, NULL },
	{ "{\"count\":1,\"status\":500,\"code\":\"InternalServerError\"}", 0, 1, NULL },
	/* not retryable: surfaced at once */
	{ "{\"count\":3,\"status\":400,\"code\":\"ValidationException\",\"message\":\"bad\"}",
	  -HSDO_EAWS, 1, "dynamodb ListTables: ValidationException: bad (HTTP 400, 1 try" },
	{ "{\"count\":3,\"status\":400,\"code\":\"ConditionalCheckFailedException\"}",
	  -HSDO_ECONFLICT, 1, "ConditionalCheckFailedException" },
	{ "{\"count\":3,\"status\":400,\"code\":\"ResourceNotFoundException\"}",
	  -HSDO_ENOTFOUND, 1, "ResourceNotFoundException" },
	{ "{\"count\":3,\"status\":404,\"code\":\"\"}", -HSDO_EAWS, 1, "HTTP 404" },
};

START_TEST(server_error_handling)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET);
	struct client c;
	char err[512] = "";
	int rc;

	reset_peers();
	ctl(dyn.proxy.port, "/__inject", server_errors[_i].inject);
	ck_assert_int_eq(client_new(&c, env, 4, err, sizeof(err)), 0);
	rc = list_tables(&c, err, sizeof(err));
	ck_assert_msg(rc == server_errors[_i].rc, "%d: %s", rc, err);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "injected"), server_errors[_i].injected);
	if (server_errors[_i].in_err != NULL)
		ck_assert_msg(strstr(err, server_errors[_i].in_err) != NULL, "%s", err);
	client_free(&c);
}
END_TEST

START_TEST(transport_errors)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET);
	char dead[80];
	char *env2[] = { "HOME=/nonexistent", "AWS_REGION=" HSDO_TEST_REGION, dead,
			 "AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
			 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET, NULL };
	const struct hsdo_aws_op_stats *st;
	struct client c;
	char err[512] = "";

	reset_peers();
	/* a connection closed without a reply is retried */
	ctl(dyn.proxy.port, "/__drop", "{\"count\":1}");
	ck_assert_int_eq(client_new(&c, env, 3, err, sizeof(err)), 0);
	ck_assert_msg(list_tables(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "dropped"), 1);
	st = op_stats(&c, "ListTables");
	ck_assert_uint_eq(st->retries, 1);
	client_free(&c);

	/* nobody listening: bounded, then -HSDO_EHTTP */
	snprintf(dead, sizeof(dead), "AWS_ENDPOINT_URL=http://127.0.0.1:%u",
		 hsdo_test_free_port());
	ck_assert_int_eq(client_new(&c, env2, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_EHTTP);
	ck_assert_msg(strstr(err, "dynamodb ListTables: ") == err, "%s", err);
	ck_assert_msg(strstr(err, "2 tries") != NULL, "%s", err);
	st = op_stats(&c, "ListTables");
	ck_assert_uint_eq(st->retries, 1);
	ck_assert_uint_eq(st->errors, 1);
	client_free(&c);
}
END_TEST

START_TEST(secrets_never_in_err)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID2,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET2,
				 "AWS_SESSION_TOKEN=" HSDO_TEST_TOKEN2);
	struct client c;
	char err[512] = "";

	reset_peers();
	/* AWS's SignatureDoesNotMatch messages quote the canonical request,
	 * which holds the session token: an echo must never reach err */
	ctl(dyn.proxy.port, "/__inject", "{\"count\":1,\"code\":\"AccessDeniedException\","
	    "\"message\":\"token " HSDO_TEST_TOKEN2 " key " HSDO_TEST_SECRET2 " end\"}");
	ck_assert_int_eq(client_new(&c, env, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_msg(strstr(err, "AccessDeniedException") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "[redacted]") != NULL, "%s", err);
	no_secrets(err);
	/* a cut-off echo (a prefix of the secret) is cut too */
	ctl(dyn.proxy.port, "/__inject", "{\"count\":1,\"code\":\"AccessDeniedException\","
	    "\"message\":\"partial hsdo-session-secret-0123 end\"}");
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_msg(strstr(err, "hsdo-session-secret") == NULL, "%s", err);
	client_free(&c);
}
END_TEST

/* ---- the credential chain -------------------------------------------------------------------- */

static char *write_tmp(const char *name, const char *text)
{
	size_t n = strlen(tmpdir) + strlen(name) + 2;
	char *p = malloc(n);

	ck_assert_ptr_nonnull(p);
	snprintf(p, n, "%s/%s", tmpdir, name);
	ck_assert_int_eq(hsdo_test_write_file(p, text, strlen(text)), 0);
	return p;
}

START_TEST(chain_order)
{
	char cred_env[600], conf_env[600];
	char *cred = write_tmp("credentials",
			       "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = x\n"
			       "[p2]\naws_access_key_id = " HSDO_TEST_AKID "\n"
			       "aws_secret_access_key = " HSDO_TEST_SECRET "\n");
	char *conf = write_tmp("config", "[profile p3]\nregion = eu-west-3\n"
			       "aws_access_key_id = " HSDO_TEST_AKID2 "\n"
			       "aws_secret_access_key = " HSDO_TEST_SECRET2 "\n"
			       "aws_session_token = " HSDO_TEST_TOKEN2 "\n"
			       "[profile p2]\nregion = ap-south-1\n");
	struct client c;
	char err[512] = "";

	snprintf(cred_env, sizeof(cred_env), "AWS_SHARED_CREDENTIALS_FILE=%s", cred);
	snprintf(conf_env, sizeof(conf_env), "AWS_CONFIG_FILE=%s", conf);
	reset_peers();
	{
		/* the environment beats the default profile */
		char *env[] = STATIC_ENV(cred_env, conf_env,
					 "AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID2,
					 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET2,
					 "AWS_SESSION_TOKEN=" HSDO_TEST_TOKEN2);

		ck_assert_int_eq(client_new(&c, env, 1, err, sizeof(err)), 0);
		ck_assert_str_eq(hsdo_aws_creds_source(c.aws), "env");
		ck_assert_int_eq(list_tables(&c, err, sizeof(err)), 0);
		ck_assert_int_eq(stat_of(dyn.proxy.port, HSDO_TEST_AKID2), 1);
		client_free(&c);
	}
	{
		/* but a profile named by AWS_PROFILE beats the environment (as
		 * in the JavaScript and Go SDKs) */
		char *env[] = STATIC_ENV(cred_env, conf_env, "AWS_PROFILE=p2",
					 "AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID2,
					 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET2);

		ctl(dyn.proxy.port, "/__reset", "{}");
		ck_assert_int_eq(client_new(&c, env, 1, err, sizeof(err)), 0);
		ck_assert_str_eq(hsdo_aws_creds_source(c.aws), "credentials");
		ck_assert_int_eq(list_tables(&c, err, sizeof(err)), 0);
		ck_assert_int_eq(stat_of(dyn.proxy.port, HSDO_TEST_AKID), 1);
		client_free(&c);
		ctl(dyn.proxy.port, "/__reset", "{}");
	}
	{
		/* the credentials file's profile; the config file's region for it
		 * loses to AWS_REGION */
		char *env[] = STATIC_ENV(cred_env, conf_env, "AWS_PROFILE=p2");

		ck_assert_int_eq(client_new(&c, env, 1, err, sizeof(err)), 0);
		ck_assert_str_eq(hsdo_aws_creds_source(c.aws), "credentials");
		ck_assert_str_eq(hsdo_aws_region(c.aws), HSDO_TEST_REGION);
		ck_assert_int_eq(list_tables(&c, err, sizeof(err)), 0);
		ck_assert_int_eq(stat_of(dyn.proxy.port, HSDO_TEST_AKID), 1);
		client_free(&c);
	}
	{
		/* a profile only the config file has, with its region */
		char *env[] = { "HOME=/nonexistent", ep_ddb, "AWS_EC2_METADATA_DISABLED=true",
				cred_env, conf_env, "AWS_PROFILE=p3", NULL };

		ck_assert_int_eq(client_new(&c, env, 1, err, sizeof(err)), 0);
		ck_assert_str_eq(hsdo_aws_creds_source(c.aws), "config");
		ck_assert_str_eq(hsdo_aws_region(c.aws), "eu-west-3");
		ck_assert_str_eq(hsdo_aws_endpoint(c.aws, HSDO_CREDS_SVC_EC2),
				 "https://ec2.eu-west-3.amazonaws.com");
		client_free(&c);
	}
	{
		char *env[] = STATIC_ENV(cred_env, conf_env, "AWS_PROFILE=nope");

		ck_assert_int_eq(client_new(&c, env, 1, err, sizeof(err)), -HSDO_ECONFIG);
		ck_assert_msg(strstr(err, "AWS_PROFILE nope") != NULL, "%s", err);
	}
	{
		char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID);

		ck_assert_int_eq(client_new(&c, env, 1, err, sizeof(err)), -HSDO_ECONFIG);
		ck_assert_msg(strstr(err, "AWS_SECRET_ACCESS_KEY") != NULL, "%s", err);
	}
	{
		char *env[] = STATIC_ENV("AWS_PROFILE_UNUSED=1");

		ck_assert_int_eq(client_new(&c, env, 1, err, sizeof(err)), -HSDO_ECONFIG);
		ck_assert_msg(strstr(err, "no AWS credentials") != NULL, "%s", err);
	}
	{
		char *env[] = { "HOME=/nonexistent", "AWS_EC2_METADATA_DISABLED=true",
				"AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				"AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET, NULL };

		ck_assert_int_eq(client_new(&c, env, 1, err, sizeof(err)), -HSDO_ECONFIG);
		ck_assert_msg(strstr(err, "no AWS region") != NULL, "%s", err);
		no_secrets(err);
	}
	{
		/* a malformed shared file is a configuration error naming the line */
		char *bad = write_tmp("bad-credentials", "[default]\nthis is not ini\n");
		char bad_env[600];
		char *env[] = STATIC_ENV(bad_env);

		snprintf(bad_env, sizeof(bad_env), "AWS_SHARED_CREDENTIALS_FILE=%s", bad);
		ck_assert_int_eq(client_new(&c, env, 1, err, sizeof(err)), -HSDO_ECONFIG);
		ck_assert_msg(strstr(err, "line 2") != NULL, "%s", err);
		free(bad);
	}
	free(cred);
	free(conf);
}
END_TEST

/* ---- IMDSv2 ------------------------------------------------------------------------------------ */

#define IMDS_ENV(...) { "HOME=/nonexistent", "AWS_REGION=" HSDO_TEST_REGION, ep_ddb, imds_url, \
	__VA_ARGS__, NULL }

START_TEST(imds_token_flow)
{
	char *env[] = IMDS_ENV("X_UNUSED=1");
	const struct hsdo_aws_op_stats *st;
	struct client c;
	char err[512] = "", stats[2048];

	reset_peers();
	clock_offset = 0;
	ck_assert_int_eq(client_new(&c, env, 2, err, sizeof(err)), 0);
	ck_assert_str_eq(hsdo_aws_creds_source(c.aws), "");   /* not fetched yet */
	ck_assert_msg(list_tables(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(hsdo_aws_creds_source(c.aws), "imds");
	ck_assert_int_eq(stat_of(imds.port, "tokenPuts"), 1);
	ck_assert_int_eq(stat_of(imds.port, "roleGets"), 1);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 1);
	ck_assert_int_eq(stat_of(imds.port, "unauthorized"), 0);
	stats_text(imds.port, stats, sizeof(stats));
	ck_assert_msg(strstr(stats, "\"lastTtl\":\"21600\"") != NULL, "%s", stats);
	/* signed with the instance's session credentials */
	ck_assert_int_eq(stat_of(dyn.proxy.port, "ASIAIMDSTEST"), 1);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "imds-session-token"), 1);
	/* cached: no fetch for the next call */
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 1);
	ck_assert_int_eq(stat_of(imds.port, "tokenPuts"), 1);
	st = op_stats(&c, "ListTables");
	ck_assert_uint_eq(st->ok, 2);
	client_free(&c);
}
END_TEST

START_TEST(imds_refresh_before_expiry)
{
	char *env[] = IMDS_ENV("X_UNUSED=1");
	struct client c;
	char err[512] = "";

	reset_peers();
	clock_offset = 0;
	ctl(imds.port, "/__set", "{\"expiresIn\":1000}");
	ck_assert_int_eq(client_new(&c, env, 2, err, sizeof(err)), 0);
	ck_assert_msg(list_tables(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 1);
	/* 400 s left: outside the refresh window (300 s) */
	clock_offset = 600;
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), 0);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 1);
	/* the instance role's keys rotate; 295 s left: refreshed first */
	ctl(imds.port, "/__set", "{\"accessKeyId\":\"ASIAIMDSTEST2\",\"secretAccessKey\":"
	    "\"imds-secret-key-2\",\"token\":\"imds-session-token-2\"}");
	clock_offset = 705;
	ck_assert_msg(list_tables(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 2);
	ck_assert_int_eq(stat_of(imds.port, "tokenPuts"), 1);   /* token still good */
	ck_assert_int_eq(stat_of(dyn.proxy.port, "ASIAIMDSTEST2"), 1);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "imds-session-token-2"), 1);
	/* the IMDS token expired meanwhile: a 401, a new token, then the keys */
	ctl(imds.port, "/__expire_tokens", "{}");
	clock_offset = 705 + 15;   /* in the window, past the spacing between refreshes */
	ck_assert_msg(list_tables(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat_of(imds.port, "unauthorized"), 1);
	ck_assert_int_eq(stat_of(imds.port, "tokenPuts"), 2);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 3);
	/* credentials already expired by our clock: an error, not a fetch loop */
	clock_offset = 705 + 5000;
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_ECONFIG);
	ck_assert_msg(strstr(err, "is the clock right?") != NULL, "%s", err);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 4);
	no_secrets(err);
	clock_offset = 0;
	client_free(&c);
}
END_TEST

START_TEST(imds_failure_is_config_error)
{
	char *env[] = IMDS_ENV("X_UNUSED=1");
	struct client c;
	char err[512] = "";

	reset_peers();
	clock_offset = 0;
	ctl(imds.port, "/__set", "{\"failCreds\":5}");
	ck_assert_int_eq(client_new(&c, env, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_ECONFIG);
	ck_assert_msg(strstr(err, "dynamodb ListTables: no AWS credentials: instance metadata "
			      "credentials: HTTP 500") == err, "%s", err);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "ok"), 0);
	no_secrets(err);
	client_free(&c);
}
END_TEST

struct async_result {
	bool done;
	int rc;
	char err[512];
};

static void on_call(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct async_result *r = arg;

	(void)body;
	(void)len;
	r->done = true;
	r->rc = rc;
	snprintf(r->err, sizeof(r->err), "%s", err);
}

START_TEST(imds_background_refresh_event_mode)
{
	char *env[] = IMDS_ENV("X_UNUSED=1");
	struct hsdo_aws_request r = { HSDO_CREDS_SVC_DYNAMODB, HSDO_AWS_JSON, "ListTables",
				      "DynamoDB_20120810.ListTables", "{}", 2 };
	struct hsdo_http_loop loop;
	struct hsdo_test_poll pl;
	struct hsdo_aws_options o;
	struct async_result res;
	struct hsdo_http *http;
	struct hsdo_aws *aws;
	char err[512] = "";
	bool never = false;
	int i;

	reset_peers();
	clock_offset = 0;
	/* expiring in 302 s: the refresh is due 300 s before, in 2 s */
	ctl(imds.port, "/__set", "{\"expiresIn\":302}");
	hsdo_test_poll_init(&pl, &loop);
	ck_assert_int_eq(hsdo_http_new(NULL, &loop, &http, err, sizeof(err)), 0);
	pl.h = http;
	memset(&o, 0, sizeof(o));
	o.envp = env;
	ck_assert_msg(hsdo_aws_new(&o, http, &aws, err, sizeof(err)) == 0, "%s", err);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_aws_call(aws, &r, on_call, &res), 0);
	ck_assert(!res.done);
	ck_assert_uint_eq(hsdo_aws_pending(aws), 1);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 10000), 0);
	ck_assert_msg(res.rc == 0, "%s", res.err);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 1);
	/* no call: the delayed refresh alone fetches the rotated keys */
	ctl(imds.port, "/__set", "{\"accessKeyId\":\"ASIAIMDSTEST2\",\"secretAccessKey\":"
	    "\"imds-secret-key-2\",\"token\":\"imds-session-token-2\",\"expiresIn\":3600}");
	for (i = 0; i < 40 && stat_of(imds.port, "credGets") < 2; i++)
		(void)hsdo_test_poll_run(&pl, &never, 200);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 2);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_aws_call(aws, &r, on_call, &res), 0);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 10000), 0);
	ck_assert_msg(res.rc == 0, "%s", res.err);
	ck_assert_int_eq(stat_of(dyn.proxy.port, "ASIAIMDSTEST2"), 1);
	ck_assert_int_eq(stat_of(imds.port, "credGets"), 2);
	/* the transport first (it drops the next refresh timer), then the client */
	hsdo_http_free(http);
	hsdo_aws_free(aws);
}
END_TEST

/* ---- ECS -------------------------------------------------------------------------------------- */

START_TEST(ecs_full_uri_with_token)
{
	char full[160];
	char *env[] = IMDS_ENV(full, "AWS_CONTAINER_AUTHORIZATION_TOKEN=hsdo-ecs-auth-secret");
	struct client c;
	char err[512] = "", stats[2048];

	snprintf(full, sizeof(full), "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:%u"
		 "/v2/credentials/hsdo-task", imds.port);
	reset_peers();
	clock_offset = 0;
	ctl(imds.port, "/__set", "{\"ecsAuthToken\":\"hsdo-ecs-auth-secret\"}");
	ck_assert_int_eq(client_new(&c, env, 2, err, sizeof(err)), 0);
	ck_assert_msg(list_tables(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(hsdo_aws_creds_source(c.aws), "ecs");
	ck_assert_int_eq(stat_of(imds.port, "ecsGets"), 1);
	ck_assert_int_eq(stat_of(imds.port, "tokenPuts"), 0);   /* ECS before IMDS */
	stats_text(imds.port, stats, sizeof(stats));
	ck_assert_msg(strstr(stats, "\"lastEcsAuth\":\"hsdo-ecs-auth-secret\"") != NULL, "%s",
		      stats);
	client_free(&c);

	/* a wrong token: refused, and the token is not in err */
	ctl(imds.port, "/__set", "{\"ecsAuthToken\":\"another-token\"}");
	ck_assert_int_eq(client_new(&c, env, 2, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_ECONFIG);
	ck_assert_msg(strstr(err, "container credentials") != NULL, "%s", err);
	ck_assert_msg(strstr(err, "HTTP 401") != NULL, "%s", err);
	no_secrets(err);
	client_free(&c);
}
END_TEST

START_TEST(ecs_token_file_and_checks)
{
	char full[160], tokf[600];
	char *tf = write_tmp("ecs-token", "hsdo-ecs-auth-secret\n");
	char *env[] = IMDS_ENV(full, tokf);
	char *env_bad[] = IMDS_ENV("AWS_CONTAINER_CREDENTIALS_FULL_URI=http://10.1.2.3/creds");
	char *env_rel[] = IMDS_ENV("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=no-slash");
	struct client c;
	char err[512] = "";

	snprintf(full, sizeof(full), "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:%u"
		 "/v2/credentials/hsdo-task", imds.port);
	snprintf(tokf, sizeof(tokf), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=%s", tf);
	reset_peers();
	ctl(imds.port, "/__set", "{\"ecsAuthToken\":\"hsdo-ecs-auth-secret\"}");
	ck_assert_int_eq(client_new(&c, env, 2, err, sizeof(err)), 0);
	ck_assert_msg(list_tables(&c, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(stat_of(imds.port, "ecsGets"), 1);
	client_free(&c);
	/* plain http to a non-loopback host is refused, as the SDKs do */
	ck_assert_int_eq(client_new(&c, env_bad, 2, err, sizeof(err)), -HSDO_ECONFIG);
	ck_assert_msg(strstr(err, "FULL_URI") != NULL, "%s", err);
	ck_assert_int_eq(client_new(&c, env_rel, 2, err, sizeof(err)), -HSDO_ECONFIG);
	ck_assert_msg(strstr(err, "RELATIVE_URI") != NULL, "%s", err);
	free(tf);
}
END_TEST

/* ---- Query protocol -------------------------------------------------------------------------------- */

static int query_call(struct client *c, char **body, char *err, size_t errlen)
{
	static const char form[] = "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1";
	struct hsdo_aws_request r = { HSDO_CREDS_SVC_EC2, HSDO_AWS_QUERY, "DescribeInstances",
				      NULL, form, sizeof(form) - 1 };
	size_t len;

	return hsdo_aws_call_sync(c->aws, &r, body, &len, err, errlen);
}

START_TEST(query_protocol)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET);
	struct client c;
	char *body = NULL;
	char err[512] = "";

	reset_peers();
	ck_assert_int_eq(client_new(&c, env, 3, err, sizeof(err)), 0);
	ctl(ec2proxy.port, "/__inject", "{\"count\":1,\"status\":200,\"body\":"
	    "\"<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>\"}");
	ck_assert_msg(query_call(&c, &body, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(body, "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>");
	hsdo_free(body);
	ck_assert_int_eq(stat_of(ec2proxy.port, "ok"), 1);   /* signature verified */
	ck_assert_int_eq(stat_of(ec2proxy.port, "bad"), 0);

	/* EC2's error shape, throttling: retried */
	ctl(ec2proxy.port, "/__inject", "{\"count\":1,\"status\":503,\"body\":"
	    "\"<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit "
	    "exceeded.</Message></Error></Errors><RequestID>r-1</RequestID></Response>\"}");
	ctl(ec2proxy.port, "/__inject", "{\"count\":1,\"status\":400,\"body\":"
	    "\"<Response><Errors><Error><Code>InvalidInstanceID.Malformed</Code><Message>Invalid id"
	    "</Message></Error></Errors><RequestID>r-2</RequestID></Response>\"}");
	ck_assert_int_eq(query_call(&c, &body, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_msg(strstr(err, "ec2 DescribeInstances: InvalidInstanceID.Malformed: Invalid id")
		      == err, "%s", err);
	ck_assert_msg(strstr(err, "2 tries") != NULL, "%s", err);
	ck_assert_int_eq(stat_of(ec2proxy.port, "injected"), 3);
	client_free(&c);
}
END_TEST

START_TEST(bad_arguments)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET);
	struct hsdo_aws_request r = { HSDO_CREDS_SVC_DYNAMODB, HSDO_AWS_JSON, "ListTables",
				      NULL, "{}", 2 };
	struct client c;
	char err[512] = "";

	ck_assert_int_eq(client_new(&c, env, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_aws_call_sync(c.aws, &r, NULL, NULL, err, sizeof(err)),
			 -HSDO_EINVAL);
	r.target = "x\r\nInjected: 1";
	ck_assert_int_eq(hsdo_aws_call_sync(c.aws, &r, NULL, NULL, err, sizeof(err)),
			 -HSDO_EINVAL);
	r.target = "DynamoDB_20120810.ListTables";
	r.service = HSDO_CREDS_SVC_COUNT;
	ck_assert_int_eq(hsdo_aws_call_sync(c.aws, &r, NULL, NULL, err, sizeof(err)),
			 -HSDO_EINVAL);
	client_free(&c);
	ck_assert_int_eq(hsdo_aws_new(NULL, NULL, NULL, err, sizeof(err)), -HSDO_EINVAL);
	hsdo_aws_free(NULL);
}
END_TEST

/* ---- allocation failures ------------------------------------------------------------------ */

START_TEST(alloc_failure_new)
{
	char cred_env[600];
	char *cred = NULL;
	struct hsdo_http *http;
	struct hsdo_aws *a = NULL;
	struct hsdo_aws_options o;
	char err[512];
	unsigned long i;
	int rc = -1;

	tmpdir = hsdo_test_tmpdir("aws-alloc");
	cred = write_tmp("credentials", "[p]\naws_access_key_id = AKIDFILE\n"
			 "aws_secret_access_key = " HSDO_TEST_SECRET "\n");
	snprintf(cred_env, sizeof(cred_env), "AWS_SHARED_CREDENTIALS_FILE=%s", cred);
	{
		char *env[] = { "HOME=/nonexistent", "AWS_REGION=eu-west-1", cred_env,
				"AWS_PROFILE=p", "AWS_ENDPOINT_URL=http://127.0.0.1:1", NULL };

		ck_assert_int_eq(hsdo_http_new(NULL, NULL, &http, err, sizeof(err)), 0);
		memset(&o, 0, sizeof(o));
		o.envp = env;
		for (i = 1; i < 2000; i++) {
			hsdo_alloc_fail_at(i, 1);
			rc = hsdo_aws_new(&o, http, &a, err, sizeof(err));
			hsdo_alloc_fail_at(0, 0);
			if (rc == 0)
				break;
			ck_assert_msg(rc == -HSDO_ENOMEM, "step %lu: %d %s", i, rc, err);
			ck_assert_ptr_null(a);
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_gt(i, 5);
		ck_assert_str_eq(hsdo_aws_creds_source(a), "credentials");
		hsdo_aws_free(a);
		hsdo_http_free(http);
	}
	free(cred);
	hsdo_test_rmtree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}
END_TEST

START_TEST(alloc_failure_call)
{
	char *env[] = STATIC_ENV("AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
				 "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET);
	struct client c;
	char err[512] = "";
	unsigned long i;
	int rc = -1;

	reset_peers();
	ck_assert_int_eq(client_new(&c, env, 2, err, sizeof(err)), 0);
	for (i = 1; i < 2000; i++) {
		err[0] = '\0';
		hsdo_alloc_fail_at(i, 1);
		rc = list_tables(&c, err, sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc < 0 && err[0] != '\0', "step %lu: %d", i, rc);
		ck_assert_uint_eq(hsdo_aws_pending(c.aws), 0);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(i, 3);
	client_free(&c);
}
END_TEST

static Suite *aws_suite(void)
{
	Suite *s = suite_create("aws");
	TCase *tc;

	tc = tcase_create("pure");
	tcase_add_test(tc, backoff_bounds);
	tcase_add_loop_test(tc, retryable_codes, 0, N(retryables));
	tcase_add_test(tc, alloc_failure_new);
	suite_add_tcase(s, tc);

	tc = tcase_create("peers");
	tcase_add_unchecked_fixture(tc, peers_up, peers_down);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sign_static_keys);
	tcase_add_test(tc, sign_session_token);
	tcase_add_test(tc, wrong_secret_is_403);
	tcase_add_test(tc, token_missing_is_refused);
	tcase_add_test(tc, throttled_then_success);
	tcase_add_test(tc, throttled_bounded_tries);
	tcase_add_loop_test(tc, server_error_handling, 0, N(server_errors));
	tcase_add_test(tc, transport_errors);
	tcase_add_test(tc, secrets_never_in_err);
	tcase_add_test(tc, chain_order);
	tcase_add_test(tc, imds_token_flow);
	tcase_add_test(tc, imds_refresh_before_expiry);
	tcase_add_test(tc, imds_failure_is_config_error);
	tcase_add_test(tc, imds_background_refresh_event_mode);
	tcase_add_test(tc, ecs_full_uri_with_token);
	tcase_add_test(tc, ecs_token_file_and_checks);
	tcase_add_test(tc, query_protocol);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, alloc_failure_call);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(aws_suite());
}
