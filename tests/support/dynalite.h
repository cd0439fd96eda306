/* Test peers for the AWS layer: dynalite (an in-memory DynamoDB) behind
 * tests/fixtures/sigv4_proxy.js (which checks every request's SigV4 and
 * injects throttling, 500s, dropped connections and delays), and
 * tests/fixtures/imds.js (IMDSv2 and ECS credentials). All bind 127.0.0.1,
 * log to a temp dir, and get SIGKILL if the test process dies. Needs
 * `node` on PATH and tests/node_modules (npm ci in tests/). */
#ifndef HSDO_TEST_DYNALITE_H
#define HSDO_TEST_DYNALITE_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "hsdo/http.h"

/* A node process started from tests/fixtures or tests/node_modules. */
struct hsdo_test_node {
	pid_t pid;                 /* 0 when not running */
	uint16_t port;
	char log[512];             /* its stdout + stderr */
};

struct hsdo_test_dynalite {
	struct hsdo_test_node dynalite, proxy;
	char *dir;                 /* temp dir for the logs (free()) */
	char url[64];              /* the proxy: what clients use */
	char direct_url[64];       /* dynalite itself, unchecked */
};

/* The credentials the proxy accepts by default. */
#define HSDO_TEST_AKID   "AKIDHSDOTEST"
#define HSDO_TEST_SECRET "hsdo/TEST+secret/KEY0123456789abcdefghij"
#define HSDO_TEST_AKID2  "ASIAHSDOTEST"
#define HSDO_TEST_SECRET2 "hsdo-session-secret-0123456789abcdefghij"
#define HSDO_TEST_TOKEN2 "IQoJb3JpZ2luX2VjEHSDO/session+token=="
#define HSDO_TEST_REGION "us-east-1"

/* Start dynalite on a free port below the ephemeral range, then the proxy
 * in front of it; wait until both accept connections (15 s at most).
 * creds_json: the proxy's --creds (NULL: HSDO_TEST_AKID/SECRET and
 * HSDO_TEST_AKID2/SECRET2/TOKEN2). 0, or -1 with the reason and the log
 * tail in err. */
int hsdo_test_dynalite_start(struct hsdo_test_dynalite *d, const char *creds_json,
			     char *err, size_t errlen);
/* Stop both (SIGTERM, SIGKILL after 2 s), remove the temp dir; idempotent. */
void hsdo_test_dynalite_stop(struct hsdo_test_dynalite *d);

/* Start `node <tests/fixtures/script> args... --port P` (P free, below the
 * ephemeral range; another one if the fixture exits, 5 tries) with its
 * output in logdir, and wait for its "LISTENING <port>" line. The fixture
 * must take --port and print that line. 0 or -1 with err. */
int hsdo_test_node_start(struct hsdo_test_node *n, const char *logdir, const char *script,
			 const char *const *args, char *err, size_t errlen);
void hsdo_test_node_stop(struct hsdo_test_node *n);

/* Run `node <tests/fixtures/script> args...` to its end; its stdout
 * (NUL-terminated, truncated) into out. Returns its exit status, or -1. */
int hsdo_test_node_run(const char *script, const char *const *args, char *out, size_t outlen);

/* One HTTP/1.0 request to 127.0.0.1:port (5 s timeout): returns the status
 * and copies the body (NUL-terminated, truncated) into out; -1 on error. */
int hsdo_test_http_req(uint16_t port, const char *method, const char *path,
		       const char *body, char *out, size_t outlen);

/* The integer value of "key": in a flat JSON text (a fixture's /__stats),
 * or -1. */
long hsdo_test_json_int(const char *json, const char *key);

/* The proxy's control endpoints (sigv4_proxy.js): POST path with a JSON
 * body, 0 on 200 or -1 with the status and reply in err; and one integer
 * of GET /__stats: -1 when it has no such key, -2 when the GET failed. */
int hsdo_test_dynalite_ctl(const struct hsdo_test_dynalite *d, const char *path,
			   const char *body, char *err, size_t errlen);
long hsdo_test_dynalite_stat(const struct hsdo_test_dynalite *d, const char *key);
/* The same, failing the running check test on an error: the control call
 * refused, or /__stats unreachable (-1 still means no such key). */
void hsdo_test_dynalite_ctl_ok(const struct hsdo_test_dynalite *d, const char *path,
			       const char *body);
long hsdo_test_dynalite_stat_ok(const struct hsdo_test_dynalite *d, const char *key);

/* A poll(2) event loop for the event-driven transport (http.h): watch and
 * timer callbacks, and a runner. */
#define HSDO_TEST_POLL_FDS 64
struct hsdo_test_poll {
	struct hsdo_http *h;           /* set after hsdo_http_new */
	struct pollfd fds[HSDO_TEST_POLL_FDS];
	size_t n;
	bool armed;
	struct timespec due;
};
/* Zero pl and point loop's callbacks at it. */
void hsdo_test_poll_init(struct hsdo_test_poll *pl, struct hsdo_http_loop *loop);
/* Run until *flag becomes true (0) or max_ms pass (-1). */
int hsdo_test_poll_run(struct hsdo_test_poll *pl, const bool *flag, long max_ms);

/* Free ports: hsdo_test_free_port() in haproxy_peer.h. */

#endif
