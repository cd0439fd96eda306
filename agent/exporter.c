/* The exporter's HTTP side: see exporter.h.
 *
 * libmicrohttpd runs with its own thread, in poll mode
 * (MHD_USE_POLL_INTERNAL_THREAD), not on the agent's loop and not in epoll
 * mode. Measured on 0.9.75 (docs/metrics.md): driven from the loop in
 * external epoll mode, the listener MHD sets aside at its connection limit
 * comes back only if MHD_run happens to run again, which nothing schedules
 * when MHD_get_timeout has no timeout: the exporter went blind for good;
 * and in epoll mode (external or internal) a connection that sent part of
 * a request and then closed is not seen closing until MHD's idle timeout,
 * so a burst of them fills the connection limit. In poll mode MHD sees
 * every close at once.
 *
 * A second thread of ours enforces the deadline: each request complete
 * and answered within REQUEST_DEADLINE_MS of its connection opening or of
 * the previous answer (MHD's own timeout restarts on every byte), and at
 * the limit the oldest connection not being answered makes room. It ends
 * a connection with shutdown(2), which MHD then sees and closes itself.
 *
 * Only these cross threads, under one mutex: the connection records, the
 * last rendered body (the loop renders on an ev_async the MHD thread
 * sends), the liveness the loop publishes, and MHD's messages waiting to
 * be logged by the loop. */
#define _GNU_SOURCE   /* pipe2 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "hsdo/alloc.h"
#include "hsdo/clock.h"
#include "hsdo/err.h"
#include "hsdo/liveness.h"
#include "hsdo/log.h"

#include "exporter.h"

#define EXPORTER_CONNECTIONS 256     /* concurrent connections */
#define EXPORTER_BACKLOG     4096    /* connections the kernel queues beyond */
#define EXPORTER_CONN_MEMORY (16 * 1024)  /* a request's head and the answer's */
#define REQUEST_DEADLINE_MS  5000    /* a request, complete and answered */
#define EVICT_AFTER_MS       10      /* at the limit: a silent one this old goes */
#define SWEEP_MS             100     /* the deadline is checked this often... */
#define SWEEP_FULL_MS        10      /* ...and this often at the limit */
#define FRESH_MS             100     /* a body this young is served as is */
#define RENDER_WAIT_MS       30      /* longest wait for the loop to render */
#define MHD_LOG_EVERY_MS     60000   /* one log line per minute for MHD's messages */
#define LIT(s) s, sizeof(s) - 1

/* One connection, for the deadline (under the mutex). */
struct conn_rec {
	struct conn_rec *prev, *next;
	int fd;
	int64_t start_ms;       /* accepted, or the previous answer sent */
	bool in_request;        /* a request is being read or answered */
	bool shut;              /* we shut it down; MHD closes it */
};

struct exporter {
	struct ev_loop *loop;
	ev_async render;              /* the thread wants a fresh body */
	exporter_metrics_fn *metrics;
	void *arg;
	struct MHD_Daemon *d;
	int stop[2];                  /* a byte on stop[1]: the sweeper leaves */
	pthread_t sweeper;
	bool running;
	char *starterr;               /* while starting: where MHD's message goes */
	size_t starterrlen;

	pthread_mutex_t mu;           /* everything below */
	struct conn_rec *conns;
	size_t nconns;
	pthread_cond_t rendered;
	char *body;                   /* the last render */
	size_t len;
	int body_rc;                  /* its outcome */
	int64_t body_ms;              /* when it was made; 0: never */
	bool render_pending;
	int64_t asked_ms;
	struct hsdo_liveness live;
	bool live_set;
	char mhd_msg[256];            /* MHD's last message, waiting for the loop */
	uint64_t mhd_count;
	int64_t mhd_logged_ms;
};

/* MHD's messages: the start error while starting, else kept for the loop
 * to log (this runs on MHD's thread). */
