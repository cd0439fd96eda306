/* The shared files and profile resolution: sections, comments, whitespace,
 * key case, "FILE:LINE" in errors, the credentials file over the config
 * file, region from the config file only; then what a profile means: keys,
 * role_arn with source_profile (chains, self-reference, cycles) or
 * credential_source, web identity, credential_process, and every profile
 * that cannot work named with its line. Secrets never in a message. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "hsdo/profile.h"
#include "hsdo_test.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY"
#define TOKEN  "IQoJb3JpZ2luX2VjTOKENSECRET=="
#define ARN(r) "arn:aws:iam::123456789012:role/" r

static const char credentials_file[] =
	"# top comment\n"
	"; another\n"
	"[default]\n"
	"aws_access_key_id = AKIDDEFAULT\n"
	"aws_secret_access_key=" SECRET "\n"
	"\n"
	"[  work  ]   # trailing comment\r\n"
	"  AWS_Access_Key_ID\t=\tAKIDWORK  \r\n"
	"AWS_SECRET_ACCESS_KEY = " SECRET "\r\n"
	"aws_session_token = " TOKEN "\r\n"
	"region = eu-west-1\n"
	"[profile prod]\n"
	"aws_access_key_id = AKIDWRONG\n"
	"aws_secret_access_key = x\n";

static const char config_file[] =
	"[default]\n"
	"region = us-east-1\n"
	"output = json\n"
	"[prod]\n"
	"region = ap-south-1\n"
	"[profile   prod ]\n"
	"region = eu-central-1\n"
	"s3 =\n"
	"  region = bad region\n"
	"  max_concurrent_requests = 10\n"
	"aws_access_key_id = AKIDPROD\n"
	"aws_secret_access_key = " SECRET "\n"
	"[profile nokeys]\n"
	"Region = sa-east-1\n";

static struct hsdo_profiles *g_p;
static struct hsdo_creds_plan g_plan;
static char g_err[512];

static void teardown(void)
{
	hsdo_creds_plan_free(&g_plan);
	hsdo_profiles_free(g_p);
	g_p = NULL;
	hsdo_alloc_fail_at(0, 0);
}

static int parse(const char *cred, const char *conf)
{
	hsdo_profiles_free(g_p);
	g_p = NULL;
	g_err[0] = '\0';
	return hsdo_profiles_parse(cred, cred ? strlen(cred) : 0, "creds", conf,
				   conf ? strlen(conf) : 0, "cfg", &g_p, g_err, sizeof(g_err));
}

static int resolve(const char *profile)
{
	hsdo_creds_plan_free(&g_plan);
	g_err[0] = '\0';
	return hsdo_profiles_resolve(g_p, profile, &g_plan, g_err, sizeof(g_err));
}

/* ---- the files ------------------------------------------------------------------ */

