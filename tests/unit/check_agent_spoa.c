/* The SPOE agent (agent/spoa.c) on a real libev loop in this process,
 * driven through raw TCP sockets as HAProxy would: HELLO negotiation
 * (frame sizes both ways, health checks, empty capabilities), pipelined
 * NOTIFYs answered in order with their own stream/frame ids, frames cut at
 * every byte, many connections at once each getting only its own ACKs, the
 * slot_state variable for every way a response names its slot, per
 * backend/slot counting, every error answered with the right
 * AGENT-DISCONNECT status on that connection only (the others keep
 * working), timeouts, the connection cap, write backpressure with a peer
 * that does not read, a listen port that frees up later, and stop with
 * connections open.
 *
 * The loop and the sockets share this thread: every wait pumps the loop
 * (ev_run NOWAIT) and polls the client socket for a millisecond. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "hsdo/clock.h"
#include "hsdo/err.h"
#include "hsdo/health.h"
#include "hsdo/spop.h"

#include "hsdo_test.h"
#include "haproxy_peer.h"
#include "spop_peer.h"
#include "spoa.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define WAIT_MS 5000
/* ck_assert marks a point (a write to check's pipe) on every success: too
 * slow for per-byte and per-frame checks in loops. */
#define REQUIRE(c) do { if (!(c)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c); } while (0)

/* §1.5 of the SPOP brief: the health check (HSDO_TEST_HELLO_129 is the normal
 * HAPROXY-HELLO). */
static const uint8_t hello_check[] = {
	0x00, 0x00, 0x00, 0x4e, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x12, 0x73, 0x75, 0x70, 0x70,
	0x6f, 0x72, 0x74, 0x65, 0x64, 0x2d, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x73, 0x08, 0x03,
	0x32, 0x2e, 0x30, 0x0e, 0x6d, 0x61, 0x78, 0x2d, 0x66, 0x72, 0x61, 0x6d, 0x65, 0x2d, 0x73, 0x69,
	0x7a, 0x65, 0x03, 0xfc, 0xf0, 0x06, 0x0c, 0x63, 0x61, 0x70, 0x61, 0x62, 0x69, 0x6c, 0x69, 0x74,
	0x69, 0x65, 0x73, 0x08, 0x00, 0x0b, 0x68, 0x65, 0x61, 0x6c, 0x74, 0x68, 0x63, 0x68, 0x65, 0x63,
	0x6b, 0x11,
};
/* §1.8: HAProxy's DISCONNECT on `timeout idle`. */
#define DISCONNECT_49 \
	"\x00\x00\x00\x31" "\x02" "\x00\x00\x00\x01" "\x00\x00" \
	"\x0b" "status-code" "\x03\x02" "\x07" "message" "\x08\x12" "a timeout occurred"

/* ---- the fixture -------------------------------------------------------------------- */

static struct ev_loop *loop;
static struct spoa *spoa;
static uint16_t port;
static struct hsdo_config_backend backends[2];
static struct hsdo_config cfg;
static char listen_addr[64];

static void default_params(struct spoa_params *p)
{
	spoa_params_default(p);
	p->retry_interval = 0.1;
}

static void table_set(const enum hsdo_slot_state *states, size_t n)
{
	struct hsdo_table t;
	size_t i;

	ck_assert_int_eq(hsdo_table_init(&t, n), 0);
	for (i = 0; i < n; i++)
		t.slots[i].state = states[i];
	spoa_set_table(spoa, &t);
	hsdo_table_free(&t);
}

/* Slot 1 active, 2 draining, 3 free, 4 active. */
static void default_table(void)
{
	static const enum hsdo_slot_state st[] = {
		HSDO_SLOT_ACTIVE, HSDO_SLOT_DRAINING, HSDO_SLOT_FREE, HSDO_SLOT_ACTIVE,
	};

	table_set(st, NELEM(st));
}

static void start_with(const struct spoa_params *p)
{
	char err[256] = "";

	memset(&cfg, 0, sizeof(cfg));
	memset(backends, 0, sizeof(backends));
	snprintf(backends[0].name, sizeof(backends[0].name), "be_app");
	snprintf(backends[0].base_name, sizeof(backends[0].base_name), "web");
	backends[0].port = 80;
	cfg.client_haproxy_backend_list.v = backends;
	cfg.client_haproxy_backend_list.n = 1;
	snprintf(cfg.client_haproxy_fallback_backend.name,
		 sizeof(cfg.client_haproxy_fallback_backend.name), "be_fb");
	snprintf(cfg.client_haproxy_fallback_backend.base_name,
		 sizeof(cfg.client_haproxy_fallback_backend.base_name), "fb");
	port = hsdo_test_free_port();
	ck_assert_uint_ne(port, 0);
	snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%u", (unsigned)port);
	cfg.spoa_listen = listen_addr;
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_ptr_nonnull(loop);
	ck_assert_msg(spoa_start(loop, &cfg, p, &spoa, err, sizeof(err)) == 0, "%s", err);
	default_table();
}

static void start(void)
{
	struct spoa_params p;

	default_params(&p);
	start_with(&p);
}

static void stop(void)
{
	spoa_stop(spoa);
	spoa = NULL;
	ev_loop_destroy(loop);
	loop = NULL;
}

static struct spoa_stats stats(void)
{
	struct spoa_stats st;

	spoa_get_stats(spoa, &st);
	return st;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Run the loop for about ms milliseconds. */
static void pump(int ms)
{
	int64_t end = now_ms() + ms;

	do {
		ev_run(loop, EVRUN_NOWAIT);
		poll(NULL, 0, 1);
	} while (now_ms() < end);
}

/* ---- a raw client ------------------------------------------------------------------------ */

static int cl_connect(void)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	ck_assert_int_ge(fd, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev_run(loop, EVRUN_NOWAIT);
	return fd;
}

/* Send everything, pumping the loop while the socket is full. */
static void cl_send(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int64_t end = now_ms() + WAIT_MS;
	ssize_t n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		ck_assert_msg(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK), "send: %s",
			      strerror(errno));
		ck_assert_msg(now_ms() < end, "send blocked for %d ms", WAIT_MS);
		ev_run(loop, EVRUN_NOWAIT);
		poll(NULL, 0, 1);
	}
	ev_run(loop, EVRUN_NOWAIT);
}

/* Read exactly len bytes. 1, 0 on EOF before any byte, -1 on a reset or
 * timeout. */
static int cl_read(int fd, uint8_t *buf, size_t len, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	size_t got = 0;
	ssize_t n;

	while (got < len) {
		ev_run(loop, EVRUN_NOWAIT);
		n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (n == 0)
			return got == 0 ? 0 : -1;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		if (now_ms() >= end)
			return -1;
		{
			struct pollfd pfd = { fd, POLLIN, 0 };

			poll(&pfd, 1, 1);
		}
	}
	return 1;
}

/* One frame from the agent (length prefix included) into buf; its total
 * size, 0 on EOF, -1 on timeout or reset. */
static int cl_frame(int fd, uint8_t *buf, size_t cap)
{
	uint32_t len;
	int rc = cl_read(fd, buf, 4, WAIT_MS);

	if (rc <= 0)
		return rc;
	len = (uint32_t)buf[0] << 24 | (uint32_t)buf[1] << 16 | (uint32_t)buf[2] << 8 | buf[3];
	ck_assert_uint_le(len + 4, cap);
	ck_assert_int_eq(cl_read(fd, buf + 4, len, WAIT_MS), 1);
	return (int)(len + 4);
}

