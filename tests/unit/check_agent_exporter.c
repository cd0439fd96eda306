/* The exporter (agent/exporter.c) in this process: its own thread serves
 * while this thread plays the agent's loop, running it or not. A body the
 * loop renders on request, with its age; a loop that does not run (a
 * stall) turns /healthz to 503 with the reason and leaves /metrics
 * answering the last body at once; the liveness the loop publishes is
 * what /healthz says; bursts past the connection limit and connections
 * that never finish their request do not lock it out; 404 and 405.
 * Requests come from a helper thread (hsdo_test_http_req, 5 s timeout). */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/liveness.h"

#include "dynalite.h"
#include "exporter.h"
#include "haproxy_peer.h"
#include "hsdo_test.h"

static struct ev_loop *loop;
static struct exporter *exp_;
static uint16_t port;
static _Atomic int renders;

static int render(void *arg, char **body, size_t *len)
{
	char text[64];
	int n;

	(void)arg;
	n = snprintf(text, sizeof(text), "test_renders_total %d\n", ++renders);
	*body = hsdo_malloc((size_t)n + 1);
	if (*body == NULL)
		return -HSDO_ENOMEM;
	memcpy(*body, text, (size_t)n + 1);
	*len = (size_t)n;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void setup(void)
{
	char err[256] = "";

	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	renders = 0;
	port = hsdo_test_free_port();
	ck_assert_msg(exporter_start(loop, "127.0.0.1", port, render, NULL, &exp_, err,
				     sizeof(err)) == 0, "%s", err);
}

static void teardown(void)
{
	exporter_stop(exp_);
	exp_ = NULL;
	ev_loop_destroy(loop);
}

/* One request on a helper thread while this one runs the loop (or not). */
struct req {
	const char *path;
	int status;
	char body[4096];
	_Atomic bool done;
};

static void *req_main(void *arg)
{
	struct req *r = arg;

	r->status = hsdo_test_http_req(port, "GET", r->path, NULL, r->body, sizeof(r->body));
	r->done = true;
	return NULL;
}

/* GET path; run the loop meanwhile when `run`. */
static int get(const char *path, bool run, char *body, size_t bodylen)
{
	struct req *r = calloc(1, sizeof(*r));
	pthread_t t;
	int status;

	ck_assert_ptr_nonnull(r);
	r->path = path;
	ck_assert_int_eq(pthread_create(&t, NULL, req_main, r), 0);
	while (!r->done) {
		if (run)
			ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	pthread_join(t, NULL);
	status = r->status;
	if (body != NULL)
		snprintf(body, bodylen, "%s", r->body);
	free(r);
	return status;
}

static void publish(int64_t bound_ms, const char *last_error)
{
	struct hsdo_liveness l;

	memset(&l, 0, sizeof(l));
	l.bound_ms = bound_ms;
	l.cycled = true;
	snprintf(l.last_error, sizeof(l.last_error), "%s", last_error);
	exporter_publish(exp_, &l);
}

START_TEST(metrics_rendered_on_request)
{
	char body[4096];

	ck_assert_int_eq(get("/metrics", true, body, sizeof(body)), 200);
	ck_assert_msg(strstr(body, "test_renders_total 1\n") != NULL, "%s", body);
	ck_assert_msg(strstr(body, "# TYPE hsdo_metrics_age_seconds gauge\n"
				   "hsdo_metrics_age_seconds 0.0") != NULL, "%s", body);
	/* A second scrape within 100 ms reuses the body; later, a new one. */
	ck_assert_int_eq(get("/metrics", true, body, sizeof(body)), 200);
	usleep(150000);
	ck_assert_int_eq(get("/metrics", true, body, sizeof(body)), 200);
	ck_assert_msg(strstr(body, "test_renders_total 1\n") == NULL, "%s", body);
	ck_assert_int_eq(get("/nope", true, body, sizeof(body)), 404);
	ck_assert_int_eq(hsdo_test_http_req(port, "POST", "/metrics", "x", body, sizeof(body)), 405);
}
END_TEST

/* The loop does not run: /metrics serves what it rendered before, at once
 * and with its age; /healthz says the loop stalled. */
START_TEST(stalled_loop)
{
	char body[4096];
	int64_t t0;

	publish(1000, "");
	ck_assert_int_eq(get("/healthz", true, body, sizeof(body)), 200);
	ck_assert_str_eq(body, "ok\n");
	ck_assert_int_eq(get("/metrics", true, body, sizeof(body)), 200);
	usleep(1300000);   /* no loop turn, no publication: a stall */
	ck_assert_int_eq(get("/healthz", false, body, sizeof(body)), 503);
	ck_assert_msg(strncmp(body, "event loop stalled for 1.", 25) == 0, "%s", body);
	t0 = mono_ms();
	ck_assert_int_eq(get("/metrics", false, body, sizeof(body)), 200);
	ck_assert_int_eq(get("/metrics", false, body, sizeof(body)), 200);
	ck_assert_msg(mono_ms() - t0 < 1000, "two scrapes of a stalled loop took %lld ms",
		      (long long)(mono_ms() - t0));
	ck_assert_msg(strstr(body, "test_renders_total 1\n") != NULL, "%s", body);
	ck_assert_msg(strstr(body, "hsdo_metrics_age_seconds 1.") != NULL, "%s", body);
	/* The loop turns again: fresh values, healthy. */
	publish(1000, "");
	ck_assert_int_eq(get("/metrics", true, body, sizeof(body)), 200);
	ck_assert_msg(strstr(body, "test_renders_total 2\n") != NULL, "%s", body);
	ck_assert_int_eq(get("/healthz", true, body, sizeof(body)), 200);
}
END_TEST

/* Nothing rendered and the loop never answers: 503, quickly. */
START_TEST(never_rendered)
{
	char body[256];

	ck_assert_int_eq(get("/healthz", false, body, sizeof(body)), 503);
	ck_assert_str_eq(body, "starting: no cycle has run yet\n");
	ck_assert_int_eq(get("/metrics", false, body, sizeof(body)), 503);
	ck_assert_str_eq(body, "metrics not rendered yet: the event loop has not answered\n");
}
END_TEST

START_TEST(published_reason)
{
	char body[700];

	publish(10000, "HAProxy: unix@/x.sock: connection refused");
	ck_assert_int_eq(get("/healthz", true, body, sizeof(body)), 503);
	ck_assert_str_eq(body, "HAProxy: unix@/x.sock: connection refused\n");
}
END_TEST

/* Connections opened and closed past the limit, and connections that
 * never finish their request: /metrics keeps answering. */
START_TEST(bursts_and_slow_requests)
{
	static int fds[600];
	char body[4096];
	int64_t t0;
	int i, round;

	for (round = 0; round < 8; round++) {
		for (i = 0; i < 600; i++) {
			fds[i] = hsdo_test_tcp_connect(port);
			if (fds[i] >= 0 && i % 2)
				(void)write(fds[i], "GET /metr", 9);
		}
		for (i = 0; i < 600; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		ck_assert_int_eq(get("/metrics", true, body, sizeof(body)), 200);
	}
	/* 200 connections that send half a request and stay. */
	for (i = 0; i < 200; i++) {
		fds[i] = hsdo_test_tcp_connect(port);
		if (fds[i] >= 0)
			(void)write(fds[i], "GET /metrics HTTP/1.1\r\nX-Slow: ", 31);
	}
	t0 = mono_ms();
	ck_assert_int_eq(get("/metrics", true, body, sizeof(body)), 200);
	ck_assert_msg(mono_ms() - t0 < 4000, "took %lld ms", (long long)(mono_ms() - t0));
	for (i = 0; i < 200; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}
END_TEST

static Suite *exporter_suite(void)
{
	Suite *s = suite_create("agent_exporter");
	TCase *tc = tcase_create("exporter");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, metrics_rendered_on_request);
	tcase_add_test(tc, stalled_loop);
	tcase_add_test(tc, never_rendered);
	tcase_add_test(tc, published_reason);
	tcase_add_test(tc, bursts_and_slow_requests);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(exporter_suite());
}
