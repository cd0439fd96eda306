/* The whole credential chain and region against real peers, each answer
 * checked against the AWS SDK for JavaScript's own (its default provider
 * chain and region resolution, tests/fixtures/sdk_chain.js) on the same
 * files and environment.
 *
 * Peers: dynalite behind the SigV4 verifier (tests/fixtures/sigv4_proxy.js),
 * which accepts only the credentials and region the SDK resolved, so a call
 * that succeeds proves that ours are the same key, secret, token and
 * region; tests/fixtures/sts.js (STS over the Query protocol, AssumeRole
 * signatures checked with @smithy/signature-v4, AssumeRoleWithWebIdentity
 * unsigned); tests/fixtures/imds.js (IMDSv2, ECS). Then: refresh of an
 * assumed role before it expires, STS and credential_process failures
 * (never quoting a secret), and the event-driven transport not waiting for
 * a credential_process or for the region from instance metadata. */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dynalite.h"
#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo_test.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define ARN(r) "arn:aws:iam::123456789012:role/" r
#define WEB_TOKEN "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2VydmljZWFjY291bnQifQ.c2ln"
#define ENV_MAX 24

static struct hsdo_test_dynalite dyn;
static struct hsdo_test_node imds, sts;
static char *tmpdir;

/* ---- peers ---------------------------------------------------------------------- */

static void ctl(uint16_t port, const char *path, const char *body)
{
	char out[512];
	int st = hsdo_test_http_req(port, "POST", path, body, out, sizeof(out));

	ck_assert_msg(st == 200, "POST %s: %d %s", path, st, out);
}

static long stat_of(uint16_t port, const char *key)
{
	char out[8192];

	ck_assert_int_eq(hsdo_test_http_req(port, "GET", "/__stats", NULL, out, sizeof(out)), 200);
	return hsdo_test_json_int(out, key);
}

static void peers_up(void)
{
	char err[1024] = "";

	tmpdir = hsdo_test_tmpdir("awschain");
	ck_assert_ptr_nonnull(tmpdir);
	if (hsdo_test_dynalite_start(&dyn, NULL, err, sizeof(err)) != 0)
		ck_abort_msg("dynalite: %s", err);
	if (hsdo_test_node_start(&imds, tmpdir, "imds.js", NULL, err, sizeof(err)) != 0)
		ck_abort_msg("imds: %s", err);
	if (hsdo_test_node_start(&sts, tmpdir, "sts.js", NULL, err, sizeof(err)) != 0)
		ck_abort_msg("sts: %s", err);
}

static void peers_down(void)
{
	hsdo_test_node_stop(&sts);
	hsdo_test_node_stop(&imds);
	hsdo_test_dynalite_stop(&dyn);
	if (tmpdir != NULL) {
		hsdo_test_rmtree(tmpdir);
		free(tmpdir);
		tmpdir = NULL;
	}
}

/* Who may call AssumeRole: the keys the cases put in files and in the
 * environment, and the instance's credentials. */
static void reset_peers(void)
{
	ctl(dyn.proxy.port, "/__reset", "{}");
	ctl(imds.port, "/__reset", "{}");
	ctl(imds.port, "/__expire_tokens", "{}");
	ctl(imds.port, "/__set", "{\"accessKeyId\":\"ASIAIMDSTEST\",\"secretAccessKey\":"
	    "\"imds-secret-key\",\"token\":\"imds-session-token\",\"expiresIn\":3600,"
	    "\"region\":\"eu-south-1\"}");
	ctl(sts.port, "/__reset", "{}");
	ctl(sts.port, "/__set", "{\"keys\":["
	    "{\"accessKeyId\":\"AKIDBASE\",\"secretAccessKey\":\"base-secret\"},"
	    "{\"accessKeyId\":\"AKIDENV\",\"secretAccessKey\":\"env-secret\"},"
	    "{\"accessKeyId\":\"AKIDPROC\",\"secretAccessKey\":\"proc-secret\","
	    "\"sessionToken\":\"proc-token\"},"
	    "{\"accessKeyId\":\"ASIAIMDSTEST\",\"secretAccessKey\":\"imds-secret-key\","
	    "\"sessionToken\":\"imds-session-token\"}],"
	    "\"tokens\":[\"" WEB_TOKEN "\"],\"deny\":[],\"durationOverride\":0}");
}

