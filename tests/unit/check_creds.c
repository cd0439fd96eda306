/* Credentials, region and endpoint resolution: environment rules, IMDS /
 * ECS and credential_process JSON with RFC 3339 expiry, the refresh
 * window, the region's order and source, secrets kept out of every error
 * message, and allocation failures. (The shared files: check_profile.c.) */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "hsdo_test.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYSECRETKEY"
#define TOKEN  "IQoJb3JpZ2luX2VjTOKENSECRET=="

/* ---- environment ---------------------------------------------------------- */

START_TEST(env_full)
{
	char *envp[] = { "HOME=/root", "AWS_ACCESS_KEY_ID=AKIDENV",
			 "AWS_SECRET_ACCESS_KEY=" SECRET, "AWS_SESSION_TOKEN=" TOKEN, NULL };
	struct hsdo_creds c;
	char err[256] = "";

	ck_assert_int_eq(hsdo_creds_from_env(envp, &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDENV");
	ck_assert_str_eq(c.secret_access_key, SECRET);
	ck_assert_str_eq(c.session_token, TOKEN);
	ck_assert_int_eq(c.expiration_s, 0);
	ck_assert_str_eq(c.source, "env");
	hsdo_creds_free(&c);
	ck_assert_ptr_null(c.access_key_id);
	hsdo_creds_free(NULL);
}
END_TEST

START_TEST(env_no_token_and_prefix_names)
{
	char *envp[] = { "AWS_ACCESS_KEY_ID_X=nope", "AWS_ACCESS_KEY_ID=AKID",
			 "AWS_SECRET_ACCESS_KEY=" SECRET, "AWS_SESSION_TOKEN=", NULL };
	struct hsdo_creds c;

	ck_assert_int_eq(hsdo_creds_from_env(envp, &c, NULL, 0), 0);
	ck_assert_str_eq(c.access_key_id, "AKID");
	ck_assert_ptr_null(c.session_token);
	hsdo_creds_free(&c);
}
END_TEST

START_TEST(env_missing)
{
	char *none[] = { "PATH=/bin", NULL };
	char *only_id[] = { "AWS_ACCESS_KEY_ID=AKID", NULL };
	char *only_secret[] = { "AWS_SECRET_ACCESS_KEY=" SECRET, NULL };
	char *empty_id[] = { "AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=" SECRET, NULL };
	struct hsdo_creds c;
	char err[256];

	ck_assert_int_eq(hsdo_creds_from_env(none, &c, err, sizeof(err)), -HSDO_ENOTFOUND);
	ck_assert_int_eq(hsdo_creds_from_env(NULL, &c, err, sizeof(err)), -HSDO_ENOTFOUND);
	ck_assert_int_eq(hsdo_creds_from_env(only_id, &c, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "AWS_SECRET_ACCESS_KEY is not set"));
	ck_assert_ptr_null(c.access_key_id);
	ck_assert_int_eq(hsdo_creds_from_env(only_secret, &c, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "AWS_ACCESS_KEY_ID is not set"));
	ck_assert_ptr_null(strstr(err, SECRET));
	ck_assert_int_eq(hsdo_creds_from_env(empty_id, &c, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "AWS_ACCESS_KEY_ID is not set"));
}
END_TEST

START_TEST(env_bad_value_not_echoed)
{
	char *envp[] = { "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=" SECRET " x", NULL };
	struct hsdo_creds c;
	char err[256];

	ck_assert_int_eq(hsdo_creds_from_env(envp, &c, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "AWS_SECRET_ACCESS_KEY"));
	ck_assert_ptr_null(strstr(err, "wJalr"));
	ck_assert_ptr_null(c.access_key_id);
}
END_TEST

/* ---- IMDS / ECS JSON ------------------------------------------------------- */

#define IMDS_OK "{\"Code\":\"Success\",\"LastUpdated\":\"2026-11-26T11:49:00Z\"," \
	"\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIAIMDS\",\"SecretAccessKey\":\"" SECRET "\"," \
	"\"Token\":\"" TOKEN "\",\"Expiration\":\"2026-11-26T18:00:00Z\"}"

START_TEST(json_imds)
{
	struct hsdo_creds c;
	char err[256];

	ck_assert_int_eq(hsdo_creds_parse_json(IMDS_OK, strlen(IMDS_OK), "imds", &c, err,
					       sizeof(err)), 0);
	ck_assert_str_eq(c.access_key_id, "ASIAIMDS");
	ck_assert_str_eq(c.secret_access_key, SECRET);
	ck_assert_str_eq(c.session_token, TOKEN);
	ck_assert_int_eq(c.expiration_s, INT64_C(1795716000)); /* date -d ... +%s */
	ck_assert_str_eq(c.source, "imds");
	hsdo_creds_free(&c);
}
END_TEST

START_TEST(json_ecs_no_code)
{
	static const char b[] = " {\"AccessKeyId\":\"ASIAECS\",\"SecretAccessKey\":\"S\","
				"\"Token\":\"T\",\"RoleArn\":\"arn:aws:iam::1:role/x\","
				"\"Expiration\":\"2024-02-29T00:00:01.123+00:00\"}\n";
	struct hsdo_creds c;
	char err[256];

	ck_assert_int_eq(hsdo_creds_parse_json(b, strlen(b), "ecs", &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.access_key_id, "ASIAECS");
	ck_assert_int_eq(c.expiration_s, INT64_C(1709164801));
	ck_assert_str_eq(c.source, "ecs");
	hsdo_creds_free(&c);
}
END_TEST

START_TEST(json_no_expiration_never_expires)
{
	static const char b[] = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":null}";
	struct hsdo_creds c;

	ck_assert_int_eq(hsdo_creds_parse_json(b, strlen(b), "ecs", &c, NULL, 0), 0);
	ck_assert_int_eq(c.expiration_s, 0);
	ck_assert_ptr_null(c.session_token);
	ck_assert(!hsdo_creds_need_refresh(&c, INT64_MAX));
	hsdo_creds_free(&c);
}
END_TEST

#define J(k, v) "\"" k "\":" v
#define BASE J("AccessKeyId", "\"AKID\"") "," J("SecretAccessKey", "\"" SECRET "\"")

static const struct {
	const char *body;
	int rc;
	const char *msg;
} json_bad[] = {
	{ "{" J("Code", "\"AssumeRoleUnauthorizedAccess\"") "," BASE "}", -HSDO_EAWS,
	  "Code is AssumeRoleUnauthorizedAccess" },
	{ "{" J("Code", "\"Bad code\\n\"") "," BASE "}", -HSDO_EAWS, "(unprintable)" },
	{ "{" J("Code", "1") "," BASE "}", -HSDO_EPROTO, "Code is not a string" },
	{ "{" J("SecretAccessKey", "\"" SECRET "\"") "}", -HSDO_EPROTO, "AccessKeyId missing" },
	{ "{" J("AccessKeyId", "\"A\"") "}", -HSDO_EPROTO, "SecretAccessKey missing" },
	{ "{" J("AccessKeyId", "\"A\"") "," J("SecretAccessKey", "\"" SECRET " \"") "}",
	  -HSDO_EPROTO, "SecretAccessKey has an invalid character" },
	{ "{" BASE "," J("Token", "7") "}", -HSDO_EPROTO, "Token is not a string" },
	{ "{" BASE "," J("Expiration", "\"2026-11-26 18:00:00\"") "}", -HSDO_EPROTO, "Expiration" },
	{ "{" BASE "," J("Expiration", "\"2026-02-29T18:00:00Z\"") "}", -HSDO_EPROTO, "Expiration" },
	{ "{" BASE "," J("Expiration", "\"2026-11-26T24:00:00Z\"") "}", -HSDO_EPROTO, "Expiration" },
	{ "{" BASE "," J("Expiration", "\"2026-11-26T18:00:00+01:00\"") "}", -HSDO_EPROTO,
	  "Expiration" },
	{ "{" BASE "," J("Expiration", "\"2026-11-26T18:00:00.Z\"") "}", -HSDO_EPROTO,
	  "Expiration" },
	{ "[" BASE "]", -HSDO_EPROTO, "invalid JSON" },
	{ "[1]", -HSDO_EPROTO, "not a JSON object" },
	{ "{" BASE "} x" SECRET, -HSDO_EPROTO, "trailing data" },
	{ "{\"AccessKeyId\":\"" SECRET, -HSDO_EPROTO, "invalid JSON" },
	{ "", -HSDO_EPROTO, "empty body" },
};

START_TEST(json_malformed)
{
	struct hsdo_creds c;
	char err[256] = "";
	const char *b = json_bad[_i].body;

	ck_assert_int_eq(hsdo_creds_parse_json(b, strlen(b), "imds", &c, err, sizeof(err)),
			 json_bad[_i].rc);
	ck_assert_msg(strstr(err, json_bad[_i].msg) != NULL, "case %d: err '%s'", _i, err);
	ck_assert_ptr_null(strstr(err, "wJalr"));
	ck_assert_ptr_null(c.access_key_id);
	ck_assert_ptr_null(c.secret_access_key);
}
END_TEST

START_TEST(refresh_window)
{
	struct hsdo_creds c = { 0 };
	int64_t exp = INT64_C(1795716000);

	ck_assert(hsdo_creds_need_refresh(NULL, 0));
	ck_assert(hsdo_creds_need_refresh(&c, 0)); /* no keys yet */
	c.access_key_id = "AKID";
	ck_assert(!hsdo_creds_need_refresh(&c, exp)); /* no expiry */
	c.expiration_s = exp;
	ck_assert(!hsdo_creds_need_refresh(&c, exp - 301));
	ck_assert(hsdo_creds_need_refresh(&c, exp - 300));
	ck_assert(hsdo_creds_need_refresh(&c, exp - 1));
	ck_assert(hsdo_creds_need_refresh(&c, exp + 10));
}
END_TEST

/* ---- region and endpoints -------------------------------------------------- */

START_TEST(region_order)
{
	char *both[] = { "AWS_DEFAULT_REGION=us-west-2", "AWS_REGION=eu-north-1", NULL };
	char *def[] = { "AWS_DEFAULT_REGION=us-west-2", "AWS_REGION=", NULL };
	char *none[] = { NULL };
	char *bad[] = { "AWS_REGION=us-east-1/../x", NULL };
	char *upper[] = { "AWS_DEFAULT_REGION=US-EAST-1", NULL };
	enum hsdo_creds_region_source src;
	char r[HSDO_CREDS_REGION_MAX];
	char small[4];
	char err[256];

	ck_assert_int_eq(hsdo_creds_region(both, "ap-east-1", r, sizeof(r), &src, err, sizeof(err)), 0);
	ck_assert_str_eq(r, "eu-north-1");
	ck_assert_int_eq(src, HSDO_CREDS_REGION_ENV);
	ck_assert_int_eq(hsdo_creds_region(def, "ap-east-1", r, sizeof(r), &src, err, sizeof(err)), 0);
	ck_assert_str_eq(r, "us-west-2");
	ck_assert_int_eq(src, HSDO_CREDS_REGION_ENV_DEFAULT);
	ck_assert_int_eq(hsdo_creds_region(none, "ap-east-1", r, sizeof(r), &src, err, sizeof(err)), 0);
	ck_assert_str_eq(r, "ap-east-1");
	ck_assert_int_eq(src, HSDO_CREDS_REGION_PROFILE);
	ck_assert_int_eq(hsdo_creds_region(none, NULL, r, sizeof(r), &src, err, sizeof(err)),
			 -HSDO_ENOTFOUND);
	ck_assert_int_eq(src, HSDO_CREDS_REGION_NONE);
	ck_assert_int_eq(hsdo_creds_region(none, "", r, sizeof(r), NULL, err, sizeof(err)),
			 -HSDO_ENOTFOUND);
	ck_assert_int_eq(hsdo_creds_region(bad, NULL, r, sizeof(r), NULL, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "AWS_REGION"));
	ck_assert_str_eq(r, "");
	ck_assert_int_eq(hsdo_creds_region(upper, NULL, r, sizeof(r), NULL, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "AWS_DEFAULT_REGION"));
	ck_assert_int_eq(hsdo_creds_region(none, "EU", r, sizeof(r), NULL, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "profile"));
	ck_assert_int_eq(hsdo_creds_region(both, NULL, small, sizeof(small), NULL, err, sizeof(err)),
			 -HSDO_ETOOBIG);
	ck_assert_str_eq(hsdo_creds_region_source_str(HSDO_CREDS_REGION_IMDS), "instance metadata");
	ck_assert_str_eq(hsdo_creds_region_source_str(HSDO_CREDS_REGION_SOURCE_COUNT), "unknown");
}
END_TEST

/* credential_process output: Version 1, SessionToken, optional Expiration;
 * a secret never in the message. */
START_TEST(process_json)
{
	static const char full[] = "{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", "
		"\"SecretAccessKey\": \"" SECRET "\", \"SessionToken\": \"" TOKEN "\", "
		"\"Expiration\": \"2026-11-26T18:00:00Z\"}\n";
	static const char nodate[] = "{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\"}";
	static const char *const bad[] = {
		"{\"Version\":2,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"}",
		"{\"Version\":\"1\",\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"}",
		"{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\"}",
		"{\"Version\":1,\"SecretAccessKey\":\"" SECRET "\"}",
		"{\"Version\":1,\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"" SECRET "\","
		"\"Expiration\":\"tomorrow\"}",
		"not json " SECRET,
	};
	struct hsdo_creds c;
	char err[256];
	size_t i;

	ck_assert_int_eq(hsdo_creds_parse_process(full, strlen(full), &c, err, sizeof(err)), 0);
	ck_assert_str_eq(c.access_key_id, "AKIDPROC");
	ck_assert_str_eq(c.secret_access_key, SECRET);
	ck_assert_str_eq(c.session_token, TOKEN);
	ck_assert_int_eq(c.expiration_s, INT64_C(1795716000));
	ck_assert_str_eq(c.source, "process");
	hsdo_creds_free(&c);
	ck_assert_int_eq(hsdo_creds_parse_process(nodate, strlen(nodate), &c, err, sizeof(err)), 0);
	ck_assert_int_eq(c.expiration_s, 0);
	ck_assert_ptr_null(c.session_token);
	hsdo_creds_free(&c);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(hsdo_creds_parse_process(bad[i], strlen(bad[i]), &c, err,
							  sizeof(err)), -HSDO_EPROTO);
		ck_assert_msg(err[0] != '\0' && strstr(err, "wJalr") == NULL, "%zu: %s", i, err);
		ck_assert_ptr_null(c.access_key_id);
	}
	/* IMDS JSON spells the token "Token": a process document's is ignored there */
	ck_assert_int_eq(hsdo_creds_parse_json(full, strlen(full), "imds", &c, err, sizeof(err)), 0);
	ck_assert_ptr_null(c.session_token);
	hsdo_creds_free(&c);
}
END_TEST

