/* libev adapter for the HTTP transport; see http_ev.h.
 *
 * curl reports at most a handful of sockets per engine (one per connection
 * in use), so the watchers are a plain list searched by fd. curl always
 * asks to stop watching a socket before it closes it, so a watcher never
 * outlives its fd. */
#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/http.h"

#include "http_ev.h"

struct sockw {
	ev_io io;                       /* first: the callback gets &io */
	struct http_ev *a;
	struct sockw *next;
};

struct http_ev {
	struct ev_loop *loop;
	struct hsdo_http *http;
	ev_timer timer;
	struct sockw *socks;
};

static void on_io(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sockw *s = (struct sockw *)w;
	int events = 0;

	(void)loop;
	if (revents & EV_READ)
		events |= HSDO_HTTP_WATCH_IN;
	if (revents & EV_WRITE)
		events |= HSDO_HTTP_WATCH_OUT;
	/* May free s (curl stops watching the socket): nothing after. */
	hsdo_http_socket_action(s->a->http, s->io.fd, events);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct http_ev *a = w->data;

	(void)loop;
	(void)revents;
	hsdo_http_timeout(a->http);
}

static int watch(void *ctx, int fd, int what)
{
	struct http_ev *a = ctx;
	struct sockw **pp, *s;
	int events = 0;

	for (pp = &a->socks; *pp != NULL && (*pp)->io.fd != fd; pp = &(*pp)->next)
		;
	s = *pp;
	if (what & HSDO_HTTP_WATCH_REMOVE) {
		if (s != NULL) {
			ev_io_stop(a->loop, &s->io);
			*pp = s->next;
			hsdo_free(s);
		}
		return 0;
	}
	if (what & HSDO_HTTP_WATCH_IN)
		events |= EV_READ;
	if (what & HSDO_HTTP_WATCH_OUT)
		events |= EV_WRITE;
	if (s == NULL) {
		s = hsdo_calloc(1, sizeof(*s));
		if (s == NULL)
			return -HSDO_ENOMEM;
		s->a = a;
		s->next = a->socks;
		a->socks = s;
		ev_io_init(&s->io, on_io, fd, events);
	} else {
		if ((s->io.events & (EV_READ | EV_WRITE)) == events && ev_is_active(&s->io))
			return 0;
		ev_io_stop(a->loop, &s->io);
		ev_io_set(&s->io, fd, events);
	}
	ev_io_start(a->loop, &s->io);
	return 0;
}

static void timer(void *ctx, long ms)
{
	struct http_ev *a = ctx;

	ev_timer_stop(a->loop, &a->timer);
	if (ms < 0)
		return;
	/* The engine measured ms from now; the loop's cached time may be
	 * older, which would fire the timer early. */
	ev_now_update(a->loop);
	ev_timer_set(&a->timer, (ev_tstamp)ms / 1000.0, 0.);
	ev_timer_start(a->loop, &a->timer);
}

int http_ev_new(struct ev_loop *loop, const struct hsdo_http_options *opt,
			struct http_ev **out, char *err, size_t errlen)
{
	struct http_ev *a;
	struct hsdo_http_loop l;
	int rc;

	if (out == NULL || loop == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "http: no loop or result pointer");
	*out = NULL;
	a = hsdo_calloc(1, sizeof(*a));
	if (a == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "http: out of memory");
	a->loop = loop;
	ev_init(&a->timer, on_timer);
	a->timer.data = a;
	l.ctx = a;
	l.watch = watch;
	l.timer = timer;
	rc = hsdo_http_new(opt, &l, &a->http, err, errlen);
	if (rc != 0) {
		hsdo_free(a);
		return rc;
	}
	*out = a;
	return 0;
}

struct hsdo_http *http_ev_engine(struct http_ev *a)
{
	return a == NULL ? NULL : a->http;
}

void http_ev_free(struct http_ev *a)
{
	if (a == NULL)
		return;
	/* Cancels what is in flight; curl stops its watchers as it goes. */
	hsdo_http_free(a->http);
	while (a->socks != NULL) {
		struct sockw *s = a->socks;

		ev_io_stop(a->loop, &s->io);
		a->socks = s->next;
		hsdo_free(s);
	}
	ev_timer_stop(a->loop, &a->timer);
	hsdo_free(a);
}
