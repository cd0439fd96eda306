/* HTTP transport over libcurl's multi interface, for the AWS, instance
 * metadata and Consul clients.
 *
 * One engine, two ways to drive it:
 *  - blocking (loop == NULL): hsdo_http_submit() runs the transfer to its
 *    end with curl_multi_poll() and calls `done` before it returns; delayed
 *    calls (hsdo_http_after) sleep. For tools, tests, `--once` and
 *    `--create-table`.
 *  - event-driven (loop != NULL): the caller's event loop watches the
 *    sockets and the one timer the engine asks for (the shape of curl's
 *    evhiperfifo example), and calls hsdo_http_socket_action() and
 *    hsdo_http_timeout() back. libhsdo does not depend on any event
 *    library; the agent's libev adapter lives in agent/http_ev.c.
 *
 * Every transfer has a connect timeout, a total timeout and a cap on the
 * response body; connections are reused (one multi handle, shared
 * connection cache); TLS peer and host verification are always on, with an
 * optional CA bundle. The engine never logs: URLs and headers may carry
 * secrets (session tokens), so errors name the host and the failure only.
 *
 * `done` is called exactly once per accepted submit (never when submit
 * returns an error), from hsdo_http_submit() in blocking mode, else from
 * socket_action/timeout (never from inside submit). The response and err
 * are valid during the call only. rc is 0 when an HTTP status was received
 * (any status: the caller decides; err is then ""), -HSDO_EHTTP for a
 * transport failure (resolve, connect, TLS, timeout, reset) with
 * "host:port: reason" in err, -HSDO_ETOOBIG when the body exceeded the cap,
 * -HSDO_ENOMEM when the body could not be stored, or -HSDO_EAGAIN with err
 * "cancelled" when the engine is freed with the transfer in flight. On
 * failure status is 0 and body is "".
 *
 * Callbacks (done, delayed calls) run from the engine's own code, never
 * from inside libcurl, so they may submit and schedule again (a retry
 * loop). In blocking mode such a nested submit runs to its end inside the
 * callback; nesting is bounded (64 levels of submit/after, then
 * -HSDO_ETOOBIG). A callback must not free the engine.
 *
 * Redirects are never followed (a 3xx is an answer like any other); only
 * http and https are allowed. No "Expect: 100-continue" round trip, and no
 * Content-Type unless the request sets one. Copies of the request headers,
 * the query and the response body are wiped before they are freed. */
#ifndef HSDO_HTTP_H
#define HSDO_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSDO_HTTP_HEADERS_MAX 32
#define HSDO_HTTP_ERR_LEN     256
#define HSDO_HTTP_BODY_MAX_DEFAULT ((size_t)16 << 20)

struct hsdo_http;

/* A request; every pointer is borrowed for the submit call only (the
 * engine copies what it keeps). */
struct hsdo_http_request {
	const char *method;             /* "GET", "PUT", "POST" */
	const char *url;                /* http:// or https:// */
	const char *headers[HSDO_HTTP_HEADERS_MAX]; /* "Name: value", NULL-ended */
	const void *body;               /* may be NULL when body_len == 0 */
	size_t body_len;
	long connect_timeout_ms;        /* 0: the engine's default */
	long timeout_ms;                /* total; 0: the engine's default */
	size_t max_body;                /* 0: the engine's default */
};

/* What came back. Header values the callers need are captured. */
struct hsdo_http_response {
	long status;                    /* 200, 400, ... */
	const char *body;               /* NUL-terminated, len bytes */
	size_t len;
	char request_id[80];            /* x-amzn-RequestId / x-amz-request-id */
	char consul_index[24];          /* X-Consul-Index, "" if absent */
	long retry_after_s;             /* Retry-After seconds, -1 if absent */
	double total_s;                 /* transfer time */
	bool reused;                    /* connection was reused */
};

typedef void (*hsdo_http_done_fn)(void *arg, int rc, const struct hsdo_http_response *resp,
				  const char *err);

/* What the event loop provides (all called from inside the engine). */
enum { HSDO_HTTP_WATCH_IN = 1, HSDO_HTTP_WATCH_OUT = 2, HSDO_HTTP_WATCH_REMOVE = 4 };
struct hsdo_http_loop {
	void *ctx;
	/* Watch fd for `what` (IN|OUT), or stop watching it (REMOVE).
	 * 0 or a negative hsdo_err. */
	int (*watch)(void *ctx, int fd, int what);
	/* (Re)arm the single timer to fire in ms milliseconds (0: as soon as
	 * possible), or disarm it when ms < 0. */
	void (*timer)(void *ctx, long ms);
};

struct hsdo_http_options {
	const char *ca_file;            /* CA bundle (PEM); NULL: system store */
	long connect_timeout_ms;        /* default 2000 */
	long timeout_ms;                /* default 10000 */
	size_t max_body;                /* default HSDO_HTTP_BODY_MAX_DEFAULT */
	long max_host_connections;      /* 0: libcurl's default */
	const char *user_agent;         /* NULL: "hsdo/<version>" */
};

/* loop NULL: blocking mode (the engine copies *loop). 0, -HSDO_EINVAL
 * (negative option, unreadable ca_file), -HSDO_ENOMEM, -HSDO_EHTTP (curl
 * initialisation). */
int hsdo_http_new(const struct hsdo_http_options *opt, const struct hsdo_http_loop *loop,
		  struct hsdo_http **out, char *err, size_t errlen);
/* Cancel what is in flight and pending (each `done` gets -HSDO_EAGAIN and
 * err "cancelled"), then release; NULL is a no-op. */
void hsdo_http_free(struct hsdo_http *h);
bool hsdo_http_blocking(const struct hsdo_http *h);

/* Start a transfer. 0 (done will be called), or with done never called:
 * -HSDO_EINVAL (method not upper-case letters, URL not http(s)://host...,
 * a header not "Name: value" or with CR/LF, the engine being freed),
 * -HSDO_ENOMEM, -HSDO_ETOOBIG (blocking mode nested too deep). Up to
 * HSDO_HTTP_HEADERS_MAX headers (a full array needs no NULL). */
int hsdo_http_submit(struct hsdo_http *h, const struct hsdo_http_request *req,
		     hsdo_http_done_fn done, void *arg);

/* Run fn(arg) after ms milliseconds (retry backoff, credential refresh,
 * blocking-query pacing; ms < 0 counts as 0): from hsdo_http_timeout() or
 * hsdo_http_socket_action() in event mode, in due order (ties in the order
 * scheduled); in blocking mode, sleeps then calls it before returning.
 * Calls still pending at hsdo_http_free are dropped, not run. 0,
 * -HSDO_ENOMEM, -HSDO_EINVAL (fn NULL, engine being freed), -HSDO_ETOOBIG
 * (blocking mode nested too deep). */
int hsdo_http_after(struct hsdo_http *h, long ms, void (*fn)(void *arg), void *arg);

/* Transfers plus delayed calls not yet finished. */
size_t hsdo_http_pending(const struct hsdo_http *h);

/* Event-loop callbacks: fd became ready for `events` (IN|OUT bits), or the
 * timer fired. They run completions (done callbacks, delayed calls). */
void hsdo_http_socket_action(struct hsdo_http *h, int fd, int events);
void hsdo_http_timeout(struct hsdo_http *h);

/* Counters since creation (for metrics): finished transfers (done called),
 * those with rc != 0, body bytes received and sent, transfers that reused
 * a connection. */
struct hsdo_http_stats {
	uint64_t requests, failures, bytes_in, bytes_out, reused;
};
void hsdo_http_stats(const struct hsdo_http *h, struct hsdo_http_stats *out);

#endif
