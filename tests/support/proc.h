/* Child processes for tests: start a helper (a node fixture, openssl)
 * with its stdout on a pipe, wait for a line it prints, stop it. The child
 * gets SIGKILL if the test process dies, so a failed test leaves nothing
 * behind. */
#ifndef HSDO_TEST_PROC_H
#define HSDO_TEST_PROC_H

#include <stddef.h>
#include <sys/types.h>

struct hsdo_test_proc {
	pid_t pid;                      /* 0 when not running */
	int in_fd;                      /* the child's stdin (write end), -1 */
	int out_fd;                     /* the child's stdout (read end), -1 */
	char buf[2048];                 /* stdout read but not yet returned */
	size_t len;
};

/* Find name on PATH (or take it as is when it holds a '/'); 0 or -1. */
int hsdo_test_which(const char *name, char *out, size_t outlen);

/* Start argv (argv[0] looked up on PATH) with stdin and stdout on pipes and
 * stderr appended to errlog (NULL: inherited). 0, or -1 with the reason in
 * err. */
int hsdo_test_proc_start(struct hsdo_test_proc *p, char *const argv[], const char *errlog,
	char *err, size_t errlen);

/* Wait up to timeout_ms for a stdout line starting with prefix (earlier
 * lines are dropped) and copy it without its newline into line. 0, or -1
 * on timeout or when the child closed its stdout (exited). */
int hsdo_test_proc_wait_line(struct hsdo_test_proc *p, const char *prefix, int timeout_ms,
	char *line, size_t linelen);

/* Close the pipes, SIGTERM, SIGKILL after 2 s, reap. Safe to call twice
 * and on a zeroed struct with in_fd/out_fd -1 or 0-pid. */
void hsdo_test_proc_stop(struct hsdo_test_proc *p);

/* Run argv to its end (argv[0] looked up on PATH), stdout and stderr
 * appended to log (NULL: /dev/null), stdin /dev/null. Its exit status, or
 * -1 when it could not run or was killed. */
int hsdo_test_proc_run(char *const argv[], const char *log);

/* Start `node tests/fixtures/<script> args...` (the script found under
 * $HSDO_SOURCE_DIR, else next to tests/data), stderr to errlog, and wait
 * up to 15 s for its line starting with "ready", copied into ready. 0 or -1
 * with the reason in err. */
int hsdo_test_fixture_start(struct hsdo_test_proc *p, const char *script,
	char *const args[], const char *errlog, char *ready, size_t readylen,
	char *err, size_t errlen);

/* Number of open file descriptors of this process (/proc/self/fd), or -1. */
int hsdo_test_count_fds(void);

#endif
