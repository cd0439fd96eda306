/* systemd's notification protocol, end to end: hsdo-agent started the way
 * systemd starts a Type=notify service (NOTIFY_SOCKET naming a datagram
 * socket, WATCHDOG_USEC) talks to a socket this test binds and reads with
 * SO_PASSCRED, as the service manager does. READY=1 arrives once the agent
 * serves (client mode: only when a real HAProxy has every slot), WATCHDOG=1
 * every half period from its loop, RELOADING=1 then READY=1 around SIGHUP
 * (a bad file included), STOPPING=1 on SIGTERM; every datagram comes from
 * the agent's own pid (what NotifyAccess=main accepts). WATCHDOG_PID naming
 * another process, and --once, send nothing of the kind. */
#define _GNU_SOURCE   /* struct ucred, SCM_CREDENTIALS */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "haproxy_peer.h"
#include "hsdo_test.h"

#define WATCHDOG_USEC "400000"   /* pings every 200 ms */

struct notify {
	int fd;
	char path[512];
	char seen[16384];            /* every datagram so far, one per line, for messages */
};

static char *dir;
static char agent_log[600];

static void setup(void)
{
	dir = hsdo_test_tmpdir("notify");
	ck_assert_ptr_nonnull(dir);
}

static void teardown(void)
{
	hsdo_test_rmtree(dir);
	free(dir);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The service manager's end: a bound datagram socket with SO_PASSCRED. */
static void notify_listen(struct notify *n)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1;

	memset(n->seen, 0, sizeof(n->seen));
	snprintf(n->path, sizeof(n->path), "%s/notify.sock", dir);
	ck_assert_uint_lt(strlen(n->path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, n->path, strlen(n->path) + 1);
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(n->fd, 0);
	ck_assert_int_eq(setsockopt(n->fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	ck_assert_msg(bind(n->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0, "bind %s: %s", n->path,
		      strerror(errno));
}

/* One datagram within timeout_ms: its text in buf and the sender's pid
 * (from SCM_CREDENTIALS); 0, or -1 on timeout. */
static int notify_recv(struct notify *n, int timeout_ms, char *buf, size_t len, pid_t *pid)
{
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(struct ucred))];
	} ctl;
	struct iovec iov = { buf, len - 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &ctl,
			     .msg_controllen = sizeof(ctl) };
	struct pollfd p = { n->fd, POLLIN, 0 };
	struct cmsghdr *c;
	ssize_t r;

	if (poll(&p, 1, timeout_ms) <= 0)
		return -1;
	r = recvmsg(n->fd, &mh, 0);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	*pid = 0;
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
			struct ucred uc;

			memcpy(&uc, CMSG_DATA(c), sizeof(uc));
			*pid = uc.pid;
		}
	{
		size_t used = strlen(n->seen);

		snprintf(n->seen + used, sizeof(n->seen) - used, "[%s]\n", buf);
	}
	return 0;
}

/* Does a line of the datagram start with `field` ("READY=1",
 * "STATUS=HAProxy at")? */
static bool has_field(const char *msg, const char *field)
{
	const char *p = msg;

	while ((p = strstr(p, field)) != NULL) {
		if (p == msg || p[-1] == '\n')
			return true;
		p++;
	}
	return false;
}

/* Wait up to timeout_ms for a datagram with a `field` line, from pid; the whole
 * datagram is copied to msg. Every datagram must come from pid. */
static bool notify_wait(struct notify *n, pid_t pid, const char *field, int timeout_ms, char *msg,
			size_t msglen)
{
	int64_t end = now_ms() + timeout_ms;
	char buf[4096];
	pid_t from;

	while (now_ms() < end) {
		if (notify_recv(n, (int)(end - now_ms()), buf, sizeof(buf), &from) != 0)
			break;
		ck_assert_msg(from == pid, "datagram from pid %d, not the agent's %d: %s",
			      (int)from, (int)pid, buf);
		if (has_field(buf, field)) {
			if (msg != NULL)
				snprintf(msg, msglen, "%s", buf);
			return true;
		}
	}
	return false;
}