/* The agent closes: EOF (or a reset) within timeout_ms, nothing else. */
static void cl_expect_eof(int fd, int timeout_ms)
{
	uint8_t b;

	ck_assert_msg(cl_read(fd, &b, 1, timeout_ms) <= 0, "data where EOF was expected");
}

/* ---- frames the agent sends ------------------------------------------------------------- */

static void decode(const uint8_t *buf, int len, uint8_t type, struct hsdo_spop_frame *f)
{
	ck_assert_int_gt(len, 0);
	ck_assert_int_eq(hsdo_spop_frame_decode(buf, (size_t)len, 70000, f), len);
	ck_assert_msg(f->type == type, "frame type %u (%s), want %u", f->type,
		      hsdo_spop_frame_type_str((enum hsdo_spop_frame_type)f->type), type);
	ck_assert_uint_eq(f->flags, HSDO_SPOP_FLAG_FIN);
}

struct agent_hello {
	char version[16], caps[64];
	uint64_t max_frame;
};

static struct agent_hello read_agent_hello(int fd)
{
	uint8_t buf[512];
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;
	struct hsdo_spop_kv kv;
	struct agent_hello h;
	int n = cl_frame(fd, buf, sizeof(buf));

	memset(&h, 0, sizeof(h));
	decode(buf, n, HSDO_SPOP_FRAME_AGENT_HELLO, &f);
	ck_assert(f.stream_id == 0 && f.frame_id == 0);
	hsdo_spop_iter_init(&it, f.payload, f.payload_len);
	while (hsdo_spop_kv_next(&it, &kv) == 1) {
		if (kv.name.len == 7 && memcmp(kv.name.ptr, "version", 7) == 0)
			snprintf(h.version, sizeof(h.version), "%.*s", (int)kv.value.bytes.len,
				 (const char *)kv.value.bytes.ptr);
		else if (kv.name.len == 12 && memcmp(kv.name.ptr, "capabilities", 12) == 0)
			snprintf(h.caps, sizeof(h.caps), "%.*s", (int)kv.value.bytes.len,
				 (const char *)kv.value.bytes.ptr);
		else if (kv.name.len == 14 && memcmp(kv.name.ptr, "max-frame-size", 14) == 0)
			h.max_frame = kv.value.u;
	}
	return h;
}

/* Read one ACK: its ids, and the slot_state it sets ("" when none). */
static void read_ack(int fd, uint64_t *sid, uint64_t *fid, char *state, size_t statelen)
{
	uint8_t buf[512];
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;
	struct hsdo_spop_action a;
	int n = cl_frame(fd, buf, sizeof(buf)), rc;

	decode(buf, n, HSDO_SPOP_FRAME_ACK, &f);
	*sid = f.stream_id;
	*fid = f.frame_id;
	state[0] = '\0';
	hsdo_spop_iter_init(&it, f.payload, f.payload_len);
	rc = hsdo_spop_action_next(&it, &a);
	if (rc == 0)
		return;
	ck_assert_int_eq(rc, 1);
	ck_assert_int_eq(a.type, HSDO_SPOP_ACTION_SET_VAR);
	ck_assert_int_eq(a.scope, HSDO_SPOP_SCOPE_TXN);
	ck_assert(a.name.len == 10 && memcmp(a.name.ptr, "slot_state", 10) == 0);
	ck_assert_int_eq(a.value.type, HSDO_SPOP_DATA_STRING);
	snprintf(state, statelen, "%.*s", (int)a.value.bytes.len, (const char *)a.value.bytes.ptr);
	ck_assert_int_eq(hsdo_spop_action_next(&it, &a), 0);   /* exactly one action */
}

static void expect_ack(int fd, uint64_t sid, uint64_t fid, const char *state)
{
	uint64_t s, f;
	char got[32];

	read_ack(fd, &s, &f, got, sizeof(got));
	ck_assert_msg(s == sid && f == fid, "ACK for %llu/%llu, want %llu/%llu",
		      (unsigned long long)s, (unsigned long long)f, (unsigned long long)sid,
		      (unsigned long long)fid);
	ck_assert_str_eq(got, state);
}

/* An AGENT-DISCONNECT with `status`, then EOF. */
static void expect_disconnect(int fd, uint32_t status)
{
	uint8_t buf[512];
	struct hsdo_spop_frame f;
	struct hsdo_spop_disconnect d;
	enum hsdo_spop_status st;
	int n = cl_frame(fd, buf, sizeof(buf));

	ck_assert_msg(n > 0, "no AGENT-DISCONNECT (status %u expected): %s", status,
		      n == 0 ? "EOF" : "timeout or reset");
	decode(buf, n, HSDO_SPOP_FRAME_AGENT_DISCONNECT, &f);
	ck_assert_int_eq(hsdo_spop_disconnect_decode(&f, &d, &st), 0);
	ck_assert_msg(d.status_code == status, "status %u, want %u", d.status_code, status);
	ck_assert_uint_gt(d.message.len, 0);
	cl_expect_eof(fd, WAIT_MS);
}

/* A connection past the HELLO. */
static int cl_ready(void)
{
	int fd = cl_connect();
	struct agent_hello h;

	cl_send(fd, HSDO_TEST_HELLO_129, sizeof(HSDO_TEST_HELLO_129) - 1);
	h = read_agent_hello(fd);
	ck_assert_str_eq(h.version, "2.0");
	return fd;
}

static void notify_one(int fd, uint64_t sid, uint64_t fid, const struct hsdo_test_resp *r)
{
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));

	ck_assert_ptr_nonnull(w);
	hsdo_test_wr_notify(w, sid, fid, r);
	cl_send(fd, w->b, w->n);
	free(w);
}

static const struct hsdo_test_resp ok200 = { "be_app", "web1", 1, 200 };
static const struct hsdo_test_resp drain404 = { "be_app", "web2", 2, 404 };

/* ---- HELLO --------------------------------------------------------------------------------- */

START_TEST(hello_doc_frame)
{
	int fd;
	struct agent_hello h;

	start();
	fd = cl_connect();
	cl_send(fd, HSDO_TEST_HELLO_129, sizeof(HSDO_TEST_HELLO_129) - 1);
	h = read_agent_hello(fd);
	ck_assert_str_eq(h.version, "2.0");
	ck_assert_str_eq(h.caps, "pipelining");
	ck_assert_uint_eq(h.max_frame, 16380);
	notify_one(fd, 0, 1, &ok200);
	expect_ack(fd, 0, 1, "active");
	ck_assert_uint_eq(stats().hellos, 1);
	ck_assert_uint_eq(stats().conns_open, 1);
	ck_assert_uint_eq(stats().conns_accepted, 1);
	close(fd);
	pump(20);
	ck_assert_uint_eq(stats().conns_open, 0);
	stop();
}
END_TEST

