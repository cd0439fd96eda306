/* What the agent's users wait for while it works or its peers misbehave:
 * SPOA ACK latency (one connection, a NOTIFY every millisecond, each
 * timed from send to ACK) and /metrics latency (a GET every 20 ms), with
 * nothing happening and during
 *   (a) a cold apply of 1,000 slots (HAProxy all in maint, the table all
 *       active: 3,000 Runtime API commands),
 *   (b) HAProxy's Runtime API hung (SIGSTOP: accepted, never answered),
 *   (c) DynamoDB hung (the SigV4 verifier in front of dynalite stopped),
 *   (d) a 2,000-connection storm on the exporter (one in ten with a
 *       request, held 1 s, three times);
 * then the resident memory of 1,000 SPOE peers that never read: before,
 * at the peak, and 5 s after they left. The real agent, HAProxy and
 * stores, through the fault suite's harness (tests/faults/fault.c);
 * HSDO_AGENT picks the agent binary (ctest sets it; set it by hand to
 * compare builds). Run by hand (./scripts/bench); prints a table. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hsdo/rtapi.h"
#include "hsdo/store.h"

#include "fault.h"
#include "hsdo_test.h"
#include "spop_peer.h"

#define SLOTS      1000
#define MAX_SAMPLE 200000

struct series {
	double *v;
	int n, failed;
};

struct sampler {
	struct fault_env *f;
	volatile bool stop;
	struct series ack, metrics;
	pthread_t t_ack, t_metrics;
};

struct row {
	char name[64];
	double a50, a99, amax, m50, m99, mmax;
	int an, mn, afail, mfail;
};

static struct row rows[16];
static int nrows;
static char memline[256];

static void add(struct series *s, double v)
{
	if (v < 0) {
		s->failed++;
		return;
	}
	if (s->n < MAX_SAMPLE)
		s->v[s->n++] = v;
}

static void *ack_main(void *arg)
{
	struct sampler *sm = arg;
	uint64_t sid = 5000000;
	int fd = -1;

	while (!sm->stop) {
		add(&sm->ack, fault_notify(sm->f->spoa_port, &fd, &sid, 10000));
		usleep(1000);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void *metrics_main(void *arg)
{
	struct sampler *sm = arg;
	double ms;

	while (!sm->stop) {
		if (fault_http(sm->f->exporter_port, "/metrics", 10000, &ms, NULL, 0) != 200)
			ms = -1;
		add(&sm->metrics, ms);
		usleep(20000);
	}
	return NULL;
}

static void sampler_start(struct sampler *sm, struct fault_env *f)
{
	memset(sm, 0, sizeof(*sm));
	sm->f = f;
	sm->ack.v = calloc(MAX_SAMPLE, sizeof(double));
	sm->metrics.v = calloc(MAX_SAMPLE, sizeof(double));
	ck_assert(sm->ack.v != NULL && sm->metrics.v != NULL);
	ck_assert_int_eq(pthread_create(&sm->t_ack, NULL, ack_main, sm), 0);
	ck_assert_int_eq(pthread_create(&sm->t_metrics, NULL, metrics_main, sm), 0);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void pct(struct series *s, double *p50, double *p99, double *max)
{
	*p50 = *p99 = *max = 0;
	if (s->n == 0)
		return;
	qsort(s->v, (size_t)s->n, sizeof(double), cmp);
	*p50 = s->v[s->n / 2];
	*p99 = s->v[(s->n * 99) / 100];
	*max = s->v[s->n - 1];
}

static void sampler_stop(struct sampler *sm, const char *name)
{
	struct row *r = &rows[nrows++];

	sm->stop = true;
	pthread_join(sm->t_ack, NULL);
	pthread_join(sm->t_metrics, NULL);
	snprintf(r->name, sizeof(r->name), "%s", name);
	pct(&sm->ack, &r->a50, &r->a99, &r->amax);
	pct(&sm->metrics, &r->m50, &r->m99, &r->mmax);
	r->an = sm->ack.n;
	r->mn = sm->metrics.n;
	r->afail = sm->ack.failed;
	r->mfail = sm->metrics.failed;
	free(sm->ack.v);
	free(sm->metrics.v);
	printf("  %s: %d ACKs, %d scrapes\n", name, r->an, r->mn);
	fflush(stdout);
}

static void idle(struct fault_env *f, const char *name)
{
	struct sampler sm;

	sampler_start(&sm, f);
	usleep(3000000);
	sampler_stop(&sm, name);
}

/* ---- the scenarios ----------------------------------------------------------------- */