/* Datagrams with `field` received during ms milliseconds. */
static int notify_count(struct notify *n, const char *field, int ms)
{
	int64_t end = now_ms() + ms;
	char buf[4096];
	pid_t from;
	int count = 0;

	while (now_ms() < end)
		if (notify_recv(n, (int)(end - now_ms()), buf, sizeof(buf), &from) == 0 &&
		    has_field(buf, field))
			count++;
	return count;
}

/* Start the agent with a clean environment plus env[] (and the sanitizer
 * options of this run), its output in agent_log. */
static pid_t agent_start(char *const argv[], char *const env[])
{
	static const char *const keep[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" };
	const char *agent = getenv("HSDO_AGENT");
	char *envp[32];
	size_t n = 0, i;
	pid_t pid;

	ck_assert_msg(agent != NULL, "HSDO_AGENT is not set (run through ctest)");
	snprintf(agent_log, sizeof(agent_log), "%s/agent.log", dir);
	for (i = 0; env[i] != NULL && n < 24; i++)
		envp[n++] = env[i];
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		static char kv[3][512];
		const char *v = getenv(keep[i]);

		if (v != NULL) {
			snprintf(kv[i], sizeof(kv[i]), "%s=%s", keep[i], v);
			envp[n++] = kv[i];
		}
	}
	envp[n] = NULL;
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(agent_log, O_WRONLY | O_CREAT | O_APPEND, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execve(agent, argv, envp);
		_exit(127);
	}
	return pid;
}

static int agent_wait(pid_t pid, int timeout_ms)
{
	int64_t end = now_ms() + timeout_ms;
	int status;

	while (now_ms() < end) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}

static char *log_tail(void)
{
	static char tail[2048];
	char *all = hsdo_test_read_file(agent_log, NULL);
	size_t len = all ? strlen(all) : 0;

	snprintf(tail, sizeof(tail), "%s", all ? all + (len > 2000 ? len - 2000 : 0) : "(no log)");
	free(all);
	return tail;
}

static void write_text(const char *name, const char *text, char *path, size_t pathlen)
{
	snprintf(path, pathlen, "%s/%s", dir, name);
	ck_assert_int_eq(hsdo_test_write_file(path, text, strlen(text)), 0);
}

/* A server on the static source and the file store. */
static void server_config(char *cfg, size_t cfglen)
{
	char inst[600], text[2048];

	write_text("instances.yaml", "- name: i-one\n  ip: 127.0.0.1\n  port: 8080\n  group: g\n",
		   inst, sizeof(inst));
	snprintf(text, sizeof(text),
		 "SERVER_MODE: static\nSERVER_STATIC_FILE: %s\nSTORE: file\n"
		 "STORE_FILE_PATH: %s/slots.json\nHAPROXY_BACKEND_SERVERS_LIST_SIZE: 4\n"
		 "INTERVAL: 0.2\n", inst, dir);
	write_text("env.yaml", text, cfg, cfglen);
}