/* Negotiation takes the smaller size, from either side, and holds it. */
START_TEST(hello_frame_sizes)
{
	struct spoa_params p;
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct hsdo_test_resp big = ok200;
	char srv[2000];
	int fd;

	ck_assert_ptr_nonnull(w);
	default_params(&p);
	p.max_frame_size = 4096;
	start_with(&p);
	fd = cl_connect();
	cl_send(fd, HSDO_TEST_HELLO_129, sizeof(HSDO_TEST_HELLO_129) - 1);
	ck_assert_uint_eq(read_agent_hello(fd).max_frame, 4096);
	close(fd);

	fd = cl_connect();
	hsdo_test_wr_hello(w, "2.0", 1000, "pipelining,async", HSDO_SPOP_FLAG_FIN, 0);
	cl_send(fd, w->b, w->n);
	ck_assert_uint_eq(read_agent_hello(fd).max_frame, 1000);
	/* a NOTIFY of exactly 1000 bytes is fine, one more is too big */
	memset(srv, 'a', sizeof(srv));
	for (size_t len = 1; len < sizeof(srv); len++) {
		w->n = 0;
		srv[len] = '\0';
		big.srv = srv;
		hsdo_test_wr_notify(w, 7, 9, &big);
		srv[len] = 'a';
		if (w->n == 1004)
			break;
	}
	ck_assert_uint_eq(w->n, 1004);
	cl_send(fd, w->b, w->n);
	expect_ack(fd, 7, 9, "unknown");
	srv[sizeof(srv) - 1] = '\0';
	w->n = 0;
	hsdo_test_wr_notify(w, 7, 10, &big);
	cl_send(fd, w->b, w->n);
	expect_disconnect(fd, HSDO_SPOP_ST_TOO_BIG);
	close(fd);
	ck_assert_uint_eq(stats().errors[SPOA_ERR_TOO_BIG], 1);
	free(w);
	stop();
}
END_TEST

START_TEST(hello_healthcheck)
{
	struct agent_hello h;
	int fd;

	start();
	fd = cl_connect();
	cl_send(fd, hello_check, sizeof(hello_check));
	h = read_agent_hello(fd);
	ck_assert_str_eq(h.version, "2.0");
	ck_assert_uint_eq(h.max_frame, 16380);
	cl_expect_eof(fd, WAIT_MS);    /* the agent closes after a health check */
	close(fd);
	pump(20);
	ck_assert_uint_eq(stats().healthchecks, 1);
	ck_assert_uint_eq(stats().hellos, 1);
	ck_assert_uint_eq(stats().conns_open, 0);
	stop();
}
END_TEST

/* Empty capabilities on a normal HELLO: accepted, pipelining announced. */
START_TEST(hello_empty_capabilities)
{
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct agent_hello h;
	int fd;

	ck_assert_ptr_nonnull(w);
	start();
	fd = cl_connect();
	hsdo_test_wr_hello(w, " 1.0 , 2.0 ", 16380, "", HSDO_SPOP_FLAG_FIN, 0);
	cl_send(fd, w->b, w->n);
	h = read_agent_hello(fd);
	ck_assert_str_eq(h.caps, "pipelining");
	notify_one(fd, 3, 4, &ok200);
	expect_ack(fd, 3, 4, "active");
	close(fd);
	free(w);
	stop();
}
END_TEST

/* ---- NOTIFY and ACK ---------------------------------------------------------------------- */

/* 500 NOTIFYs in one send: 500 ACKs, in order, each with its ids. */
START_TEST(pipelining)
{
	enum { N = 500 };
	static const struct {
		struct hsdo_test_resp r;
		const char *state;
	} kinds[] = {
		{ { "be_app", "web1", 1, 200 }, "active" },
		{ { "be_app", "web2", 2, 404 }, "draining" },
		{ { "be_app", "web3", 3, 503 }, "free" },
		{ { "be_app", "web4", 4, 302 }, "active" },
	};
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct hsdo_health_stats hs;
	uint64_t sid, fid;
	char state[32];
	size_t i;
	int fd;

	ck_assert_ptr_nonnull(w);
	start();
	fd = cl_ready();
	for (i = 0; i < N; i++)
		hsdo_test_wr_notify(w, 1795703520851ULL + i * 977, i % 3 == 0 ? 1 : 2 + i, &kinds[i % 4].r);
	cl_send(fd, w->b, w->n);
	for (i = 0; i < N; i++) {
		read_ack(fd, &sid, &fid, state, sizeof(state));
		ck_assert_uint_eq(sid, 1795703520851ULL + i * 977);
		ck_assert_uint_eq(fid, i % 3 == 0 ? 1 : 2 + i);
		ck_assert_str_eq(state, kinds[i % 4].state);
	}
	ck_assert_uint_eq(stats().notifies, N);
	ck_assert_uint_eq(stats().responses, N);
	ck_assert_int_eq(hsdo_health_find(spoa_health(spoa), "be_app", 6, 1, hsdo_clock_mono_ms(),
					  &hs), 0);
	ck_assert_uint_eq(hs.total[HSDO_HEALTH_2XX], N / 4);
	ck_assert_uint_eq(hs.window[HSDO_HEALTH_2XX], N / 4);
	ck_assert_int_eq(hsdo_health_find(spoa_health(spoa), "be_app", 6, 3, hsdo_clock_mono_ms(),
					  &hs), 0);
	ck_assert_uint_eq(hs.total[HSDO_HEALTH_5XX], N / 4);
	ck_assert_uint_eq(hs.window_errors, N / 4);
	ck_assert_int_eq(hsdo_health_find(spoa_health(spoa), "be_app", 6, 2, hsdo_clock_mono_ms(),
					  &hs), 0);
	ck_assert_uint_eq(hs.total[HSDO_HEALTH_4XX], N / 4);
	ck_assert_uint_eq(hsdo_health_count(spoa_health(spoa)), 4);
	close(fd);
	free(w);
	stop();
}
END_TEST

/* The HELLO and three NOTIFYs, one byte per send. */
START_TEST(byte_by_byte)
{
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct agent_hello h;
	size_t i, hello_len;
	int fd;

	ck_assert_ptr_nonnull(w);
	start();
	fd = cl_connect();
	memcpy(w->b, HSDO_TEST_HELLO_129, sizeof(HSDO_TEST_HELLO_129) - 1);
	w->n = hello_len = sizeof(HSDO_TEST_HELLO_129) - 1;
	hsdo_test_wr_notify(w, 1, 1, &ok200);
	hsdo_test_wr_notify(w, 1, 2, &drain404);
	hsdo_test_wr_notify(w, 300, 16380, &ok200);
	for (i = 0; i < w->n; i++) {
		cl_send(fd, w->b + i, 1);
		pump(i % 50 == 0 ? 2 : 0);
		if (i + 1 == hello_len) {
			h = read_agent_hello(fd);
			ck_assert_uint_eq(h.max_frame, 16380);
		}
	}
	expect_ack(fd, 1, 1, "active");
	expect_ack(fd, 1, 2, "draining");
	expect_ack(fd, 300, 16380, "active");
	close(fd);
	free(w);
	stop();
}
END_TEST

/* 64 connections, ten NOTIFYs each sent round-robin: each connection gets
 * its own ten ACKs, in order. */
