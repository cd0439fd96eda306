/* SPOE agent load generator, run by hand (build Release, no sanitizers):
 *   bench_agent_spoa_load [seconds per row] [runs]
 * Starts the agent's SPOA (agent/spoa.c) in this process on a thread of its
 * own with its own libev loop, as hsdo-agent runs it, and drives it over
 * loopback TCP the way HAProxy 2.6 does: HELLO, then on-http-response
 * NOTIFYs (be_name, srv_name, srv_id, status), pipelined up to a window per
 * connection (HAProxy's max-waiting-frames is 20 by default), each answered
 * by an ACK setting txn.hsdo.slot_state. For 1 and 8 connections it prints
 * the median over `runs` of: messages per second, ACK latency p50 and p99
 * (send() of the NOTIFY to recv() of its ACK), and the agent thread's CPU
 * time per million messages (its own CPU clock, pthread_getcpuclockid), so
 * the load generator's CPU is not counted. Goal: >= 150,000 msg/s on one
 * core. */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "bench_util.h"
#include "hsdo/config.h"
#include "hsdo/err.h"
#include "hsdo/slot.h"
#include "hsdo/spop.h"
#include "spoa.h"

#define PROG "bench_agent_spoa_load"
#define MAXCONN 8
#define RING 4096             /* > any window: send times by frame-id */
#define NSLOTS 10

/* ---- the agent on its own thread ------------------------------------------------ */

static struct {
	pthread_t tid;
	struct ev_loop *loop;
	ev_async stop;
	struct spoa *spoa;
	char listen[64];
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int ready;                /* 1 started, -1 failed */
} srv;

static void on_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static void *server_main(void *arg)
{
	struct hsdo_config_backend be = { "be_app", "web", 80 };
	struct hsdo_config cfg;
	struct hsdo_table t;
	char err[256] = "";
	size_t i;
	int rc;

	(void)arg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.spoa_listen = srv.listen;
	cfg.client_haproxy_backend_list.v = &be;
	cfg.client_haproxy_backend_list.n = 1;
	srv.loop = ev_loop_new(EVFLAG_AUTO);
	rc = srv.loop ? spoa_start(srv.loop, &cfg, NULL, &srv.spoa, err, sizeof(err)) : -1;
	if (rc == 0 && hsdo_table_init(&t, NSLOTS) == 0) {
		for (i = 0; i < NSLOTS; i++)
			t.slots[i].state = i % 5 == 4 ? HSDO_SLOT_DRAINING : HSDO_SLOT_ACTIVE;
		spoa_set_table(srv.spoa, &t);
		hsdo_table_free(&t);
	}
	ev_async_init(&srv.stop, on_stop);
	if (srv.loop)
		ev_async_start(srv.loop, &srv.stop);
	pthread_mutex_lock(&srv.mu);
	srv.ready = rc == 0 ? 1 : -1;
	pthread_cond_signal(&srv.cv);
	pthread_mutex_unlock(&srv.mu);
	if (rc != 0) {
		fprintf(stderr, "%s: cannot start the SPOA: %s\n", PROG, err);
		return NULL;
	}
	ev_run(srv.loop, 0);
	spoa_stop(srv.spoa);
	ev_loop_destroy(srv.loop);
	return NULL;
}

