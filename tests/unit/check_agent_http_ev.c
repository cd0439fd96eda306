/* HTTP transport in event mode on a real libev loop (agent/http_ev.c),
 * against the Node fixture (tests/fixtures/http_fixture.js): 50 concurrent
 * requests with their own bodies, a slow request that does not hold up
 * fast ones, delayed calls on the loop's timer, timeouts, retries from
 * callbacks, cancellation when freed with transfers in flight, and no
 * file descriptor left open. */
#include <check.h>
#include <cjson/cJSON.h>
#include <ev.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsdo/err.h"
#include "hsdo/http.h"
#include "haproxy_peer.h"
#include "hsdo_test.h"
#include "http_ev.h"
#include "proc.h"

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the fixture and the loop ------------------------------------------------------ */

static struct hsdo_test_proc fx;
static int fx_port;
static char *tmpdir;

static void fx_setup(void)
{
	char err[512] = "", ready[128], port[16], log[600];
	int attempt, tls;

	tmpdir = hsdo_test_tmpdir("http-ev");
	ck_assert_ptr_nonnull(tmpdir);
	snprintf(log, sizeof(log), "%s/fixture.log", tmpdir);
	for (attempt = 0; attempt < 5; attempt++) {
		char *args[] = { "--port", port, NULL };

		snprintf(port, sizeof(port), "%u", (unsigned)hsdo_test_free_port());
		if (hsdo_test_fixture_start(&fx, "http_fixture.js", args, log, ready, sizeof(ready),
					    err, sizeof(err)) == 0 &&
		    sscanf(ready, "ready %d %d", &fx_port, &tls) == 2)
			return;
		hsdo_test_proc_stop(&fx);
	}
	ck_abort_msg("cannot start the HTTP fixture: %s", err);
}

static void fx_teardown(void)
{
	hsdo_test_proc_stop(&fx);
	if (tmpdir != NULL) {
		hsdo_test_rmtree(tmpdir);
		free(tmpdir);
		tmpdir = NULL;
	}
}

struct ctx {
	struct ev_loop *loop;
	struct http_ev *a;
	struct hsdo_http *h;
};

static void ctx_open(struct ctx *c, const struct hsdo_http_options *opt)
{
	char err[256] = "";
	int rc;

	c->loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(c->loop);
	rc = http_ev_new(c->loop, opt, &c->a, err, sizeof(err));
	ck_assert_msg(rc == 0, "http_ev_new: %d %s", rc, err);
	c->h = http_ev_engine(c->a);
	ck_assert_ptr_nonnull(c->h);
	ck_assert(!hsdo_http_blocking(c->h));
}

static void ctx_close(struct ctx *c)
{
	http_ev_free(c->a);
	ev_loop_destroy(c->loop);
}

static void tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)w;
	(void)revents;
}

/* Run the loop until the engine has nothing pending (or *flag is set),
 * at most timeout_ms; returns false on timeout. A 20 ms ticker keeps
 * EV_RUN_ONCE from sleeping when the engine has nothing armed. */
static bool run_until_idle(struct ctx *c, const bool *flag, long timeout_ms)
{
	long deadline = now_ms() + timeout_ms;
	ev_timer t;
	bool ok;

	ev_timer_init(&t, tick, 0.02, 0.02);
	ev_timer_start(c->loop, &t);
	while (!(flag != NULL ? *flag : hsdo_http_pending(c->h) == 0) && now_ms() < deadline)
		ev_run(c->loop, EVRUN_ONCE);
	ok = flag != NULL ? *flag : hsdo_http_pending(c->h) == 0;
	ev_timer_stop(c->loop, &t);
	return ok;
}

/* ---- results ---------------------------------------------------------------------------- */

struct result {
	int calls;
	int rc;
	long status;
	char *body;
	char err[HSDO_HTTP_ERR_LEN];
	long at;                      /* now_ms() when done ran */
	int seq;                      /* completion order */
};

static int seq;

static void on_done(void *arg, int rc, const struct hsdo_http_response *resp, const char *err)
{
	struct result *r = arg;

	r->calls++;
	r->rc = rc;
	r->status = resp->status;
	r->at = now_ms();
	r->seq = ++seq;
	free(r->body);
	r->body = strdup(resp->body);
	ck_assert_ptr_nonnull(r->body);
	snprintf(r->err, sizeof(r->err), "%s", err);
}

