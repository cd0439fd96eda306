/* Fault suite: the file store under a running client, and hostile tables.
 * A FIFO put at STORE_FILE_PATH (the agent once hung in open() forever),
 * the file deleted, corrupt JSON, an address carrying a NUL byte and a
 * Runtime API command after it, a table with more slots than
 * HAPROXY_BACKEND_SERVERS_LIST_SIZE and one with fewer, an oversized file
 * and a 100,000-slot table. During each, /metrics and ACKs keep answering
 * and HAProxy keeps the last good table; after each, the next table
 * applies (fault.h). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hsdo/rtapi.h"

#include "fault.h"
#include "hsdo_test.h"

static struct fault_env env;
static char *good;          /* the document as generation 1 left it */
static size_t good_len;

static void setup(void)
{
	fault_setup(&env, NULL);
	good = hsdo_test_read_file(env.store_path, &good_len);
	ck_assert_ptr_nonnull(good);
}

static void teardown(void)
{
	free(good);
	good = NULL;
	fault_teardown(&env);
}

static void restore(void)
{
	(void)unlink(env.store_path);
	fault_store_raw(&env, good, good_len);
}

/* HAProxy's web<id>: its address and admin state; false when absent. */
static bool web(unsigned id, char *addr, size_t addrlen, unsigned *admin)
{
	struct hsdo_servers_state st;
	char name[16], err[128], *reply;
	size_t len = 0, i;
	bool found = false;

	snprintf(name, sizeof(name), "web%u", id);
	reply = hsdo_test_rtapi_cmd(env.hap.sock, "show servers state be_app", &len);
	if (reply == NULL || hsdo_rtapi_parse_servers_state(reply, len, &st, err, sizeof(err)) != 0) {
		free(reply);
		return false;
	}
	free(reply);
	for (i = 0; i < st.n; i++)
		if (strcmp(st.srv[i].srv_name, name) == 0) {
			snprintf(addr, addrlen, "%s", st.srv[i].addr);
			*admin = st.srv[i].admin_state;
			found = true;
		}
	hsdo_rtapi_servers_state_free(&st);
	return found;
}

/* One slot item as the file store writes it. */
static size_t item(char *out, size_t cap, unsigned id, const char *ip, unsigned weight)
{
	if (ip == NULL)
		return (size_t)snprintf(out, cap, "{\"BackendServerID\":{\"N\":\"%u\"},"
			"\"IPAddress\":{\"S\":\"none\"},\"ServerName\":{\"S\":\"none\"},"
			"\"ASG\":{\"S\":\"none\"},\"Weight\":{\"N\":\"0\"},"
			"\"BackendServerStatus\":{\"S\":\"disabled\"},"
			"\"LastWeightUpdate\":{\"S\":\"0-0-0 00:00:00.000000\"}}", id);
	return (size_t)snprintf(out, cap, "{\"BackendServerID\":{\"N\":\"%u\"},"
		"\"IPAddress\":{\"S\":\"%s\"},\"ServerName\":{\"S\":\"i-%u\"},"
		"\"ASG\":{\"S\":\"web\"},\"Weight\":{\"N\":\"%u\"},"
		"\"BackendServerStatus\":{\"S\":\"enabled\"},"
		"\"LastWeightUpdate\":{\"S\":\"2026-01-01 00:00:00.000000\"},\"Port\":{\"N\":\"8081\"}}",
		id, ip, id, weight);
}

/* A document of n slots at generation gen: slot 1 has ip1 (raw JSON
 * string content), slot 2 127.0.0.2, the others free. */
static char *doc(unsigned gen, unsigned n, const char *ip1, size_t *len)
{
	size_t cap = 300 * ((size_t)n + 2), at;
	char *d = malloc(cap);
	unsigned i;

	ck_assert_ptr_nonnull(d);
	at = (size_t)snprintf(d, cap, "{\"format\":\"hsdo-slots\",\"version\":1,\"generation\":%u,"
			      "\"slots\":[\n", gen);
	for (i = 1; i <= n; i++) {
		at += item(d + at, cap - at, i, i == 1 ? ip1 : i == 2 ? "127.0.0.2" : NULL, 33);
		at += (size_t)snprintf(d + at, cap - at, "%s\n", i < n ? "," : "");
	}
	at += (size_t)snprintf(d + at, cap - at, "]}\n");
	*len = at;
	return d;
}

/* During the fault: probes answer, and HAProxy keeps web1 at 127.0.0.1. */
static void hold(const char *name, int ms)
{
	struct fault_stats m, n;
	char addr[64] = "";
	unsigned admin = 0;

	fault_probe_start(&env);
	usleep((useconds_t)ms * 1000);
	fault_probe_stop(&env, &m, &n);
	fault_report(name, &m, &n);
	ck_assert(web(1, addr, sizeof(addr), &admin));
	ck_assert_msg(strcmp(addr, "127.0.0.1") == 0, "%s: web1 is at %s", name, addr);
}

