/* The Prometheus exporter's HTTP side: libmicrohttpd on a thread of its
 * own, so that nothing on the agent's loop (a cycle, the SPOE agent, a
 * stall) can make it blind, and nothing it serves (a storm, a slowloris)
 * costs the loop anything (docs/metrics.md says why not MHD on the loop).
 *   GET /metrics  200, text format 0.0.4: the body the loop last rendered
 *                 (a fresh one when the loop answers within 30 ms), then
 *                 hsdo_metrics_age_seconds, how old those values are
 *   GET /healthz  200 "ok\n", or 503 and the reason, decided on the
 *                 exporter's thread from the liveness the loop publishes
 *                 (hsdo/liveness.h): a stalled loop is a 503 too
 *   anything else 404; a method other than GET or HEAD 405
 * Bounds: 256 connections of 16 KiB each, each request complete (and
 * answered) within 5 s of its connection opening or of the previous
 * answer; at the limit, connections that have not sent a whole request
 * for 10 ms make room. */
#ifndef HSDO_AGENT_EXPORTER_H
#define HSDO_AGENT_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>

#include <ev.h>

#include "hsdo/liveness.h"

struct exporter;

/* Render the metrics into *body (freed with hsdo_free) of *len bytes: 0 or
 * a negative hsdo error, answered with a 500. Called on the loop. */
typedef int exporter_metrics_fn(void *arg, char **body, size_t *len);

/* Listen on addr:port (an IPv4 or IPv6 literal: only that address) and
 * start the exporter's thread; the loop renders the metrics when asked.
 * 0, or -HSDO_EINVAL (addr), -HSDO_EIO (the port cannot be bound, or no
 * thread) with the reason in err. The callback and arg are borrowed. */
int exporter_start(struct ev_loop *loop, const char *addr, int port,
		   exporter_metrics_fn *metrics, void *arg, struct exporter **out,
		   char *err, size_t errlen);
/* Stop the thread, close the listener and every connection; NULL is a
 * no-op. From the loop's thread. */
void exporter_stop(struct exporter *e);

/* The loop's liveness as /healthz will judge it, stamped with this moment
 * as the loop's last turn (l->loop_ms is ignored): call it often (the
 * agent does every 250 ms) and after a cycle ends. NULL e is a no-op.
 * Also logs, on the loop, what libmicrohttpd reported meanwhile (one line
 * per minute at most). */
void exporter_publish(struct exporter *e, const struct hsdo_liveness *l);

#endif
