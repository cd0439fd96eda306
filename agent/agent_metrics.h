/* The agent's metrics: its family table (docs/metrics.md), the updates its
 * cycles make, and the process metrics read from /proc at each scrape. The
 * registry and the text format are libhsdo's (hsdo/metrics.h, pure); the
 * I/O is here. A failed update is logged and skipped: metrics never stop a
 * cycle. */
#ifndef HSDO_AGENT_METRICS_H
#define HSDO_AGENT_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/slot.h"

struct agent;

/* Create a->metrics with build info, process start time and zeroed
 * counters for a->role. 0 or a negative hsdo error (logged). */
int agent_metrics_init(struct agent *a);
/* Free a->metrics (NULL is fine) and set it to NULL. */
void agent_metrics_free(struct agent *a);

/* One cycle of the agent's mode ended: ok or not, after `seconds`. */
void agent_metrics_cycle(struct agent *a, bool ok, double seconds);
/* Store calls made (generation polls and table reads) and how many failed. */
void agent_metrics_store_reads(struct agent *a, size_t reads, size_t errors);
/* The slot table the agent now holds (NULL: none): one hsdo_server_weight
 * series per used slot, hsdo_slots per state, hsdo_table_generation. */
void agent_metrics_table(struct agent *a, const struct hsdo_table *t);
/* Client mode: whether the table followed has no generation (read whole
 * every cycle), and changes found under an unchanged generation. */
void agent_metrics_client_table(struct agent *a, bool unversioned, size_t unannounced);
/* Runtime API `set server` commands that succeeded / failed, and the
 * client's running count of connections opened (its delta is counted). */
void agent_metrics_rtapi(struct agent *a, size_t ok, size_t errors, uint64_t connections);

/* Server mode: one server cycle's report; one source list (r NULL: it
 * failed); one lifecycle hook completion. */
struct hsdo_server_report;
struct hsdo_source_result;
void agent_metrics_server(struct agent *a, const struct hsdo_server_report *rep);
void agent_metrics_source(struct agent *a, const char *source, const struct hsdo_source_result *r);
void agent_metrics_lifecycle(struct agent *a, bool ok);

/* Fleet health (docs/health.md): a client's report write; the verdicts of
 * its last cycle; what a server cycle read and decided; one
 * SetInstanceHealth ("ok", "not_found", "error"). */
void agent_metrics_health_write(struct agent *a, bool ok);
void agent_metrics_health_verdicts(struct agent *a, size_t ok, size_t failing, size_t idle);
void agent_metrics_health_server(struct agent *a, const struct hsdo_server_report *rep);
void agent_metrics_health_asg(struct agent *a, const char *result);

/* Refresh the process metrics and render everything (exporter callback:
 * arg is the agent; *body freed with hsdo_free). */
int agent_metrics_render(void *arg, char **body, size_t *len);

#endif