static double server_cpu(void)
{
	clockid_t cid;
	struct timespec ts;

	if (pthread_getcpuclockid(srv.tid, &cid) != 0 || clock_gettime(cid, &ts) != 0)
		return 0;
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the HAProxy side ------------------------------------------------------------- */

/* §1.5 of the SPOP brief: HAProxy 2.6's HELLO. */
static const char hello_129[] =
	"\x00\x00\x00\x81" "\x01" "\x00\x00\x00\x01" "\x00\x00"
	"\x12" "supported-versions" "\x08\x03" "2.0"
	"\x0e" "max-frame-size" "\x03\xfc\xf0\x06"
	"\x0c" "capabilities" "\x08\x10" "pipelining,async"
	"\x09" "engine-id" "\x08\x24" "3168f72c-717a-4fca-975c-495f0cacb120";

struct conn {
	int fd;
	uint64_t next_fid;        /* frame-id of the next NOTIFY */
	unsigned inflight;
	int64_t sent_at[RING];
	uint8_t out[RING * 96];
	size_t out_len, out_off;
	uint8_t in[256 * 1024];
	size_t in_len;
};

static struct conn conns[MAXCONN];
static int64_t *lat;
static size_t nlat, latcap;

static void put_varint(uint8_t **p, uint64_t v)
{
	int n = hsdo_spop_varint_encode(v, *p, HSDO_SPOP_VARINT_MAX);

	*p += n;
}

static void put_str(uint8_t **p, const char *s, size_t len)
{
	put_varint(p, len);
	memcpy(*p, s, len);
	*p += len;
}

/* One on-http-response NOTIFY, as HAProxy builds it (stream-id: a
 * uniq_id, frame-id: counting). */
static size_t notify(uint8_t *buf, uint64_t sid, uint64_t fid)
{
	static const int64_t statuses[] = { 200, 200, 200, 200, 304, 404, 200, 503 };
	uint8_t *p = buf + 4;
	char srv_name[16];
	unsigned slot = (unsigned)(fid % NSLOTS) + 1;
	size_t len;
	uint32_t n;

	*p++ = HSDO_SPOP_FRAME_NOTIFY;
	memcpy(p, "\x00\x00\x00\x01", 4);
	p += 4;
	put_varint(&p, sid);
	put_varint(&p, fid);
	put_str(&p, "hsdo-response", 13);
	*p++ = 4;
	put_str(&p, "be_name", 7);
	*p++ = HSDO_SPOP_DATA_STRING;
	put_str(&p, "be_app", 6);
	put_str(&p, "srv_name", 8);
	*p++ = HSDO_SPOP_DATA_STRING;
	len = (size_t)snprintf(srv_name, sizeof(srv_name), "web%u", slot);
	put_str(&p, srv_name, len);
	put_str(&p, "srv_id", 6);
	*p++ = HSDO_SPOP_DATA_INT64;
	put_varint(&p, slot);
	put_str(&p, "status", 6);
	*p++ = HSDO_SPOP_DATA_INT64;
	put_varint(&p, (uint64_t)statuses[fid % 8]);
	n = (uint32_t)(p - buf - 4);
	buf[0] = (uint8_t)(n >> 24);
	buf[1] = (uint8_t)(n >> 16);
	buf[2] = (uint8_t)(n >> 8);
	buf[3] = (uint8_t)n;
	return (size_t)(p - buf);
}

static int connect_to(uint16_t port)
{
	struct sockaddr_in sa;
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* HELLO and AGENT-HELLO, blocking. */
static int handshake(int fd)
{
	uint8_t buf[512];
	struct hsdo_spop_frame f;
	size_t got = 0;
	ssize_t n;

	if (send(fd, hello_129, sizeof(hello_129) - 1, MSG_NOSIGNAL) != (ssize_t)sizeof(hello_129) - 1)
		return -1;
	for (;;) {
		n = recv(fd, buf + got, sizeof(buf) - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		n = hsdo_spop_frame_decode(buf, got, sizeof(buf), &f);
		if (n > 0)
			return f.type == HSDO_SPOP_FRAME_AGENT_HELLO ? 0 : -1;
		if (n != -HSDO_EAGAIN)
			return -1;
	}
}

/* Top the connection up to `window` NOTIFYs in flight, and send. */
static int fill(struct conn *c, unsigned idx, unsigned window, int64_t now)
{
	ssize_t n;

	while (c->inflight < window) {
		c->out_len += notify(c->out + c->out_len, 1000 + idx, c->next_fid);
		c->sent_at[c->next_fid % RING] = now;
		c->next_fid++;
		c->inflight++;
	}
	while (c->out_off < c->out_len) {
		n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return -1;
		c->out_off += (size_t)n;
	}
	c->out_off = c->out_len = 0;
	return 0;
}

/* Read ACKs: count them and their latency. -1 on a protocol error. */
static int drain(struct conn *c, int64_t now, uint64_t *acks)
{
	struct hsdo_spop_frame f;
	size_t off = 0;
	ssize_t n = recv(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len, MSG_DONTWAIT);
	int rc;

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		return -1;
	if (n > 0)
		c->in_len += (size_t)n;
	while ((rc = hsdo_spop_frame_decode(c->in + off, c->in_len - off, 16380, &f)) > 0) {
		if (f.type != HSDO_SPOP_FRAME_ACK)
			return -1;
		if (nlat < latcap)
			lat[nlat++] = now - c->sent_at[f.frame_id % RING];
		c->inflight--;
		(*acks)++;
		off += (size_t)rc;
	}
	if (rc != -HSDO_EAGAIN)
		return -1;
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

struct row {
	double rate, p50_us, p99_us, cpu_per_m;
};

static int64_t pct(int64_t *v, size_t n, double q)
{
	size_t k = (size_t)(q * (double)(n - 1));

	return n ? v[k] : 0;
}

static struct row run(uint16_t port, unsigned nconn, unsigned window, double seconds)
{
	struct pollfd pfd[MAXCONN];
	struct row r;
	uint64_t acks = 0;
	int64_t t0, now, end;
	double cpu0;
	unsigned i;

	nlat = 0;
	for (i = 0; i < nconn; i++) {
		memset(&conns[i], 0, offsetof(struct conn, sent_at));
		conns[i].out_len = conns[i].out_off = conns[i].in_len = 0;
		conns[i].next_fid = 1;
		conns[i].fd = connect_to(port);
		if (conns[i].fd < 0 || handshake(conns[i].fd) != 0)
			bench_die(PROG, "connect/HELLO", -HSDO_EIO);
		pfd[i].fd = conns[i].fd;
		pfd[i].events = POLLIN;
	}
	cpu0 = server_cpu();
	t0 = now = bench_mono_ns();
	end = t0 + (int64_t)(seconds * 1e9);
	for (i = 0; i < nconn; i++)
		if (fill(&conns[i], i, window, now) != 0)
			bench_die(PROG, "send", -HSDO_EIO);
	while (now < end) {
		if (poll(pfd, nconn, 1000) <= 0)
			bench_die(PROG, "poll (no ACK for 1 s)", -HSDO_EIO);
		now = bench_mono_ns();
		for (i = 0; i < nconn; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			if (drain(&conns[i], now, &acks) != 0)
				bench_die(PROG, "ACK", -HSDO_EPROTO);
			if (fill(&conns[i], i, window, now) != 0)
				bench_die(PROG, "send", -HSDO_EIO);
		}
	}
	r.rate = (double)acks / ((double)(now - t0) / 1e9);
	r.cpu_per_m = (server_cpu() - cpu0) / ((double)acks / 1e6);
	qsort(lat, nlat, sizeof(*lat), bench_cmp_i64);
	r.p50_us = (double)pct(lat, nlat, 0.50) / 1e3;
	r.p99_us = (double)pct(lat, nlat, 0.99) / 1e3;
	for (i = 0; i < nconn; i++)
		close(conns[i].fd);
	usleep(50000);   /* let the agent close them */
	return r;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

int main(int argc, char **argv)
{
	static const struct {
		unsigned nconn, window;
	} rows[] = { { 1, 20 }, { 8, 20 }, { 1, 100 }, { 8, 100 } };
	double seconds = argc > 1 ? strtod(argv[1], NULL) : 3.0;
	int runs = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 3;
	uint16_t port;
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	size_t k;
	int probe, i;

	if (!(seconds > 0) || runs < 1 || runs > 99) {
		fprintf(stderr, "usage: %s [seconds per row] [runs]\n", PROG);
		return 2;
	}
	/* a free port: bind 0, read it, release it */
	probe = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (probe < 0 || bind(probe, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(probe, (struct sockaddr *)&sa, &sl) != 0)
		bench_die(PROG, "port", -HSDO_EIO);
	port = ntohs(sa.sin_port);
	close(probe);
	snprintf(srv.listen, sizeof(srv.listen), "127.0.0.1:%u", (unsigned)port);
	pthread_mutex_init(&srv.mu, NULL);
	pthread_cond_init(&srv.cv, NULL);
	if (pthread_create(&srv.tid, NULL, server_main, NULL) != 0)
		bench_die(PROG, "thread", -HSDO_EIO);
	pthread_mutex_lock(&srv.mu);
	while (srv.ready == 0)
		pthread_cond_wait(&srv.cv, &srv.mu);
	pthread_mutex_unlock(&srv.mu);
	if (srv.ready < 0)
		return 1;
	latcap = 50u * 1000 * 1000;
	lat = malloc(latcap * sizeof(*lat));
	if (lat == NULL)
		bench_die(PROG, "malloc", -HSDO_ENOMEM);

	printf("SPOE agent load: on-http-response NOTIFY (4 args) -> ACK (set-var slot_state), "
	       "loopback TCP, agent on its own thread; median of %d runs of %.1f s\n\n", runs, seconds);
	printf("| connections | window | msgs/s | ACK latency p50 | p99 | agent CPU per 1M msgs |\n");
	printf("|---:|---:|---:|---:|---:|---:|\n");
	for (k = 0; k < sizeof(rows) / sizeof(rows[0]); k++) {
		double rate[99], p50[99], p99[99], cpu[99];

		for (i = 0; i < runs; i++) {
			struct row r = run(port, rows[k].nconn, rows[k].window, seconds);

			rate[i] = r.rate;
			p50[i] = r.p50_us;
			p99[i] = r.p99_us;
			cpu[i] = r.cpu_per_m;
		}
		printf("| %u | %u | %.0f | %.1f us | %.1f us | %.2f s |\n", rows[k].nconn, rows[k].window,
		       median(rate, (size_t)runs), median(p50, (size_t)runs), median(p99, (size_t)runs),
		       median(cpu, (size_t)runs));
		fflush(stdout);
	}
	ev_async_send(srv.loop, &srv.stop);
	pthread_join(srv.tid, NULL);
	free(lat);
	return 0;
}
