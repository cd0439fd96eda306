/* Fault suite: abuse of the exporter (/metrics, /healthz). Connection
 * bursts past the connection limit (the exporter once stopped for good
 * after one), slow headers (one byte every 2 s), a 2,000-connection storm
 * and a 1 MB request line; during each, /metrics and SPOE ACKs keep
 * answering, and after each the agent is where it was (fault.h). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fault.h"
#include "hsdo_test.h"

static struct fault_env env;

static void setup(void)
{
	fault_raise_nofile();   /* 2,000 connections from this process and in the agent */
	fault_setup(&env, NULL);
}

static void teardown(void)
{
	fault_teardown(&env);
}

static void close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* Finding 1: 16 bursts of 32..2,000 connections opened and closed (half of
 * them after a partial request); after each, /metrics answers. */
START_TEST(connection_bursts)
{
	static const int sizes[] = { 32, 40, 100, 2000 };
	static int fds[2000];
	char what[64];
	double ms;
	int b, i, n, status;

	for (b = 0; b < 16; b++) {
		n = sizes[b % 4];
		for (i = 0; i < n; i++) {
			fds[i] = fault_connect_nb(env.exporter_port, 5, 0);
			if (fds[i] >= 0 && i % 2 == 1)
				(void)send(fds[i], "GET /metrics HTTP/1.1\r\nHo", 25, MSG_NOSIGNAL);
		}
		close_all(fds, n);
		status = fault_http(env.exporter_port, "/metrics", 5000, &ms, NULL, 0);
		snprintf(what, sizeof(what), "burst %d of %d connections", b + 1, n);
		printf("%-40s /metrics %d in %.1f ms\n", what, status, ms);
		ck_assert_msg(status == 200, "%s: /metrics did not answer within 5 s (the exporter "
			      "is locked)", what);
	}
	fault_check_recovered(&env, "connection bursts");
}
END_TEST

struct drip {
	int fds[40];
	volatile bool stop;
};

static void *drip_main(void *arg)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaa\r\n\r\n";
	struct drip *d = arg;
	size_t at = 0;
	int i;

	while (!d->stop && at < sizeof(req) - 1) {
		for (i = 0; i < 40; i++)
			if (d->fds[i] >= 0 && send(d->fds[i], req + at, 1, MSG_NOSIGNAL) != 1) {
				close(d->fds[i]);
				d->fds[i] = fault_connect_nb(env.exporter_port, 1000, 0);  /* stay 40 */
			}
		at++;
		for (i = 0; i < 20 && !d->stop; i++)
			usleep(100000);
	}
	return NULL;
}

/* Finding 2: 40 connections that each send one header byte every 2 s for
 * 14 s: /metrics keeps answering all along. */
START_TEST(slow_headers)
{
	struct fault_stats m, n;
	struct drip d;
	pthread_t t;
	int i;

	memset(&d, 0, sizeof(d));
	for (i = 0; i < 40; i++)
		d.fds[i] = fault_connect_nb(env.exporter_port, 1000, 0);
	ck_assert_int_eq(pthread_create(&t, NULL, drip_main, &d), 0);
	fault_probe_start(&env);
	usleep(14000000);
	fault_probe_stop(&env, &m, &n);
	d.stop = true;
	pthread_join(t, NULL);
	close_all(d.fds, 40);
	fault_report("slow headers (40 x 1 byte / 2 s)", &m, &n);
	fault_check_recovered(&env, "slow headers");
}
END_TEST

/* A connection storm: 2,000 connections at once, one in ten with a whole
 * request, the others silent, held 1 s, three times. */
START_TEST(storm)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
	static int fds[2000];
	struct fault_stats m, n;
	int i, round;

	fault_probe_start(&env);
	for (round = 0; round < 3; round++) {
		for (i = 0; i < 2000; i++) {
			fds[i] = fault_connect_nb(env.exporter_port, i % 10 == 0 ? 5 : 0, 0);
			if (fds[i] >= 0 && i % 10 == 0)
				(void)send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL);
		}
		usleep(1000000);
		close_all(fds, 2000);
	}
	fault_probe_stop(&env, &m, &n);
	fault_report("storm (3 x 2,000 connections)", &m, &n);
	fault_check_recovered(&env, "connection storm");
}
END_TEST

/* A 1 MB request line, and a 1 MB header. */
START_TEST(megabyte_line)
{
	struct fault_stats m, n;
	size_t len = 1 << 20, sent, k;
	char *big = malloc(len);
	int fd, shape;

	ck_assert_ptr_nonnull(big);
	fault_probe_start(&env);
	for (shape = 0; shape < 2; shape++) {
		memset(big, 'a', len);
		if (shape == 0)
			memcpy(big, "GET /", 5);
		else
			memcpy(big, "GET /metrics HTTP/1.1\r\nX-Big: ", 30);
		fd = fault_connect_nb(env.exporter_port, 2000, 0);
		ck_assert_int_ge(fd, 0);
		for (sent = 0, k = 0; sent < len && k < 2000; k++) {
			ssize_t w = send(fd, big + sent, len - sent, MSG_NOSIGNAL);

			if (w > 0)
				sent += (size_t)w;
			else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
				break;   /* the exporter closed it: what we want */
			else
				usleep(5000);
		}
		close(fd);
	}
	free(big);
	fault_probe_stop(&env, &m, &n);
	fault_report("1 MB request line and header", &m, &n);
	fault_check_recovered(&env, "1 MB lines");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("faults_exporter");
	TCase *tc = tcase_create("exporter");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, connection_bursts);
	tcase_add_test(tc, slow_headers);
	tcase_add_test(tc, storm);
	tcase_add_test(tc, megabyte_line);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(suite());
}
