/* Fault suite: hostile SPOP peers against the agent's SPOE agent. Random
 * bytes, huge frame lengths, slowloris HELLOs, 2,000 connections at once,
 * 1,000 peers that send NOTIFYs and never read their ACKs (memory must come
 * back when they leave), 10,000 pipelined NOTIFYs on one connection; during
 * each, /metrics and other connections' ACKs keep answering, and after each
 * the agent is where it was (fault.h). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hsdo/spop.h"

#include "fault.h"
#include "hsdo_test.h"
#include "spop_peer.h"

static struct fault_env env;

static void setup(void)
{
	fault_raise_nofile();
	fault_setup(&env, NULL);
}

static void teardown(void)
{
	fault_teardown(&env);
}

/* A connection to the SPOE agent (non-blocking once connected); rcvbuf > 0
 * shrinks this side's receive buffer first. -1 when refused. */
static int spoe_conn(int rcvbuf)
{
	return fault_connect_nb(env.spoa_port, 1000, rcvbuf);
}

static void close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* The agent's value of one metric series (exact name and labels), or -1. */
static double metric(const char *series)
{
	static char body[1 << 20];
	const char *p;
	size_t len = strlen(series);
	double ms;

	if (fault_http(env.exporter_port, "/metrics", 5000, &ms, body, sizeof(body)) != 200)
		return -1;
	for (p = body; (p = strstr(p, series)) != NULL; p += len)
		if ((p == body || p[-1] == '\n') && p[len] == ' ')
			return strtod(p + len + 1, NULL);
	return -1;
}

START_TEST(random_bytes)
{
	struct fault_stats m, n;
	static int fds[50];
	char junk[65536];
	size_t i;
	int k;

	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)(rand() & 0xff);
	fault_probe_start(&env);
	for (k = 0; k < 50; k++) {
		fds[k] = spoe_conn(0);
		if (fds[k] >= 0)
			(void)send(fds[k], junk + k, sizeof(junk) - (size_t)k, MSG_NOSIGNAL);
	}
	usleep(1500000);
	close_all(fds, 50);
	fault_probe_stop(&env, &m, &n);
	fault_report("50 peers x 64 KiB of random bytes", &m, &n);
	fault_check_recovered(&env, "random bytes");
}
END_TEST

START_TEST(huge_lengths)
{
	static const uint32_t lens[] = { 0xffffffffu, 0x7fffffffu, 65536u, 16385u, 0 };
	struct fault_stats m, n;
	int fds[5];
	uint8_t hdr[8];
	size_t k;

	fault_probe_start(&env);
	for (k = 0; k < 5; k++) {
		fds[k] = spoe_conn(0);
		hdr[0] = (uint8_t)(lens[k] >> 24);
		hdr[1] = (uint8_t)(lens[k] >> 16);
		hdr[2] = (uint8_t)(lens[k] >> 8);
		hdr[3] = (uint8_t)lens[k];
		memcpy(hdr + 4, "\x01\x00\x00\x00", 4);
		if (fds[k] >= 0)
			(void)send(fds[k], hdr, sizeof(hdr), MSG_NOSIGNAL);
	}
	usleep(1000000);
	close_all(fds, 5);
	fault_probe_stop(&env, &m, &n);
	fault_report("frame lengths 2^32-1 .. 0", &m, &n);
	fault_check_recovered(&env, "huge lengths");
}
END_TEST

/* 200 connections, each sending its HELLO one byte every 100 ms. */
START_TEST(slowloris)
{
	static int fds[200];
	struct fault_stats m, n;
	size_t at;
	int k;

	for (k = 0; k < 200; k++)
		fds[k] = spoe_conn(0);
	fault_probe_start(&env);
	for (at = 0; at < 60; at++) {
		for (k = 0; k < 200; k++)
			if (fds[k] >= 0)
				(void)send(fds[k], HSDO_TEST_HELLO_129 + at, 1, MSG_NOSIGNAL);
		usleep(100000);
	}
	fault_probe_stop(&env, &m, &n);
	close_all(fds, 200);
	fault_report("200 slowloris HELLOs (1 byte / 100 ms)", &m, &n);
	fault_check_recovered(&env, "slowloris");
}
END_TEST

START_TEST(two_thousand)
{
	static int fds[2000];
	struct fault_stats m, n;
	int k;

	fault_probe_start(&env);
	for (k = 0; k < 2000; k++) {
		fds[k] = spoe_conn(0);
		if (fds[k] >= 0)
			(void)send(fds[k], HSDO_TEST_HELLO_129, sizeof(HSDO_TEST_HELLO_129) - 1,
				   MSG_NOSIGNAL);
	}
	usleep(1000000);
	close_all(fds, 2000);
	fault_probe_stop(&env, &m, &n);
	fault_report("2,000 connections (HELLO each)", &m, &n);
	fault_check_recovered(&env, "2,000 connections");
}
END_TEST

/* Finding 8: 1,000 peers that never read their ACKs: 800 send a few
 * NOTIFYs, 200 send until the agent stops reading them (its output to them
 * past out_high, the kernel's buffers full). The agent's buffers stay
 * bounded while they are there (hsdo_spoe_buffer_bytes under 64 MiB), and
 * its memory comes back when they leave. */
