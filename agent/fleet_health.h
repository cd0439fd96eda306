/* Fleet health on the agent's loop (docs/health.md): in client mode, the
 * verdicts and the report after each cycle; in server mode, the reports
 * store the server cycle reads, and what follows a cycle (one log line per
 * ejection, return, capped slot and outlier client, the metrics, and the
 * Auto Scaling calls). The decisions are libhsdo's (verdict.h, eject.h);
 * this is I/O and logs. Nothing waits: report writes and SetInstanceHealth
 * are asynchronous. */
#ifndef HSDO_AGENT_FLEET_HEALTH_H
#define HSDO_AGENT_FLEET_HEALTH_H

struct agent;
struct fleet_health;
struct hsdo_client_report;
struct hsdo_reports;
struct hsdo_server_report;
struct hsdo_source;

/* Its state for a (made on first use; a->fleet_health). Free it after the
 * transport (calls in flight are cancelled then). NULL is a no-op. */
void fleet_health_close(struct fleet_health *fh);

/* Client mode, after each cycle (rep: the cycle's report): with
 * HEALTH_EJECT, judge every slot and write the report when it is due. */
void fleet_health_client_cycle(struct agent *a, const struct hsdo_client_report *rep);

/* Server mode: the reports store the server cycle reads (NULL when
 * HEALTH_EJECT is off or it cannot be opened: logged). */
struct hsdo_reports *fleet_health_reports(struct agent *a);
/* Server mode, after each cycle: logs, metrics, SetInstanceHealth through
 * src (aws) for the instances due. */
void fleet_health_server_cycle(struct agent *a, const struct hsdo_server_report *rep,
			       struct hsdo_source *src);

#endif