START_TEST(many_connections)
{
	enum { NC = 64, NR = 10 };
	int fds[NC];
	size_t c, r;

	start();
	for (c = 0; c < NC; c++)
		fds[c] = cl_ready();
	ck_assert_uint_eq(stats().conns_open, NC);
	for (r = 0; r < NR; r++)
		for (c = 0; c < NC; c++)
			notify_one(fds[c], 1000 + c, r + 1, r % 2 ? &drain404 : &ok200);
	for (c = 0; c < NC; c++)
		for (r = 0; r < NR; r++)
			expect_ack(fds[c], 1000 + c, r + 1, r % 2 ? "draining" : "active");
	for (c = 0; c < NC; c++)
		close(fds[c]);
	pump(50);
	ck_assert_uint_eq(stats().conns_open, 0);
	ck_assert_uint_eq(stats().notifies, NC * NR);
	stop();
}
END_TEST

/* ---- which slot, which state ----------------------------------------------------------- */

static const struct {
	struct hsdo_test_resp r;
	const char *state;          /* slot_state in the ACK */
	const char *key_be;         /* where it is counted */
	uint32_t key_slot;
	enum hsdo_health_class c;
} slot_cases[] = {
	{ { "be_app", "web1", 1, 200 }, "active", "be_app", 1, HSDO_HEALTH_2XX },
	{ { "be_app", "web2", 2, 301 }, "draining", "be_app", 2, HSDO_HEALTH_3XX },
	{ { "be_app", "web3", 3, 503 }, "free", "be_app", 3, HSDO_HEALTH_5XX },
	{ { "be_app", "web4", -1, 404 }, "active", "be_app", 4, HSDO_HEALTH_4XX },
	{ { "be_app", "web5", 5, 200 }, "unknown", "be_app", 5, HSDO_HEALTH_2XX },  /* past the table */
	{ { "be_app", "web01", 9, 200 }, "unknown", "be_app", 9, HSDO_HEALTH_2XX }, /* not a slot name */
	{ { "be_app", "backup", 7, 200 }, "unknown", "be_app", 7, HSDO_HEALTH_2XX },
	{ { "be_app", NULL, 2, 200 }, "draining", "be_app", 2, HSDO_HEALTH_2XX },   /* srv_id only */
	{ { "be_app", NULL, -1, 503 }, "unknown", "be_app", 0, HSDO_HEALTH_5XX },   /* no server */
	{ { "be_app", "web1", 1, -1 }, "active", "be_app", 1, HSDO_HEALTH_NONE },   /* no status */
	{ { "be_app", "web1", 1, 99 }, "active", "be_app", 1, HSDO_HEALTH_NONE },
	{ { "be_fb", "fb3", 3, 200 }, "free", "be_fb", 3, HSDO_HEALTH_2XX },        /* fallback */
	{ { "be_fb", "web1", 1, 200 }, "unknown", "be_fb", 1, HSDO_HEALTH_2XX },    /* its base is fb */
	{ { "be_other", "web1", 1, 200 }, "unknown", "be_other", 1, HSDO_HEALTH_2XX },
	{ { "be_other", NULL, 4, 200 }, "unknown", "be_other", 4, HSDO_HEALTH_2XX },
	{ { "be_other", NULL, -1, -1 }, "unknown", "be_other", 0, HSDO_HEALTH_NONE },
};

START_TEST(slot_state_and_key)
{
	struct hsdo_health_stats hs;
	int fd;

	start();
	fd = cl_ready();
	notify_one(fd, 5, 6, &slot_cases[_i].r);
	expect_ack(fd, 5, 6, slot_cases[_i].state);
	ck_assert_uint_eq(hsdo_health_count(spoa_health(spoa)), 1);
	ck_assert_int_eq(hsdo_health_find(spoa_health(spoa), slot_cases[_i].key_be,
					  strlen(slot_cases[_i].key_be), slot_cases[_i].key_slot,
					  hsdo_clock_mono_ms(), &hs), 0);
	ck_assert_uint_eq(hs.total[slot_cases[_i].c], 1);
	ck_assert_uint_eq(hs.window_total, 1);
	close(fd);
	stop();
}
END_TEST

/* The table handed over decides; none (or an empty one) means unknown. */
START_TEST(table_changes)
{
	static const enum hsdo_slot_state two[] = { HSDO_SLOT_DRAINING, HSDO_SLOT_ACTIVE };
	struct hsdo_table empty = { NULL, 0, 0, NULL };
	int fd;

	start();
	fd = cl_ready();
	notify_one(fd, 1, 1, &ok200);
	expect_ack(fd, 1, 1, "active");
	spoa_set_table(spoa, NULL);
	notify_one(fd, 1, 2, &ok200);
	expect_ack(fd, 1, 2, "unknown");
	table_set(two, NELEM(two));
	notify_one(fd, 1, 3, &ok200);
	expect_ack(fd, 1, 3, "draining");
	notify_one(fd, 1, 4, &slot_cases[2].r);     /* web3: past a 2-slot table */
	expect_ack(fd, 1, 4, "unknown");
	spoa_set_table(spoa, &empty);
	notify_one(fd, 1, 5, &ok200);
	expect_ack(fd, 1, 5, "unknown");
	default_table();
	notify_one(fd, 1, 6, &ok200);
	expect_ack(fd, 1, 6, "active");
	/* a new backend list (SIGHUP) */
	snprintf(backends[0].base_name, sizeof(backends[0].base_name), "srv");
	spoa_set_config(spoa, &cfg);
	notify_one(fd, 1, 7, &ok200);
	expect_ack(fd, 1, 7, "unknown");
	spoa_set_config(NULL, &cfg);
	spoa_set_table(NULL, NULL);
	close(fd);
	stop();
}
END_TEST

/* Messages that are not responses, none at all, several in one NOTIFY. */
START_TEST(message_shapes)
{
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct hsdo_health_stats hs;
	struct hsdo_test_resp nobe = { NULL, "web1", 1, 200 };
	size_t at, i;
	int fd;

	ck_assert_ptr_nonnull(w);
	start();
	fd = cl_ready();
	/* no message */
	at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 1, 1);
	hsdo_test_wr_end(w, at);
	/* a request-side message: no be_name */
	at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 1, 2);
	hsdo_test_wr_name(w, "req-msg");
	hsdo_test_wr_u8(w, 1);
	hsdo_test_wr_name(w, "path");
	hsdo_test_wr_str(w, "/");
	hsdo_test_wr_end(w, at);
	/* be_name NULL */
	at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 1, 3);
	hsdo_test_wr_resp_msg(w, "hsdo-response", &nobe);
	hsdo_test_wr_end(w, at);
	/* another message, then a response, then an unnamed argument */
	at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 1, 4);
	hsdo_test_wr_name(w, "other");
	hsdo_test_wr_u8(w, 1);
	hsdo_test_wr_name(w, "");
	hsdo_test_wr_int(w, 5);
	hsdo_test_wr_resp_msg(w, "x", &drain404);
	hsdo_test_wr_end(w, at);
	/* eleven responses in one NOTIFY: all counted, the last one's state */
	at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 1, 5);
	for (i = 0; i < 10; i++)
		hsdo_test_wr_resp_msg(w, "hsdo-response", &ok200);
	hsdo_test_wr_resp_msg(w, "hsdo-response", &slot_cases[2].r);
	hsdo_test_wr_end(w, at);
	cl_send(fd, w->b, w->n);
	expect_ack(fd, 1, 1, "");
	expect_ack(fd, 1, 2, "");
	expect_ack(fd, 1, 3, "");
	expect_ack(fd, 1, 4, "draining");
	expect_ack(fd, 1, 5, "free");
	ck_assert_uint_eq(stats().notifies, 5);
	ck_assert_uint_eq(stats().messages, 0 + 1 + 1 + 2 + 11);
	ck_assert_uint_eq(stats().responses, 1 + 11);
	ck_assert_int_eq(hsdo_health_find(spoa_health(spoa), "be_app", 6, 1, hsdo_clock_mono_ms(),
					  &hs), 0);
	ck_assert_uint_eq(hs.total[HSDO_HEALTH_2XX], 10);
	ck_assert_int_eq(hsdo_health_find(spoa_health(spoa), "be_app", 6, 3, hsdo_clock_mono_ms(),
					  &hs), 0);
	ck_assert_uint_eq(hs.total[HSDO_HEALTH_5XX], 1);
	close(fd);
	free(w);
	stop();
}
END_TEST

