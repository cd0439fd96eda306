/* Fault suite: the DynamoDB store (dynalite behind the SigV4 verifier)
 * under a running client. DynamoDB hung (the verifier stopped: once
 * invisible for ~50 s, neither logged nor in /healthz), the table missing
 * from the start (once logged every cycle, each line made unique by its
 * request id), the verifier killed and restarted, the table deleted and
 * created again. During each, /metrics and ACKs keep answering and HAProxy
 * keeps the last good table; after each, the next table applies (fault.h). */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "hsdo_test.h"

static struct fault_env env;

static void setup(void)
{
	struct fault_opts o = { .store = FAULT_STORE_DYNAMODB, .extra = "HEALTHZ_STALL_TIMEOUT: 2" };

	fault_setup(&env, &o);
}

static void setup_missing(void)
{
	struct fault_opts o = { .store = FAULT_STORE_DYNAMODB, .no_first_table = true };

	fault_setup(&env, &o);
}

static void teardown(void)
{
	fault_teardown(&env);
}

/* Finding 5: DynamoDB accepts and never answers: within
 * HEALTHZ_STALL_TIMEOUT (2 s here) /healthz says the store call is
 * outstanding, and the log says it once. */
START_TEST(hung)
{
	struct fault_stats m, n;
	char why[600] = "";

	fault_probe_start(&env);
	ck_assert_int_eq(kill(env.ddb.proxy.pid, SIGSTOP), 0);
	ck_assert_msg(fault_healthz_wait(&env, 503, why, sizeof(why), 6000),
		      "/healthz stayed 200 while DynamoDB hangs");
	ck_assert_msg(strstr(why, "store dynamodb") != NULL && strstr(why, "outstanding") != NULL,
		      "/healthz: %s", why);
	ck_assert_msg(fault_log_wait(&env, "outstanding", 2000),
		      "nothing logged while DynamoDB hangs; log %s", env.log_path);
	usleep(2000000);
	ck_assert_int_eq(fault_log_count(&env, "outstanding for"), 1);
	ck_assert_int_eq(kill(env.ddb.proxy.pid, SIGCONT), 0);
	fault_probe_stop(&env, &m, &n);
	fault_report("DynamoDB hung (verifier stopped)", &m, &n);
	ck_assert_msg(fault_healthz_wait(&env, 200, why, sizeof(why), 15000), "/healthz: %s", why);
	fault_check_recovered(&env, "DynamoDB hung");
}
END_TEST

/* Finding 6: the table is missing for 4 s at INTERVAL 0.2: one error line
 * (and not one per request id), then one line when it answers again. */
START_TEST(missing_table)
{
	uint64_t gen;
	int lines;

	usleep(4000000);
	lines = fault_log_count(&env, "ResourceNotFoundException");
	ck_assert_msg(lines == 1, "the missing table was logged %d times in 4 s; log %s", lines,
		      env.log_path);
	gen = fault_ddb_create(&env);
	ck_assert(fault_applied(&env, gen, 15000));
	ck_assert_msg(fault_log_count(&env, "again") > 0, "no recovery line; log %s",
		      env.log_path);
	usleep(1500000);   /* the HTTP connection cache settles */
	fault_baseline(&env);
	fault_check_recovered(&env, "missing table");
}
END_TEST

START_TEST(killed)
{
	struct fault_stats m, n;

	fault_probe_start(&env);
	ck_assert_int_eq(kill(env.ddb.proxy.pid, SIGKILL), 0);
	usleep(3000000);
	fault_ddb_restart_proxy(&env);
	fault_probe_stop(&env, &m, &n);
	fault_report("DynamoDB killed and restarted", &m, &n);
	fault_check_recovered(&env, "DynamoDB killed");
}
END_TEST

START_TEST(table_deleted)
{
	struct fault_stats m, n;
	uint64_t gen;

	fault_probe_start(&env);
	fault_ddb_delete(&env);
	usleep(3000000);
	fault_probe_stop(&env, &m, &n);
	fault_report("DynamoDB table deleted", &m, &n);
	gen = fault_ddb_create(&env);
	ck_assert(fault_applied(&env, gen, 15000));
	fault_check_recovered(&env, "DynamoDB table deleted");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("faults_ddb");
	TCase *tc = tcase_create("ddb"), *tm = tcase_create("ddb_missing");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, hung);
	tcase_add_test(tc, killed);
	tcase_add_test(tc, table_deleted);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tm, setup_missing, teardown);
	tcase_set_timeout(tm, 240);
	tcase_add_test(tm, missing_table);
	suite_add_tcase(s, tm);
	return s;
}

int main(void)
{
	return hsdo_test_run(suite());
}