START_TEST(server_ready_watchdog_reload_stop)
{
	struct notify n;
	char cfg[600], sock_env[600], port_env[64], msg[4096];
	pid_t pid;

	notify_listen(&n);
	server_config(cfg, sizeof(cfg));
	snprintf(sock_env, sizeof(sock_env), "NOTIFY_SOCKET=%s", n.path);
	snprintf(port_env, sizeof(port_env), "EXPORTER_PORT=%u", hsdo_test_free_port());
	{
		char *argv[] = { "hsdo-agent", "--server", "--config", cfg, NULL };
		char *env[] = { sock_env, "WATCHDOG_USEC=" WATCHDOG_USEC, port_env, NULL };

		pid = agent_start(argv, env);
	}
	ck_assert_msg(notify_wait(&n, pid, "READY=1", 30000, msg, sizeof(msg)),
		      "no READY=1; got:\n%s\nagent log:\n%s", n.seen, log_tail());
	ck_assert_msg(strstr(msg, "STATUS=") != NULL, "READY without STATUS: %s", msg);
	/* 200 ms pings: at least 4 in 2 s however loaded the machine is. */
	ck_assert_int_ge(notify_count(&n, "WATCHDOG=1", 2000), 4);

	kill(pid, SIGHUP);
	ck_assert_msg(notify_wait(&n, pid, "RELOADING=1", 10000, msg, sizeof(msg)),
		      "no RELOADING=1; got:\n%s", n.seen);
	ck_assert_msg(strstr(msg, "MONOTONIC_USEC=") != NULL, "RELOADING without MONOTONIC_USEC: %s",
		      msg);
	ck_assert_msg(notify_wait(&n, pid, "READY=1", 10000, msg, sizeof(msg)),
		      "no READY=1 after the reload; got:\n%s", n.seen);
	ck_assert_msg(strstr(msg, "STATUS=configuration reloaded") != NULL, "%s", msg);

	/* A file that does not validate: the reload ends too, and says so. */
	write_text("env.yaml", "INTERVAL: soon\n", cfg, sizeof(cfg));
	kill(pid, SIGHUP);
	ck_assert(notify_wait(&n, pid, "RELOADING=1", 10000, NULL, 0));
	ck_assert_msg(notify_wait(&n, pid, "READY=1", 10000, msg, sizeof(msg)),
		      "no READY=1 after a failed reload; got:\n%s", n.seen);
	ck_assert_msg(strstr(msg, "STATUS=reload failed; running configuration kept") != NULL, "%s",
		      msg);
	ck_assert_int_ge(notify_count(&n, "WATCHDOG=1", 1000), 2);   /* still looping */

	kill(pid, SIGTERM);
	ck_assert_msg(notify_wait(&n, pid, "STOPPING=1", 10000, NULL, 0), "no STOPPING=1; got:\n%s",
		      n.seen);
	ck_assert_int_eq(agent_wait(pid, 15000), 0);
	close(n.fd);
}
END_TEST

/* HAProxy's socket is not there yet: the agent loops (watchdog), says why
 * in STATUS, and only says READY once HAProxy has every slot. */
START_TEST(client_ready_after_haproxy)
{
	static const char hap_cfg[] =
		"global\n"
		"\tstats socket %s mode 660 level admin\n"
		"defaults\n"
		"\tmode http\n"
		"\ttimeout connect 1s\n"
		"\ttimeout client 5s\n"
		"\ttimeout server 5s\n"
		"backend be_app\n"
		"\tserver-template web 1-4 127.0.0.2:80 disabled\n";
	struct hsdo_test_haproxy h;
	struct notify n;
	char err[2048], text[2048], cfg[600], sock_env[600], port_env[64], msg[4096];
	pid_t pid;
	bool ready;

	notify_listen(&n);
	ck_assert_msg(hsdo_test_haproxy_init(&h, err, sizeof(err)) == 0, "%s", err);
	snprintf(text, sizeof(text),
		 "CLIENT_HAPROXY_SOCKET_PATH: %s\nCLIENT_HAPROXY_BACKEND_NAME: be_app\n"
		 "CLIENT_HAPROXY_BACKEND_BASE_NAME: web\nHAPROXY_BACKEND_SERVERS_LIST_SIZE: 4\n"
		 "STORE: file\nSTORE_FILE_PATH: %s/slots.json\nSPOA_LISTEN: 'off'\n"
		 "INTERVAL: 0.2\n", h.sock, dir);
	write_text("client.yaml", text, cfg, sizeof(cfg));
	snprintf(sock_env, sizeof(sock_env), "NOTIFY_SOCKET=%s", n.path);
	snprintf(port_env, sizeof(port_env), "EXPORTER_PORT=%u", hsdo_test_free_port());
	{
		char *argv[] = { "hsdo-agent", "--client", "--config", cfg, NULL };
		char *env[] = { sock_env, "WATCHDOG_USEC=" WATCHDOG_USEC, port_env, NULL };

		pid = agent_start(argv, env);
	}
	ck_assert_msg(notify_wait(&n, pid, "STATUS=HAProxy at", 10000, msg, sizeof(msg)),
		      "no STATUS about HAProxy; got:\n%s\n%s", n.seen, log_tail());
	ck_assert_msg(notify_wait(&n, pid, "WATCHDOG=1", 10000, NULL, 0),
		      "no WATCHDOG=1 while waiting; got:\n%s", n.seen);
	ready = notify_wait(&n, pid, "READY=1", 1500, NULL, 0);
	ck_assert_msg(!ready, "READY=1 before HAProxy runs; got:\n%s", n.seen);

	snprintf(text, sizeof(text), hap_cfg, h.sock);
	if (hsdo_test_haproxy_start(&h, text, err, sizeof(err)) != 0) {
		kill(pid, SIGKILL);
		agent_wait(pid, 5000);
		hsdo_test_haproxy_stop(&h);
		ck_abort_msg("HAProxy: %s", err);
	}
	/* The start-up check retries with a backoff capped at 5 s. */
	ready = notify_wait(&n, pid, "READY=1", 20000, msg, sizeof(msg));
	kill(pid, SIGTERM);
	agent_wait(pid, 15000);
	hsdo_test_haproxy_stop(&h);
	ck_assert_msg(ready, "no READY=1 once HAProxy runs; got:\n%s\nagent log:\n%s", n.seen,
		      log_tail());
	ck_assert_msg(strstr(msg, "has every slot") != NULL, "%s", msg);
	close(n.fd);
}
END_TEST

