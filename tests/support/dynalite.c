/* dynalite, the SigV4 proxy and the IMDS/ECS fixture as child processes
 * (see dynalite.h). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dynalite.h"
#include "haproxy_peer.h"
#include "hsdo_test.h"

#define START_WAIT_MS 15000

static void msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* <source>/tests/<rel> */
static void tests_path(char *out, size_t len, const char *rel)
{
	const char *src = getenv("HSDO_SOURCE_DIR");

	if (src != NULL && src[0] != '\0')
		snprintf(out, len, "%s/tests/%s", src, rel);
	else
		snprintf(out, len, "%s/../%s", HSDO_TEST_SOURCE_DATA, rel);
}

/* The last bytes of a log, for error messages. */
static void log_tail(const char *path, char *out, size_t len)
{
	size_t n = 0;
	char *s = hsdo_test_read_file(path, &n);

	if (s == NULL) {
		snprintf(out, len, "(no log)");
		return;
	}
	snprintf(out, len, "%s", n > 600 ? s + n - 600 : s);
	free(s);
}

static pid_t spawn(const char *const *argv, const char *log)
{
	pid_t parent = getpid(), pid = fork();
	int fd;

	if (pid != 0)
		return pid;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);
	fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
	}
	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0)
		dup2(fd, 0);
	{
		char *av[40];
		size_t n = 0;

		while (argv[n] != NULL && n < 39)
			n++;
		memcpy(av, argv, n * sizeof(*av));   /* execvp's prototype is not const */
		av[n] = NULL;
		execvp(av[0], av);
	}
	_exit(127);
}

/* Wait until the log holds `marker` followed by a port (0 if the marker
 * carries none: then `port` is probed), or the process exits. */
static int wait_ready(struct hsdo_test_node *n, const char *marker, char *err, size_t errlen)
{
	long t0 = now_ms();
	char tail[700];
	int st;

	while (now_ms() - t0 < START_WAIT_MS) {
		size_t len = 0;
		char *s = hsdo_test_read_file(n->log, &len), *m;

		m = s != NULL ? strstr(s, marker) : NULL;
		if (m != NULL && strchr(m, '\n') != NULL) {
			unsigned long p = strtoul(m + strlen(marker), NULL, 10);

			free(s);
			if (p > 0 && p < 65536)
				n->port = (uint16_t)p;
			return 0;
		}
		free(s);
		if (waitpid(n->pid, &st, WNOHANG) == n->pid) {
			n->pid = 0;
			log_tail(n->log, tail, sizeof(tail));
			snprintf(err, errlen, "%s exited before it was ready: %s", n->log, tail);
			return -1;
		}
		msleep(20);
	}
	log_tail(n->log, tail, sizeof(tail));
	snprintf(err, errlen, "%s: not ready after %d ms: %s", n->log, START_WAIT_MS, tail);
	hsdo_test_stop_pid(&n->pid);
	return -1;
}

int hsdo_test_node_start(struct hsdo_test_node *n, const char *logdir, const char *script,
			 const char *const *args, char *err, size_t errlen)
{
	const char *argv[36];
	char path[1024], name[256], port[16];
	const char *base;
	size_t k = 0, i;
	int attempt;

	memset(n, 0, sizeof(*n));
	tests_path(path, sizeof(path), "fixtures/");
	strncat(path, script, sizeof(path) - strlen(path) - 1);
	base = strrchr(script, '/') != NULL ? strrchr(script, '/') + 1 : script;
	snprintf(name, sizeof(name), "%s", base);
	snprintf(n->log, sizeof(n->log), "%s/%s.log", logdir, name);
	argv[k++] = "node";
	argv[k++] = path;
	for (i = 0; args != NULL && args[i] != NULL && k < 31; i++)
		argv[k++] = args[i];
	/* a port below the ephemeral range (see peers.sh); retried if taken */
	argv[k++] = "--port";
	argv[k++] = port;
	argv[k] = NULL;
	for (attempt = 0; attempt < 5; attempt++) {
		snprintf(port, sizeof(port), "%u", hsdo_test_free_port());
		n->pid = spawn(argv, n->log);
		if (n->pid < 0) {
			n->pid = 0;
			snprintf(err, errlen, "fork: %s", strerror(errno));
			return -1;
		}
		if (wait_ready(n, "LISTENING ", err, errlen) == 0)
			return 0;
	}
	return -1;
}