static void result_free(struct result *r)
{
	free(r->body);
	r->body = NULL;
}

static int submit(struct ctx *c, const char *method, const char *path, const char *body,
		  long timeout_ms, struct result *r)
{
	char url[256];
	struct hsdo_http_request req = { .method = method, .url = url, .body = body,
					 .body_len = body ? strlen(body) : 0,
					 .timeout_ms = timeout_ms,
					 .headers = { "Content-Type: text/plain", NULL } };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", fx_port, path);
	return hsdo_http_submit(c->h, &req, on_done, r);
}

/* ---- tests ------------------------------------------------------------------------------- */

#define N_CONCURRENT 50

START_TEST(concurrent_requests)
{
	struct hsdo_http_options opt = { .max_host_connections = 8 };
	struct ctx c;
	struct result r[N_CONCURRENT] = { 0 };
	struct hsdo_http_stats st;
	char path[64], body[64];
	int i;

	ctx_open(&c, &opt);
	for (i = 0; i < N_CONCURRENT; i++) {
		snprintf(path, sizeof(path), "/echo?i=%d", i);
		snprintf(body, sizeof(body), "body-%d-%s", i, i % 2 ? "odd" : "even");
		ck_assert_int_eq(submit(&c, "PUT", path, body, 0, &r[i]), 0);
	}
	/* nothing completes inside submit in event mode */
	for (i = 0; i < N_CONCURRENT; i++)
		ck_assert_int_eq(r[i].calls, 0);
	ck_assert_uint_eq(hsdo_http_pending(c.h), N_CONCURRENT);
	ck_assert(run_until_idle(&c, NULL, 20000));
	for (i = 0; i < N_CONCURRENT; i++) {
		cJSON *j;

		ck_assert_int_eq(r[i].calls, 1);
		ck_assert_msg(r[i].rc == 0, "%d: %d %s", i, r[i].rc, r[i].err);
		ck_assert_int_eq(r[i].status, 200);
		j = cJSON_Parse(r[i].body);
		ck_assert_ptr_nonnull(j);
		snprintf(path, sizeof(path), "/echo?i=%d", i);
		snprintf(body, sizeof(body), "body-%d-%s", i, i % 2 ? "odd" : "even");
		ck_assert_str_eq(cJSON_GetObjectItem(j, "url")->valuestring, path);
		ck_assert_str_eq(cJSON_GetObjectItem(j, "body")->valuestring, body);
		ck_assert_str_eq(cJSON_GetObjectItem(j, "method")->valuestring, "PUT");
		cJSON_Delete(j);
		result_free(&r[i]);
	}
	hsdo_http_stats(c.h, &st);
	ck_assert_uint_eq(st.requests, N_CONCURRENT);
	ck_assert_uint_eq(st.failures, 0);
	/* at most 8 connections: the other transfers reused them */
	ck_assert_uint_ge(st.reused, N_CONCURRENT - 8);
	ctx_close(&c);
}
END_TEST

START_TEST(slow_does_not_delay_fast)
{
	struct ctx c;
	struct result slow = { 0 }, fast[5] = { 0 };
	long t0;
	int i;

	ctx_open(&c, NULL);
	t0 = now_ms();
	ck_assert_int_eq(submit(&c, "GET", "/slow/2000", NULL, 0, &slow), 0);
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(submit(&c, "GET", "/status/200", NULL, 0, &fast[i]), 0);
	ck_assert(run_until_idle(&c, NULL, 10000));
	ck_assert_int_eq(slow.rc, 0);
	ck_assert_str_eq(slow.body, "slow 2000");
	ck_assert_int_ge(slow.at - t0, 1990);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(fast[i].rc, 0);
		ck_assert_int_eq(fast[i].status, 200);
		ck_assert_int_lt(fast[i].seq, slow.seq);
		ck_assert_msg(fast[i].at - t0 < 1500, "fast %d took %ld ms", i, fast[i].at - t0);
		result_free(&fast[i]);
	}
	result_free(&slow);
	ctx_close(&c);
}
END_TEST

static char order[64];