/* HAProxy's web<SLOTS> is up: the cold apply reached the last slot. */
static bool last_slot_ready(struct fault_env *f)
{
	struct hsdo_servers_state st;
	char name[16], err[128], *reply;
	size_t len = 0, i;
	bool ready = false;

	snprintf(name, sizeof(name), "web%d", SLOTS);
	reply = hsdo_test_rtapi_cmd(f->hap.sock, "show servers state be_app", &len);
	if (reply == NULL || hsdo_rtapi_parse_servers_state(reply, len, &st, err, sizeof(err)) != 0) {
		free(reply);
		return false;
	}
	free(reply);
	for (i = 0; i < st.n; i++)
		if (strcmp(st.srv[i].srv_name, name) == 0)
			ready = (st.srv[i].admin_state & 0x23) == 0 && st.srv[i].uweight == 50;
	hsdo_rtapi_servers_state_free(&st);
	return ready;
}

START_TEST(cold_apply)
{
	struct fault_opts o = { .slots = SLOTS };
	struct fault_env f;
	struct sampler sm;
	struct hsdo_table t;
	uint32_t *ids = calloc(SLOTS, sizeof(*ids));
	char err[512] = "";
	uint64_t gen = 0;
	double t0, took;
	int i;

	fault_setup(&f, &o);
	idle(&f, "idle (file store, 1,000 slots)");
	ck_assert_int_eq(hsdo_store_read_generation(f.store, &gen, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_table_init(&t, SLOTS), 0);
	for (i = 0; i < SLOTS; i++) {
		t.slots[i].state = HSDO_SLOT_ACTIVE;
		hsdo_table_setf(&t, &t.slots[i].ip, HSDO_IP_LEN, "10.1.%d.%d", i / 250, i % 250 + 1);
		hsdo_table_setf(&t, &t.slots[i].name, HSDO_NAME_LEN, "i-%05d", i + 1);
		t.slots[i].port = 8000;
		t.slots[i].weight = 50;
		t.slots[i].last_weight_update_us = 1700000000000000LL;
		ids[i] = (uint32_t)i + 1;
	}
	t.generation = gen;
	sampler_start(&sm, &f);
	usleep(200000);
	t0 = fault_now_ms();
	ck_assert_msg(hsdo_store_write_slots(f.store, &t, ids, SLOTS, gen, 0, err, sizeof(err)) == 0,
		      "%s", err);
	while (!last_slot_ready(&f) && fault_now_ms() - t0 < 60000)
		usleep(5000);
	took = fault_now_ms() - t0;
	usleep(300000);
	sampler_stop(&sm, "(a) 1,000-slot cold apply");
	printf("  the cold apply took %.0f ms\n", took);
	hsdo_table_free(&t);
	free(ids);
	fault_teardown(&f);
}
END_TEST

START_TEST(hung_haproxy)
{
	struct fault_opts o = { .slots = SLOTS, .extra = "CLIENT_HAPROXY_TIMEOUT: 5" };
	struct fault_env f;
	struct sampler sm;

	fault_setup(&f, &o);
	idle(&f, "idle (file store, 1,000 slots)");
	sampler_start(&sm, &f);
	ck_assert_int_eq(kill(f.hap.pid, SIGSTOP), 0);
	usleep(6000000);
	ck_assert_int_eq(kill(f.hap.pid, SIGCONT), 0);
	sampler_stop(&sm, "(b) HAProxy's socket hung 6 s");
	fault_teardown(&f);
}
END_TEST

START_TEST(hung_dynamodb)
{
	struct fault_opts o = { .slots = SLOTS, .store = FAULT_STORE_DYNAMODB };
	struct fault_env f;
	struct sampler sm;

	fault_setup(&f, &o);
	idle(&f, "idle (DynamoDB, 1,000 slots)");
	sampler_start(&sm, &f);
	ck_assert_int_eq(kill(f.ddb.proxy.pid, SIGSTOP), 0);
	usleep(6000000);
	ck_assert_int_eq(kill(f.ddb.proxy.pid, SIGCONT), 0);
	sampler_stop(&sm, "(c) DynamoDB hung 6 s");
	fault_teardown(&f);
}
END_TEST

START_TEST(exporter_storm)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	static int fds[2000];
	struct fault_opts o = { .slots = SLOTS };
	struct fault_env f;
	struct sampler sm;
	int round, i;

	fault_setup(&f, &o);
	idle(&f, "idle (file store, 1,000 slots)");
	sampler_start(&sm, &f);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 2000; i++) {
			fds[i] = fault_connect_nb(f.exporter_port, i % 10 == 0 ? 5 : 0, 0);
			if (fds[i] >= 0 && i % 10 == 0)
				(void)send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL);
		}
		usleep(1000000);
		for (i = 0; i < 2000; i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	sampler_stop(&sm, "(d) exporter storm 3 x 2,000 connections");
	fault_teardown(&f);
}
END_TEST

