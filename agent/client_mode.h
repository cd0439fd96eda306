/* Client mode on the agent's loop: the start-up check, then a reconcile
 * cycle of the local HAProxy every INTERVAL (store, state, plan, batch),
 * reported to logs, metrics, /healthz and the SPOE agent. Nothing here
 * waits: the Runtime API is watched by an ev_io and an ev_timer. */
#ifndef HSDO_AGENT_CLIENT_MODE_H
#define HSDO_AGENT_CLIENT_MODE_H

#include <stdint.h>

#include "hsdo/client.h"

struct agent;
struct hsdo_config;
struct hsdo_store;

/* A reload, in two steps: a client for cfg on store, waiting through the
 * mode's watchers (the mode's state is made on first use), 0 or
 * -HSDO_EINVAL / -HSDO_ENOMEM (logged); then the swap, which cannot fail
 * (the new client is checked again before its first cycle). */
int client_mode_prepare(struct agent *a, const struct hsdo_config *cfg, struct hsdo_store *store,
			struct hsdo_client **out);
void client_mode_commit(struct agent *a, struct hsdo_client *client);
/* Stop the watchers and free the mode; a->client_mode NULL is fine. */
void client_mode_close(struct agent *a);

/* A timer tick with a->cycle_running just set: the start-up check until
 * it passes, then a cycle; the end is reported through agent_cycle_done().
 * When HAProxy lacks what the configuration names before the check ever
 * passed, the agent leaves its loop with exit code 1. Returns 0. */
int client_mode_tick(struct agent *a);
/* --once, after a good cycle: check that HAProxy now matches the table,
 * then leave the loop with the exit code. 0 when started. */
int client_mode_verify(struct agent *a);

/* Consecutive cycles HAProxy could not be reached (the timer's backoff). */
unsigned client_mode_failures(const struct agent *a);
/* What the cycle in flight waits on, and since when (for /healthz). */
enum hsdo_client_wait client_mode_waiting(const struct agent *a, int64_t *since_ms);

#endif
