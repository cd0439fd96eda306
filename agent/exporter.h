/* The Prometheus exporter's HTTP side: libmicrohttpd without threads of its
 * own, driven from the agent's libev loop (its epoll fd watched by an ev_io,
 * its timeout by an ev_timer), so the agent stays single-threaded.
 *   GET /metrics  200, text format 0.0.4, the body the metrics callback renders
 *   GET /healthz  200 "ok\n", or 503 and the reason the health callback gives
 *   anything else 404; a method other than GET or HEAD 405 */
#ifndef HSDO_AGENT_EXPORTER_H
#define HSDO_AGENT_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

struct exporter;

/* Render the metrics into *body (freed with hsdo_free) of *len bytes: 0 or
 * a negative hsdo error, answered with a 500. */
typedef int exporter_metrics_fn(void *arg, char **body, size_t *len);
/* True when healthy; otherwise the reason, NUL-terminated, in why. */
typedef bool exporter_health_fn(void *arg, char *why, size_t whylen);

/* Listen on addr:port (an IPv4 or IPv6 literal: only that address) and serve
 * from loop. 0, or -HSDO_EINVAL (addr), -HSDO_EIO (the port cannot be bound)
 * with the reason in err. The callbacks and arg are borrowed. */
int exporter_start(struct ev_loop *loop, const char *addr, int port,
		   exporter_metrics_fn *metrics, exporter_health_fn *health, void *arg,
		   struct exporter **out, char *err, size_t errlen);
/* Close the listener and every connection; NULL is a no-op. */
void exporter_stop(struct exporter *e);

#endif