/* ---- errors: one connection ends, the others go on -------------------------------------- */

static void b_raw(struct hsdo_test_wr *w, const char *s, size_t len)
{
	memcpy(w->b + w->n, s, len);
	w->n += len;
}
#define RAW(w, s) b_raw(w, s, sizeof(s) - 1)

static void b_too_big(struct hsdo_test_wr *w) { RAW(w, "\x00\x00\x4e\x20" "\x03\x00\x00\x00\x01\x00\x01"); }
static void b_too_big_ready(struct hsdo_test_wr *w) { RAW(w, "\x00\x00\x3f\xfd" "\x03\x00\x00\x00\x01\x00\x01"); }
static void b_http(struct hsdo_test_wr *w) { RAW(w, "GET / HTTP/1.1\r\nHost: spoa\r\n\r\n"); }
static void b_short(struct hsdo_test_wr *w) { RAW(w, "\x00\x00\x00\x03" "\x01\x00\x00"); }
static void b_zero(struct hsdo_test_wr *w) { RAW(w, "\x00\x00\x00\x00"); }
static void b_notify(struct hsdo_test_wr *w) { hsdo_test_wr_notify(w, 1, 1, &ok200); }
static void b_hello(struct hsdo_test_wr *w) { RAW(w, HSDO_TEST_HELLO_129); }
static void b_v1(struct hsdo_test_wr *w) { hsdo_test_wr_hello(w, "1.0", 16380, "pipelining", HSDO_SPOP_FLAG_FIN, 0); }
static void b_v21(struct hsdo_test_wr *w) { hsdo_test_wr_hello(w, "2.1,3.0", 16380, "pipelining", HSDO_SPOP_FLAG_FIN, 0); }
static void b_fs100(struct hsdo_test_wr *w) { hsdo_test_wr_hello(w, "2.0", 100, "pipelining", HSDO_SPOP_FLAG_FIN, 0); }
static void b_nov(struct hsdo_test_wr *w) { hsdo_test_wr_hello(w, NULL, 16380, "pipelining", HSDO_SPOP_FLAG_FIN, 0); }
static void b_nofs(struct hsdo_test_wr *w) { hsdo_test_wr_hello(w, "2.0", -1, "pipelining", HSDO_SPOP_FLAG_FIN, 0); }
static void b_nocap(struct hsdo_test_wr *w) { hsdo_test_wr_hello(w, "2.0", 16380, NULL, HSDO_SPOP_FLAG_FIN, 0); }
static void b_hello_sid(struct hsdo_test_wr *w) { hsdo_test_wr_hello(w, "2.0", 16380, "", HSDO_SPOP_FLAG_FIN, 1); }
static void b_hello_abort(struct hsdo_test_wr *w)
{
	hsdo_test_wr_hello(w, "2.0", 16380, "", HSDO_SPOP_FLAG_FIN | HSDO_SPOP_FLAG_ABORT, 0);
}
static void b_nofin(struct hsdo_test_wr *w)
{
	size_t at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_NOTIFY, 0, 1, 1);

	hsdo_test_wr_resp_msg(w, "hsdo-response", &ok200);
	hsdo_test_wr_end(w, at);
}
static void b_unset(struct hsdo_test_wr *w) { hsdo_test_wr_end(w, hsdo_test_wr_begin(w, 0, HSDO_SPOP_FLAG_FIN, 1, 1)); }
static void b_type50(struct hsdo_test_wr *w) { hsdo_test_wr_end(w, hsdo_test_wr_begin(w, 50, HSDO_SPOP_FLAG_FIN, 0, 0)); }
static void b_ack(struct hsdo_test_wr *w) { hsdo_test_wr_end(w, hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_ACK, HSDO_SPOP_FLAG_FIN, 1, 1)); }
static void b_nargs(struct hsdo_test_wr *w)
{
	size_t at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 1, 1);

	hsdo_test_wr_name(w, "hsdo-response");
	hsdo_test_wr_u8(w, 3);
	hsdo_test_wr_name(w, "be_name");
	hsdo_test_wr_str(w, "be_app");
	hsdo_test_wr_end(w, at);
}
static void b_reserved(struct hsdo_test_wr *w)
{
	size_t at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 1, 1);

	hsdo_test_wr_name(w, "hsdo-response");
	hsdo_test_wr_u8(w, 1);
	hsdo_test_wr_name(w, "be_name");
	hsdo_test_wr_u8(w, 12);
	hsdo_test_wr_end(w, at);
}
/* valid NOTIFYs, then a broken one: the first two are answered and counted */
static void b_after_good(struct hsdo_test_wr *w)
{
	hsdo_test_wr_notify(w, 1, 1, &ok200);
	hsdo_test_wr_notify(w, 1, 2, &ok200);
	b_nargs(w);
}
static void b_disconnect_bad(struct hsdo_test_wr *w)
{
	hsdo_test_wr_end(w, hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_HAPROXY_DISCONNECT, HSDO_SPOP_FLAG_FIN, 0, 0));
}

