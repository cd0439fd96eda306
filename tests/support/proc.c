/* Child-process helpers for tests; see proc.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hsdo_test.h"
#include "proc.h"

#define FIXTURE_ARGS_MAX 30

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int hsdo_test_which(const char *name, char *out, size_t outlen)
{
	const char *path = getenv("PATH");
	const char *p, *end;

	if (strchr(name, '/') != NULL) {
		int n = snprintf(out, outlen, "%s", name);

		return n > 0 && (size_t)n < outlen && access(out, X_OK) == 0 ? 0 : -1;
	}
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
	if (outlen > 0)
		out[0] = '\0';
	return -1;
}

int hsdo_test_proc_start(struct hsdo_test_proc *p, char *const argv[], const char *errlog,
	char *err, size_t errlen)
{
	char exe[1024];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 };

	memset(p, 0, sizeof(*p));
	p->in_fd = p->out_fd = -1;
	if (hsdo_test_which(argv[0], exe, sizeof(exe)) != 0) {
		snprintf(err, errlen, "%s is not on PATH", argv[0]);
		return -1;
	}
	if (pipe(in) != 0 || pipe(out) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	p->pid = fork();
	if (p->pid < 0) {
		p->pid = 0;
		snprintf(err, errlen, "fork: %s", strerror(errno));
		goto fail;
	}
	if (p->pid == 0) {
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		(void)dup2(in[0], STDIN_FILENO);
		(void)dup2(out[1], STDOUT_FILENO);
		if (errlog != NULL) {
			int fd = open(errlog, O_WRONLY | O_CREAT | O_APPEND, 0600);

			if (fd >= 0) {
				(void)dup2(fd, STDERR_FILENO);
				close(fd);
			}
		}
		execv(exe, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	(void)fcntl(in[1], F_SETFD, FD_CLOEXEC);
	(void)fcntl(out[0], F_SETFD, FD_CLOEXEC);
	p->in_fd = in[1];
	p->out_fd = out[0];
	return 0;
fail:
	if (in[0] >= 0) {
		close(in[0]);
		close(in[1]);
	}
	if (out[0] >= 0) {
		close(out[0]);
		close(out[1]);
	}
	return -1;
}

/* A complete line starting with prefix in p->buf: copy it out and drop
 * everything up to its end. Other complete lines are dropped. */
static int take_line(struct hsdo_test_proc *p, const char *prefix, char *line, size_t linelen)
{
	char *nl;

	while ((nl = memchr(p->buf, '\n', p->len)) != NULL) {
		size_t n = (size_t)(nl - p->buf);
		int match = n >= strlen(prefix) && memcmp(p->buf, prefix, strlen(prefix)) == 0;

		if (match && linelen > 0)
			snprintf(line, linelen, "%.*s", (int)n, p->buf);
		memmove(p->buf, nl + 1, p->len - n - 1);
		p->len -= n + 1;
		if (match)
			return 0;
	}
	if (p->len == sizeof(p->buf))
		p->len = 0;  /* an overlong line: drop it */
	return -1;
}

int hsdo_test_proc_wait_line(struct hsdo_test_proc *p, const char *prefix, int timeout_ms,
	char *line, size_t linelen)
{
	long deadline = mono_ms() + timeout_ms;

	if (p->out_fd < 0)
		return -1;
	for (;;) {
		struct pollfd pfd = { p->out_fd, POLLIN, 0 };
		long left = deadline - mono_ms();
		ssize_t n;

		if (take_line(p, prefix, line, linelen) == 0)
			return 0;
		if (left <= 0)
			return -1;
		if (poll(&pfd, 1, (int)left) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pfd.revents == 0)
			continue;
		n = read(p->out_fd, p->buf + p->len, sizeof(p->buf) - p->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p->len += (size_t)n;
	}
}

void hsdo_test_proc_stop(struct hsdo_test_proc *p)
{
	if (p->in_fd > 0) {
		close(p->in_fd);
		p->in_fd = -1;
	}
	if (p->out_fd > 0) {
		close(p->out_fd);
		p->out_fd = -1;
	}
	hsdo_test_stop_pid(&p->pid);
}

int hsdo_test_proc_run(char *const argv[], const char *log)
{
	char exe[1024];
	int status;
	pid_t pid;

	if (hsdo_test_which(argv[0], exe, sizeof(exe)) != 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log != NULL ? log : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
		int nul = open("/dev/null", O_RDONLY);

		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (nul >= 0)
			(void)dup2(nul, STDIN_FILENO);
		if (fd >= 0) {
			(void)dup2(fd, STDOUT_FILENO);
			(void)dup2(fd, STDERR_FILENO);
		}
		execv(exe, argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int hsdo_test_fixture_start(struct hsdo_test_proc *p, const char *script,
	char *const args[], const char *errlog, char *ready, size_t readylen,
	char *err, size_t errlen)
{
	const char *src = getenv("HSDO_SOURCE_DIR");
	static char node[] = "node";
	char *argv[FIXTURE_ARGS_MAX + 3];
	char path[1024];
	size_t i, n = 0;
	long t0;

	if (src != NULL && *src != '\0') {
		snprintf(path, sizeof(path), "%s/tests/fixtures/%s", src, script);
	} else {
		char rel[256];
		char *dp;

		snprintf(rel, sizeof(rel), "../fixtures/%s", script);
		dp = hsdo_test_data_path(rel);
		snprintf(path, sizeof(path), "%s", dp != NULL ? dp : script);
		free(dp);
	}
	if (access(path, R_OK) != 0) {
		snprintf(err, errlen, "fixture %s: %s", path, strerror(errno));
		return -1;
	}
	argv[n++] = node;
	argv[n++] = path;
	for (i = 0; args != NULL && args[i] != NULL && i < FIXTURE_ARGS_MAX; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (hsdo_test_proc_start(p, argv, errlog, err, errlen) != 0)
		return -1;
	t0 = mono_ms();
	if (hsdo_test_proc_wait_line(p, "ready", 15000, ready, readylen) != 0) {
		snprintf(err, errlen, "fixture %s did not print ready within %ld ms", script,
			mono_ms() - t0);
		hsdo_test_proc_stop(p);
		return -1;
	}
	return 0;
}

int hsdo_test_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;  /* the directory's own fd */
}
