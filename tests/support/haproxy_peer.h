/* A real HAProxy for tests: start `haproxy -f cfg -db` from a temp dir,
 * talk to its admin socket, make plain HTTP requests through it. Test-only,
 * blocking, one connection per Runtime API command (the agent's client is
 * the real one). */
#ifndef HSDO_TEST_HAPROXY_PEER_H
#define HSDO_TEST_HAPROXY_PEER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct hsdo_test_haproxy {
	pid_t pid;                     /* 0 when not running */
	char *dir;                     /* temp dir, removed by _stop (free()) */
	char exe[512];                 /* haproxy found on PATH */
	char version[64];              /* what `haproxy -v` says: "3.2.26-1" */
	char sock[512];                /* <dir>/admin.sock */
	char cfg[512];                 /* <dir>/haproxy.cfg */
	char log[512];                 /* <dir>/haproxy.log: its stdout+stderr */
};

/* Find haproxy on PATH, read its version (it must be the series named by
 * HSDO_HAPROXY_SERIES when set), and make the temp dir and paths (so the
 * caller can put h->sock in its config). 0, or -1 with the reason in err. */
int hsdo_test_haproxy_init(struct hsdo_test_haproxy *h, char *err, size_t errlen);
/* Write cfg to h->cfg, check it with `haproxy -c`, start it in the
 * foreground (it gets SIGKILL if the test process dies) and wait up to 10 s
 * for the admin socket to answer. 0, or -1 with the reason (and the tail of
 * HAProxy's output) in err. */
int hsdo_test_haproxy_start(struct hsdo_test_haproxy *h, const char *cfg, char *err,
	size_t errlen);
/* Stop HAProxy (SIGTERM, then SIGKILL after 2 s), reap it, remove the temp
 * dir. Safe to call more than once and after a failed init/start. */
void hsdo_test_haproxy_stop(struct hsdo_test_haproxy *h);

/* Send one Runtime API line (without newline) on a new connection and read
 * the reply to EOF (5 s timeout). Returns a NUL-terminated malloc'd reply
 * (free()) and its length in *len, or NULL on an I/O error. */
char *hsdo_test_rtapi_cmd(const char *sock, const char *line, size_t *len);

/* A TCP port on 127.0.0.1, below the ephemeral range, that was free a
 * moment ago. 0 on error. */
uint16_t hsdo_test_free_port(void);

/* GET <path> over HTTP/1.0 from 127.0.0.1:port. Returns the status code
 * and copies the body (NUL-terminated, truncated) into body; -1 on error. */
int hsdo_test_http_get(uint16_t port, const char *path, char *body, size_t bodylen);

#endif