int hsdo_test_node_run(const char *script, const char *const *args, char *out, size_t outlen)
{
	const char *argv[32];
	char path[1024];
	size_t k = 0, i, got = 0;
	int pfd[2], st;
	ssize_t r;
	pid_t pid;

	if (outlen > 0)
		out[0] = '\0';
	tests_path(path, sizeof(path), "fixtures/");
	strncat(path, script, sizeof(path) - strlen(path) - 1);
	argv[k++] = "node";
	argv[k++] = path;
	for (i = 0; args != NULL && args[i] != NULL && k < 31; i++)
		argv[k++] = args[i];
	argv[k] = NULL;
	if (pipe(pfd) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		char *av[40];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		memcpy(av, argv, (k + 1) * sizeof(*av));
		execvp(av[0], av);
		_exit(127);
	}
	close(pfd[1]);
	while ((r = read(pfd[0], out + got, outlen > got + 1 ? outlen - got - 1 : 0)) > 0)
		got += (size_t)r;
	if (outlen > 0)
		out[got] = '\0';
	{
		char sink[256];

		while (read(pfd[0], sink, sizeof(sink)) > 0)
			;
	}
	close(pfd[0]);
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

void hsdo_test_node_stop(struct hsdo_test_node *n)
{
	hsdo_test_stop_pid(&n->pid);
}

static int start_dynalite(struct hsdo_test_dynalite *d, char *err, size_t errlen)
{
	char bin[1024], port[16];
	int attempt;

	tests_path(bin, sizeof(bin), "node_modules/dynalite/cli.js");
	if (access(bin, R_OK) != 0) {
		snprintf(err, errlen, "%s missing: run npm ci in tests/", bin);
		return -1;
	}
	for (attempt = 0; attempt < 5; attempt++) {
		const char *argv[] = { "node", bin, "--host", "127.0.0.1", "--port", port,
				       "--createTableMs", "0", "--deleteTableMs", "0",
				       "--updateTableMs", "0", NULL };
		uint16_t p = hsdo_test_free_port();

		if (p == 0) {
			snprintf(err, errlen, "no free port");
			return -1;
		}
		snprintf(port, sizeof(port), "%u", p);
		snprintf(d->dynalite.log, sizeof(d->dynalite.log), "%s/dynalite.log", d->dir);
		d->dynalite.pid = spawn(argv, d->dynalite.log);
		if (d->dynalite.pid < 0) {
			d->dynalite.pid = 0;
			snprintf(err, errlen, "fork: %s", strerror(errno));
			return -1;
		}
		/* "Dynalite listening at: http://127.0.0.1:PORT" */
		if (wait_ready(&d->dynalite, "Dynalite listening at: http://127.0.0.1:", err,
			       errlen) == 0) {
			d->dynalite.port = p;
			return 0;
		}
	}
	return -1;
}

int hsdo_test_dynalite_start(struct hsdo_test_dynalite *d, const char *creds_json,
			     char *err, size_t errlen)
{
	char upstream[64];
	const char *def =
		"[{\"accessKeyId\":\"" HSDO_TEST_AKID "\",\"secretAccessKey\":\"" HSDO_TEST_SECRET "\"},"
		"{\"accessKeyId\":\"" HSDO_TEST_AKID2 "\",\"secretAccessKey\":\"" HSDO_TEST_SECRET2
		"\",\"sessionToken\":\"" HSDO_TEST_TOKEN2 "\"},"
		"{\"accessKeyId\":\"ASIAIMDSTEST\",\"secretAccessKey\":\"imds-secret-key\","
		"\"sessionToken\":\"imds-session-token\"},"
		"{\"accessKeyId\":\"ASIAIMDSTEST2\",\"secretAccessKey\":\"imds-secret-key-2\","
		"\"sessionToken\":\"imds-session-token-2\"}]";

	memset(d, 0, sizeof(*d));
	d->dir = hsdo_test_tmpdir("dynalite");
	if (d->dir == NULL) {
		snprintf(err, errlen, "cannot make a temp dir");
		return -1;
	}
	if (start_dynalite(d, err, errlen) != 0)
		goto fail;
	snprintf(upstream, sizeof(upstream), "http://127.0.0.1:%u", d->dynalite.port);
	{
		const char *args[] = { "--upstream", upstream, "--region", HSDO_TEST_REGION,
				       "--creds", creds_json != NULL ? creds_json : def, NULL };

		if (hsdo_test_node_start(&d->proxy, d->dir, "sigv4_proxy.js", args, err, errlen) != 0)
			goto fail;
	}
	snprintf(d->url, sizeof(d->url), "http://127.0.0.1:%u", d->proxy.port);
	snprintf(d->direct_url, sizeof(d->direct_url), "http://127.0.0.1:%u", d->dynalite.port);
	return 0;
fail:
	hsdo_test_dynalite_stop(d);
	return -1;
}

void hsdo_test_dynalite_stop(struct hsdo_test_dynalite *d)
{
	hsdo_test_stop_pid(&d->proxy.pid);
	hsdo_test_stop_pid(&d->dynalite.pid);
	if (d->dir != NULL) {
		hsdo_test_rmtree(d->dir);
		free(d->dir);
		d->dir = NULL;
	}
}

int hsdo_test_http_req(uint16_t port, const char *method, const char *path,
		       const char *body, char *out, size_t outlen)
{
	struct sockaddr_in sa;
	struct timeval tv = { 5, 0 };
	char req[4096], buf[65536];
	size_t blen = body != NULL ? strlen(body) : 0, got = 0;
	int fd, n, status = -1;
	char *p;

	if (outlen > 0)
		out[0] = '\0';
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		goto out;
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n"
		     "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
		     method, path, port, blen);
	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n ||
	    (blen > 0 && write(fd, body, blen) != (ssize_t)blen))
		goto out;
	while (got < sizeof(buf) - 1 && (n = (int)read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		status = -1;
		goto out;
	}
	p = strstr(buf, "\r\n\r\n");
	if (p != NULL && outlen > 0)
		snprintf(out, outlen, "%s", p + 4);
out:
	close(fd);
	return status;
}