__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct exporter *e = cls;
	char msg[256];
	size_t n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	pthread_mutex_lock(&e->mu);
	if (e->starterr != NULL) {
		if (e->starterr[0] == '\0')
			snprintf(e->starterr, e->starterrlen, "%s", msg);
	} else {
		memcpy(e->mhd_msg, msg, sizeof(msg));
		e->mhd_count++;
	}
	pthread_mutex_unlock(&e->mu);
}

/* ---- connections and the deadline -------------------------------------------------- */

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	struct exporter *e = cls;
	struct conn_rec *r = *socket_context;
	const union MHD_ConnectionInfo *ci;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		r = hsdo_calloc(1, sizeof(*r));
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (r == NULL || ci == NULL) {
			hsdo_free(r);     /* untracked: MHD's own timeout still applies */
			return;
		}
		r->fd = ci->connect_fd;
		r->start_ms = hsdo_clock_mono_ms();
		pthread_mutex_lock(&e->mu);
		r->next = e->conns;
		if (e->conns != NULL)
			e->conns->prev = r;
		e->conns = r;
		e->nconns++;
		pthread_mutex_unlock(&e->mu);
		*socket_context = r;
		return;
	}
	if (r == NULL)
		return;
	/* MHD closes the socket after this returns: under the mutex, a record
	 * the sweeper sees always has its socket open. */
	pthread_mutex_lock(&e->mu);
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		e->conns = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	e->nconns--;
	pthread_mutex_unlock(&e->mu);
	hsdo_free(r);
	*socket_context = NULL;
}

/* A request was answered: the next one on this connection starts its clock. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	struct conn_rec *r = ci != NULL ? ci->socket_context : NULL;
	struct exporter *e = cls;

	(void)req_cls;
	(void)toe;
	if (r != NULL) {
		pthread_mutex_lock(&e->mu);
		r->start_ms = hsdo_clock_mono_ms();
		r->in_request = false;
		pthread_mutex_unlock(&e->mu);
	}
}

static void shut(struct conn_rec *r)
{
	if (!r->shut) {
		/* MHD sees the end of the stream and closes the connection
		 * itself: no fd is closed under it. */
		(void)shutdown(r->fd, SHUT_RDWR);
		r->shut = true;
	}
}

/* Close what is past its deadline; at the limit, every connection that is
 * not being answered and has had EVICT_AFTER_MS (a scraper sends its
 * request right after connecting: one that has not sent it for 10 ms
 * while others wait is idle, slow or hostile). Under the mutex. */
static void sweep(struct exporter *e)
{
	bool full = e->nconns >= EXPORTER_CONNECTIONS;
	int64_t now = hsdo_clock_mono_ms();
	struct conn_rec *r;

	for (r = e->conns; r != NULL; r = r->next)
		if (now - r->start_ms > REQUEST_DEADLINE_MS ||
		    (full && !r->in_request && now - r->start_ms > EVICT_AFTER_MS))
			shut(r);
}

static void *sweeper_main(void *arg)
{
	struct exporter *e = arg;

	bool full = false;

	for (;;) {
		struct pollfd pfd = { e->stop[0], POLLIN, 0 };

		(void)poll(&pfd, 1, full ? SWEEP_FULL_MS : SWEEP_MS);
		if (pfd.revents != 0)
			return NULL;
		pthread_mutex_lock(&e->mu);
		sweep(e);
		full = e->nconns >= EXPORTER_CONNECTIONS;
		pthread_mutex_unlock(&e->mu);
	}
}

/* ---- answers (MHD's thread) -------------------------------------------------------- */

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

/* The loop's last body, fresh when the loop answers in time, and its age. */
static enum MHD_Result serve_metrics(struct exporter *e, struct MHD_Connection *conn)
{
	static const char age_fmt[] =
		"# HELP hsdo_metrics_age_seconds Age of the values above: how long ago the "
		"agent's event loop rendered them.\n"
		"# TYPE hsdo_metrics_age_seconds gauge\n"
		"hsdo_metrics_age_seconds %.3f\n";
	struct MHD_Response *r;
	struct timespec until;
	enum MHD_Result ret;
	char *body = NULL, msg[160];
	size_t len = 0, cap;
	int64_t now = hsdo_clock_mono_ms(), age;
	int rc, n;