static const struct bad {
	const char *what;
	bool ready;                    /* HELLO first */
	void (*build)(struct hsdo_test_wr *w);
	uint32_t status;
	enum spoa_error reason;
	unsigned acks;                 /* ACKs before the DISCONNECT */
} bad_cases[] = {
	{ "frame over 16380 before HELLO", false, b_too_big, 3, SPOA_ERR_TOO_BIG, 0 },
	{ "frame over 16380 after HELLO", true, b_too_big_ready, 3, SPOA_ERR_TOO_BIG, 0 },
	{ "HTTP request", false, b_http, 3, SPOA_ERR_TOO_BIG, 0 },
	{ "HTTP request after HELLO", true, b_http, 3, SPOA_ERR_TOO_BIG, 0 },
	{ "length 3", false, b_short, 4, SPOA_ERR_INVALID, 0 },
	{ "length 0", true, b_zero, 4, SPOA_ERR_INVALID, 0 },
	{ "NOTIFY before HELLO", false, b_notify, 4, SPOA_ERR_UNEXPECTED, 0 },
	{ "a second HELLO", true, b_hello, 4, SPOA_ERR_UNEXPECTED, 0 },
	{ "version 1.0", false, b_v1, 8, SPOA_ERR_BAD_VERSION, 0 },
	{ "versions 2.1, 3.0", false, b_v21, 8, SPOA_ERR_BAD_VERSION, 0 },
	{ "max-frame-size 100", false, b_fs100, 9, SPOA_ERR_BAD_FRAME_SIZE, 0 },
	{ "HELLO without version", false, b_nov, 5, SPOA_ERR_MISSING_KEY, 0 },
	{ "HELLO without max-frame-size", false, b_nofs, 6, SPOA_ERR_MISSING_KEY, 0 },
	{ "HELLO without capabilities", false, b_nocap, 7, SPOA_ERR_MISSING_KEY, 0 },
	{ "HELLO with stream-id 1", false, b_hello_sid, 4, SPOA_ERR_INVALID, 0 },
	{ "HELLO with ABORT", false, b_hello_abort, 10, SPOA_ERR_FRAGMENTED, 0 },
	{ "NOTIFY without FIN", true, b_nofin, 10, SPOA_ERR_FRAGMENTED, 0 },
	{ "continuation frame", true, b_unset, 10, SPOA_ERR_FRAGMENTED, 0 },
	{ "frame type 50", true, b_type50, 4, SPOA_ERR_INVALID, 0 },
	{ "an ACK from HAProxy", true, b_ack, 4, SPOA_ERR_INVALID, 0 },
	{ "NB-ARGS 3, one argument", true, b_nargs, 4, SPOA_ERR_INVALID, 0 },
	{ "reserved data type", true, b_reserved, 4, SPOA_ERR_INVALID, 0 },
	{ "broken NOTIFY after two good ones", true, b_after_good, 4, SPOA_ERR_INVALID, 2 },
	{ "DISCONNECT without status-code", true, b_disconnect_bad, 4, SPOA_ERR_INVALID, 0 },
};

START_TEST(errors)
{
	const struct bad *b = &bad_cases[_i];
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct spoa_stats st;
	unsigned i, total = 0;
	int by, fd, other;

	ck_assert_ptr_nonnull(w);
	start();
	by = cl_ready();
	notify_one(by, 9, 1, &ok200);
	fd = b->ready ? cl_ready() : cl_connect();
	other = cl_ready();
	notify_one(by, 9, 2, &ok200);          /* in flight while the bad one fails */
	b->build(w);
	cl_send(fd, w->b, w->n);
	for (i = 0; i < b->acks; i++)
		expect_ack(fd, 1, i + 1, "active");
	expect_disconnect(fd, b->status);
	close(fd);
	st = stats();
	for (i = 0; i < SPOA_ERR_COUNT; i++)
		total += (unsigned)st.errors[i];
	ck_assert_msg(st.errors[b->reason] == 1 && total == 1, "%s: reason %s counted %llu, "
		      "%u errors in all", b->what, spoa_error_str(b->reason),
		      (unsigned long long)st.errors[b->reason], total);
	ck_assert_uint_eq(st.responses, 2 + b->acks);
	/* the others were not disturbed */
	expect_ack(by, 9, 1, "active");
	expect_ack(by, 9, 2, "active");
	notify_one(by, 9, 3, &drain404);
	notify_one(other, 10, 1, &ok200);
	expect_ack(by, 9, 3, "draining");
	expect_ack(other, 10, 1, "active");
	pump(10);
	ck_assert_uint_eq(stats().conns_open, 2);
	/* and a new connection works */
	fd = cl_ready();
	notify_one(fd, 11, 1, &ok200);
	expect_ack(fd, 11, 1, "active");
	close(fd);
	close(by);
	close(other);
	free(w);
	stop();
}
END_TEST

/* HAProxy's own DISCONNECT (idle timeout on its side): answered with
 * status 0, closed, not an error. */
START_TEST(haproxy_disconnect)
{
	struct spoa_stats st;
	unsigned i;
	int fd, by;

	start();
	by = cl_ready();
	fd = cl_ready();
	notify_one(fd, 2, 1, &ok200);
	cl_send(fd, DISCONNECT_49, sizeof(DISCONNECT_49) - 1);
	expect_ack(fd, 2, 1, "active");
	expect_disconnect(fd, HSDO_SPOP_ST_NORMAL);
	close(fd);
	st = stats();
	ck_assert_uint_eq(st.haproxy_disconnects, 1);
	for (i = 0; i < SPOA_ERR_COUNT; i++)
		ck_assert_uint_eq(st.errors[i], 0);
	notify_one(by, 3, 1, &ok200);
	expect_ack(by, 3, 1, "active");
	close(by);
	stop();
}
END_TEST

/* ---- timeouts ------------------------------------------------------------------------------- */

static void short_timeouts(void)
{
	struct spoa_params p;

	default_params(&p);
	p.frame_timeout = 0.2;
	p.idle_timeout = 0.6;
	p.linger_timeout = 0.5;
	start_with(&p);
}

/* kind 0: no HELLO at all; 1: half a HELLO; 2: half a NOTIFY after the
 * HELLO; 3: nothing after the HELLO (idle). */
START_TEST(timeouts)
{
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	int64_t t0, dt, lo = _i == 3 ? 550 : 150;
	int fd, by, i;

	ck_assert_ptr_nonnull(w);
	short_timeouts();
	by = cl_ready();
	fd = _i >= 2 ? cl_ready() : cl_connect();
	t0 = now_ms();
	if (_i == 1)
		cl_send(fd, HSDO_TEST_HELLO_129, 20);
	if (_i == 2) {
		hsdo_test_wr_notify(w, 1, 1, &ok200);
		cl_send(fd, w->b, 10);
	}
	/* the bystander keeps talking: it is never idle; meanwhile, note when
	 * the DISCONNECT arrives */
	dt = -1;
	for (i = 0; i < 30; i++) {
		uint8_t b;

		notify_one(by, 4, (uint64_t)i + 1, &ok200);
		expect_ack(by, 4, (uint64_t)i + 1, "active");
		pump(50);
		if (dt < 0 && recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) > 0)
			dt = now_ms() - t0;
	}
	expect_disconnect(fd, HSDO_SPOP_ST_TIMEOUT);
	ck_assert_msg(dt >= lo && dt < lo + 1000, "timed out after %lld ms (lower bound %lld)",
		      (long long)dt, (long long)lo);
	ck_assert_uint_eq(stats().errors[SPOA_ERR_TIMEOUT], 1);
	close(fd);
	notify_one(by, 4, 99, &ok200);
	expect_ack(by, 4, 99, "active");
	close(by);
	free(w);
	stop();
}
END_TEST

/* A slow but steady sender of one frame is cut at frame_timeout, while a
 * slow sender of many small frames is not. */
START_TEST(slow_frames)
{
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	size_t i;
	int fd;

	ck_assert_ptr_nonnull(w);
	short_timeouts();
	fd = cl_ready();
	for (i = 0; i < 6; i++) {
		notify_one(fd, 8, i + 1, &ok200);
		pump(100);
		expect_ack(fd, 8, i + 1, "active");
	}
	hsdo_test_wr_notify(w, 8, 100, &ok200);
	for (i = 0; i < w->n; i++) {
		uint8_t b;

		cl_send(fd, w->b + i, 1);
		pump(40);
		if (recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) > 0)
			break;
	}
	ck_assert_uint_lt(i, w->n);
	expect_disconnect(fd, HSDO_SPOP_ST_TIMEOUT);
	close(fd);
	free(w);
	stop();
}
END_TEST