static void mark(void *arg)
{
	size_t n = strlen(order);

	ck_assert_uint_lt(n + 1, sizeof(order));
	order[n] = *(const char *)arg;
	order[n + 1] = '\0';
}

static struct ctx *after_ctx;
static long after_t0, at_a, at_f;

static void mark_a(void *arg)
{
	at_a = now_ms();
	mark(arg);
	/* a delayed call may schedule another */
	ck_assert_int_eq(hsdo_http_after(after_ctx->h, 30, mark, "e"), 0);
}

static void mark_f(void *arg)
{
	at_f = now_ms();
	mark(arg);
}

START_TEST(after_on_timer)
{
	struct ctx c;
	long dt;

	ctx_open(&c, NULL);
	after_ctx = &c;
	order[0] = '\0';
	after_t0 = now_ms();
	ck_assert_int_eq(hsdo_http_after(c.h, 200, mark_a, "a"), 0);
	ck_assert_int_eq(hsdo_http_after(c.h, 50, mark, "b"), 0);
	ck_assert_int_eq(hsdo_http_after(c.h, 50, mark, "c"), 0);   /* FIFO on ties */
	ck_assert_int_eq(hsdo_http_after(c.h, 0, mark, "d"), 0);
	/* f well after a + 30 (e): a loaded machine runs a late, and a
	 * 30 ms margin put f before e (seen in a full run) */
	ck_assert_int_eq(hsdo_http_after(c.h, 1000, mark_f, "f"), 0);
	ck_assert_str_eq(order, "");
	ck_assert_uint_eq(hsdo_http_pending(c.h), 5);
	ck_assert(run_until_idle(&c, NULL, 5000));
	ck_assert_str_eq(order, "dbcaef");
	dt = at_a - after_t0;
	ck_assert_msg(dt >= 200 && dt < 2000, "a after %ld ms", dt);
	dt = at_f - after_t0;
	ck_assert_msg(dt >= 1000 && dt < 4000, "f after %ld ms", dt);
	ctx_close(&c);
}
END_TEST

START_TEST(timeout_event_mode)
{
	struct ctx c;
	struct result slow = { 0 }, ok = { 0 };
	long t0, dt;

	ctx_open(&c, NULL);
	t0 = now_ms();
	ck_assert_int_eq(submit(&c, "GET", "/slow/5000", NULL, 300, &slow), 0);
	ck_assert_int_eq(submit(&c, "GET", "/slow/100", NULL, 2000, &ok), 0);
	ck_assert(run_until_idle(&c, NULL, 5000));
	dt = slow.at - t0;
	ck_assert_int_eq(slow.rc, -HSDO_EHTTP);
	ck_assert_msg(dt >= 290 && dt < 2000, "timed out after %ld ms", dt);
	ck_assert_msg(strstr(slow.err, "timed out") != NULL, "%s", slow.err);
	ck_assert_int_eq(ok.rc, 0);
	ck_assert_str_eq(ok.body, "slow 100");
	result_free(&slow);
	result_free(&ok);
	ctx_close(&c);
}
END_TEST

/* A retry loop from callbacks: done schedules a delayed call that submits. */
struct retry {
	struct ctx *c;
	int attempts;
	bool finished;
	long t0, t_end;
};

static void retry_done(void *arg, int rc, const struct hsdo_http_response *resp,
		       const char *err);

static void retry_submit(void *arg)
{
	struct retry *r = arg;
	char url[256];
	struct hsdo_http_request req = { .method = "GET", .url = url };

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/status/%d", fx_port,
		 r->attempts < 3 ? 503 : 200);
	ck_assert_int_eq(hsdo_http_submit(r->c->h, &req, retry_done, r), 0);
}

static void retry_done(void *arg, int rc, const struct hsdo_http_response *resp,
		       const char *err)
{
	struct retry *r = arg;

	(void)err;
	ck_assert_int_eq(rc, 0);
	r->attempts++;
	if (resp->status == 503) {
		ck_assert_int_eq(hsdo_http_after(r->c->h, 40, retry_submit, r), 0);
		return;
	}
	ck_assert_int_eq(resp->status, 200);
	r->finished = true;
	r->t_end = now_ms();
}

