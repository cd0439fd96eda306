/* State of one hsdo-agent process. */
#ifndef HSDO_AGENT_H
#define HSDO_AGENT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include <ev.h>

#include "hsdo/config.h"
#include "hsdo/slot.h"

#include "agent_notify.h"

struct hsdo_store;
struct client_mode;
struct hsdo_metrics;
struct hsdo_http;
struct hsdo_aws;
struct http_ev;
struct exporter;
struct server_mode;
struct fleet_health;
struct spoa;

struct agent {
	struct ev_loop *loop;
	const char *config_path;       /* NULL: defaults + environment */
	enum hsdo_role role;
	bool once, dry_run, debug_flag;
	struct hsdo_config *cfg;       /* owned; swapped on SIGHUP */
	struct hsdo_config *pending_cfg; /* a reload waiting for the cycle to end */
	struct hsdo_store *store;
	/* HTTP and AWS clients on the loop (NULL when nothing needs them:
	 * file store and static source). */
	struct http_ev *http_ev;
	struct hsdo_http *http;        /* the engine of http_ev */
	struct hsdo_aws *aws;
	struct server_mode *server_mode; /* server mode */
	struct client_mode *client_mode; /* client mode */
	bool cycle_running;            /* a cycle started and has not ended */
	struct timespec cycle_t0;
	struct timespec trimmed_at;    /* freed memory last handed back */
	char last_error[512];          /* last store error, logged once per change */
	struct hsdo_metrics *metrics;  /* what the exporter serves */
	int metrics_error;             /* last failed update, logged once */
	uint64_t rtapi_conns_seen;     /* client's connection count already counted */
	struct exporter *exporter;     /* NULL with --once */
	struct spoa *spoa;        /* SPOE agent (agent/spoa.h): client mode, not --once */
	struct fleet_health *fleet_health; /* agent/fleet_health.h; made on first use */
	unsigned long cycles;          /* cycles run */
	char health[600];              /* "" when the last cycle succeeded, else why not */
	ev_signal sig_term, sig_int, sig_hup;
	ev_timer cycle;
	ev_timer liveness;             /* publishes to /healthz, logs stalls */
	ev_timer reload;               /* applies a reload deferred by a cycle */
	int64_t liveness_ms;           /* its last tick */
	int stalled;                   /* what was stalled at that tick (-1: nothing) */
	char stalled_why[600];
	struct agent_notify notify;    /* systemd: READY, STATUS, WATCHDOG */
	int exit_code;
};

/* Take ownership of cfg (freeing the previous one): logging, store and
 * timer follow it. 0 applied; 1 taken but deferred until the running cycle
 * ends; < 0 on failure (nothing changes and cfg is not taken). */
int agent_apply_config(struct agent *a, struct hsdo_config *cfg);
/* Prepare the mode and run the first cycle; arm the timer unless --once. */
int agent_start(struct agent *a);
/* Stop timers and release everything agent_start/apply_config took. */
void agent_stop(struct agent *a);
/* A cycle ended (possibly asynchronously): count and time it; with --once,
 * set the exit code and leave the loop. */
void agent_cycle_done(struct agent *a, bool ok, double seconds);
/* Transport and AWS client options from the configuration (CA bundle,
 * region, the process environment), for the agent and --create-table. */
struct hsdo_http_options;
struct hsdo_aws_options;
/* The HTTP and AWS options for cfg, the client acting as principal (the
 * enum hsdo_aws_principal bits: what the IAM policy of docs/iam/ grants). */
void agent_aws_options(const struct hsdo_config *cfg, unsigned principal,
		       struct hsdo_http_options *ho, struct hsdo_aws_options *ao);
/* The principal a role's agent acts as (both for --check-config alone). */
unsigned agent_aws_principal(enum hsdo_role role);
/* --check-config --debug: the AWS region and where it came from, the
 * credential chain (never a secret) and the endpoints, or why AWS cannot
 * be used; "not used" when neither the store nor the source needs it. */
void agent_print_aws(const struct hsdo_config *cfg, enum hsdo_role role, FILE *f);
/* One info line on a table (generation, slots by state), debug per slot. */
void agent_log_table(const struct hsdo_table *t);
/* A store failure, logged once per distinct message (`ctx` names the
 * step; have_table: a last good table is kept), and the line that says it
 * answers again. */
void agent_store_failed(struct agent *a, const char *ctx, int rc, const char *err,
			bool have_table);
void agent_store_recovered(struct agent *a);
/* Hand memory freed but kept by the allocator back to the system
 * (malloc_trim; under ASan, its allocator's purge). Not cheap on a big
 * heap: callers throttle it. */
void agent_give_memory_back(void);
/* Seconds since t0 (CLOCK_MONOTONIC). */
double agent_elapsed(const struct timespec *t0);

#endif