/* ---- the client under test ------------------------------------------------------------ */

static int64_t clock_offset;

static int64_t test_now(void *ctx)
{
	(void)ctx;
	return (int64_t)time(NULL) + clock_offset;
}

struct client {
	struct hsdo_http *http;
	struct hsdo_aws *aws;
};

static int client_new(struct client *c, char **envp, const struct hsdo_http_loop *loop,
		      long proc_timeout_ms, char *err, size_t errlen)
{
	struct hsdo_aws_options o;
	char herr[256];
	int rc;

	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(hsdo_http_new(NULL, loop, &c->http, herr, sizeof(herr)), 0);
	memset(&o, 0, sizeof(o));
	o.envp = envp;
	o.region = "ap-northeast-3";        /* the configuration's: last resort */
	o.max_tries = 1;
	o.now_s = test_now;
	o.process_timeout_ms = proc_timeout_ms;
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

static const struct hsdo_aws_request list_req = {
	HSDO_CREDS_SVC_DYNAMODB, HSDO_AWS_JSON, "ListTables", "DynamoDB_20120810.ListTables",
	"{}", 2
};

static int list_tables(struct client *c, char *err, size_t errlen)
{
	char *body = NULL;
	size_t len = 0;
	int rc = hsdo_aws_call_sync(c->aws, &list_req, &body, &len, err, errlen);

	hsdo_free(body);
	return rc;
}

/* ---- case files ---------------------------------------------------------------------- */

/* s with every "@DIR@" replaced by dir, "@IMDS@" by the IMDS fixture's
 * port (heap). */
static char *subst(const char *s, const char *dir)
{
	size_t cap = strlen(s) * 4 + 2048, o = 0;
	char port[8], *out = calloc(1, cap);
	const char *p = s;

	ck_assert_ptr_nonnull(out);
	snprintf(port, sizeof(port), "%u", imds.port);
	while (*p != '\0' && o + 1024 < cap) {
		if (strncmp(p, "@DIR@", 5) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", dir);
			p += 5;
		} else if (strncmp(p, "@IMDS@", 6) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s", port);
			p += 6;
		} else {
			out[o++] = *p++;
		}
	}
	return out;
}

static void write_in(const char *dir, const char *name, const char *text, mode_t mode)
{
	char path[1024];
	char *t = subst(text, dir);

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck_assert_int_eq(hsdo_test_write_file(path, t, strlen(t)), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	free(t);
}

/* A case's directory: its shared files, a web identity token and a
 * credential_process script. */
static char *case_dir(const char *name, const char *credentials, const char *config)
{
	char *dir = malloc(1024);

	ck_assert_ptr_nonnull(dir);
	snprintf(dir, 1024, "%s/%s", tmpdir, name);
	(void)mkdir(dir, 0700);
	if (credentials != NULL)
		write_in(dir, "credentials", credentials, 0600);
	if (config != NULL)
		write_in(dir, "config", config, 0600);
	write_in(dir, "token", WEB_TOKEN, 0600);
	write_in(dir, "creds.sh", "#!/bin/sh\nprintf '{\"Version\": 1, \"AccessKeyId\": "
		 "\"AKIDPROC\", \"SecretAccessKey\": \"proc-secret\", \"SessionToken\": "
		 "\"proc-token\", \"Expiration\": \"2099-01-01T00:00:00Z\"}\\n'\n", 0700);
	return dir;
}

struct env {
	char *v[ENV_MAX + 1];
	size_t n;
};

static void env_add(struct env *e, const char *dir, const char *s)
{
	ck_assert_uint_lt(e->n, ENV_MAX);
	e->v[e->n++] = subst(s, dir);
	e->v[e->n] = NULL;
}

static void env_base(struct env *e, const char *dir, bool with_imds)
{
	char buf[256];

	memset(e, 0, sizeof(*e));
	env_add(e, dir, "HOME=/nonexistent");
	env_add(e, dir, "AWS_SHARED_CREDENTIALS_FILE=@DIR@/credentials");
	env_add(e, dir, "AWS_CONFIG_FILE=@DIR@/config");
	snprintf(buf, sizeof(buf), "AWS_ENDPOINT_URL_DYNAMODB=%s", dyn.url);
	env_add(e, dir, buf);
	snprintf(buf, sizeof(buf), "AWS_ENDPOINT_URL_STS=http://127.0.0.1:%u", sts.port);
	env_add(e, dir, buf);
	if (with_imds)
		env_add(e, dir, "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:@IMDS@");
	else
		env_add(e, dir, "AWS_EC2_METADATA_DISABLED=true");
}

static void env_free(struct env *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->v[i]);
	e->n = 0;
}

/* ---- the SDK's answer ---------------------------------------------------------------- */

struct sdk {
	char akid[128], secret[128], token[512], region[64];
	bool has_creds, has_region;
};

/* The string value of "key" in a flat JSON object (no escapes in it). */
static bool json_str(const char *json, const char *key, char *out, size_t outlen)
{
	char pat[64];
	const char *p, *q;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	if ((p = strstr(json, pat)) == NULL)
		return false;
	p += strlen(pat);
	if ((q = strchr(p, '"')) == NULL || (size_t)(q - p) >= outlen)
		return false;
	memcpy(out, p, (size_t)(q - p));
	out[q - p] = '\0';
	return true;
}

/* Run sdk_chain.js on env (every entry, later ones winning) and extra. */
static void sdk_resolve(const struct env *e, const char *const *extra, const char *dir,
			struct sdk *s)
{
	char json[8192], out[4096];
	const char *args[2] = { json, NULL };
	size_t used = 0, i, k;
	const char *all[ENV_MAX * 2];
	size_t n = 0;

	for (i = 0; i < e->n; i++)
		all[n++] = e->v[i];
	for (i = 0; extra != NULL && extra[i] != NULL; i++)
		all[n++] = extra[i];
	used += (size_t)snprintf(json + used, sizeof(json) - used, "{");
	for (i = 0; i < n; i++) {
		char *v = subst(all[i], dir);
		const char *eq = strchr(v, '=');
		bool later = false;

		for (k = i + 1; k < n && !later; k++)
			later = strncmp(all[k], v, (size_t)(eq - v) + 1) == 0;
		if (!later)
			used += (size_t)snprintf(json + used, sizeof(json) - used, "%s\"%.*s\":\"%s\"",
						 used > 1 ? "," : "", (int)(eq - v), v, eq + 1);
		free(v);
	}
	snprintf(json + used, sizeof(json) - used, "}");
	memset(s, 0, sizeof(*s));
	ck_assert_msg(hsdo_test_node_run("sdk_chain.js", args, out, sizeof(out)) == 0, "%s", out);
	s->has_creds = json_str(out, "accessKeyId", s->akid, sizeof(s->akid)) &&
		       json_str(out, "secretAccessKey", s->secret, sizeof(s->secret));
	(void)json_str(out, "sessionToken", s->token, sizeof(s->token));
	s->has_region = json_str(out, "region", s->region, sizeof(s->region));
}

/* ---- the cases --------------------------------------------------------------------- */

struct chain_case {
	const char *name;
	const char *credentials, *config;      /* file contents; NULL: no file */
	const char *env[6];                    /* extra variables (@DIR@, @IMDS@) */
	bool imds;                             /* instance metadata reachable */
	const char *source;                    /* hsdo_aws_creds_source after a call */
	enum hsdo_creds_region_source region_src;
	const char *region;                    /* NULL: the SDK's */
	/* a documented difference: the SDK answers what we chose when given
	 * these variables too (NULL: same answer on the same input) */
	const char *alt[3];
	bool sdk_no_region;                    /* the SDK has no region source for it */
};

#define BASE_KEYS "aws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n"

static const struct chain_case cases[] = {
	{ "env-keys", NULL, NULL,
	  { "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=env-secret", "AWS_REGION=us-east-1" },
	  false, "env", HSDO_CREDS_REGION_ENV, NULL, { NULL }, false },
	{ "env-keys-session-token", NULL, NULL,
	  { "AWS_ACCESS_KEY_ID=ASIAENV", "AWS_SECRET_ACCESS_KEY=env-secret2",
	    "AWS_SESSION_TOKEN=env-session-token", "AWS_REGION=eu-west-1" },
	  false, "env", HSDO_CREDS_REGION_ENV, NULL, { NULL }, false },
	{ "credentials-file-default", "[default]\n" BASE_KEYS, "[default]\nregion = eu-west-3\n",
	  { NULL }, false, "credentials", HSDO_CREDS_REGION_PROFILE, NULL, { NULL }, false },
	{ "config-file-profile", "[default]\n" BASE_KEYS,
	  "[profile work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = work-secret\n"
	  "region = ap-southeast-2\n",
	  { "AWS_PROFILE=work" }, false, "config", HSDO_CREDS_REGION_PROFILE, NULL, { NULL }, false },
	{ "assume-role-source-profile", "[base]\n" BASE_KEYS,
	  "[profile app]\nrole_arn = " ARN("app") "\nsource_profile = base\nregion = eu-west-3\n",
	  { "AWS_PROFILE=app" }, false, "assume-role", HSDO_CREDS_REGION_PROFILE, NULL, { NULL },
	  false },
	{ "assume-role-chain", "[base]\n" BASE_KEYS,
	  "[profile app]\nrole_arn = " ARN("app") "\nsource_profile = mid\nregion = us-west-2\n"
	  "[profile mid]\nrole_arn = " ARN("mid") "\nsource_profile = base\n",
	  { "AWS_PROFILE=app" }, false, "assume-role", HSDO_CREDS_REGION_PROFILE, NULL, { NULL },
	  false },
	{ "assume-role-external-id", "[base]\n" BASE_KEYS,
	  "[default]\nrole_arn = " ARN("ext") "\nsource_profile = base\nexternal_id = hsdo-ext-1\n"
	  "role_session_name = hsdo-test\nduration_seconds = 1800\nregion = ca-central-1\n",
	  { NULL }, false, "assume-role", HSDO_CREDS_REGION_PROFILE, NULL, { NULL }, false },
	{ "credential-source-environment", NULL,
	  "[profile app]\nrole_arn = " ARN("envsrc") "\ncredential_source = Environment\n",
	  { "AWS_PROFILE=app", "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=env-secret",
	    "AWS_REGION=us-east-2" },
	  false, "assume-role", HSDO_CREDS_REGION_ENV, NULL, { NULL }, false },
	{ "credential-source-imds", NULL,
	  "[default]\nrole_arn = " ARN("imdssrc") "\ncredential_source = Ec2InstanceMetadata\n"
	  "region = sa-east-1\n",
	  { NULL }, true, "assume-role", HSDO_CREDS_REGION_PROFILE, NULL, { NULL }, false },
	{ "web-identity-env", NULL, NULL,
	  { "AWS_WEB_IDENTITY_TOKEN_FILE=@DIR@/token", "AWS_ROLE_ARN=" ARN("web"),
	    "AWS_ROLE_SESSION_NAME=hsdo-pod", "AWS_REGION=eu-north-1" },
	  false, "web-identity", HSDO_CREDS_REGION_ENV, NULL, { NULL }, false },
	{ "web-identity-profile", NULL,
	  "[default]\nweb_identity_token_file = @DIR@/token\nrole_arn = " ARN("webprof") "\n"
	  "region = eu-central-1\n",
	  { NULL }, false, "web-identity", HSDO_CREDS_REGION_PROFILE, NULL, { NULL }, false },
	{ "credential-process", NULL,
	  "[default]\ncredential_process = @DIR@/creds.sh\nregion = me-south-1\n",
	  { NULL }, false, "process", HSDO_CREDS_REGION_PROFILE, NULL, { NULL }, false },
	{ "assume-role-from-process", NULL,
	  "[profile app]\nrole_arn = " ARN("fromproc") "\nsource_profile = p\nregion = af-south-1\n"
	  "[profile p]\ncredential_process = @DIR@/creds.sh\n",
	  { "AWS_PROFILE=app" }, false, "assume-role", HSDO_CREDS_REGION_PROFILE, NULL, { NULL },
	  false },
	{ "ecs-full-uri", NULL, NULL,
	  { "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:@IMDS@/v2/credentials/hsdo-task",
	    "AWS_REGION=us-east-1" },
	  false, "ecs", HSDO_CREDS_REGION_ENV, NULL, { NULL }, false },
	{ "imds", NULL, NULL, { "AWS_REGION=eu-west-2" }, true, "imds", HSDO_CREDS_REGION_ENV, NULL,
	  { NULL }, false },
	{ "profile-wins-over-env-keys", "[app]\naws_access_key_id = AKIDAPP\n"
	  "aws_secret_access_key = app-secret\n", NULL,
	  { "AWS_PROFILE=app", "AWS_ACCESS_KEY_ID=AKIDENV", "AWS_SECRET_ACCESS_KEY=env-secret",
	    "AWS_REGION=us-east-1" },
	  false, "credentials", HSDO_CREDS_REGION_ENV, NULL, { NULL }, false },
	{ "region-env-over-profile", "[default]\n" BASE_KEYS, "[default]\nregion = eu-west-3\n",
	  { "AWS_REGION=ap-south-1" }, false, "credentials", HSDO_CREDS_REGION_ENV, NULL, { NULL },
	  false },
	/* documented differences */
	{ "web-identity-env-before-default-profile", "[default]\n" BASE_KEYS, NULL,
	  { "AWS_WEB_IDENTITY_TOKEN_FILE=@DIR@/token", "AWS_ROLE_ARN=" ARN("web"),
	    "AWS_REGION=us-east-1" },
	  false, "web-identity", HSDO_CREDS_REGION_ENV, NULL,
	  { "AWS_SHARED_CREDENTIALS_FILE=@DIR@/none" }, false },
	{ "region-aws-default-region", "[default]\n" BASE_KEYS, NULL,
	  { "AWS_DEFAULT_REGION=eu-west-1" }, false, "credentials", HSDO_CREDS_REGION_ENV_DEFAULT,
	  "eu-west-1", { NULL }, true },
	{ "region-from-instance-metadata", "[default]\n" BASE_KEYS, NULL,
	  { NULL }, true, "credentials", HSDO_CREDS_REGION_IMDS, NULL, { NULL }, false },
	{ "region-from-configuration", "[default]\n" BASE_KEYS, NULL,
	  { NULL }, false, "credentials", HSDO_CREDS_REGION_CONFIG, "ap-northeast-3", { NULL },
	  true },
};

START_TEST(same_answer_as_the_sdk)
{
	const struct chain_case *cc = &cases[_i];
	struct sdk same, ours_sdk;
	struct client c;
	struct env e;
	char err[1024] = "", body[1024];
	const char *region;
	char *dir;
	size_t i;
	int rc;

	reset_peers();
	clock_offset = 0;
	dir = case_dir(cc->name, cc->credentials, cc->config);
	env_base(&e, dir, cc->imds);
	for (i = 0; i < N(cc->env) && cc->env[i] != NULL; i++)
		env_add(&e, dir, cc->env[i]);
	sdk_resolve(&e, NULL, dir, &same);
	if (cc->alt[0] != NULL)
		sdk_resolve(&e, cc->alt, dir, &ours_sdk);
	else
		ours_sdk = same;
	ck_assert_msg(ours_sdk.has_creds, "%s: the SDK found no credentials", cc->name);
	region = cc->region != NULL ? cc->region : ours_sdk.region;
	ck_assert_msg(region[0] != '\0', "%s: no region to expect", cc->name);

	/* the verifier takes exactly the SDK's credentials and region */
	snprintf(body, sizeof(body), "[{\"accessKeyId\":\"%s\",\"secretAccessKey\":\"%s\"%s%s%s}]",
		 ours_sdk.akid, ours_sdk.secret, ours_sdk.token[0] ? ",\"sessionToken\":\"" : "",
		 ours_sdk.token, ours_sdk.token[0] ? "\"" : "");
	ctl(dyn.proxy.port, "/__creds", body);
	snprintf(body, sizeof(body), "{\"region\":\"%s\"}", region);
	ctl(dyn.proxy.port, "/__region", body);

	rc = client_new(&c, e.v, NULL, 0, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s: %s", cc->name, err);
	rc = list_tables(&c, err, sizeof(err));
	ck_assert_msg(rc == 0, "%s: %s (SDK: %s in %s)", cc->name, err, ours_sdk.akid, region);
	ck_assert_str_eq(hsdo_aws_creds_source(c.aws), cc->source);
	ck_assert_str_eq(hsdo_aws_region(c.aws), region);
	ck_assert_int_eq(hsdo_aws_region_source(c.aws, NULL), cc->region_src);
	if (cc->alt[0] != NULL)
		ck_assert_msg(strcmp(same.akid, ours_sdk.akid) != 0,
			      "%s: the SDK now agrees (%s): update docs/aws.md", cc->name, same.akid);
	if (cc->sdk_no_region)
		ck_assert_msg(!same.has_region, "%s: the SDK now has a region (%s)", cc->name,
			      same.region);
	else
		ck_assert_str_eq(same.region, region);
	/* the table for docs/aws.md and the report */
	printf("| %s | %s %s, %s (%s) | %s, %s | %s |\n", cc->name, hsdo_aws_creds_source(c.aws),
	       ours_sdk.akid, region,
	       hsdo_creds_region_source_str(hsdo_aws_region_source(c.aws, NULL)),
	       same.akid, same.has_region ? same.region : "no region",
	       cc->alt[0] == NULL && !cc->sdk_no_region ? "same" : "differs (documented)");
	client_free(&c);
	env_free(&e);
	free(dir);
}
END_TEST

/* ---- STS details ----------------------------------------------------------------- */

START_TEST(assume_role_request_and_refresh)
{
	static const char conf[] = "[profile app]\nrole_arn = " ARN("app") "\nsource_profile = base\n"
				   "external_id = hsdo-ext-1\nrole_session_name = hsdo-test\n"
				   "duration_seconds = 1800\nregion = us-east-1\n";
	struct client c;
	struct env e;
	char err[1024] = "";
	char *dir;

	reset_peers();
	clock_offset = 0;
	dir = case_dir("refresh", "[base]\n" BASE_KEYS, conf);
	env_base(&e, dir, false);
	env_add(&e, dir, "AWS_PROFILE=app");
	ck_assert_int_eq(client_new(&c, e.v, NULL, 0, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strstr(hsdo_aws_creds_chain(c.aws), "AssumeRole " ARN("app")));
	ctl(dyn.proxy.port, "/__creds", "[]");   /* any signature fails: we only count STS */
	(void)list_tables(&c, err, sizeof(err));
	ck_assert_int_eq(stat_of(sts.port, "assumeRole"), 1);
	ck_assert_int_eq(stat_of(sts.port, "lastDuration"), 1800);
	{
		char st[4096];

		ck_assert_int_eq(hsdo_test_http_req(sts.port, "GET", "/__stats", NULL, st,
						    sizeof(st)), 200);
		ck_assert_msg(strstr(st, "\"lastSession\":\"hsdo-test\"") != NULL, "%s", st);
		ck_assert_msg(strstr(st, "\"lastExternalId\":\"hsdo-ext-1\"") != NULL, "%s", st);
		ck_assert_msg(strstr(st, "\"lastRegion\":\"us-east-1\"") != NULL, "%s", st);
		ck_assert_msg(strstr(st, "\"AKIDBASE\":1") != NULL, "%s", st);
	}
	/* cached: the next call assumes nothing */
	(void)list_tables(&c, err, sizeof(err));
	ck_assert_int_eq(stat_of(sts.port, "assumeRole"), 1);
	/* 1800 s role: 200 s left is inside the refresh window */
	clock_offset = 1600;
	(void)list_tables(&c, err, sizeof(err));
	ck_assert_int_eq(stat_of(sts.port, "assumeRole"), 2);
	/* expired by our clock: an error saying so, not a loop */
	clock_offset = 100000;
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_ECONFIG);
	ck_assert_msg(strstr(err, "is the clock right?") != NULL, "%s", err);
	ck_assert_int_eq(stat_of(sts.port, "assumeRole"), 3);
	clock_offset = 0;
	client_free(&c);
	env_free(&e);
	free(dir);
}
END_TEST

START_TEST(sts_errors_name_the_role)
{
	struct client c;
	struct env e;
	char err[1024] = "";
	char *dir;

	reset_peers();
	clock_offset = 0;
	ctl(sts.port, "/__set", "{\"deny\":[\"" ARN("denied") "\"]}");
	dir = case_dir("denied", "[base]\n" BASE_KEYS,
		       "[default]\nrole_arn = " ARN("denied") "\nsource_profile = base\n"
		       "region = us-east-1\n[profile web]\nweb_identity_token_file = @DIR@/badtoken\n"
		       "role_arn = " ARN("web") "\n");
	write_in(dir, "badtoken", "not-the-token-secret-value\n", 0600);
	env_base(&e, dir, false);
	ck_assert_int_eq(client_new(&c, e.v, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_ECONFIG);
	ck_assert_msg(strstr(err, "sts AssumeRole " ARN("denied") ": AccessDenied") != NULL, "%s",
		      err);
	ck_assert_ptr_null(strstr(err, "base-secret"));
	client_free(&c);
	env_add(&e, dir, "AWS_PROFILE=web");
	env_add(&e, dir, "AWS_REGION=us-east-1");
	ck_assert_int_eq(client_new(&c, e.v, NULL, 0, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_ECONFIG);
	ck_assert_msg(strstr(err, "AssumeRoleWithWebIdentity " ARN("web") ": InvalidIdentityToken")
		      != NULL, "%s", err);
	ck_assert_ptr_null(strstr(err, "not-the-token"));
	{
		char st[4096];

		ck_assert_int_eq(hsdo_test_http_req(sts.port, "GET", "/__stats", NULL, st,
						    sizeof(st)), 200);
		ck_assert_msg(strstr(st, "\"lastSigned\":false") != NULL, "%s", st);
	}
	client_free(&c);
	env_free(&e);
	free(dir);
}
END_TEST

/* ---- credential_process failures ---------------------------------------------------- */

static const struct {
	const char *script;
	const char *msg;
} bad_processes[] = {
	{ "#!/bin/sh\necho 'denied: secret-in-stdout' ; exit 3\n", "exited with status 3" },
	{ "#!/bin/sh\necho '{\"Version\": 2, \"AccessKeyId\": \"A\", \"SecretAccessKey\": "
	  "\"secret-in-stdout\"}'\n", "Version is not 1" },
	{ "#!/bin/sh\necho 'secret-in-stdout not json'\n", "invalid JSON" },
	{ "#!/bin/sh\nhead -c 70000 /dev/zero | tr '\\\\0' x\n", "output over 65536 bytes" },
	{ "#!/bin/sh\nexec sleep 30\n", "still running after 300 ms: killed" },
	{ "#!/bin/sh\nkill -9 $PPID\n", "killed by signal 9" },
};

START_TEST(credential_process_failures)
{
	struct client c;
	struct env e;
	char err[1024] = "";
	char *dir;

	dir = case_dir("badproc", NULL, "[default]\ncredential_process = @DIR@/bad.sh\n");
	write_in(dir, "bad.sh", bad_processes[_i].script, 0700);
	env_base(&e, dir, false);
	env_add(&e, dir, "AWS_REGION=us-east-1");
	ck_assert_int_eq(client_new(&c, e.v, NULL, 300, err, sizeof(err)), 0);
	ck_assert_int_eq(list_tables(&c, err, sizeof(err)), -HSDO_ECONFIG);
	ck_assert_msg(strstr(err, bad_processes[_i].msg) != NULL, "case %d: %s", _i, err);
	ck_assert_msg(strstr(err, "credential_process (") != NULL, "%s", err);
	ck_assert_ptr_null(strstr(err, "secret-in-stdout"));
	client_free(&c);
	env_free(&e);
	free(dir);
}
END_TEST

/* ---- the event-driven transport ---------------------------------------------------- */

struct done_flag {
	bool done;
	int rc;
	char err[512];
};

static void on_done(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct done_flag *d = arg;

	(void)body;
	(void)len;
	d->done = true;
	d->rc = rc;
	snprintf(d->err, sizeof(d->err), "%s", err);
}

static void on_tick(void *arg)
{
	(*(int *)arg)++;
}

/* A credential_process that takes 600 ms and the region from instance
 * metadata: the loop keeps running timers meanwhile, and the call goes
 * out once both are there. */
START_TEST(event_loop_never_waits)
{
	struct hsdo_test_poll pl;
	struct hsdo_http_loop loop;
	struct done_flag d = { 0 };
	struct client c;
	struct env e;
	char err[1024] = "", body[1024];
	struct sdk s;
	int ticks = 0, i;
	char *dir;

	reset_peers();
	clock_offset = 0;
	dir = case_dir("slowproc", NULL, "[default]\ncredential_process = @DIR@/slow.sh\n");
	write_in(dir, "slow.sh", "#!/bin/sh\nsleep 0.6\nexec @DIR@/creds.sh\n", 0700);
	env_base(&e, dir, true);
	sdk_resolve(&e, NULL, dir, &s);
	ck_assert(s.has_creds);
	snprintf(body, sizeof(body), "[{\"accessKeyId\":\"%s\",\"secretAccessKey\":\"%s\","
		 "\"sessionToken\":\"%s\"}]", s.akid, s.secret, s.token);
	ctl(dyn.proxy.port, "/__creds", body);
	ctl(dyn.proxy.port, "/__region", "{\"region\":\"eu-south-1\"}");
	ctl(imds.port, "/__reset", "{}");   /* the SDK asked for the region too */
	hsdo_test_poll_init(&pl, &loop);
	ck_assert_int_eq(client_new(&c, e.v, &loop, 0, err, sizeof(err)), 0);
	pl.h = c.http;
	ck_assert_str_eq(hsdo_aws_region(c.aws), "");   /* not known yet: no blocking read */
	ck_assert_int_eq(hsdo_aws_call(c.aws, &list_req, on_done, &d), 0);
	for (i = 1; i <= 10; i++)
		ck_assert_int_eq(hsdo_http_after(c.http, 50 * i, on_tick, &ticks), 0);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &d.done, 20000), 0);
	ck_assert_msg(d.rc == 0, "%s", d.err);
	ck_assert_msg(ticks >= 8, "only %d timers ran while the process ran", ticks);
	ck_assert_str_eq(hsdo_aws_region(c.aws), "eu-south-1");
	ck_assert_str_eq(hsdo_aws_creds_source(c.aws), "process");
	ck_assert_int_eq(stat_of(imds.port, "regionGets"), 1);
	client_free(&c);
	env_free(&e);
	free(dir);
}
END_TEST

/* Secrets of the chain never reach the description or an error. */
START_TEST(chain_description)
{
	struct client c;
	struct env e;
	char err[1024] = "";
	const char *where = NULL;
	char *dir;

	dir = case_dir("describe", "[base]\n" BASE_KEYS,
		       "[default]\nregion = eu-west-3\n[profile app]\nrole_arn = " ARN("app") "\n"
		       "source_profile = base\n");
	env_base(&e, dir, false);
	env_add(&e, dir, "AWS_PROFILE=app");
	env_add(&e, dir, "AWS_DEFAULT_REGION=");
	ck_assert_int_eq(client_new(&c, e.v, NULL, 0, err, sizeof(err)), 0);
	ck_assert_msg(strstr(hsdo_aws_creds_chain(c.aws), "profile app: keys (") != NULL &&
		      strstr(hsdo_aws_creds_chain(c.aws), "/credentials:2), then AssumeRole "
			     ARN("app") " (profile app)") != NULL, "%s", hsdo_aws_creds_chain(c.aws));
	ck_assert_ptr_null(strstr(hsdo_aws_creds_chain(c.aws), "base-secret"));
	/* the profile app has no region: the configuration's */
	ck_assert_int_eq(hsdo_aws_region_source(c.aws, &where), HSDO_CREDS_REGION_CONFIG);
	ck_assert_str_eq(hsdo_aws_region(c.aws), "ap-northeast-3");
	client_free(&c);
	env_free(&e);
	free(dir);
}
END_TEST

static Suite *chain_suite(void)
{
	Suite *s = suite_create("aws_chain");
	TCase *tc = tcase_create("chain");

	tcase_add_unchecked_fixture(tc, peers_up, peers_down);
	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, same_answer_as_the_sdk, 0, N(cases));
	tcase_add_test(tc, assume_role_request_and_refresh);
	tcase_add_test(tc, sts_errors_name_the_role);
	tcase_add_loop_test(tc, credential_process_failures, 0, N(bad_processes));
	tcase_add_test(tc, event_loop_never_waits);
	tcase_add_test(tc, chain_description);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(chain_suite());
}