START_TEST(endpoint_defaults)
{
	static const char *const want[HSDO_CREDS_SVC_COUNT] = {
		"https://dynamodb.eu-west-1.amazonaws.com",
		"https://ec2.eu-west-1.amazonaws.com",
		"https://autoscaling.eu-west-1.amazonaws.com",
		"https://sts.eu-west-1.amazonaws.com",
	};
	char *envp[] = { "AWS_ENDPOINT_URL=", NULL };
	char *url;
	int i;

	for (i = 0; i < HSDO_CREDS_SVC_COUNT; i++) {
		ck_assert_int_eq(hsdo_creds_endpoint(envp, (enum hsdo_creds_service)i, "eu-west-1",
						     &url, NULL, 0), 0);
		ck_assert_str_eq(url, want[i]);
		hsdo_free(url);
	}
	ck_assert_int_eq(hsdo_creds_endpoint(NULL, HSDO_CREDS_SVC_EC2, "Bad Region", &url, NULL,
					     0), -HSDO_EINVAL);
	ck_assert_ptr_null(url);
	ck_assert_int_eq(hsdo_creds_endpoint(NULL, HSDO_CREDS_SVC_COUNT, "eu-west-1", &url, NULL,
					     0), -HSDO_EINVAL);
	ck_assert_str_eq(hsdo_creds_service_str(HSDO_CREDS_SVC_AUTO_SCALING), "autoscaling");
	ck_assert_str_eq(hsdo_creds_service_str(HSDO_CREDS_SVC_COUNT), "unknown");
}
END_TEST

