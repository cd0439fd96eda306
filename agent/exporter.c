/* The exporter's HTTP glue: see exporter.h.
 *
 * MHD runs in "external epoll" mode: MHD_USE_EPOLL without
 * MHD_USE_INTERNAL_POLLING_THREAD. Its epoll fd becomes readable when any of
 * its sockets has work; the ev_io on it and an ev_timer set from
 * MHD_get_timeout (connection timeouts, data already buffered) both call
 * MHD_run, which never blocks. A scrape waits while a cycle runs: both
 * happen on the one thread. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/log.h"

#include "exporter.h"

#define EXPORTER_CONNECTIONS 32   /* concurrent scrapes */
#define EXPORTER_TIMEOUT_S   10   /* idle connection timeout */
#define LIT(s) s, sizeof(s) - 1

struct exporter {
	struct ev_loop *loop;
	struct MHD_Daemon *d;
	ev_io io;
	ev_timer timer;
	exporter_metrics_fn *metrics;
	exporter_health_fn *health;
	void *arg;
	char *starterr;            /* while starting: where MHD's message goes */
	size_t starterrlen;
};

/* MHD's messages: kept as the start error while starting, logged after. */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct exporter *e = cls;
	char msg[512];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (e->starterr != NULL) {
		if (e->starterr[0] == '\0')
			snprintf(e->starterr, e->starterrlen, "%s", msg);
		return;
	}
	hsdo_log_warn("exporter: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status,
			     const char *ctype, const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	/* MHD_RESPMEM_MUST_COPY takes a non-const pointer but only reads it. */
	r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype) != MHD_YES ||
	    (status == MHD_HTTP_METHOD_NOT_ALLOWED &&
	     MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD") != MHD_YES)) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result serve_metrics(struct exporter *e, struct MHD_Connection *conn)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char *body = NULL, msg[128];
	size_t len = 0;
	int rc;

	rc = e->metrics(e->arg, &body, &len);
	if (rc != 0) {
		hsdo_log_err("exporter: cannot render the metrics: %s", hsdo_strerror(rc));
		snprintf(msg, sizeof(msg), "cannot render the metrics: %s\n", hsdo_strerror(rc));
		return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
			     msg, strlen(msg));
	}
	r = MHD_create_response_from_buffer_with_free_callback(len, body, hsdo_free);
	if (r == NULL) {
		hsdo_free(body);
		return MHD_NO;
	}
	if (MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				    "text/plain; version=0.0.4; charset=utf-8") != MHD_YES) {
		MHD_destroy_response(r);
		return MHD_NO;
	}
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* True when the request announces a body. */
static bool has_body(struct MHD_Connection *conn)
{
	const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);

	return (cl != NULL && strcmp(cl, "0") != 0) ||
	       MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					   MHD_HTTP_HEADER_TRANSFER_ENCODING) != NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **req_cls)
{
	static const char plain[] = "text/plain; charset=utf-8";
	static int seen;
	struct exporter *e = cls;
	char why[600], body[620];

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	/* A reply queued on the first call (headers only) makes MHD close the
	 * connection without reading any body: right for what we refuse and
	 * for a GET with a body. A plain GET is answered on the second call,
	 * so the connection can be kept alive between scrapes. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, plain, LIT("method not allowed\n"));
	if (*req_cls == NULL) {
		*req_cls = &seen;
		if (!has_body(conn))
			return MHD_YES;
	}
	if (strcmp(url, "/metrics") == 0)
		return serve_metrics(e, conn);
	if (strcmp(url, "/healthz") == 0) {
		why[0] = '\0';
		if (e->health(e->arg, why, sizeof(why)))
			return reply(conn, MHD_HTTP_OK, plain, LIT("ok\n"));
		snprintf(body, sizeof(body), "%s\n", why[0] ? why : "unhealthy");
		return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, plain, body, strlen(body));
	}
	return reply(conn, MHD_HTTP_NOT_FOUND, plain,
		     LIT("not found: try /metrics or /healthz\n"));
}

/* After every MHD_run: wake up again no later than MHD asks. */
static void rearm(struct exporter *e)
{
	MHD_UNSIGNED_LONG_LONG ms = 0;

	ev_timer_stop(e->loop, &e->timer);
	if (MHD_get_timeout(e->d, &ms) != MHD_YES)
		return;
	ev_timer_set(&e->timer, (ev_tstamp)ms / 1000.0, 0.);
	ev_timer_start(e->loop, &e->timer);
}

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct exporter *e = w->data;

	(void)loop;
	(void)revents;
	(void)MHD_run(e->d);
	rearm(e);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct exporter *e = w->data;

	(void)loop;
	(void)revents;
	(void)MHD_run(e->d);
	rearm(e);
}

int exporter_start(struct ev_loop *loop, const char *addr, int port,
		   exporter_metrics_fn *metrics, exporter_health_fn *health, void *arg,
		   struct exporter **out, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct exporter *e;
	char why[512] = "";

	if (port < 1 || port > 65535)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "EXPORTER_PORT %d out of range", port);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		flags |= MHD_USE_IPv6;
	} else {
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "EXPORTER_ADDR '%s' is not an IPv4 "
				   "or IPv6 address", addr);
	}
	e = hsdo_calloc(1, sizeof(*e));
	if (e == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	e->loop = loop;
	e->metrics = metrics;
	e->health = health;
	e->arg = arg;
	e->starterr = why;
	e->starterrlen = sizeof(why);
	e->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, e,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, e,   /* first, or MHD warns */
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)EXPORTER_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)EXPORTER_TIMEOUT_S,
				MHD_OPTION_END);
	e->starterr = NULL;
	if (e->d == NULL) {
		hsdo_free(e);
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s", why[0] ? why : "cannot start");
	}
	info = MHD_get_daemon_info(e->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (info == NULL || info->epoll_fd < 0) {
		MHD_stop_daemon(e->d);
		hsdo_free(e);
		return hsdo_seterr(err, errlen, -HSDO_EIO, "libmicrohttpd has no epoll fd");
	}
	ev_io_init(&e->io, on_io, info->epoll_fd, EV_READ);
	e->io.data = e;
	ev_io_start(loop, &e->io);
	ev_init(&e->timer, on_timer);
	e->timer.data = e;
	rearm(e);
	*out = e;
	return 0;
}

void exporter_stop(struct exporter *e)
{
	if (e == NULL)
		return;
	ev_io_stop(e->loop, &e->io);
	ev_timer_stop(e->loop, &e->timer);
	MHD_stop_daemon(e->d);
	hsdo_free(e);
}