START_TEST(retry_from_callbacks)
{
	struct ctx c;
	struct retry r = { .c = &c };

	ctx_open(&c, NULL);
	r.t0 = now_ms();
	retry_submit(&r);
	ck_assert(run_until_idle(&c, &r.finished, 5000));
	ck_assert_int_eq(r.attempts, 4);
	ck_assert_int_ge(r.t_end - r.t0, 3 * 40);
	ck_assert_uint_eq(hsdo_http_pending(c.h), 0);
	ctx_close(&c);
}
END_TEST

static int never_runs;

static void must_not_run(void *arg)
{
	(void)arg;
	never_runs++;
}

START_TEST(free_cancels_in_flight)
{
	struct ctx c;
	struct result r[3] = { 0 };
	int i;
	bool waited = false;

	ctx_open(&c, NULL);
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(submit(&c, "GET", "/slow/5000", NULL, 0, &r[i]), 0);
	ck_assert_int_eq(hsdo_http_after(c.h, 10000, must_not_run, NULL), 0);
	/* let the requests reach the server */
	ck_assert(!run_until_idle(&c, &waited, 300));
	for (i = 0; i < 3; i++)
		ck_assert_int_eq(r[i].calls, 0);
	ck_assert_uint_eq(hsdo_http_pending(c.h), 4);
	http_ev_free(c.a);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(r[i].calls, 1);
		ck_assert_int_eq(r[i].rc, -HSDO_EAGAIN);
		ck_assert_str_eq(r[i].err, "cancelled");
		result_free(&r[i]);
	}
	ck_assert_int_eq(never_runs, 0);
	/* the loop has no watcher left of ours */
	ev_run(c.loop, EVRUN_NOWAIT);
	ev_loop_destroy(c.loop);
}
END_TEST

START_TEST(no_fd_leak)
{
	struct ctx c;
	struct result r[20] = { 0 };
	int before, after, i;

	/* one engine first, so what the libraries open once is open already */
	ctx_open(&c, NULL);
	ck_assert_int_eq(submit(&c, "GET", "/status/200", NULL, 0, &r[0]), 0);
	ck_assert(run_until_idle(&c, NULL, 5000));
	result_free(&r[0]);
	ctx_close(&c);
	before = hsdo_test_count_fds();
	ck_assert_int_gt(before, 0);
	ctx_open(&c, NULL);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 20; i++) {
		const char *path = i % 5 == 0 ? "/reset" : i % 5 == 1 ? "/slow/3000" : "/echo";

		ck_assert_int_eq(submit(&c, "GET", path, NULL, 500, &r[i]), 0);
	}
	ck_assert(run_until_idle(&c, NULL, 10000));
	for (i = 0; i < 20; i++) {
		ck_assert_int_eq(r[i].calls, 1);
		ck_assert_int_eq(r[i].rc, i % 5 <= 1 ? -HSDO_EHTTP : 0);
		result_free(&r[i]);
	}
	/* and with transfers in flight at free */
	memset(r, 0, sizeof(r));
	for (i = 0; i < 5; i++)
		ck_assert_int_eq(submit(&c, "GET", "/slow/3000", NULL, 0, &r[i]), 0);
	ck_assert(!run_until_idle(&c, &(bool){ false }, 200));
	ck_assert_int_gt(hsdo_test_count_fds(), before);
	ctx_close(&c);
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(r[i].calls, 1);
		ck_assert_int_eq(r[i].rc, -HSDO_EAGAIN);
		result_free(&r[i]);
	}
	after = hsdo_test_count_fds();
	ck_assert_int_eq(after, before);
}
END_TEST

static Suite *http_ev_suite(void)
{
	Suite *s = suite_create("agent_http_ev");
	TCase *tc = tcase_create("libev");

	tcase_set_timeout(tc, 60);
	tcase_add_unchecked_fixture(tc, fx_setup, fx_teardown);
	tcase_add_test(tc, concurrent_requests);
	tcase_add_test(tc, slow_does_not_delay_fast);
	tcase_add_test(tc, after_on_timer);
	tcase_add_test(tc, timeout_event_mode);
	tcase_add_test(tc, retry_from_callbacks);
	tcase_add_test(tc, free_cancels_in_flight);
	tcase_add_test(tc, no_fd_leak);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(http_ev_suite());
}