START_TEST(endpoint_overrides)
{
	char *envp[] = { "AWS_ENDPOINT_URL=http://localstack:4566",
			 "AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000",
			 "AWS_ENDPOINT_URL_AUTO_SCALING=HTTPS://as.example/", NULL };
	char *url;

	ck_assert_int_eq(hsdo_creds_endpoint(envp, HSDO_CREDS_SVC_DYNAMODB, "eu-west-1", &url,
					     NULL, 0), 0);
	ck_assert_str_eq(url, "http://127.0.0.1:8000");
	hsdo_free(url);
	ck_assert_int_eq(hsdo_creds_endpoint(envp, HSDO_CREDS_SVC_EC2, NULL, &url, NULL, 0), 0);
	ck_assert_str_eq(url, "http://localstack:4566");
	hsdo_free(url);
	ck_assert_int_eq(hsdo_creds_endpoint(envp, HSDO_CREDS_SVC_AUTO_SCALING, NULL, &url, NULL,
					     0), 0);
	ck_assert_str_eq(url, "HTTPS://as.example/");
	hsdo_free(url);
}
END_TEST

static char *bad_urls[] = {
	"AWS_ENDPOINT_URL_EC2=ftp://x", "AWS_ENDPOINT_URL_EC2=localhost:4566",
	"AWS_ENDPOINT_URL_EC2=http://", "AWS_ENDPOINT_URL_EC2=https:///path",
	"AWS_ENDPOINT_URL_EC2=http://a b", "AWS_ENDPOINT_URL=httpx://a",
};

