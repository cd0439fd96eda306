/* Fault suite: server mode (static source, file store) against hostile
 * lists. A FIFO at SERVER_STATIC_FILE, YAML garbage, 20,000 instances for
 * 8 slots, and a list that empties itself: the safety valve holds for
 * SERVER_VALVE_SECONDS (3 s here, at INTERVAL 0.2: it once gave way after
 * 3 cycles, 0.6 s) before the table follows. During each, /metrics keeps
 * answering; after each, the next list is written to the table (fault.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsdo/store.h"

#include "fault.h"
#include "hsdo_test.h"

static struct fault_env env;

static void setup(void)
{
	struct fault_opts o = { .server = true,
				.extra = "SERVER_VALVE_SECONDS: 3\nSERVER_DRAIN_TIME: 1" };

	fault_setup(&env, &o);
}

static void teardown(void)
{
	fault_teardown(&env);
}

static void list_raw(const char *text, size_t len)
{
	char tmpp[700];

	snprintf(tmpp, sizeof(tmpp), "%s.raw", env.list_path);
	ck_assert_int_eq(hsdo_test_write_file(tmpp, text, len), 0);
	ck_assert_int_eq(rename(tmpp, env.list_path), 0);
}

/* Active slots in the table the server wrote, or -1. */
static int active_slots(void)
{
	struct hsdo_table t;
	char err[256];
	size_t i;
	int n = 0;

	if (hsdo_store_read_table(env.store, &t, err, sizeof(err)) != 0)
		return -1;
	for (i = 0; i < t.n; i++)
		n += t.slots[i].state == HSDO_SLOT_ACTIVE;
	hsdo_table_free(&t);
	return n;
}

static void hold(const char *name, int ms)
{
	struct fault_stats m, n;

	fault_probe_start(&env);
	usleep((useconds_t)ms * 1000);
	fault_probe_stop(&env, &m, &n);
	fault_report(name, &m, &n);
	ck_assert_int_eq(active_slots(), (int)env.instances);
}

START_TEST(list_fifo)
{
	ck_assert_int_eq(unlink(env.list_path), 0);
	ck_assert_int_eq(mkfifo(env.list_path, 0644), 0);
	hold("a FIFO at SERVER_STATIC_FILE", 3000);
	ck_assert(fault_log_count(&env, "not a regular file") > 0);
	ck_assert_int_eq(unlink(env.list_path), 0);
	fault_check_recovered(&env, "FIFO list");
}
END_TEST

START_TEST(list_garbage)
{
	static const char junk[] = "- name: [unclosed\n  ip: {\n\x01\x02";

	list_raw(junk, sizeof(junk) - 1);
	hold("a YAML list that does not parse", 2000);
	fault_check_recovered(&env, "garbage list");
}
END_TEST

START_TEST(list_huge)
{
	size_t cap = (size_t)20000 * 80, len = 0;
	char *text = malloc(cap);
	unsigned i;

	ck_assert_ptr_nonnull(text);
	for (i = 1; i <= 20000; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"- name: x-%u\n  ip: 10.1.%u.%u\n  group: web\n", i,
					i / 250 % 250, i % 250 + 1);
	list_raw(text, len);
	free(text);
	{
		struct fault_stats m, n;

		fault_probe_start(&env);
		usleep(3000000);
		fault_probe_stop(&env, &m, &n);
		fault_report("20,000 instances for 8 slots", &m, &n);
	}
	ck_assert(fault_log_wait(&env, "overflow", 5000));
	fault_check_recovered(&env, "20,000 instances");
}
END_TEST

/* Finding 9: the valve holds an emptied list for SERVER_VALVE_SECONDS. */
START_TEST(valve_seconds)
{
	double t0, gave;

	list_raw("[]\n", 3);
	t0 = fault_now_ms();
	usleep(1500000);
	ck_assert_msg(active_slots() == (int)env.instances, "the valve gave way within 1.5 s "
		      "(SERVER_VALVE_SECONDS 3, INTERVAL 0.2); log %s", env.log_path);
	while (active_slots() != 0 && fault_now_ms() - t0 < 15000)
		usleep(100000);
	gave = fault_now_ms() - t0;
	printf("valve: an empty list applied after %.1f s (SERVER_VALVE_SECONDS 3)\n",
	       gave / 1000.0);
	ck_assert_msg(gave >= 3000 && gave < 15000, "the valve gave way after %.1f s", gave / 1000);
	ck_assert(fault_log_count(&env, "safety valve") > 0);
	env.instances = 0;
	fault_check_recovered(&env, "valve");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("faults_server");
	TCase *tc = tcase_create("server");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, list_fifo);
	tcase_add_test(tc, list_garbage);
	tcase_add_test(tc, list_huge);
	tcase_add_test(tc, valve_seconds);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(suite());
}