/* Finding 4: a FIFO at STORE_FILE_PATH. */
START_TEST(fifo)
{
	char why[600] = "";

	ck_assert_int_eq(unlink(env.store_path), 0);
	ck_assert_int_eq(mkfifo(env.store_path, 0644), 0);
	hold("a FIFO at STORE_FILE_PATH", 4000);
	ck_assert_msg(fault_log_count(&env, "not a regular file") > 0,
		      "the agent did not say the store is not a regular file; log %s", env.log_path);
	ck_assert_int_eq(fault_healthz(&env, why, sizeof(why)), 503);
	ck_assert_msg(strstr(why, "not a regular file") != NULL, "/healthz: %s", why);
	restore();
	fault_check_recovered(&env, "FIFO store");
}
END_TEST

START_TEST(deleted)
{
	ck_assert_int_eq(unlink(env.store_path), 0);
	hold("store file deleted", 2000);
	restore();
	fault_check_recovered(&env, "store file deleted");
}
END_TEST

START_TEST(corrupt)
{
	fault_store_raw(&env, "{\"format\":\"hsdo-slots\",\"version\":1,\"generation\":99,\"slots\":[{",
			62);
	hold("corrupt store file", 2000);
	restore();
	fault_check_recovered(&env, "corrupt store file");
}
END_TEST

/* Finding 7: "127.0.0.9\u0000set server ..." is not an address. */
START_TEST(nul_address)
{
	char addr[64] = "", *d;
	unsigned admin = 0;
	size_t len;

	d = doc(50, 8, "127.0.0.9\\u0000set server be_app/web2 state maint", &len);
	fault_store_raw(&env, d, len);
	free(d);
	hold("an address with a NUL byte", 2000);
	ck_assert(web(2, addr, sizeof(addr), &admin));
	ck_assert_msg((admin & 0x01) == 0, "web2 was put in maintenance");
	ck_assert_msg(fault_log_count(&env, "BackendServerID 1") > 0 &&
		      fault_log_count(&env, "IPAddress") > 0,
		      "the error does not name the item and the attribute; log %s", env.log_path);
	restore();
	fault_check_recovered(&env, "NUL in an address");
}
END_TEST

/* Finding 10: more slots than HAPROXY_BACKEND_SERVERS_LIST_SIZE (8) fail
 * the read, naming the first one beyond; fewer apply, with a warning that
 * names the slots the table lacks. */
START_TEST(slot_count)
{
	char addr[64] = "";
	unsigned admin = 0;
	size_t len;
	char *d = doc(60, 10, "127.0.0.10", &len);

	fault_store_raw(&env, d, len);
	free(d);
	hold("a table of 10 slots for 8", 2000);
	ck_assert_msg(fault_log_count(&env, "slot 9") > 0,
		      "the error does not name slot 9; log %s", env.log_path);
	d = doc(61, 6, "127.0.0.6", &len);
	fault_store_raw(&env, d, len);
	free(d);
	ck_assert(fault_log_wait(&env, "slots 7..8", 5000));
	ck_assert(web(1, addr, sizeof(addr), &admin));
	usleep(500000);
	ck_assert(web(1, addr, sizeof(addr), &admin));
	ck_assert_msg(strcmp(addr, "127.0.0.6") == 0, "a table of 6 slots was not applied (web1 "
		      "at %s)", addr);
	restore();
	fault_check_recovered(&env, "slot count");
}
END_TEST

START_TEST(oversized)
{
	size_t len = (size_t)70 << 20;
	char *big = malloc(len);

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', len);
	memcpy(big, "{\"format\":\"hsdo-slots\"", 22);
	fault_store_raw(&env, big, len);
	free(big);
	hold("a 70 MB store file", 2000);
	restore();
	fault_check_recovered(&env, "oversized store file");
}
END_TEST

START_TEST(many_slots)
{
	size_t len;
	char *d = doc(70, 100000, "127.0.0.1", &len);

	fault_store_raw(&env, d, len);
	free(d);
	hold("a 100,000-slot table", 4000);
	restore();
	fault_check_recovered(&env, "100,000 slots");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("faults_store");
	TCase *tc = tcase_create("store");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, fifo);
	tcase_add_test(tc, deleted);
	tcase_add_test(tc, corrupt);
	tcase_add_test(tc, nul_address);
	tcase_add_test(tc, slot_count);
	tcase_add_test(tc, oversized);
	tcase_add_test(tc, many_slots);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(suite());
}