/* ---- bounds ---------------------------------------------------------------------------------- */

START_TEST(connection_cap)
{
	struct spoa_params p;
	int fds[4], fd;
	size_t i;

	default_params(&p);
	p.max_conns = 4;
	start_with(&p);
	for (i = 0; i < 4; i++)
		fds[i] = cl_ready();
	fd = cl_connect();
	expect_disconnect(fd, HSDO_SPOP_ST_RES);
	close(fd);
	ck_assert_uint_eq(stats().conns_rejected, 1);
	ck_assert_uint_eq(stats().conns_open, 4);
	for (i = 0; i < 4; i++) {
		notify_one(fds[i], i, 1, &ok200);
		expect_ack(fds[i], i, 1, "active");
	}
	close(fds[0]);
	pump(30);
	fds[0] = cl_ready();
	notify_one(fds[0], 0, 2, &ok200);
	expect_ack(fds[0], 0, 2, "active");
	for (i = 0; i < 4; i++)
		close(fds[i]);
	stop();
}
END_TEST

/* A peer that sends and never reads: the agent stops reading once out_high
 * bytes wait, so its output stays bounded; once the peer reads, every ACK
 * arrives, in order. */
START_TEST(backpressure)
{
	enum { K = 800, MAXCHUNK = 4000 };
	struct spoa_params p;
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	uint8_t *rb = malloc(1 << 20);
	size_t off = 0, rlen = 0, acks = 0, chunk = 0, want, i;
	int64_t last = now_ms();
	bool stalled = false;
	int fd;
	ssize_t n;

	ck_assert_ptr_nonnull(w);
	ck_assert_ptr_nonnull(rb);
	default_params(&p);
	p.out_high = 4096;
	start_with(&p);
	fd = cl_ready();
	for (i = 0; i < K; i++)
		hsdo_test_wr_notify(w, chunk, i + 1, &ok200);
	while (chunk < MAXCHUNK) {
		n = send(fd, w->b + off, w->n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			off += (size_t)n;
			last = now_ms();
			if (off == w->n) {
				chunk++;
				off = 0;
				w->n = 0;
				for (i = 0; i < K; i++)
					hsdo_test_wr_notify(w, chunk, i + 1, &ok200);
			}
			continue;
		}
		REQUIRE(n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
		ev_run(loop, EVRUN_NOWAIT);
		poll(NULL, 0, 1);
		if (now_ms() - last > 400) {
			stalled = true;
			break;
		}
	}
	ck_assert_msg(stalled, "the agent kept reading %d chunks of %d NOTIFYs", MAXCHUNK, K);
	ck_assert_uint_le(stats().out_pending_max, p.out_high + 4 * 65536);
	ck_assert_uint_gt(stats().out_pending_max, p.out_high);
	/* now read, and finish the chunk that was being sent */
	want = (chunk + 1) * K;
	while (acks < want) {
		struct hsdo_spop_frame f;
		int rc;

		if (off < w->n) {
			n = send(fd, w->b + off, w->n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n > 0)
				off += (size_t)n;
		}
		ev_run(loop, EVRUN_NOWAIT);
		n = recv(fd, rb + rlen, (1 << 20) - rlen, MSG_DONTWAIT);
		if (n > 0) {
			rlen += (size_t)n;
			last = now_ms();
		} else {
			ck_assert_msg(n < 0 && errno == EAGAIN, "recv: %zd %s", n, strerror(errno));
			ck_assert_msg(now_ms() - last < WAIT_MS, "%zu of %zu ACKs", acks, want);
			poll(NULL, 0, 1);
		}
		i = 0;
		while ((rc = hsdo_spop_frame_decode(rb + i, rlen - i, 16380, &f)) > 0) {
			REQUIRE(f.type == HSDO_SPOP_FRAME_ACK);
			REQUIRE(f.stream_id == acks / K);
			REQUIRE(f.frame_id == acks % K + 1);
			acks++;
			i += (size_t)rc;
		}
		REQUIRE(rc == -HSDO_EAGAIN);
		memmove(rb, rb + i, rlen - i);
		rlen -= i;
	}
	ck_assert_uint_eq(stats().notifies, want);
	ck_assert_uint_eq(stats().errors[SPOA_ERR_RESOURCE], 0);
	/* Everything read: the big output buffer was given back. */
	pump(50);
	ck_assert_uint_le(stats().buffer_bytes, 4096);
	close(fd);
	free(rb);
	free(w);
	stop();
}
END_TEST

/* Buffers are held only while needed: an idle connection holds none, a
 * frame cut by a read is kept in a buffer of its size until it is whole,
 * and 300 peers that never read stay under buffers_max together and give
 * everything back when they leave. */
START_TEST(buffers_bounded_and_returned)
{
	enum { PEERS = 300 };
	static int fds[PEERS];
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct spoa_params p;
	uint8_t ack[128];
	size_t i, k, peak = 0;
	int fd, rcv = 4096;

	ck_assert_ptr_nonnull(w);
	default_params(&p);
	p.buffers_max = 2u << 20;
	p.out_high = 64u * 1024;
	start_with(&p);
	fd = cl_ready();
	pump(20);
	ck_assert_uint_eq(stats().buffer_bytes, 0);
	/* half a NOTIFY: kept; the rest: answered, given back */
	hsdo_test_wr_notify(w, 1, 1, &ok200);
	cl_send(fd, w->b, 10);
	pump(20);
	ck_assert_uint_eq(stats().buffer_bytes, 10);
	cl_send(fd, w->b + 10, w->n - 10);
	ck_assert_int_gt(cl_frame(fd, ack, sizeof(ack)), 0);
	pump(20);
	ck_assert_uint_eq(stats().buffer_bytes, 0);
	close(fd);
	/* peers that never read */
	w->n = 0;
	for (i = 0; i < 600; i++)
		hsdo_test_wr_notify(w, i + 1, 1, &ok200);
	for (k = 0; k < PEERS; k++) {
		fds[k] = socket(AF_INET, SOCK_STREAM, 0);
		ck_assert_int_ge(fds[k], 0);
		setsockopt(fds[k], SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		{
			struct sockaddr_in sa;

			memset(&sa, 0, sizeof(sa));
			sa.sin_family = AF_INET;
			sa.sin_port = htons(port);
			sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			ck_assert_int_eq(connect(fds[k], (struct sockaddr *)&sa, sizeof(sa)), 0);
		}
		ck_assert_int_eq(fcntl(fds[k], F_SETFL, O_NONBLOCK), 0);
		(void)send(fds[k], HSDO_TEST_HELLO_129, sizeof(HSDO_TEST_HELLO_129) - 1, MSG_NOSIGNAL);
	}
	pump(100);
	for (i = 0; i < 10; i++) {
		for (k = 0; k < PEERS; k++)
			(void)send(fds[k], w->b, w->n, MSG_NOSIGNAL | MSG_DONTWAIT);
		pump(20);
		if (stats().buffer_bytes > peak)
			peak = stats().buffer_bytes;
	}
	ck_assert_msg(peak > 0, "no output ever waited");
	/* At most the bound, plus what one batch of each connection that was
	 * reading when it was crossed may add. */
	ck_assert_msg(peak <= p.buffers_max + PEERS * (4 * 65536u), "peak %zu", peak);
	for (k = 0; k < PEERS; k++)
		close(fds[k]);
	pump(200);
	ck_assert_uint_eq(stats().conns_open, 0);
	ck_assert_uint_eq(stats().buffer_bytes, 0);
	free(w);
	stop();
}
END_TEST

/* A connection reset in the middle of a frame ends that connection only,
 * without an error (HAProxy 3.x closes idle connections that way). */
START_TEST(reset_mid_frame)
{
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	struct linger lg = { 1, 0 };
	unsigned i;
	int fd, by;

	ck_assert_ptr_nonnull(w);
	start();
	by = cl_ready();
	fd = cl_ready();
	hsdo_test_wr_notify(w, 1, 1, &ok200);
	hsdo_test_wr_notify(w, 1, 2, &ok200);
	cl_send(fd, w->b, w->n - 5);
	pump(20);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
	pump(30);
	ck_assert_uint_eq(stats().conns_open, 1);
	for (i = 0; i < SPOA_ERR_COUNT; i++)
		ck_assert_uint_eq(stats().errors[i], 0);
	notify_one(by, 1, 1, &ok200);
	expect_ack(by, 1, 1, "active");
	close(by);
	free(w);
	stop();
}
END_TEST

/* ---- the listener ------------------------------------------------------------------------------ */

/* A port in use at start: the agent starts anyway, and listens once the
 * port is free. */
START_TEST(listen_retry)
{
	struct spoa_params p;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char err[256] = "";
	int blocker = socket(AF_INET, SOCK_STREAM, 0), fd, i;

	ck_assert_int_ge(blocker, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(blocker, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(blocker, 4), 0);
	ck_assert_int_eq(getsockname(blocker, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);

	default_params(&p);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(listen_addr, sizeof(listen_addr), "127.0.0.1:%u", (unsigned)port);
	cfg.spoa_listen = listen_addr;
	loop = ev_loop_new(EVFLAG_AUTO);
	ck_assert_int_eq(spoa_start(loop, &cfg, &p, &spoa, err, sizeof(err)), 0);
	ck_assert(!stats().listening);
	ck_assert_uint_eq(stats().port, 0);
	pump(250);
	ck_assert(!stats().listening);
	close(blocker);
	for (i = 0; i < 100 && !stats().listening; i++)
		pump(20);
	ck_assert(stats().listening);
	ck_assert_uint_eq(stats().port, port);
	fd = cl_ready();
	notify_one(fd, 1, 1, &ok200);
	expect_ack(fd, 1, 1, "unknown");     /* no table, no backends */
	close(fd);
	stop();
}
END_TEST

START_TEST(bad_arguments)
{
	struct spoa_params p;
	struct spoa *s = NULL;
	struct hsdo_config c;
	struct ev_loop *l = ev_loop_new(EVFLAG_AUTO);
	char err[256];

	memset(&c, 0, sizeof(c));
	c.spoa_listen = (char *)(uintptr_t)"127.0.0.1";
	ck_assert_int_eq(spoa_start(l, &c, NULL, &s, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "host:port"));
	c.spoa_listen = (char *)(uintptr_t)"127.0.0.1:0";
	ck_assert_int_eq(spoa_start(l, &c, NULL, &s, err, sizeof(err)), -HSDO_EINVAL);
	c.spoa_listen = (char *)(uintptr_t)"127.0.0.1:1";
	default_params(&p);
	p.max_frame_size = 255;
	ck_assert_int_eq(spoa_start(l, &c, &p, &s, err, sizeof(err)), -HSDO_EINVAL);
	default_params(&p);
	p.max_conns = 0;
	ck_assert_int_eq(spoa_start(l, &c, &p, &s, err, sizeof(err)), -HSDO_EINVAL);
	default_params(&p);
	p.health.buckets = 0;
	ck_assert_int_eq(spoa_start(l, &c, &p, &s, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_null(s);
	spoa_stop(NULL);
	ck_assert_str_eq(spoa_error_str(SPOA_ERR_TOO_BIG), "too_big");
	ck_assert_str_eq(spoa_error_str(SPOA_ERR_RESOURCE), "resource");
	ck_assert_str_eq(spoa_error_str(SPOA_ERR_COUNT), "unknown");
	ev_loop_destroy(l);
}
END_TEST

/* Stop with connections in every state: ready ones get a DISCONNECT 0,
 * all are closed, nothing leaks (LeakSanitizer). */
START_TEST(stop_with_connections)
{
	struct hsdo_test_wr *w = calloc(1, sizeof(*w));
	uint8_t buf[256];
	int ready[3], hello, half, i, n;

	ck_assert_ptr_nonnull(w);
	start();
	for (i = 0; i < 3; i++) {
		ready[i] = cl_ready();
		notify_one(ready[i], 1, 1, &ok200);
		expect_ack(ready[i], 1, 1, "active");
	}
	hello = cl_connect();
	half = cl_ready();
	hsdo_test_wr_notify(w, 1, 1, &ok200);
	cl_send(half, w->b, 7);
	pump(20);
	ck_assert_uint_eq(stats().conns_open, 5);
	stop();
	for (i = 0; i < 3; i++) {
		struct hsdo_spop_frame f;
		struct hsdo_spop_disconnect d;
		enum hsdo_spop_status st;

		n = (int)recv(ready[i], buf, sizeof(buf), 0);
		decode(buf, n, HSDO_SPOP_FRAME_AGENT_DISCONNECT, &f);
		ck_assert_int_eq(hsdo_spop_disconnect_decode(&f, &d, &st), 0);
		ck_assert_uint_eq(d.status_code, 0);
		ck_assert_int_le(recv(ready[i], buf, sizeof(buf), 0), 0);
		close(ready[i]);
	}
	ck_assert_int_le(recv(hello, buf, sizeof(buf), 0), 0);
	close(hello);
	close(half);
	free(w);
}
END_TEST

static Suite *spoa_suite(void)
{
	Suite *s = suite_create("agent_spoa");
	TCase *tc = tcase_create("hello");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, hello_doc_frame);
	tcase_add_test(tc, hello_frame_sizes);
	tcase_add_test(tc, hello_healthcheck);
	tcase_add_test(tc, hello_empty_capabilities);
	suite_add_tcase(s, tc);

	tc = tcase_create("notify");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pipelining);
	tcase_add_test(tc, byte_by_byte);
	tcase_add_test(tc, many_connections);
	tcase_add_loop_test(tc, slot_state_and_key, 0, (int)NELEM(slot_cases));
	tcase_add_test(tc, table_changes);
	tcase_add_test(tc, message_shapes);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, errors, 0, (int)NELEM(bad_cases));
	tcase_add_test(tc, haproxy_disconnect);
	tcase_add_loop_test(tc, timeouts, 0, 4);
	tcase_add_test(tc, slow_frames);
	tcase_add_test(tc, reset_mid_frame);
	suite_add_tcase(s, tc);

	tc = tcase_create("bounds");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, connection_cap);
	tcase_add_test(tc, backpressure);
	tcase_add_test(tc, buffers_bounded_and_returned);
	tcase_add_test(tc, listen_retry);
	tcase_add_test(tc, bad_arguments);
	tcase_add_test(tc, stop_with_connections);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(spoa_suite());
}
