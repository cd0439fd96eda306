/* The one environment lookup (libhsdo/env.h): getenv's matching on a
 * passed-in envp, NULL envp as an empty environment, and the empty-value
 * rule: unset for other tools' variables (AWS, Consul), a value for HSDO's
 * own settings, pinned end to end through the configuration and the AWS
 * region. */
#include <check.h>
#include <string.h>

#include "env.h"
#include "hsdo/config.h"
#include "hsdo/creds.h"
#include "hsdo/diag.h"
#include "hsdo/err.h"
#include "hsdo_test.h"

START_TEST(lookup_matches_like_getenv)
{
	char *envp[] = { "AWS_REGION_X=no", "AWS_REGIO=no", "NOEQUALS", "AWS_REGION=eu-west-1",
			 "AWS_REGION=second", "URL=http://h/?a=b", NULL };

	ck_assert_str_eq(hsdo_env_get(envp, "AWS_REGION"), "eu-west-1");
	ck_assert_str_eq(hsdo_env_value(envp, "AWS_REGION"), "eu-west-1");
	ck_assert_str_eq(hsdo_env_get(envp, "URL"), "http://h/?a=b");
	ck_assert_ptr_null(hsdo_env_get(envp, "NOEQUALS"));
	ck_assert_ptr_null(hsdo_env_value(envp, "NOEQUALS"));
	ck_assert_ptr_null(hsdo_env_get(envp, "AWS"));
	ck_assert_ptr_null(hsdo_env_value(envp, "ABSENT"));
}
END_TEST

START_TEST(null_and_empty_environments)
{
	char *none[] = { NULL };

	ck_assert_ptr_null(hsdo_env_get(NULL, "HOME"));
	ck_assert_ptr_null(hsdo_env_value(NULL, "HOME"));
	ck_assert_ptr_null(hsdo_env_get(none, "HOME"));
	ck_assert_ptr_null(hsdo_env_value(none, "HOME"));
}
END_TEST

START_TEST(empty_value_rule)
{
	char *envp[] = { "AWS_PROFILE=", "CONSUL_HTTP_TOKEN=", NULL };

	/* Other tools' variables: empty is unset. */
	ck_assert_ptr_null(hsdo_env_get(envp, "AWS_PROFILE"));
	ck_assert_ptr_null(hsdo_env_get(envp, "CONSUL_HTTP_TOKEN"));
	/* HSDO's settings: empty is a value. */
	ck_assert_str_eq(hsdo_env_value(envp, "AWS_PROFILE"), "");
}
END_TEST

/* Through the configuration: KEY= replaces the file's value with "". */
START_TEST(setting_set_empty_over_the_file)
{
	const char *yaml = "SERVER_LIFECYCLE_HOOK_NAME: drain-hook\n";
	char *envp[] = { "SERVER_LIFECYCLE_HOOK_NAME=", NULL };
	struct hsdo_config *c = NULL;
	struct hsdo_diag d = { 0 };

	ck_assert_int_eq(hsdo_config_parse(yaml, strlen(yaml), "env.yaml", envp,
					   HSDO_ROLE_ANY, &c, &d), 0);
	ck_assert_str_eq(c->server_lifecycle_hook_name, "");
	hsdo_config_free(c);
	c = NULL;
	ck_assert_int_eq(hsdo_config_parse(yaml, strlen(yaml), "env.yaml", NULL,
					   HSDO_ROLE_ANY, &c, &d), 0);
	ck_assert_str_eq(c->server_lifecycle_hook_name, "drain-hook");
	hsdo_config_free(c);
	hsdo_diag_free(&d);
}
END_TEST

/* Through the AWS chain: AWS_REGION= does not hide AWS_DEFAULT_REGION, and
 * an empty AWS_DEFAULT_REGION does not hide the profile's region. */
START_TEST(aws_variable_empty_is_unset)
{
	char *both[] = { "AWS_REGION=", "AWS_DEFAULT_REGION=us-west-2", NULL };
	char *empty[] = { "AWS_REGION=", "AWS_DEFAULT_REGION=", NULL };
	enum hsdo_creds_region_source src;
	char r[HSDO_CREDS_REGION_MAX], err[256];

	ck_assert_int_eq(hsdo_creds_region(both, "ap-east-1", r, sizeof(r), &src, err,
					   sizeof(err)), 0);
	ck_assert_str_eq(r, "us-west-2");
	ck_assert_int_eq(src, HSDO_CREDS_REGION_ENV_DEFAULT);
	ck_assert_int_eq(hsdo_creds_region(empty, "ap-east-1", r, sizeof(r), &src, err,
					   sizeof(err)), 0);
	ck_assert_str_eq(r, "ap-east-1");
}
END_TEST

static Suite *env_suite(void)
{
	Suite *s = suite_create("env");
	TCase *tc = tcase_create("lookup");

	tcase_add_test(tc, lookup_matches_like_getenv);
	tcase_add_test(tc, null_and_empty_environments);
	tcase_add_test(tc, empty_value_rule);
	tcase_add_test(tc, setting_set_empty_over_the_file);
	tcase_add_test(tc, aws_variable_empty_is_unset);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(env_suite());
}
