/* Real-HAProxy helpers for tests; see haproxy_peer.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haproxy_peer.h"
#include "hsdo_test.h"

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int find_on_path(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	const char *p, *end;

	if (path == NULL || *path == '\0')
		path = "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin";
	for (p = path; *p != '\0'; p = *end ? end + 1 : end) {
		int n;

		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		n = snprintf(out, outlen, "%.*s/%s", (int)(end - p), p, name);
		if (n > 0 && (size_t)n < outlen && end > p && access(out, X_OK) == 0)
			return 0;
	}
	out[0] = '\0';
	return -1;
}

/* Run `exe -v` and keep the version word of its first line
 * ("HAProxy version 3.2.26-1 2026/10/14 ..."). 0, or -1. */
static int read_version(const char *exe, char *out, size_t outlen)
{
	char cmd[600], line[256];
	FILE *p;
	int n, ok;

	n = snprintf(cmd, sizeof(cmd), "'%s' -v 2>&1", exe);
	if (outlen < 64 || n < 0 || (size_t)n >= sizeof(cmd) || strchr(exe, '\'') != NULL)
		return -1;
	p = popen(cmd, "r");
	if (p == NULL)
		return -1;
	ok = fgets(line, sizeof(line), p) != NULL && sscanf(line, "HAProxy version %63s", out) == 1;
	while (fgets(line, sizeof(line), p) != NULL)
		;
	if (pclose(p) != 0 || !ok)
		return -1;
	return 0;
}

int hsdo_test_haproxy_init(struct hsdo_test_haproxy *h, char *err, size_t errlen)
{
	const char *want = getenv("HSDO_HAPROXY_SERIES");

	memset(h, 0, sizeof(*h));
	if (find_on_path("haproxy", h->exe, sizeof(h->exe)) != 0) {
		snprintf(err, errlen, "haproxy is not on PATH (%s): install HAProxy 2.6 "
			"(apt-get install haproxy) to run this test", getenv("PATH") ? getenv("PATH") : "");
		return -1;
	}
	if (read_version(h->exe, h->version, sizeof(h->version)) != 0) {
		snprintf(err, errlen, "%s -v did not print \"HAProxy version ...\"", h->exe);
		return -1;
	}
	/* tests/CMakeLists.txt runs the suite once per series: it must be the
	 * one asked for, not whatever haproxy came first on PATH. */
	if (want != NULL && *want != '\0' &&
	    (strncmp(h->version, want, strlen(want)) != 0 || h->version[strlen(want)] != '.')) {
		snprintf(err, errlen, "this run is for HAProxy %s but %s is %s "
			"(./scripts/deps-haproxy installs 3.0 and 3.2)", want, h->exe, h->version);
		return -1;
	}
	fprintf(stderr, "haproxy: %s (HAProxy %s)\n", h->exe, h->version);
	h->dir = hsdo_test_tmpdir("haproxy");
	if (h->dir == NULL) {
		snprintf(err, errlen, "cannot make a temp dir: %s", strerror(errno));
		return -1;
	}
	snprintf(h->sock, sizeof(h->sock), "%s/admin.sock", h->dir);
	snprintf(h->cfg, sizeof(h->cfg), "%s/haproxy.cfg", h->dir);
	snprintf(h->log, sizeof(h->log), "%s/haproxy.log", h->dir);
	if (strlen(h->sock) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "socket path too long: %s", h->sock);
		return -1;
	}
	return 0;
}

/* Append the last bytes of HAProxy's output to err. */
static void log_tail(const struct hsdo_test_haproxy *h, char *err, size_t errlen)
{
	size_t len = 0, used = strlen(err);
	char *log = hsdo_test_read_file(h->log, &len);
	const char *tail;

	if (log == NULL)
		return;
	tail = len > 600 ? log + len - 600 : log;
	if (used < errlen)
		snprintf(err + used, errlen - used, "; haproxy said: %s", tail);
	free(log);
}

/* Fork and exec h->exe with argv, output appended to h->log; returns the
 * child's pid or -1. */
static pid_t spawn(const struct hsdo_test_haproxy *h, char *const argv[], int die_with_parent)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (die_with_parent)
			(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (fd >= 0) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
			close(fd);
		}
		execv(h->exe, argv);
		_exit(127);
	}
	return pid;
}

static int sock_answers(const char *sock)
{
	size_t len;
	char *r = hsdo_test_rtapi_cmd(sock, "show backend", &len);
	int ok = r != NULL && len > 0;

	free(r);
	return ok;
}

int hsdo_test_haproxy_start(struct hsdo_test_haproxy *h, const char *cfg, char *err,
	size_t errlen)
{
	char *check_argv[] = { h->exe, "-c", "-q", "-f", h->cfg, NULL };
	char *run_argv[] = { h->exe, "-f", h->cfg, "-db", NULL };
	int status, i;
	pid_t pid;

	if (h->dir == NULL) {
		snprintf(err, errlen, "hsdo_test_haproxy_init was not called or failed");
		return -1;
	}
	if (hsdo_test_write_file(h->cfg, cfg, strlen(cfg)) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", h->cfg, strerror(errno));
		return -1;
	}
	pid = spawn(h, check_argv, 0);
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "haproxy -c rejected %s", h->cfg);
		log_tail(h, err, errlen);
		return -1;
	}
	h->pid = spawn(h, run_argv, 1);
	if (h->pid < 0) {
		h->pid = 0;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return -1;
	}
	for (i = 0; i < 200; i++) {
		if (waitpid(h->pid, &status, WNOHANG) == h->pid) {
			h->pid = 0;
			snprintf(err, errlen, "haproxy exited at startup (status 0x%x)", status);
			log_tail(h, err, errlen);
			return -1;
		}
		if (sock_answers(h->sock))
			return 0;
		sleep_ms(50);
	}
	snprintf(err, errlen, "haproxy's admin socket %s did not answer within 10 s", h->sock);
	log_tail(h, err, errlen);
	return -1;
}