long hsdo_test_json_int(const char *json, const char *key)
{
	char pat[128];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	if (p == NULL)
		return -1;
	p += strlen(pat);
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return -1;
	return strtol(p, NULL, 10);
}

int hsdo_test_dynalite_ctl(const struct hsdo_test_dynalite *d, const char *path,
			   const char *body, char *err, size_t errlen)
{
	char out[512];
	int st = hsdo_test_http_req(d->proxy.port, "POST", path, body, out, sizeof(out));

	if (st == 200)
		return 0;
	snprintf(err, errlen, "POST %s: %d %s", path, st, out);
	return -1;
}

long hsdo_test_dynalite_stat(const struct hsdo_test_dynalite *d, const char *key)
{
	char out[8192];

	if (hsdo_test_http_req(d->proxy.port, "GET", "/__stats", NULL, out, sizeof(out)) != 200)
		return -2;
	return hsdo_test_json_int(out, key);
}

/* ---- a poll(2) loop for the event-driven transport ------------------------------ */

static int pl_watch(void *ctx, int fd, int what)
{
	struct hsdo_test_poll *pl = ctx;
	size_t i;

	for (i = 0; i < pl->n && pl->fds[i].fd != fd; i++)
		;
	if (what & HSDO_HTTP_WATCH_REMOVE) {
		if (i < pl->n)
			pl->fds[i] = pl->fds[--pl->n];
		return 0;
	}
	if (i == pl->n) {
		if (pl->n == HSDO_TEST_POLL_FDS)
			return -1;
		pl->n++;
	}
	pl->fds[i].fd = fd;
	pl->fds[i].events = (short)(((what & HSDO_HTTP_WATCH_IN) ? POLLIN : 0) |
				    ((what & HSDO_HTTP_WATCH_OUT) ? POLLOUT : 0));
	pl->fds[i].revents = 0;
	return 0;
}

static void pl_timer(void *ctx, long ms)
{
	struct hsdo_test_poll *pl = ctx;

	pl->armed = ms >= 0;
	if (ms >= 0) {
		clock_gettime(CLOCK_MONOTONIC, &pl->due);
		pl->due.tv_sec += ms / 1000;
		pl->due.tv_nsec += (ms % 1000) * 1000000L;
		if (pl->due.tv_nsec >= 1000000000L) {
			pl->due.tv_sec++;
			pl->due.tv_nsec -= 1000000000L;
		}
	}
}

void hsdo_test_poll_init(struct hsdo_test_poll *pl, struct hsdo_http_loop *loop)
{
	memset(pl, 0, sizeof(*pl));
	loop->ctx = pl;
	loop->watch = pl_watch;
	loop->timer = pl_timer;
}

int hsdo_test_poll_run(struct hsdo_test_poll *pl, const bool *flag, long max_ms)
{
	long t0 = now_ms();

	while (!*flag) {
		struct pollfd fds[HSDO_TEST_POLL_FDS];
		struct timespec now;
		size_t n = pl->n, i;
		long wait = 100;
		int r;

		if (now_ms() - t0 > max_ms)
			return -1;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (pl->armed) {
			wait = (pl->due.tv_sec - now.tv_sec) * 1000 +
			       (pl->due.tv_nsec - now.tv_nsec) / 1000000;
			if (wait < 0)
				wait = 0;
			if (wait > 100)
				wait = 100;
		}
		memcpy(fds, pl->fds, n * sizeof(*fds));
		r = poll(fds, n, (int)wait);
		for (i = 0; r > 0 && i < n; i++) {
			int ev = 0;

			if (fds[i].revents & (POLLIN | POLLHUP | POLLERR))
				ev |= HSDO_HTTP_WATCH_IN;
			if (fds[i].revents & POLLOUT)
				ev |= HSDO_HTTP_WATCH_OUT;
			if (ev)
				hsdo_http_socket_action(pl->h, fds[i].fd, ev);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (pl->armed && (now.tv_sec > pl->due.tv_sec ||
				  (now.tv_sec == pl->due.tv_sec && now.tv_nsec >= pl->due.tv_nsec))) {
			pl->armed = false;
			hsdo_http_timeout(pl->h);
		}
	}
	return 0;
}

void hsdo_test_dynalite_ctl_ok(const struct hsdo_test_dynalite *d, const char *path,
			       const char *body)
{
	char err[1024] = "";

	ck_assert_msg(hsdo_test_dynalite_ctl(d, path, body, err, sizeof(err)) == 0, "%s", err);
}

long hsdo_test_dynalite_stat_ok(const struct hsdo_test_dynalite *d, const char *key)
{
	long v = hsdo_test_dynalite_stat(d, key);

	ck_assert_msg(v != -2, "GET /__stats failed");
	return v;   /* -1: no such key (nothing counted) */
}
