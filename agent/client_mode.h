/* Client mode on the agent's loop: the start-up check, then the store
 * refresh and the reconcile cycle of the local HAProxy every INTERVAL,
 * reported to logs, metrics, /healthz and the SPOE agent. */
#ifndef HSDO_AGENT_CLIENT_MODE_H
#define HSDO_AGENT_CLIENT_MODE_H

#include <stdbool.h>

struct agent;

/* A timer tick with a->cycle_running just set: run the start-up check
 * until it passes, then start a cycle; its end is reported through
 * agent_cycle_done(). -1 when the agent must exit (HAProxy lacks what the
 * configuration names at start), else 0. */
int client_mode_tick(struct agent *a);
/* --once: whether HAProxy now matches the table (one more state read). */
bool client_mode_verify(struct agent *a);

#endif
