/* The fault suite's harness: see fault.h. */
#define _GNU_SOURCE   /* accept4, pipe2 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/rtapi.h"
#include "hsdo/spop.h"
#include "hsdo/store.h"
#include "hsdo/store_ddb.h"
#include "hsdo/store_file.h"

#include "fault.h"
#include "hsdo_test.h"
#include "proc.h"
#include "spop_peer.h"

#define TABLE_NAME "hsdo-faults"

double fault_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* ---- the Runtime API proxy --------------------------------------------------------- */

#define PROXY_CONNS 64
#define HUGE_BYTES (80u << 20)

struct pconn {
	int cfd, ufd;                   /* agent side, HAProxy side (-1: none) */
	enum fault_proxy_mode mode;
	char down[65536];               /* HAProxy -> agent, not yet written */
	size_t dlen;
	double next_drip;
	size_t huge_left;
	bool prompted;                  /* GARBAGE/HUGE: the handshake was answered */
	bool dead;
};

struct fault_proxy {
	int lfd, wake[2];
	char upstream[600];
	_Atomic int mode;
	pthread_t thread;
	struct pconn c[PROXY_CONNS];
	size_t n;
};

static int unix_connect(const char *path)
{
	struct sockaddr_un su;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	snprintf(su.sun_path, sizeof(su.sun_path), "%.*s", (int)sizeof(su.sun_path) - 1, path);
	if (connect(fd, (struct sockaddr *)&su, sizeof(su)) != 0) {
		close(fd);
		return -1;
	}
	(void)fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static void pconn_close(struct fault_proxy *p, size_t i)
{
	if (p->c[i].cfd >= 0)
		close(p->c[i].cfd);
	if (p->c[i].ufd >= 0)
		close(p->c[i].ufd);
	p->c[i] = p->c[--p->n];
}

/* Move what HAProxy sent on; false when the pair is done. */
static bool pconn_down(struct pconn *c, double now)
{
	ssize_t n;
	size_t want;

	if (c->dlen == 0)
		return true;
	want = c->dlen;
	if (c->mode == FAULT_PROXY_DRIP) {
		if (now < c->next_drip)
			return true;
		want = 1;
		c->next_drip = now + 300;
	}
	n = send(c->cfd, c->down, want, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK;
	memmove(c->down, c->down + n, c->dlen - (size_t)n);
	c->dlen -= (size_t)n;
	return true;
}

/* The agent sent something: forward it, or answer as the mode says. */
static bool pconn_up(struct pconn *c)
{
	char buf[65536];
	ssize_t n = recv(c->cfd, buf, sizeof(buf), MSG_DONTWAIT);
	size_t i;

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
		return false;
	if (n < 0)
		return true;
	switch (c->mode) {
	case FAULT_PROXY_PASS:
	case FAULT_PROXY_DRIP:
		return c->ufd >= 0 && send(c->ufd, buf, (size_t)n, MSG_NOSIGNAL) == n;
	case FAULT_PROXY_GARBAGE:
	case FAULT_PROXY_HUGE:
		if (!c->prompted) {
			c->prompted = true;
			memcpy(c->down, "\n> ", 3);
			c->dlen = 3;
		} else if (c->mode == FAULT_PROXY_GARBAGE && c->dlen == 0) {
			for (i = 0; i < 4096; i++)
				c->down[i] = (char)(rand() & 0xff);
			c->dlen = 4096;
		} else if (c->mode == FAULT_PROXY_HUGE && c->huge_left == 0) {
			c->huge_left = HUGE_BYTES;
		}
		return true;
	default:
		return true;   /* HANG: swallow */
	}
}

static void *proxy_main(void *arg)
{
	struct fault_proxy *p = arg;
	struct pollfd pfd[2 + 2 * PROXY_CONNS];
	size_t i, k;

	for (;;) {
		double now = fault_now_ms();
		int timeout = 50;

		pfd[0] = (struct pollfd){ p->wake[0], POLLIN, 0 };
		pfd[1] = (struct pollfd){ p->lfd, p->n < PROXY_CONNS ? POLLIN : 0, 0 };
		for (i = 0, k = 2; i < p->n; i++) {
			struct pconn *c = &p->c[i];
			bool out = c->dlen > 0 || c->huge_left > 0;

			pfd[k++] = (struct pollfd){ c->cfd, (short)(POLLIN | (out ? POLLOUT : 0)), 0 };
			pfd[k++] = (struct pollfd){ c->ufd, c->ufd >= 0 && c->dlen < sizeof(c->down) ?
						    POLLIN : 0, 0 };
		}
		(void)poll(pfd, k, timeout);
		if (pfd[0].revents)
			return NULL;
		if (pfd[1].revents & POLLIN) {
			int fd = accept4(p->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
			enum fault_proxy_mode m = (enum fault_proxy_mode)atomic_load(&p->mode);

			if (fd >= 0 && m == FAULT_PROXY_RESET) {
				struct linger lg = { 1, 0 };

				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				close(fd);
			} else if (fd >= 0) {
				struct pconn *c = &p->c[p->n++];

				memset(c, 0, sizeof(*c));
				c->cfd = fd;
				c->mode = m;
				c->ufd = m == FAULT_PROXY_PASS || m == FAULT_PROXY_DRIP ?
					 unix_connect(p->upstream) : -1;
			}
		}
		now = fault_now_ms();
		for (i = 0, k = 2; i < p->n; k += 2) {
			struct pconn *c = &p->c[i];
			bool keep = true;
			ssize_t n;

			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				keep = pconn_up(c);
			if (keep && c->ufd >= 0 && (pfd[k + 1].revents & (POLLIN | POLLHUP))) {
				n = recv(c->ufd, c->down + c->dlen, sizeof(c->down) - c->dlen,
					 MSG_DONTWAIT);
				if (n > 0)
					c->dlen += (size_t)n;
				else if (n == 0 && c->dlen == 0)
					keep = false;
			}
			if (keep)
				keep = pconn_down(c, now);
			while (keep && c->huge_left > 0) {
				char chunk[65536];
				size_t want = c->huge_left < sizeof(chunk) ? c->huge_left : sizeof(chunk);

				memset(chunk, 'x', want);
				n = send(c->cfd, chunk, want, MSG_NOSIGNAL | MSG_DONTWAIT);
				if (n <= 0) {
					keep = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
					break;
				}
				c->huge_left -= (size_t)n;
			}
			c->dead = !keep;
			i++;
		}
		for (i = 0; i < p->n;)
			if (p->c[i].dead)
				pconn_close(p, i);   /* the last one moved here: same i */
			else
				i++;
	}
}

static struct fault_proxy *proxy_start(const char *path, const char *upstream)
{
	struct fault_proxy *p = calloc(1, sizeof(*p));
	struct sockaddr_un su;

	ck_assert_ptr_nonnull(p);
	snprintf(p->upstream, sizeof(p->upstream), "%s", upstream);
	ck_assert_int_eq(pipe2(p->wake, O_CLOEXEC), 0);
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ck_assert_int_ge(p->lfd, 0);
	memset(&su, 0, sizeof(su));
	su.sun_family = AF_UNIX;
	snprintf(su.sun_path, sizeof(su.sun_path), "%.*s", (int)sizeof(su.sun_path) - 1, path);
	ck_assert_int_eq(bind(p->lfd, (struct sockaddr *)&su, sizeof(su)), 0);
	ck_assert_int_eq(listen(p->lfd, 64), 0);
	ck_assert_int_eq(pthread_create(&p->thread, NULL, proxy_main, p), 0);
	return p;
}

static void proxy_stop(struct fault_proxy *p)
{
	if (p == NULL)
		return;
	(void)write(p->wake[1], "x", 1);
	pthread_join(p->thread, NULL);
	while (p->n > 0)
		pconn_close(p, 0);
	close(p->lfd);
	close(p->wake[0]);
	close(p->wake[1]);
	free(p);
}

void fault_proxy_set(struct fault_env *f, enum fault_proxy_mode m)
{
	atomic_store(&f->proxy->mode, (int)m);
}

/* ---- HTTP and SPOE probes ------------------------------------------------------------ */

/* Wait for fd to be readable until the deadline; false on timeout. */
static bool wait_in(int fd, double deadline)
{
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		double left = deadline - fault_now_ms();
		int rc;

		if (left <= 0)
			return false;
		rc = poll(&pfd, 1, (int)left + 1);
		if (rc > 0)
			return true;
		if (rc < 0 && errno != EINTR)
			return false;
	}
}

int fault_http(uint16_t port, const char *path, int timeout_ms, double *ms, char *body,
	       size_t bodylen)
{
	double t0 = fault_now_ms(), deadline = t0 + timeout_ms;
	char req[256], buf[8192];
	size_t got = 0, blen = 0;
	int fd, status = -1;
	ssize_t n;

	if (body != NULL && bodylen > 0)
		body[0] = '\0';
	fd = hsdo_test_tcp_connect(port);
	if (fd < 0)
		return -1;
	snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
		close(fd);
		return -1;
	}
	for (;;) {
		if (!wait_in(fd, deadline))
			break;
		n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (n <= 0) {
			/* (a long body moved the status out: it was read then) */
			if (status < 0 && got > 12 && sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
				status = -1;
			break;
		}
		got += (size_t)n;
		buf[got] = '\0';
		if (got == sizeof(buf) - 1) {
			/* Keep the head (status line) and copy the rest of the body out. */
			char *b = strstr(buf, "\r\n\r\n");

			if (status < 0 && sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
				status = -2;
			if (body != NULL && b != NULL && blen + 1 < bodylen) {
				size_t take = strlen(b + 4);

				if (take > bodylen - 1 - blen)
					take = bodylen - 1 - blen;
				memcpy(body + blen, b + 4, take);
				blen += take;
				body[blen] = '\0';
			}
			memcpy(buf, "HTTP/1.0 000 \r\n\r\n", 18);
			got = 17;
		}
	}
	if (status >= 0 && body != NULL && blen == 0) {
		char *b = strstr(buf, "\r\n\r\n");

		if (b != NULL)
			snprintf(body, bodylen, "%s", b + 4);
	}
	close(fd);
	if (ms != NULL)
		*ms = fault_now_ms() - t0;
	return status;
}

/* Read one SPOP frame within the deadline into buf; its length, or -1. */
static int spoe_frame(int fd, uint8_t *buf, size_t cap, double deadline)
{
	size_t got = 0, want = 4;
	ssize_t n;

	while (got < want) {
		if (!wait_in(fd, deadline))
			return -1;
		n = recv(fd, buf + got, want - got, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
		if (got == 4) {
			want = 4 + ((size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
				    (size_t)buf[2] << 8 | buf[3]);
			if (want > cap)
				return -1;
		}
	}
	return (int)got;
}

double fault_notify(uint16_t port, int *fd, uint64_t *sid, int timeout_ms)
{
	static const struct hsdo_test_resp r = { "be_app", "web1", 1, 200 };
	struct hsdo_test_wr *w;
	struct hsdo_spop_frame fr;
	double t0, deadline;
	uint8_t buf[70000];
	int n;

	if (*fd < 0) {
		deadline = fault_now_ms() + timeout_ms;
		*fd = hsdo_test_tcp_connect(port);
		if (*fd < 0)
			return -1;
		if (send(*fd, HSDO_TEST_HELLO_129, sizeof(HSDO_TEST_HELLO_129) - 1, MSG_NOSIGNAL) < 0 ||
		    spoe_frame(*fd, buf, sizeof(buf), deadline) < 0) {
			close(*fd);
			*fd = -1;
			return -1;
		}
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return -1;
	++*sid;
	hsdo_test_wr_notify(w, *sid, 1, &r);
	t0 = fault_now_ms();
	deadline = t0 + timeout_ms;
	if (send(*fd, w->b, w->n, MSG_NOSIGNAL) != (ssize_t)w->n) {
		free(w);
		goto broken;
	}
	free(w);
	for (;;) {
		n = spoe_frame(*fd, buf, sizeof(buf), deadline);
		if (n < 0)
			goto broken;
		if (hsdo_spop_frame_decode(buf, (size_t)n, sizeof(buf), &fr) == n &&
		    fr.type == HSDO_SPOP_FRAME_ACK && fr.stream_id == *sid)
			return fault_now_ms() - t0;
		if (hsdo_spop_frame_decode(buf, (size_t)n, sizeof(buf), &fr) == n &&
		    fr.type == HSDO_SPOP_FRAME_AGENT_DISCONNECT)
			goto broken;
	}
broken:
	close(*fd);
	*fd = -1;
	return -1;
}

/* ---- the agent process ------------------------------------------------------------- */

long fault_rss_kb(pid_t pid)
{
	char path[64], buf[256];
	long pages = -1, resident = -1;
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	fp = fopen(path, "r");
	if (fp == NULL)
		return -1;
	if (fgets(buf, sizeof(buf), fp) == NULL || sscanf(buf, "%ld %ld", &pages, &resident) != 2)
		resident = -1;
	fclose(fp);
	return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int fault_fds(pid_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

bool fault_alive(struct fault_env *f)
{
	int st;

	return f->agent > 0 && waitpid(f->agent, &st, WNOHANG) == 0 && kill(f->agent, 0) == 0;
}

static char *log_text(struct fault_env *f)
{
	size_t len = 0;

	return hsdo_test_read_file(f->log_path, &len);
}

int fault_log_count(struct fault_env *f, const char *needle)
{
	char *t = log_text(f), *p;
	int n = 0;

	if (t == NULL)
		return 0;
	for (p = t; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(t);
	return n;
}

bool fault_log_wait(struct fault_env *f, const char *needle, int timeout_ms)
{
	double end = fault_now_ms() + timeout_ms;

	do {
		if (fault_log_count(f, needle) > 0)
			return true;
		sleep_ms(50);
	} while (fault_now_ms() < end);
	return false;
}

int fault_healthz(struct fault_env *f, char *why, size_t whylen)
{
	return fault_http(f->exporter_port, "/healthz", 5000, NULL, why, whylen);
}

bool fault_healthz_wait(struct fault_env *f, int status, char *why, size_t whylen,
			int timeout_ms)
{
	double end = fault_now_ms() + timeout_ms;

	do {
		if (fault_healthz(f, why, whylen) == status)
			return true;
		sleep_ms(100);
	} while (fault_now_ms() < end);
	return false;
}

static void start_agent(struct fault_env *f)
{
	char *argv[] = { NULL, f->o.server ? "--server" : "--client", "--config", f->env_path,
			 NULL };
	const char *agent = getenv("HSDO_AGENT");
	char env_akid[128], env_secret[128], env_ep[128], exe[600];
	char *envp[16];
	size_t k = 0;
	int fd;
	pid_t parent;

	ck_assert_msg(agent != NULL, "HSDO_AGENT is not set (run through ctest)");
	snprintf(exe, sizeof(exe), "%s", agent);
	argv[0] = exe;
	envp[k++] = "PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	/* A small quarantine, and free pages given back often: what the
	 * resident-memory checks see is then the agent's, not ASan's. */
	envp[k++] = "ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:quarantine_size_mb=4:"
		    "allocator_release_to_os_interval_ms=500";
	envp[k++] = "UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1";
	envp[k++] = "AWS_EC2_METADATA_DISABLED=true";
	if (f->o.store == FAULT_STORE_DYNAMODB) {
		snprintf(env_akid, sizeof(env_akid), "AWS_ACCESS_KEY_ID=%s", HSDO_TEST_AKID);
		snprintf(env_secret, sizeof(env_secret), "AWS_SECRET_ACCESS_KEY=%s", HSDO_TEST_SECRET);
		snprintf(env_ep, sizeof(env_ep), "AWS_ENDPOINT_URL_DYNAMODB=%s", f->ddb.url);
		envp[k++] = env_akid;
		envp[k++] = env_secret;
		envp[k++] = env_ep;
	}
	envp[k] = NULL;
	parent = getpid();
	f->agent = fork();
	ck_assert_int_ge(f->agent, 0);
	if (f->agent == 0) {
		/* The agent dies with the test: a case that crashes or times out must not
		 * leave an agent behind (a stalled one would not even answer SIGTERM). */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		fd = open(f->log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setpgid(0, 0);
		execve(exe, argv, envp);
		_exit(127);
	}
	ck_assert_msg(fault_log_wait(f, "exporter listening", 20000),
		      "the agent did not start; its log: %s", f->log_path);
}

/* ---- tables ------------------------------------------------------------------------- */

static unsigned slots_of(const struct fault_env *f)
{
	return f->o.slots ? f->o.slots : 8;
}

static uint32_t weight_of_gen(uint64_t gen)
{
	return (uint32_t)(gen % 200) + 1;
}

static void write_list(struct fault_env *f)
{
	size_t cap = 128 * ((size_t)f->instances + 1), len = 0;
	char *text = malloc(cap), tmpp[700];
	unsigned i;

	ck_assert_ptr_nonnull(text);
	text[0] = '\0';
	for (i = 1; i <= f->instances; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"- name: i-%u\n  ip: 127.0.0.%u\n  port: 80\n  group: web\n",
					i, i % 250 + 1);
	if (f->instances == 0)
		len = (size_t)snprintf(text, cap, "[]\n");
	snprintf(tmpp, sizeof(tmpp), "%s.new", f->list_path);
	ck_assert_int_eq(hsdo_test_write_file(tmpp, text, len), 0);
	ck_assert_int_eq(rename(tmpp, f->list_path), 0);
	free(text);
}

uint64_t fault_next_table(struct fault_env *f)
{
	struct hsdo_table t;
	uint32_t ids[2] = { 1, 2 };
	uint64_t gen = 0;
	char err[512] = "";

	if (f->o.server) {
		f->instances++;
		write_list(f);
		return ++f->gen;
	}
	ck_assert_msg(hsdo_store_read_generation(f->store, &gen, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(hsdo_table_init(&t, slots_of(f)), 0);
	t.slots[0].state = HSDO_SLOT_ACTIVE;
	hsdo_table_setf(&t, &t.slots[0].ip, HSDO_IP_LEN, "127.0.0.1");
	hsdo_table_setf(&t, &t.slots[0].name, HSDO_NAME_LEN, "i-one");
	t.slots[0].port = 8081;
	t.slots[0].weight = weight_of_gen(gen + 1);
	t.slots[0].last_weight_update_us = 1700000000000000LL;
	t.slots[1].state = HSDO_SLOT_ACTIVE;
	hsdo_table_setf(&t, &t.slots[1].ip, HSDO_IP_LEN, "127.0.0.2");
	hsdo_table_setf(&t, &t.slots[1].name, HSDO_NAME_LEN, "i-two");
	t.slots[1].port = 8082;
	t.slots[1].weight = 7;
	t.slots[1].last_weight_update_us = 1700000000000000LL;
	t.generation = gen;
	ck_assert_msg(hsdo_store_write_slots(f->store, &t, ids, 2, gen, 0, err, sizeof(err)) == 0,
		      "write: %s", err);
	hsdo_table_free(&t);
	f->gen = gen + 1;
	return f->gen;
}

void fault_store_raw(struct fault_env *f, const char *text, size_t len)
{
	char tmpp[700];

	snprintf(tmpp, sizeof(tmpp), "%s.raw", f->store_path);
	ck_assert_int_eq(hsdo_test_write_file(tmpp, text, len), 0);
	ck_assert_int_eq(rename(tmpp, f->store_path), 0);
}

/* HAProxy's state of be_app, parsed by the library's parser. */
static bool haproxy_state(struct fault_env *f, struct hsdo_servers_state *st)
{
	size_t len = 0;
	char *reply = hsdo_test_rtapi_cmd(f->hap.sock, "show servers state be_app", &len);
	char err[256];
	bool ok;

	if (reply == NULL)
		return false;
	ok = hsdo_rtapi_parse_servers_state(reply, len, st, err, sizeof(err)) == 0;
	free(reply);
	return ok;
}

static bool server_table_has(struct fault_env *f, unsigned instances)
{
	struct hsdo_table t;
	char err[512], name[32];
	unsigned i, found = 0;
	size_t s;

	if (hsdo_store_read_table(f->store, &t, err, sizeof(err)) != 0)
		return false;
	for (i = 1; i <= instances; i++) {
		snprintf(name, sizeof(name), "i-%u", i);
		for (s = 0; s < t.n; s++)
			if (t.slots[s].state == HSDO_SLOT_ACTIVE && strcmp(t.slots[s].name, name) == 0)
				break;
		found += s < t.n;
	}
	hsdo_table_free(&t);
	return found == instances;
}

bool fault_applied(struct fault_env *f, uint64_t gen, int timeout_ms)
{
	double end = fault_now_ms() + timeout_ms;
	struct hsdo_servers_state st;
	bool ok;
	size_t i;

	do {
		if (f->o.server) {
			if (server_table_has(f, f->instances))
				return true;
		} else if (haproxy_state(f, &st)) {
			ok = false;
			for (i = 0; i < st.n; i++)
				if (strcmp(st.srv[i].srv_name, "web1") == 0)
					ok = st.srv[i].uweight == weight_of_gen(gen) &&
					     strcmp(st.srv[i].addr, "127.0.0.1") == 0;
			hsdo_rtapi_servers_state_free(&st);
			if (ok)
				return true;
		}
		sleep_ms(50);
	} while (fault_now_ms() < end);
	return false;
}

/* ---- setup and teardown ------------------------------------------------------------- */

static void open_store(struct fault_env *f)
{
	struct hsdo_http_options ho;
	struct hsdo_aws_options ao;
	struct hsdo_store_ddb_options so;
	char err[512] = "", env_akid[128], env_secret[128], env_ep[128];
	char *envp[] = { env_akid, env_secret, env_ep, "AWS_EC2_METADATA_DISABLED=true", NULL };

	if (f->o.store == FAULT_STORE_FILE) {
		ck_assert_msg(hsdo_store_file_open(f->store_path, &f->store, err, sizeof(err)) == 0,
			      "%s", err);
		return;
	}
	ck_assert_msg(hsdo_test_dynalite_start(&f->ddb, NULL, err, sizeof(err)) == 0, "%s", err);
	f->ddb_up = true;
	snprintf(env_akid, sizeof(env_akid), "AWS_ACCESS_KEY_ID=%s", HSDO_TEST_AKID);
	snprintf(env_secret, sizeof(env_secret), "AWS_SECRET_ACCESS_KEY=%s", HSDO_TEST_SECRET);
	snprintf(env_ep, sizeof(env_ep), "AWS_ENDPOINT_URL_DYNAMODB=%s", f->ddb.url);
	memset(&ho, 0, sizeof(ho));
	memset(&ao, 0, sizeof(ao));
	ao.envp = envp;
	ao.region = HSDO_TEST_REGION;
	ao.max_tries = 2;
	ck_assert_msg(hsdo_http_new(&ho, NULL, &f->http, err, sizeof(err)) == 0, "%s", err);
	ck_assert_msg(hsdo_aws_new(&ao, f->http, &f->aws, err, sizeof(err)) == 0, "%s", err);
	memset(&so, 0, sizeof(so));
	so.table = TABLE_NAME;
	ck_assert_msg(hsdo_store_ddb_open(&so, f->aws, &f->store, err, sizeof(err)) == 0, "%s",
		      err);
	if (!f->o.no_first_table)
		ck_assert_msg(hsdo_store_ddb_create_table(f->aws, TABLE_NAME, err, sizeof(err)) == 0,
			      "%s", err);
}

static void write_config(struct fault_env *f)
{
	char cfg[4096];
	int n;

	n = snprintf(cfg, sizeof(cfg),
		     "INTERVAL: 0.2\n"
		     "HAPROXY_BACKEND_SERVERS_LIST_SIZE: %u\n"
		     "EXPORTER_PORT: %u\n"
		     "SPOA_LISTEN: 127.0.0.1:%u\n"
		     "CLIENT_HAPROXY_SOCKET_PATH: %s\n"
		     "CLIENT_HAPROXY_BACKEND_NAME: be_app\n"
		     "CLIENT_HAPROXY_BACKEND_BASE_NAME: web\n"
		     "CLIENT_HAPROXY_BACKEND_SERVER_PORT: 80\n"
		     "SERVER_MODE: static\n"
		     "SERVER_STATIC_FILE: %s\n"
		     "SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 10\n"
		     "SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 10\n",
		     slots_of(f), (unsigned)f->exporter_port, (unsigned)f->spoa_port,
		     f->proxy_sock, f->list_path);
	if (f->o.store == FAULT_STORE_FILE)
		n += snprintf(cfg + n, sizeof(cfg) - (size_t)n, "STORE: file\nSTORE_FILE_PATH: %s\n",
			      f->store_path);
	else
		n += snprintf(cfg + n, sizeof(cfg) - (size_t)n,
			      "STORE: dynamodb\nDYNAMODB_TABLE_NAME: " TABLE_NAME "\n"
			      "AWS_DEFAULT_REGION: " HSDO_TEST_REGION "\n");
	if (f->o.extra != NULL)
		n += snprintf(cfg + n, sizeof(cfg) - (size_t)n, "%s\n", f->o.extra);
	ck_assert_int_lt(n, (int)sizeof(cfg));
	ck_assert_int_eq(hsdo_test_write_file(f->env_path, cfg, (size_t)n), 0);
}

void fault_setup(struct fault_env *f, const struct fault_opts *o)
{
	char err[2048] = "", cfg[2048];
	unsigned i;
	double ms;

	memset(f, 0, sizeof(*f));
	f->spoe_fd = -1;
	if (o != NULL)
		f->o = *o;
	signal(SIGPIPE, SIG_IGN);
	f->dir = hsdo_test_tmpdir("faults");
	ck_assert_ptr_nonnull(f->dir);
	snprintf(f->env_path, sizeof(f->env_path), "%s/env.yaml", f->dir);
	snprintf(f->log_path, sizeof(f->log_path), "%s/agent.log", f->dir);
	snprintf(f->store_path, sizeof(f->store_path), "%s/slots.json", f->dir);
	snprintf(f->proxy_sock, sizeof(f->proxy_sock), "%s/proxy.sock", f->dir);
	snprintf(f->list_path, sizeof(f->list_path), "%s/list.yaml", f->dir);
	f->exporter_port = hsdo_test_free_port();
	do
		f->spoa_port = hsdo_test_free_port();
	while (f->spoa_port == f->exporter_port);
	ck_assert_int_eq(hsdo_test_haproxy_init(&f->hap, err, sizeof(err)), 0);
	snprintf(cfg, sizeof(cfg),
		 "global\n    stats socket %s mode 600 level admin\n"
		 "defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n"
		 "    timeout server 5s\n"
		 "backend be_app\n    balance roundrobin\n"
		 "    server-template web 1-%u 127.0.0.3:80 disabled\n",
		 f->hap.sock, slots_of(f));
	if (!f->o.server)
		ck_assert_msg(hsdo_test_haproxy_start(&f->hap, cfg, err, sizeof(err)) == 0, "%s",
			      err);
	f->proxy = proxy_start(f->proxy_sock, f->hap.sock);
	open_store(f);
	write_config(f);
	if (f->o.server) {
		f->instances = 2;
		write_list(f);
		f->gen = 1;
	} else if (!f->o.no_first_table) {
		ck_assert_msg(hsdo_store_ensure_slots(f->store, slots_of(f), err, sizeof(err)) == 0,
			      "%s", err);
		fault_next_table(f);
	}
	start_agent(f);
	if (f->o.no_first_table)
		return;
	ck_assert_msg(fault_applied(f, f->gen, 20000), "generation %llu was not applied; log %s",
		      (unsigned long long)f->gen, f->log_path);
	/* Warm up every path the checks use, then take the baseline. */
	for (i = 0; i < 5; i++) {
		ck_assert_int_eq(fault_http(f->exporter_port, "/metrics", 5000, &ms, NULL, 0), 200);
		if (!f->o.server)
			ck_assert_msg(fault_notify(f->spoa_port, &f->spoe_fd, &f->spoe_sid, 5000) >= 0,
				      "no ACK from the SPOE agent");
	}
	sleep_ms(300);
	fault_baseline(f);
}

void fault_baseline(struct fault_env *f)
{
	/* The checks keep one SPOE connection open: count it in. */
	if (!f->o.server && f->spoe_fd < 0)
		(void)fault_notify(f->spoa_port, &f->spoe_fd, &f->spoe_sid, 5000);
	f->rss0_kb = fault_rss_kb(f->agent);
	f->fds0 = fault_fds(f->agent);
}

uint64_t fault_ddb_create(struct fault_env *f)
{
	char err[512] = "";

	ck_assert_msg(hsdo_store_ddb_create_table(f->aws, TABLE_NAME, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_msg(hsdo_store_ensure_slots(f->store, slots_of(f), err, sizeof(err)) == 0, "%s",
		      err);
	return fault_next_table(f);
}

void fault_ddb_delete(struct fault_env *f)
{
	static const char body[] = "{\"TableName\":\"" TABLE_NAME "\"}";
	struct hsdo_aws_request req = {
		.service = HSDO_CREDS_SVC_DYNAMODB, .protocol = HSDO_AWS_JSON,
		.operation = "DeleteTable", .target = "DynamoDB_20120810.DeleteTable",
		.body = body, .len = sizeof(body) - 1,
	};
	char err[512] = "", *out = NULL;
	size_t len = 0;

	ck_assert_msg(hsdo_aws_call_sync(f->aws, &req, &out, &len, err, sizeof(err)) == 0, "%s",
		      err);
	hsdo_free(out);
}

void fault_ddb_restart_proxy(struct fault_env *f)
{
	char script[700], upstream[64], port[16], creds[256];
	const char *src = getenv("HSDO_SOURCE_DIR");
	char *argv[] = { "node", script, "--upstream", upstream, "--region", HSDO_TEST_REGION,
			 "--creds", creds, "--port", port, NULL };
	struct hsdo_test_proc p;
	char err[256] = "", line[128];

	ck_assert_ptr_nonnull(src);
	snprintf(script, sizeof(script), "%s/tests/fixtures/sigv4_proxy.js", src);
	snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%u", f->ddb.dynalite.port);
	snprintf(port, sizeof(port), "%u", f->ddb.proxy.port);
	snprintf(creds, sizeof(creds), "[{\"accessKeyId\":\"%s\",\"secretAccessKey\":\"%s\"}]",
		 HSDO_TEST_AKID, HSDO_TEST_SECRET);
	memset(&p, 0, sizeof(p));
	ck_assert_msg(hsdo_test_proc_start(&p, argv, f->ddb.proxy.log, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_msg(hsdo_test_proc_wait_line(&p, "LISTENING", 15000, line, sizeof(line)) == 0,
		      "the verifier did not restart on port %s", port);
	/* Ours now: stopped with the others at teardown. */
	f->ddb.proxy.pid = p.pid;
	close(p.in_fd);
	close(p.out_fd);
}

void fault_teardown(struct fault_env *f)
{
	if (f->probing) {
		struct fault_stats a, b;

		fault_probe_stop(f, &a, &b);
	}
	if (f->agent > 0) {
		kill(f->agent, SIGCONT);
		hsdo_test_stop_pid(&f->agent);
	}
	if (f->spoe_fd >= 0)
		close(f->spoe_fd);
	f->spoe_fd = -1;
	proxy_stop(f->proxy);
	f->proxy = NULL;
	if (f->hap.pid > 0)
		kill(f->hap.pid, SIGCONT);
	hsdo_test_haproxy_stop(&f->hap);
	hsdo_store_free(f->store);
	f->store = NULL;
	hsdo_aws_free(f->aws);
	f->aws = NULL;
	hsdo_http_free(f->http);
	f->http = NULL;
	if (f->ddb_up) {
		kill(f->ddb.proxy.pid, SIGCONT);
		kill(f->ddb.dynalite.pid, SIGCONT);
		hsdo_test_dynalite_stop(&f->ddb);
		f->ddb_up = false;
	}
	if (f->dir != NULL && getenv("HSDO_FAULTS_KEEP") == NULL)
		hsdo_test_rmtree(f->dir);
	free(f->dir);
	f->dir = NULL;
}

/* ---- probes and checks -------------------------------------------------------------- */

static void *probe_main(void *arg)
{
	struct fault_env *f = arg;
	uint64_t sid = 1000000;
	int fd = -1;
	double ms;

	while (!f->probe_stop && f->probe_n < (int)(sizeof(f->probe_metrics) / sizeof(double))) {
		if (fault_http(f->exporter_port, "/metrics", 10000, &ms, NULL, 0) != 200)
			ms = -1;
		f->probe_metrics[f->probe_n] = ms;
		f->probe_notify[f->probe_n] = f->o.server ? 0 :
					      fault_notify(f->spoa_port, &fd, &sid, 10000);
		f->probe_n++;
		sleep_ms(100);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

void fault_probe_start(struct fault_env *f)
{
	f->probe_stop = false;
	f->probe_n = 0;
	ck_assert_int_eq(pthread_create(&f->probe, NULL, probe_main, f), 0);
	f->probing = true;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void stats_of(const double *v, int n, struct fault_stats *st)
{
	double *s = calloc((size_t)n + 1, sizeof(*s));
	int i, k = 0;

	memset(st, 0, sizeof(*st));
	st->n = n;
	for (i = 0; i < n; i++) {
		if (v[i] < 0)
			st->failed++;
		else
			s[k++] = v[i];
	}
	if (k > 0) {
		qsort(s, (size_t)k, sizeof(*s), cmp_double);
		st->p50 = s[k / 2];
		st->max = s[k - 1];
	}
	free(s);
}

void fault_probe_stop(struct fault_env *f, struct fault_stats *metrics, struct fault_stats *notify)
{
	double end = fault_now_ms() + 30000;

	/* At least three samples, however short the case. */
	while (f->probe_n < 3 && fault_now_ms() < end)
		sleep_ms(20);
	f->probe_stop = true;
	pthread_join(f->probe, NULL);
	f->probing = false;
	stats_of(f->probe_metrics, f->probe_n, metrics);
	stats_of(f->probe_notify, f->probe_n, notify);
}

void fault_report(const char *what, const struct fault_stats *m, const struct fault_stats *n)
{
	printf("%-40s /metrics p50 %7.1f max %7.1f ms (%d/%d unanswered)%s | "
	       "NOTIFY p50 %7.1f max %7.1f ms (%d/%d unanswered)%s\n", what,
	       m->p50, m->max, m->failed, m->n, m->max > FAULT_GOAL_MS ? " over 50 ms" : "",
	       n->p50, n->max, n->failed, n->n, n->max > FAULT_GOAL_MS ? " over 50 ms" : "");
	fflush(stdout);
	ck_assert_msg(m->failed == 0 && m->max < FAULT_STALL_MS,
		      "%s: /metrics stalled: max %.0f ms, %d of %d unanswered", what, m->max,
		      m->failed, m->n);
	ck_assert_msg(n->failed == 0 && n->max < FAULT_STALL_MS,
		      "%s: SPOE ACKs stalled: max %.0f ms, %d of %d unanswered", what, n->max,
		      n->failed, n->n);
}

void fault_check_recovered(struct fault_env *f, const char *name)
{
	double m[5], n[5], end;
	struct fault_stats ms, ns;
	char what[128];
	uint64_t gen;
	long rss = -1;
	int i, fds = -1;

	ck_assert_msg(fault_alive(f), "%s: the agent died; log %s", name, f->log_path);
	for (i = 0; i < 5; i++) {
		if (fault_http(f->exporter_port, "/metrics", 10000, &m[i], NULL, 0) != 200)
			m[i] = -1;
		n[i] = f->o.server ? 0 : fault_notify(f->spoa_port, &f->spoe_fd, &f->spoe_sid, 10000);
	}
	stats_of(m, 5, &ms);
	stats_of(n, 5, &ns);
	snprintf(what, sizeof(what), "%s (after)", name);
	fault_report(what, &ms, &ns);
	gen = fault_next_table(f);
	ck_assert_msg(fault_applied(f, gen, 15000), "%s: the next table (generation %llu) was not "
		      "applied; log %s", name, (unsigned long long)gen, f->log_path);
	/* Connections the case left may take a moment to close (the SPOE
	 * agent's linger is 2 s), and memory a moment to be given back. */
	end = fault_now_ms() + 15000;
	do {
		fds = fault_fds(f->agent);
		rss = fault_rss_kb(f->agent);
		if (fds <= f->fds0 && rss <= f->rss0_kb + FAULT_RSS_SLACK_KB)
			break;
		sleep_ms(200);
	} while (fault_now_ms() < end);
	printf("%-40s fds %d (baseline %d), resident %ld kB (baseline %ld kB)\n", what, fds,
	       f->fds0, rss, f->rss0_kb);
	fflush(stdout);
	ck_assert_msg(fds <= f->fds0, "%s: %d descriptors open, %d before", name, fds, f->fds0);
	ck_assert_msg(rss <= f->rss0_kb + FAULT_RSS_SLACK_KB, "%s: %ld kB resident, %ld kB "
		      "before", name, rss, f->rss0_kb);
}

void fault_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int fault_connect_nb(uint16_t port, int wait_ms, int rcvbuf)
{
	struct sockaddr_in sa;
	struct pollfd pfd;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (rcvbuf > 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	pfd.fd = fd;
	pfd.events = POLLOUT;
	(void)poll(&pfd, 1, wait_ms);
	return fd;
}