	pthread_mutex_lock(&e->mu);
	if (e->body_ms == 0 || now - e->body_ms >= FRESH_MS) {
		if (!e->render_pending) {
			e->render_pending = true;
			e->asked_ms = now;
			ev_async_send(e->loop, &e->render);
		}
		/* Wait for the loop only while it answers: a stalled loop costs
		 * one wait, then the last body is served at once. */
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)(e->asked_ms + RENDER_WAIT_MS - now) * 1000000L;
		while (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		while (e->render_pending && hsdo_clock_mono_ms() - e->asked_ms < RENDER_WAIT_MS)
			if (pthread_cond_timedwait(&e->rendered, &e->mu, &until) == ETIMEDOUT)
				break;
	}
	rc = e->body_ms == 0 ? -HSDO_EAGAIN : e->body_rc;
	age = hsdo_clock_mono_ms() - e->body_ms;
	if (rc == 0) {
		cap = e->len + sizeof(age_fmt) + 32;
		body = hsdo_malloc(cap);
		if (body != NULL) {
			memcpy(body, e->body, e->len);
			n = snprintf(body + e->len, cap - e->len, age_fmt, (double)age / 1000.0);
			len = e->len + (n > 0 ? (size_t)n : 0);
		}
	}
	pthread_mutex_unlock(&e->mu);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), rc == -HSDO_EAGAIN ?
			 "metrics not rendered yet: the event loop has not answered\n" :
			 "cannot render the metrics: %s\n", hsdo_strerror(rc));
		return reply(conn, rc == -HSDO_EAGAIN ? MHD_HTTP_SERVICE_UNAVAILABLE :
			     MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", msg,
			     strlen(msg));
	}
	if (body == NULL)
		return MHD_NO;
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

static enum MHD_Result serve_health(struct exporter *e, struct MHD_Connection *conn)
{
	static const char plain[] = "text/plain; charset=utf-8";
	struct hsdo_liveness l;
	char why[HSDO_LIVENESS_WHY_LEN], body[HSDO_LIVENESS_WHY_LEN + 2];
	bool set, ok;

	pthread_mutex_lock(&e->mu);
	l = e->live;
	set = e->live_set;
	pthread_mutex_unlock(&e->mu);
	ok = set && hsdo_liveness_ok(&l, hsdo_clock_mono_ms(), why, sizeof(why));
	if (ok)
		return reply(conn, MHD_HTTP_OK, plain, LIT("ok\n"));
	snprintf(body, sizeof(body), "%s\n", set ? why : "starting: no cycle has run yet");
	return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, plain, body, strlen(body));
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
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	if (ci != NULL && ci->socket_context != NULL) {
		pthread_mutex_lock(&e->mu);
		((struct conn_rec *)ci->socket_context)->in_request = true;
		pthread_mutex_unlock(&e->mu);
	}
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
	if (strcmp(url, "/healthz") == 0)
		return serve_health(e, conn);
	return reply(conn, MHD_HTTP_NOT_FOUND, plain, LIT("not found: try /metrics or /healthz\n"));
}

/* ---- the loop's side ----------------------------------------------------------------- */