START_TEST(credentials_profiles)
{
	ck_assert_int_eq(parse(credentials_file, NULL), 0);
	ck_assert_int_eq(resolve("default"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_STATIC);
	ck_assert_str_eq(g_plan.keys.access_key_id, "AKIDDEFAULT");
	ck_assert_str_eq(g_plan.keys.secret_access_key, SECRET);
	ck_assert_ptr_null(g_plan.keys.session_token);
	ck_assert_str_eq(g_plan.keys.source, "credentials");
	ck_assert_str_eq(g_plan.where, "creds:4");
	ck_assert_str_eq(g_plan.region, "");
	ck_assert_int_eq(resolve("work"), 0);
	ck_assert_str_eq(g_plan.keys.access_key_id, "AKIDWORK");
	ck_assert_str_eq(g_plan.keys.session_token, TOKEN);
	ck_assert_str_eq(g_plan.region, "");   /* region is read from the config file only */
	/* "[profile prod]" in credentials is the literal name "profile prod". */
	ck_assert_int_eq(resolve("prod"), -HSDO_ENOTFOUND);
	ck_assert(hsdo_profiles_has(g_p, "profile prod"));
	ck_assert_ptr_null(g_plan.keys.access_key_id);
}
END_TEST

START_TEST(config_profiles)
{
	char where[HSDO_PROFILE_WHERE_MAX];

	ck_assert_int_eq(parse(NULL, config_file), 0);
	ck_assert_int_eq(resolve("default"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_NONE);
	ck_assert_str_eq(g_plan.region, "us-east-1");
	ck_assert_str_eq(g_plan.region_where, "cfg:2");
	ck_assert_int_eq(resolve("prod"), 0);
	ck_assert_str_eq(g_plan.region, "eu-central-1");   /* "[prod]" ignored; nested s3 skipped */
	ck_assert_str_eq(g_plan.keys.access_key_id, "AKIDPROD");
	ck_assert_str_eq(g_plan.keys.source, "config");
	ck_assert_int_eq(resolve("nokeys"), 0);
	ck_assert_str_eq(g_plan.region, "sa-east-1");
	ck_assert_int_eq(resolve("work"), -HSDO_ENOTFOUND);
	ck_assert_str_eq(hsdo_profiles_get(g_p, "prod", "region", where, sizeof(where)),
			 "eu-central-1");
	ck_assert_str_eq(where, "cfg:7");
	ck_assert_ptr_null(hsdo_profiles_get(g_p, "prod", "role_arn", where, sizeof(where)));
	ck_assert_str_eq(where, "");
}
END_TEST

/* Later lines win inside a file; the credentials file wins over config. */
START_TEST(precedence)
{
	static const char conf[] = "[profile default]\naws_access_key_id=A1\naws_secret_access_key=S1\n"
				   "[default]\naws_access_key_id=A2\n";
	static const char cred[] = "[default]\naws_secret_access_key=S3\n";

	ck_assert_int_eq(parse(NULL, conf), 0);
	ck_assert_int_eq(resolve("default"), 0);
	ck_assert_str_eq(g_plan.keys.access_key_id, "A2");
	ck_assert_str_eq(g_plan.keys.secret_access_key, "S1");
	ck_assert_int_eq(parse(cred, conf), 0);
	ck_assert_int_eq(resolve("default"), 0);
	ck_assert_str_eq(g_plan.keys.access_key_id, "A2");
	ck_assert_str_eq(g_plan.keys.secret_access_key, "S3");
}
END_TEST

/* Malformed files: the code, the file and line named, the secret never
 * echoed. */
static const struct {
	const char *text;
	int rc;
	const char *msg;
} bad_files[] = {
	{ "aws_secret_access_key = " SECRET "\n", -HSDO_EPROTO, "cfg: line 1: key outside" },
	{ "[default]\n" SECRET "\n", -HSDO_EPROTO, "cfg: line 2: expected 'key = value'" },
	{ "[default\naws_access_key_id=A\n", -HSDO_EPROTO, "cfg: line 1: section header without" },
	{ "[default] " SECRET "\n", -HSDO_EPROTO, "cfg: line 1: text after section header" },
	{ "[ ]\n", -HSDO_EPROTO, "cfg: line 1: empty section name" },
	{ "[default]\n= " SECRET "\n", -HSDO_EPROTO, "cfg: line 2: missing key" },
	{ "[default]\n\n\naws_secret_access_key = " SECRET " tail\n", -HSDO_EPROTO,
	  "line 4: cfg: aws_secret_access_key has an invalid character" },
	{ "[default]\naws_access_key_id =\n", -HSDO_EPROTO, "line 2: cfg: aws_access_key_id is empty" },
	{ "[default]\nregion = US_EAST\n", -HSDO_EPROTO, "cfg: line 2: region must be" },
	{ "[default]\ncredential_process = a\tb\x01\n", -HSDO_EPROTO,
	  "cfg: line 2: credential_process has a control character" },
};

START_TEST(malformed)
{
	ck_assert_int_eq(parse(NULL, bad_files[_i].text), bad_files[_i].rc);
	ck_assert_msg(strstr(g_err, bad_files[_i].msg) != NULL, "case %d: err '%s'", _i, g_err);
	ck_assert_ptr_null(strstr(g_err, "wJalr"));
	ck_assert_ptr_null(g_p);
}
END_TEST

START_TEST(nul_and_size)
{
	static const char f[] = "[default]\naws_access_key_id = A\0B\n";
	char *big;

	ck_assert_int_eq(hsdo_profiles_parse(f, sizeof(f) - 1, "creds", NULL, 0, "cfg", &g_p, g_err,
					     sizeof(g_err)), -HSDO_EPROTO);
	ck_assert_str_eq(g_err, "creds: line 2: NUL byte");
	big = calloc(HSDO_CREDS_FILE_MAX + 1, 1);
	ck_assert_ptr_nonnull(big);
	memset(big, '#', HSDO_CREDS_FILE_MAX + 1);
	ck_assert_int_eq(hsdo_profiles_parse(NULL, 0, "creds", big, HSDO_CREDS_FILE_MAX + 1, "cfg",
					     &g_p, g_err, sizeof(g_err)), -HSDO_ETOOBIG);
	free(big);
	ck_assert_int_eq(parse(NULL, NULL), 0);
	ck_assert(!hsdo_profiles_has(g_p, "default"));
	ck_assert_int_eq(resolve("default"), -HSDO_ENOTFOUND);
}
END_TEST

/* ---- resolution ------------------------------------------------------------------ */

START_TEST(role_with_source_profile)
{
	static const char cred[] = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = " SECRET "\n";
	static const char conf[] =
		"[profile app]\n"
		"role_arn = " ARN("app") "\n"
		"source_profile = mid\n"
		"role_session_name = hsdo-test\n"
		"external_id = ext-1234\n"
		"duration_seconds = 1800\n"
		"region = eu-west-3\n"
		"[profile mid]\n"
		"role_arn = " ARN("mid") "\n"
		"source_profile = base\n"
		"[profile base]\n"
		"role_arn = " ARN("ignored") "\n"
		"source_profile = base\n";

	ck_assert_int_eq(parse(cred, conf), 0);
	ck_assert_int_eq(resolve("app"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_STATIC);
	ck_assert_str_eq(g_plan.keys.access_key_id, "AKIDBASE");   /* its keys win over its role */
	ck_assert_uint_eq(g_plan.nroles, 2);
	ck_assert_str_eq(g_plan.roles[0].role_arn, ARN("mid"));
	ck_assert_ptr_null(g_plan.roles[0].session_name);
	ck_assert_int_eq(g_plan.roles[0].duration_s, 0);
	ck_assert_str_eq(g_plan.roles[0].profile, "mid");
	ck_assert_str_eq(g_plan.roles[1].role_arn, ARN("app"));
	ck_assert_str_eq(g_plan.roles[1].session_name, "hsdo-test");
	ck_assert_str_eq(g_plan.roles[1].external_id, "ext-1234");
	ck_assert_int_eq(g_plan.roles[1].duration_s, 1800);
	ck_assert_str_eq(g_plan.region, "eu-west-3");
	ck_assert_str_eq(g_plan.profile, "app");
}
END_TEST

/* A profile may name itself as its source when it has keys. */
START_TEST(self_source_profile)
{
	static const char cred[] = "[me]\naws_access_key_id = AKIDME\naws_secret_access_key = s\n"
				   "role_arn = " ARN("me") "\nsource_profile = me\n";

	ck_assert_int_eq(parse(cred, NULL), 0);
	ck_assert_int_eq(resolve("me"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_STATIC);
	ck_assert_str_eq(g_plan.keys.access_key_id, "AKIDME");
	ck_assert_uint_eq(g_plan.nroles, 1);
}
END_TEST

START_TEST(credential_sources)
{
	static const char conf[] =
		"[profile e]\nrole_arn = " ARN("e") "\ncredential_source = Environment\n"
		"[profile i]\nrole_arn = " ARN("i") "\ncredential_source = Ec2InstanceMetadata\n"
		"[profile c]\nrole_arn = " ARN("c") "\ncredential_source = EcsContainer\n"
		"[profile s]\nrole_arn = " ARN("s") "\nsource_profile = i\n";

	ck_assert_int_eq(parse(NULL, conf), 0);
	ck_assert_int_eq(resolve("e"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_ENV);
	ck_assert_uint_eq(g_plan.nroles, 1);
	ck_assert_str_eq(g_plan.where, "cfg:3");
	ck_assert_int_eq(resolve("i"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_IMDS);
	ck_assert_int_eq(resolve("c"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_ECS);
	ck_assert_int_eq(resolve("s"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_IMDS);
	ck_assert_uint_eq(g_plan.nroles, 2);
	ck_assert_str_eq(g_plan.roles[0].role_arn, ARN("i"));
	ck_assert_str_eq(g_plan.roles[1].role_arn, ARN("s"));
	ck_assert_str_eq(hsdo_creds_base_str(HSDO_CREDS_BASE_ECS), "ecs");
	ck_assert_str_eq(hsdo_creds_base_str(HSDO_CREDS_BASE_COUNT), "unknown");
}
END_TEST

START_TEST(web_identity_and_process)
{
	static const char conf[] =
		"[profile w]\nweb_identity_token_file = /var/run/token\nrole_arn = " ARN("w") "\n"
		"role_session_name = pod-1\n"
		"[profile p]\ncredential_process = /usr/local/bin/creds --profile \"x y\"\n"
		"[profile pw]\nrole_arn = " ARN("pw") "\nsource_profile = p\n";

	ck_assert_int_eq(parse(NULL, conf), 0);
	ck_assert_int_eq(resolve("w"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_WEB_IDENTITY);
	ck_assert_str_eq(g_plan.token_file, "/var/run/token");
	ck_assert_str_eq(g_plan.web.role_arn, ARN("w"));
	ck_assert_str_eq(g_plan.web.session_name, "pod-1");
	ck_assert_uint_eq(g_plan.nroles, 0);
	ck_assert_int_eq(resolve("p"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_PROCESS);
	ck_assert_str_eq(g_plan.process, "/usr/local/bin/creds --profile \"x y\"");
	ck_assert_int_eq(resolve("pw"), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_PROCESS);
	ck_assert_uint_eq(g_plan.nroles, 1);
}
END_TEST

/* Profiles that cannot work: each named with its file and line. */
static const struct {
	const char *conf;
	const char *profile;
	const char *msg;
} bad_profiles[] = {
	{ "[default]\naws_access_key_id = A\n", "default",
	  "cfg:2: profile default has aws_access_key_id but no aws_secret_access_key" },
	{ "[default]\naws_secret_access_key = " SECRET "\n", "default",
	  "cfg:2: profile default has aws_secret_access_key but no aws_access_key_id" },
	{ "[default]\naws_session_token = " TOKEN "\n", "default",
	  "cfg:2: profile default has aws_session_token but no keys" },
	{ "[default]\nrole_arn = " ARN("r") "\n", "default",
	  "cfg:2: profile default: role_arn needs source_profile, credential_source or "
	  "web_identity_token_file" },
	{ "[default]\nrole_arn = " ARN("r") "\nsource_profile = nope\n", "default",
	  "cfg:3: profile default: source_profile nope: no such profile" },
	{ "[default]\nrole_arn = " ARN("r") "\nsource_profile = b\n[profile b]\nrole_arn = "
	  ARN("b") "\nsource_profile = default\n", "default",
	  "cfg:6: profile b: source_profile default makes a cycle" },
	{ "[default]\nrole_arn = " ARN("r") "\ncredential_source = Ec2\n", "default",
	  "cfg:3: profile default: credential_source must be Environment, Ec2InstanceMetadata or "
	  "EcsContainer" },
	{ "[default]\nrole_arn = " ARN("r") "\ncredential_source = Environment\nsource_profile = x\n",
	  "default", "cfg:3: profile default has both source_profile and credential_source" },
	{ "[default]\nrole_arn = " ARN("r") "\ncredential_source = Environment\nmfa_serial = x\n",
	  "default", "cfg:4: profile default: mfa_serial needs a code typed in" },
	{ "[default]\nrole_arn = " ARN("r") "\ncredential_source = Environment\n"
	  "duration_seconds = 60\n", "default",
	  "cfg:4: profile default: duration_seconds must be 900..43200" },
	{ "[default]\nsso_session = corp\n", "default",
	  "cfg:2: profile default: IAM Identity Center (SSO) profiles need a browser login" },
	{ "[default]\nrole_arn = " ARN("r") "\nsource_profile = b\n[profile b]\nregion = eu-west-1\n",
	  "default", "profile b (a source_profile) has no credentials" },
	{ "[profile a]\nrole_arn=" ARN("a") "\nsource_profile=b\n[profile b]\nrole_arn=" ARN("b")
	  "\nsource_profile=c\n[profile c]\nrole_arn=" ARN("c") "\nsource_profile=d\n"
	  "[profile d]\nrole_arn=" ARN("d") "\nsource_profile=e\n[profile e]\nrole_arn=" ARN("e")
	  "\nsource_profile=f\n[profile f]\nrole_arn=" ARN("f") "\nsource_profile=g\n"
	  "[profile g]\nrole_arn=" ARN("g") "\nsource_profile=h\n[profile h]\nrole_arn=" ARN("h")
	  "\nsource_profile=i\n[profile i]\nrole_arn=" ARN("i") "\nsource_profile=j\n"
	  "[profile j]\naws_access_key_id=A\naws_secret_access_key=S\n", "a",
	  "profile i: more than 8 roles in the chain" },
};

START_TEST(profiles_that_cannot_work)
{
	ck_assert_int_eq(parse(NULL, bad_profiles[_i].conf), 0);
	ck_assert_int_eq(resolve(bad_profiles[_i].profile), -HSDO_EPROTO);
	ck_assert_msg(strstr(g_err, bad_profiles[_i].msg) != NULL, "case %d: err '%s'", _i, g_err);
	ck_assert_ptr_null(strstr(g_err, "wJalr"));
	ck_assert_ptr_null(strstr(g_err, "TOKENSECRET"));
	ck_assert_uint_eq(g_plan.nroles, 0);
	ck_assert_ptr_null(g_plan.keys.access_key_id);
}
END_TEST

START_TEST(web_identity_from_env)
{
	char *both[] = { "AWS_WEB_IDENTITY_TOKEN_FILE=/t", "AWS_ROLE_ARN=" ARN("w"),
			 "AWS_ROLE_SESSION_NAME=s1", NULL };
	char *half[] = { "AWS_ROLE_ARN=" ARN("w"), NULL };
	char *none[] = { "AWS_ROLE_SESSION_NAME=s1", NULL };

	ck_assert_int_eq(hsdo_creds_plan_from_env(both, &g_plan, g_err, sizeof(g_err)), 0);
	ck_assert_int_eq(g_plan.base, HSDO_CREDS_BASE_WEB_IDENTITY);
	ck_assert_str_eq(g_plan.token_file, "/t");
	ck_assert_str_eq(g_plan.web.role_arn, ARN("w"));
	ck_assert_str_eq(g_plan.web.session_name, "s1");
	hsdo_creds_plan_free(&g_plan);
	ck_assert_int_eq(hsdo_creds_plan_from_env(half, &g_plan, g_err, sizeof(g_err)),
			 -HSDO_EINVAL);
	ck_assert_str_eq(g_err, "AWS_ROLE_ARN is set but AWS_WEB_IDENTITY_TOKEN_FILE is not");
	ck_assert_int_eq(hsdo_creds_plan_from_env(none, &g_plan, g_err, sizeof(g_err)),
			 -HSDO_ENOTFOUND);
}
END_TEST

/* Every allocation failure is -HSDO_ENOMEM and frees what it took. */
START_TEST(alloc_failures)
{
	static const char conf[] = "[profile app]\nrole_arn = " ARN("app") "\nsource_profile = b\n"
				   "external_id = x1\nrole_session_name = s1\n"
				   "[profile b]\naws_access_key_id = A\naws_secret_access_key = S\n"
				   "aws_session_token = T\n";
	unsigned long n;
	int rc = -1, fails = 0;

	for (n = 1; n < 10000; n++) {
		hsdo_alloc_fail_at(n, 0);
		rc = parse(credentials_file, conf);
		if (rc == 0)
			rc = resolve("app");
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_msg(rc == -HSDO_ENOMEM, "n %lu rc %d %s", n, rc, g_err);
		ck_assert_uint_eq(g_plan.nroles, 0);
		fails++;
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_int_gt(fails, 5);
}
END_TEST

static Suite *profile_suite(void)
{
	Suite *s = suite_create("profile");
	TCase *tc = tcase_create("files");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, credentials_profiles);
	tcase_add_test(tc, config_profiles);
	tcase_add_test(tc, precedence);
	tcase_add_loop_test(tc, malformed, 0, N(bad_files));
	tcase_add_test(tc, nul_and_size);
	suite_add_tcase(s, tc);
	tc = tcase_create("resolve");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, role_with_source_profile);
	tcase_add_test(tc, self_source_profile);
	tcase_add_test(tc, credential_sources);
	tcase_add_test(tc, web_identity_and_process);
	tcase_add_loop_test(tc, profiles_that_cannot_work, 0, N(bad_profiles));
	tcase_add_test(tc, web_identity_from_env);
	tcase_add_test(tc, alloc_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(profile_suite());
}