START_TEST(non_readers)
{
	static const struct hsdo_test_resp r = { "be_app", "web1", 1, 200 };
	static int fds[1000];
	static bool blocked[1000];
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct fault_stats m, n;
	double buf_peak = 0, buf_after, v, end;
	size_t hello = sizeof(HSDO_TEST_HELLO_129) - 1;
	long rss_peak = 0, rss;
	int k, i, heavy = 0, nblocked = 0;

	ck_assert_ptr_nonnull(w);
	for (i = 0; i < 500; i++)
		hsdo_test_wr_notify(w, (uint64_t)i + 1, 1, &r);
	fault_probe_start(&env);
	for (k = 0; k < 1000; k++) {
		fds[k] = spoe_conn(4096);
		blocked[k] = false;
		if (fds[k] >= 0) {
			(void)send(fds[k], HSDO_TEST_HELLO_129, hello, MSG_NOSIGNAL);
			(void)send(fds[k], w->b, k < 200 ? w->n : w->n / 50, MSG_NOSIGNAL | MSG_DONTWAIT);
		}
	}
	/* The 200 heavy ones: keep sending until the agent stops reading. */
	end = fault_now_ms() + 60000;
	while (nblocked < 200 && fault_now_ms() < end) {
		for (k = 0, heavy = 0; k < 200; k++) {
			ssize_t sent;

			if (fds[k] < 0 || blocked[k])
				continue;
			heavy++;
			sent = send(fds[k], w->b, w->n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
				blocked[k] = true;
				nblocked++;
			}
		}
		rss = fault_rss_kb(env.agent);
		if (rss > rss_peak)
			rss_peak = rss;
		v = metric("hsdo_spoe_buffer_bytes");
		if (v > buf_peak)
			buf_peak = v;
		usleep(50000);
	}
	usleep(500000);
	v = metric("hsdo_spoe_buffer_bytes");
	if (v > buf_peak)
		buf_peak = v;
	fault_probe_stop(&env, &m, &n);
	close_all(fds, 1000);
	free(w);
	printf("1,000 non-readers: %d of 200 pushed back, resident peak %ld kB (baseline %ld kB), "
	       "SPOE buffers peak %.0f bytes\n", nblocked, rss_peak, env.rss0_kb, buf_peak);
	fault_report("1,000 peers that never read", &m, &n);
	ck_assert_msg(nblocked == 200, "only %d of 200 peers were pushed back", nblocked);
	usleep(3000000);   /* the closing connections' linger */
	buf_after = metric("hsdo_spoe_buffer_bytes");
	printf("1,000 non-readers: SPOE buffers after %.0f bytes\n", buf_after);
	ck_assert_msg(buf_peak > 0 && buf_peak <= 64.0 * 1024 * 1024,
		      "hsdo_spoe_buffer_bytes peaked at %.0f (missing, or over 64 MiB)", buf_peak);
	ck_assert_msg(buf_after == 0, "hsdo_spoe_buffer_bytes is %.0f after the peers left",
		      buf_after);
	fault_check_recovered(&env, "1,000 non-readers");
}
END_TEST

/* Drop the whole frames at the start of buf[0..*got); the ACKs among them. */
static size_t take_acks(uint8_t *buf, size_t *got)
{
	size_t acks = 0, flen;

	while (*got >= 4) {
		flen = 4 + ((size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3]);
		if (*got < flen)
			break;
		if (buf[4] == HSDO_SPOP_FRAME_ACK)
			acks++;
		memmove(buf, buf + flen, *got - flen);
		*got -= flen;
	}
	return acks;
}

/* 10,000 pipelined NOTIFYs on one connection, all answered. */
START_TEST(pipelined)
{
	static const struct hsdo_test_resp r = { "be_app", "web2", 2, 503 };
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct fault_stats m, n;
	uint8_t buf[65536];
	size_t acks = 0, got = 0, off;
	double end;
	int fd, i, batch;
	ssize_t k;

	ck_assert_ptr_nonnull(w);
	fd = spoe_conn(0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(send(fd, HSDO_TEST_HELLO_129, sizeof(HSDO_TEST_HELLO_129) - 1,
			      MSG_NOSIGNAL), 0);
	fault_probe_start(&env);
	end = fault_now_ms() + 60000;
	for (batch = 0; batch < 20; batch++) {
		w->n = 0;
		for (i = 0; i < 500; i++)
			hsdo_test_wr_notify(w, (uint64_t)(batch * 500 + i) + 1, 1, &r);
		for (off = 0; off < w->n && fault_now_ms() < end;) {
			k = send(fd, w->b + off, w->n - off, MSG_NOSIGNAL);
			if (k > 0)
				off += (size_t)k;
			/* Read what came back meanwhile: count frames by their lengths. */
			k = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
			if (k > 0)
				got += (size_t)k;
			acks += take_acks(buf, &got);
		}
	}
	while (acks < 10000 && fault_now_ms() < end) {
		struct pollfd pfd = { fd, POLLIN, 0 };

		(void)poll(&pfd, 1, 100);
		k = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
		if (k == 0)
			break;
		if (k > 0)
			got += (size_t)k;
		acks += take_acks(buf, &got);
	}
	fault_probe_stop(&env, &m, &n);
	close(fd);
	free(w);
	ck_assert_uint_eq(acks, 10000);
	fault_report("10,000 pipelined NOTIFYs", &m, &n);
	fault_check_recovered(&env, "10,000 pipelined");
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("faults_spoa");
	TCase *tc = tcase_create("spoa");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, random_bytes);
	tcase_add_test(tc, huge_lengths);
	tcase_add_test(tc, slowloris);
	tcase_add_test(tc, two_thousand);
	tcase_add_test(tc, non_readers);
	tcase_add_test(tc, pipelined);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(suite());
}
