/* Server mode on the agent's loop: runs the discovery source, feeds its
 * instances to the server cycle (libhsdo's hsdo_server), completes
 * lifecycle hooks after the drain, and reports to logs, metrics and
 * /healthz. Nothing here blocks the loop when the transport is the
 * event-driven one. */
#ifndef HSDO_AGENT_SERVER_MODE_H
#define HSDO_AGENT_SERVER_MODE_H

#include <stdbool.h>

struct agent;
struct server_mode;

/* Build the source and the server cycle from a->cfg, a->store and the
 * agent's HTTP/AWS clients. 0 or a negative hsdo_err (logged). */
int server_mode_open(struct agent *a, struct server_mode **out);
void server_mode_close(struct server_mode *sm);
/* A timer tick: start a source list and/or a server cycle unless one is
 * running. true when a cycle was started: its end is reported through
 * agent_cycle_done(); false when there was nothing to do yet. */
bool server_mode_tick(struct agent *a);
/* What is in flight for /healthz: a list (not a Consul blocking query)
 * as HSDO_LIVENESS_SOURCE, a server cycle (store calls) as
 * HSDO_LIVENESS_STORE. */
struct hsdo_liveness;
void server_mode_liveness(const struct agent *a, struct hsdo_liveness *l);
/* Hand the lease over at shutdown (best effort, bounded wait). */
void server_mode_release(struct agent *a);

#endif