/* 1,000 peers that never read: 800 send a few NOTIFYs, 200 until pushed back. */
START_TEST(non_readers_memory)
{
	static const struct hsdo_test_resp r = { "be_app", "web1", 1, 200 };
	static int fds[1000];
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct fault_env f;
	long base, peak = 0, rss, after;
	double end;
	int k, i, pushed = 0;

	ck_assert_ptr_nonnull(w);
	fault_setup(&f, NULL);
	for (i = 0; i < 500; i++)
		hsdo_test_wr_notify(w, (uint64_t)i + 1, 1, &r);
	base = fault_rss_kb(f.agent);
	for (k = 0; k < 1000; k++) {
		fds[k] = fault_connect_nb(f.spoa_port, 1000, 4096);
		if (fds[k] >= 0) {
			(void)send(fds[k], HSDO_TEST_HELLO_129, sizeof(HSDO_TEST_HELLO_129) - 1,
				   MSG_NOSIGNAL);
			(void)send(fds[k], w->b, k < 200 ? w->n : w->n / 50, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
	}
	end = fault_now_ms() + 60000;
	while (pushed < 200 && fault_now_ms() < end) {
		for (k = 0, pushed = 0; k < 200; k++)
			if (fds[k] >= 0 && send(fds[k], w->b, w->n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
			    (errno == EAGAIN || errno == EWOULDBLOCK))
				pushed++;
		rss = fault_rss_kb(f.agent);
		if (rss > peak)
			peak = rss;
		usleep(50000);
	}
	for (k = 0; k < 1000; k++)
		if (fds[k] >= 0)
			close(fds[k]);
	usleep(5000000);
	after = fault_rss_kb(f.agent);
	snprintf(memline, sizeof(memline), "1,000 SPOE peers that never read: resident %ld kB "
		 "before, %ld kB at the peak, %ld kB 5 s after they left", base, peak, after);
	printf("  %s\n", memline);
	free(w);
	fault_teardown(&f);
}
END_TEST

static void print_table(void)
{
	int i;

	printf("\n| case | ACKs | ACK p50 | ACK p99 | ACK max | scrapes | /metrics p50 | p99 | max |\n"
	       "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	for (i = 0; i < nrows; i++) {
		const struct row *r = &rows[i];

		printf("| %s | %d%s | %.3f ms | %.3f ms | %.1f ms | %d%s | %.2f ms | %.1f ms | %.1f ms |\n",
		       r->name, r->an, r->afail ? " (lost some)" : "", r->a50, r->a99, r->amax,
		       r->mn, r->mfail ? " (lost some)" : "", r->m50, r->m99, r->mmax);
	}
	if (memline[0] != '\0')
		printf("\n%s\n", memline);
}

int main(void)
{
	Suite *s = suite_create("bench_agent_latency");
	TCase *tc = tcase_create("latency");
	SRunner *sr;
	int failed;

	fault_raise_nofile();
	tcase_set_timeout(tc, 900);
	tcase_add_test(tc, cold_apply);
	tcase_add_test(tc, hung_haproxy);
	tcase_add_test(tc, hung_dynamodb);
	tcase_add_test(tc, exporter_storm);
	tcase_add_test(tc, non_readers_memory);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	print_table();
	return failed == 0 ? 0 : 1;
}