START_TEST(endpoint_bad_override)
{
	char *envp[] = { bad_urls[_i], NULL };
	char *url = (char *)1;
	char err[256];

	ck_assert_int_eq(hsdo_creds_endpoint(envp, HSDO_CREDS_SVC_EC2, "eu-west-1", &url, err,
					     sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_null(url);
	ck_assert_ptr_nonnull(strstr(err, "AWS_ENDPOINT_URL"));
	ck_assert_ptr_nonnull(strstr(err, "http:// or https://"));
}
END_TEST

/* ---- allocation failures --------------------------------------------------- */

/* Fail allocation n = 1, 2, ... until the call succeeds: every failure must
 * be -HSDO_ENOMEM and leave nothing allocated (ASan/LSan checks the rest). */
START_TEST(alloc_failures)
{
	char *envp[] = { "AWS_ACCESS_KEY_ID=AKID", "AWS_SECRET_ACCESS_KEY=" SECRET,
			 "AWS_SESSION_TOKEN=" TOKEN, NULL };
	struct hsdo_creds c;
	char *url;
	int which, rc, fails;
	unsigned long n;

	for (which = 0; which < 4; which++) {
		fails = 0;
		for (n = 1; n < 10000; n++) {
			hsdo_alloc_fail_at(n, 0);
			switch (which) {
			case 0:
				rc = hsdo_creds_from_env(envp, &c, NULL, 0);
				break;
			case 1:
				rc = hsdo_creds_parse_process("{\"Version\":1,\"AccessKeyId\":\"A\","
							      "\"SecretAccessKey\":\"S\","
							      "\"SessionToken\":\"T\"}", 72, &c,
							      NULL, 0);
				break;
			case 2:
				rc = hsdo_creds_parse_json(IMDS_OK, strlen(IMDS_OK), "imds", &c,
							   NULL, 0);
				break;
			default:
				memset(&c, 0, sizeof(c));
				rc = hsdo_creds_endpoint(envp, HSDO_CREDS_SVC_EC2, "us-east-1",
							 &url, NULL, 0);
				if (rc == 0)
					hsdo_free(url);
				break;
			}
			hsdo_alloc_fail_at(0, 0);
			if (rc == 0)
				break;
			ck_assert_msg(rc == -HSDO_ENOMEM, "which %d n %lu rc %d", which, n, rc);
			ck_assert_ptr_null(c.access_key_id);
			ck_assert_ptr_null(c.secret_access_key);
			ck_assert_ptr_null(c.session_token);
			fails++;
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_msg(fails > 0, "which %d never allocated", which);
		hsdo_creds_free(&c);
	}
}
END_TEST

static Suite *creds_suite(void)
{
	Suite *s = suite_create("creds");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, env_full);
	tcase_add_test(tc, env_no_token_and_prefix_names);
	tcase_add_test(tc, env_missing);
	tcase_add_test(tc, env_bad_value_not_echoed);
	tcase_add_test(tc, json_imds);
	tcase_add_test(tc, json_ecs_no_code);
	tcase_add_test(tc, json_no_expiration_never_expires);
	tcase_add_loop_test(tc, json_malformed, 0, N(json_bad));
	tcase_add_test(tc, refresh_window);
	tcase_add_test(tc, region_order);
	tcase_add_test(tc, process_json);
	tcase_add_test(tc, endpoint_defaults);
	tcase_add_test(tc, endpoint_overrides);
	tcase_add_loop_test(tc, endpoint_bad_override, 0, N(bad_urls));
	tcase_add_test(tc, alloc_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(creds_suite());
}