void hsdo_test_haproxy_stop(struct hsdo_test_haproxy *h)
{
	hsdo_test_stop_pid(&h->pid);
	if (h->dir != NULL) {
		hsdo_test_rmtree(h->dir);
		free(h->dir);
		h->dir = NULL;
	}
}

static void set_timeouts(int fd, int seconds)
{
	struct timeval tv = { seconds, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static int send_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read to EOF into a malloc'd NUL-terminated buffer (at most 64 MiB). */
static char *recv_all(int fd, size_t *lenp)
{
	size_t cap = 0, len = 0;
	char *buf = NULL;

	for (;;) {
		ssize_t n;

		if (cap - len < 4096) {
			char *nb;

			if (cap >= (64u << 20))
				break;
			nb = realloc(buf, cap + 65536);
			if (nb == NULL)
				break;
			buf = nb;
			cap += 65536;
		}
		n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			return NULL;
		}
		if (n == 0) {
			buf[len] = '\0';
			*lenp = len;
			return buf;
		}
		len += (size_t)n;
	}
	free(buf);
	return NULL;
}

char *hsdo_test_rtapi_cmd(const char *sock, const char *line, size_t *len)
{
	struct sockaddr_un sa;
	char *reply = NULL;
	size_t l = strlen(line);
	char *msg;
	int fd;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return NULL;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return NULL;
	set_timeouts(fd, 5);
	msg = malloc(l + 1);
	if (msg != NULL && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		memcpy(msg, line, l);
		msg[l] = '\n';
		if (send_all(fd, msg, l + 1) == 0)
			reply = recv_all(fd, len);
	}
	free(msg);
	close(fd);
	return reply;
}

/* Reserve port p for this run: a directory per port under
 * ${TMPDIR:-/tmp}/hsdo-ports, made atomically by mkdir(2), shared with
 * free_port.sh. Between the probe and the peer's bind() another test
 * running in parallel could otherwise draw the same port. A reservation
 * older than ten minutes is stale (its test is over) and is taken over. */
static bool reserve_port(uint16_t p)
{
	const char *tmp = getenv("TMPDIR");
	char dir[512], path[540];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/hsdo-ports", tmp != NULL && tmp[0] ? tmp : "/tmp");
	(void)mkdir(dir, 01777);
	snprintf(path, sizeof(path), "%s/%u", dir, (unsigned)p);
	if (mkdir(path, 0700) == 0)
		return true;
	if (errno != EEXIST)
		return true;   /* no place to reserve in: the probe alone decides */
	if (stat(path, &st) != 0 || time(NULL) - st.st_mtime < 600)
		return false;
	return rmdir(path) == 0 && mkdir(path, 0700) == 0;
}

/* A port nobody listens on, below the kernel's ephemeral range: a port in
 * that range may be the local end of one of the tests' own client
 * connections (in TIME_WAIT for a minute), which makes a later bind() by a
 * peer fail with "Address already in use". Reserved (reserve_port) so that
 * no other test of the run draws it. */
uint16_t hsdo_test_free_port(void)
{
	unsigned low = 32768, high, tries;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	struct sockaddr_in sa;
	static unsigned seed;

	if (f != NULL) {
		if (fscanf(f, "%u %u", &low, &high) != 2)
			low = 32768;
		fclose(f);
	}
	if (low <= 11024)
		low = 32768;
	if (seed == 0)
		seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	for (tries = 0; tries < 200; tries++) {
		uint16_t p = (uint16_t)(10000 + rand_r(&seed) % (low - 10000));
		int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, ok;

		if (fd < 0)
			return 0;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sa.sin_port = htons(p);
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok && reserve_port(p))
			return p;
	}
	return 0;
}

int hsdo_test_http_get(uint16_t port, const char *path, char *body, size_t bodylen)
{
	struct sockaddr_in sa;
	char req[512];
	char *resp = NULL, *b;
	size_t len = 0;
	int fd, n, status = -1;

	if (bodylen > 0)
		body[0] = '\0';
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n"
		"Connection: close\r\n\r\n", path);
	if (n < 0 || (size_t)n >= sizeof(req))
		return -1;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	set_timeouts(fd, 5);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    send_all(fd, req, (size_t)n) == 0)
		resp = recv_all(fd, &len);
	close(fd);
	if (resp == NULL)
		return -1;
	if (len > 12 && memcmp(resp, "HTTP/1.", 7) == 0 && resp[8] == ' ') {
		status = (resp[9] - '0') * 100 + (resp[10] - '0') * 10 + (resp[11] - '0');
		b = strstr(resp, "\r\n\r\n");
		if (b != NULL && bodylen > 0)
			snprintf(body, bodylen, "%s", b + 4);
	}
	free(resp);
	return status;
}