/* WATCHDOG_PID names another process (a parent's setting inherited): no
 * pings from this one, READY all the same. */
START_TEST(watchdog_for_another_pid)
{
	struct notify n;
	char cfg[600], sock_env[600], port_env[64];
	pid_t pid;

	notify_listen(&n);
	server_config(cfg, sizeof(cfg));
	snprintf(sock_env, sizeof(sock_env), "NOTIFY_SOCKET=%s", n.path);
	snprintf(port_env, sizeof(port_env), "EXPORTER_PORT=%u", hsdo_test_free_port());
	{
		char *argv[] = { "hsdo-agent", "--server", "--config", cfg, NULL };
		char *env[] = { sock_env, "WATCHDOG_USEC=" WATCHDOG_USEC, "WATCHDOG_PID=1", port_env,
				NULL };

		pid = agent_start(argv, env);
	}
	ck_assert_msg(notify_wait(&n, pid, "READY=1", 30000, NULL, 0), "no READY=1; got:\n%s\n%s",
		      n.seen, log_tail());
	ck_assert_int_eq(notify_count(&n, "WATCHDOG=1", 1500), 0);
	kill(pid, SIGTERM);
	ck_assert_int_eq(agent_wait(pid, 15000), 0);
	ck_assert_msg(strstr(n.seen, "WATCHDOG=1") == NULL, "%s", n.seen);
	close(n.fd);
}
END_TEST

/* --once is a command, not a service: nothing is sent. */
START_TEST(once_sends_nothing)
{
	struct notify n;
	char cfg[600], sock_env[600], buf[256];
	pid_t pid, from;

	notify_listen(&n);
	server_config(cfg, sizeof(cfg));
	snprintf(sock_env, sizeof(sock_env), "NOTIFY_SOCKET=%s", n.path);
	{
		char *argv[] = { "hsdo-agent", "--server", "--once", "--config", cfg, NULL };
		char *env[] = { sock_env, "WATCHDOG_USEC=" WATCHDOG_USEC, NULL };

		pid = agent_start(argv, env);
	}
	ck_assert_msg(agent_wait(pid, 30000) == 0, "--once failed:\n%s", log_tail());
	ck_assert_msg(notify_recv(&n, 200, buf, sizeof(buf), &from) != 0, "--once sent: %s", buf);
	close(n.fd);
}
END_TEST

static Suite *notify_suite(void)
{
	Suite *s = suite_create("agent_notify");
	TCase *tc = tcase_create("sd_notify");

	tcase_set_timeout(tc, 120);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, server_ready_watchdog_reload_stop);
	tcase_add_test(tc, client_ready_after_haproxy);
	tcase_add_test(tc, watchdog_for_another_pid);
	tcase_add_test(tc, once_sends_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(notify_suite());
}
