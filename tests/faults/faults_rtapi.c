/* Fault suite: a bad HAProxy Runtime API. HAProxy stopped (SIGSTOP: the
 * kernel still accepts, nobody answers), and through the proxy of fault.c:
 * a socket that accepts and never answers, answers dripped one byte every
 * 300 ms, garbage after the prompt, resets, an 80 MB answer. With
 * CLIENT_HAPROXY_TIMEOUT at 5 s the agent once held its whole loop that
 * long (SPOE ACKs and /metrics waited seconds); now, during each, /metrics
 * and ACKs keep answering, and after each the next table applies (fault.h). */
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
	struct fault_opts o = { .extra = "CLIENT_HAPROXY_TIMEOUT: 5\nHEALTHZ_STALL_TIMEOUT: 2" };

	fault_setup(&env, &o);
}

static void teardown(void)
{
	fault_teardown(&env);
}

/* Finding 3, with the real HAProxy: stopped for 8 s. The HAProxy call is
 * outstanding past HEALTHZ_STALL_TIMEOUT (2 s) before it times out (5 s):
 * /healthz says so meanwhile. */
START_TEST(haproxy_stopped)
{
	struct fault_stats m, n;
	char why[600] = "";

	fault_probe_start(&env);
	ck_assert_int_eq(kill(env.hap.pid, SIGSTOP), 0);
	ck_assert_msg(fault_healthz_wait(&env, 503, why, sizeof(why), 6000),
		      "/healthz stayed 200 while HAProxy hangs");
	ck_assert_msg(strstr(why, "HAProxy at") != NULL && strstr(why, "outstanding") != NULL,
		      "/healthz: %s", why);
	usleep(5000000);
	ck_assert_int_eq(kill(env.hap.pid, SIGCONT), 0);
	fault_probe_stop(&env, &m, &n);
	fault_report("HAProxy stopped 8 s (SIGSTOP)", &m, &n);
	fault_check_recovered(&env, "HAProxy stopped");
}
END_TEST

static const struct {
	enum fault_proxy_mode mode;
	const char *name;
} modes[] = {
	{ FAULT_PROXY_HANG, "Runtime API accepts, never answers" },
	{ FAULT_PROXY_DRIP, "Runtime API drips 1 byte / 300 ms" },
	{ FAULT_PROXY_GARBAGE, "Runtime API answers garbage" },
	{ FAULT_PROXY_RESET, "Runtime API resets every connection" },
	{ FAULT_PROXY_HUGE, "Runtime API answers 80 MB" },
};

START_TEST(proxy_fault)
{
	struct fault_stats m, n;

	fault_probe_start(&env);
	fault_proxy_set(&env, modes[_i].mode);
	usleep(7000000);
	fault_proxy_set(&env, FAULT_PROXY_PASS);
	fault_probe_stop(&env, &m, &n);
	fault_report(modes[_i].name, &m, &n);
	fault_check_recovered(&env, modes[_i].name);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("faults_rtapi");
	TCase *tc = tcase_create("rtapi");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, haproxy_stopped);
	tcase_add_loop_test(tc, proxy_fault, 0, (int)(sizeof(modes) / sizeof(modes[0])));
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(suite());
}