static void on_render(struct ev_loop *loop, ev_async *w, int revents)
{
	struct exporter *e = w->data;
	char *body = NULL, *old;
	size_t len = 0;
	int rc;

	(void)loop;
	(void)revents;
	rc = e->metrics(e->arg, &body, &len);
	if (rc != 0)
		hsdo_log_err("exporter: cannot render the metrics: %s", hsdo_strerror(rc));
	pthread_mutex_lock(&e->mu);
	old = e->body;
	e->body = rc == 0 ? body : NULL;
	e->len = rc == 0 ? len : 0;
	e->body_rc = rc;
	e->body_ms = hsdo_clock_mono_ms();
	e->render_pending = false;
	pthread_cond_broadcast(&e->rendered);
	pthread_mutex_unlock(&e->mu);
	hsdo_free(old);
	if (rc != 0)
		hsdo_free(body);
}

void exporter_publish(struct exporter *e, const struct hsdo_liveness *l)
{
	char msg[256] = "";
	uint64_t count = 0;
	int64_t now = hsdo_clock_mono_ms();

	if (e == NULL)
		return;
	pthread_mutex_lock(&e->mu);
	e->live = *l;
	e->live.loop_ms = now;
	e->live_set = true;
	if (e->mhd_count > 0 && now - e->mhd_logged_ms >= MHD_LOG_EVERY_MS) {
		memcpy(msg, e->mhd_msg, sizeof(msg));
		count = e->mhd_count;
		e->mhd_count = 0;
		e->mhd_logged_ms = now;
	}
	pthread_mutex_unlock(&e->mu);
	if (count == 1)
		hsdo_log_warn("exporter: %s", msg);
	else if (count > 1)
		hsdo_log_warn("exporter: %s (and %llu more messages from libmicrohttpd)", msg,
			      (unsigned long long)(count - 1));
}

int exporter_start(struct ev_loop *loop, const char *addr, int port,
		   exporter_metrics_fn *metrics, void *arg, struct exporter **out,
		   char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
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
	e->arg = arg;
	e->stop[0] = e->stop[1] = -1;
	pthread_mutex_init(&e->mu, NULL);
	/* Before MHD's thread exists: a request may ask for a render at once. */
	ev_async_init(&e->render, on_render);
	e->render.data = e;
	ev_async_start(loop, &e->render);
	pthread_cond_init(&e->rendered, NULL);
	e->starterr = why;
	e->starterrlen = sizeof(why);
	e->d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, e,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, e,   /* first, or MHD warns */
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)EXPORTER_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)(REQUEST_DEADLINE_MS / 1000),
				MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)EXPORTER_BACKLOG,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)EXPORTER_CONN_MEMORY,
				MHD_OPTION_NOTIFY_CONNECTION, on_connection, e,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, e,
				MHD_OPTION_END);
	if (e->d == NULL) {
		e->starterr = NULL;
		exporter_stop(e);
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s", why[0] ? why : "cannot start");
	}
	/* MHD's thread runs from here: messages go to the mutex, not why[]. */
	pthread_mutex_lock(&e->mu);
	e->starterr = NULL;
	pthread_mutex_unlock(&e->mu);
	if (pipe2(e->stop, O_CLOEXEC) != 0 ||
	    pthread_create(&e->sweeper, NULL, sweeper_main, e) != 0) {
		snprintf(why, sizeof(why), "cannot start its thread: %s", strerror(errno));
		exporter_stop(e);
		return hsdo_seterr(err, errlen, -HSDO_EIO, "%s", why);
	}
	e->running = true;
	*out = e;
	return 0;
}

void exporter_stop(struct exporter *e)
{
	if (e == NULL)
		return;
	if (e->running) {
		(void)write(e->stop[1], "x", 1);
		pthread_join(e->sweeper, NULL);
	}
	if (e->stop[0] >= 0)
		close(e->stop[0]);
	if (e->stop[1] >= 0)
		close(e->stop[1]);
	if (e->d != NULL)
		MHD_stop_daemon(e->d);   /* joins MHD's thread; CLOSED frees the records */
	if (ev_is_active(&e->render))
		ev_async_stop(e->loop, &e->render);
	pthread_cond_destroy(&e->rendered);
	pthread_mutex_destroy(&e->mu);
	hsdo_free(e->body);
	hsdo_free(e);
}
