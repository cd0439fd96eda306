/* Client mode: one reconcile cycle of a local HAProxy against the slot
 * table. Each cycle reads the store: the generation, and the table only
 * when it changed; the whole table every cycle when it has no generation
 * (unversioned: the original server writes none), and at least every
 * CLIENT_FULL_READ_INTERVAL otherwise (a writer may forget to bump it: such
 * a change is logged and counted). The table's versioning is logged at
 * start and on every change. Then it opens ONE Runtime API connection,
 * reads `show servers state` of every configured backend, plans the minimal
 * commands and sends them as one batch on that connection. An idle, converged cycle sends no `set` command.
 * A failed or empty store read never empties HAProxy: the last good table is
 * used, and with none yet, nothing is sent.
 *
 * Every operation (start-up check, cycle, verify) is a non-blocking state
 * machine: the store through its asynchronous operations, HAProxy through
 * hsdo/rtapi_client.h's, each phase bounded by CLIENT_HAPROXY_TIMEOUT. An
 * event loop drives it (struct hsdo_client_loop: the client says where it
 * waits, the loop calls hsdo_client_io back); the blocking calls drive the
 * same machine with poll(2), for tools, tests and benchmarks. */
#ifndef HSDO_CLIENT_H
#define HSDO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/config.h"
#include "hsdo/plan_client.h"
#include "hsdo/rtapi_client.h"
#include "hsdo/store.h"

struct hsdo_client;

/* What one cycle did, for logs and metrics. `plan` and `table` stay valid
 * until the next cycle or hsdo_client_free (borrowed). */
struct hsdo_client_report {
	bool store_ok;                 /* the store answered this cycle */
	bool table_changed;            /* a table that differs was read */
	bool full_read;                /* the whole table was read without a poll */
	bool unversioned;              /* the table followed has no generation */
	size_t unannounced;            /* changes found under an unchanged generation */
	bool haproxy_ok;               /* state of every backend was read */
	bool missing;                  /* a backend or slot is missing in HAProxy */
	uint64_t generation;           /* of the table used */
	size_t slots_missing_from;     /* a new table stops before N: slots from
					* here to N are left as HAProxy has them
					* (0: none). More slots than N fail the read. */
	size_t sent, failed;           /* commands sent / rejected by HAProxy */
	size_t lost;                   /* commands of a batch whose connection failed */
	size_t store_reads;            /* store calls (generation, table) ... */
	size_t store_read_errors;      /* ... and how many failed or read no slot */
	const struct hsdo_plan_client_result *plan;   /* NULL if no plan */
	const struct hsdo_table *table;               /* table followed; NULL if none yet */
	/* HAProxy's `show servers state` of every backend as read this cycle
	 * (fleet health reads its checks); NULL when it was not read. */
	const struct hsdo_servers_state *state;
	uint64_t connections;          /* Runtime API connections opened, in all */
	char store_error[256];         /* "" when the store answered */
	char haproxy_error[256];       /* "" when HAProxy answered */
};

/* What an event loop does for the client: wait(ctx, fd, events, ms) is
 * called whenever that changes: watch fd for events (HSDO_RTAPI_IO_READ |
 * HSDO_RTAPI_IO_WRITE) and call hsdo_client_io() when it is ready or after
 * timeout_ms (-1: no timeout). fd -1 and timeout_ms -1: nothing to wait
 * for (the operation ended, or waits on the store, whose own transport
 * drives it). */
struct hsdo_client_loop {
	void *ctx;
	void (*wait)(void *ctx, int fd, int events, long timeout_ms);
};

/* Build a client from cfg (client role; copied, cfg may be freed after) on a
 * borrowed store; loop NULL for blocking use only (copied). 0 or
 * -HSDO_EINVAL (bad socket address) / -HSDO_ENOMEM. */
int hsdo_client_new(const struct hsdo_config *cfg, struct hsdo_store *store,
		    const struct hsdo_client_loop *loop, struct hsdo_client **out,
		    char *err, size_t errlen);
/* Free c; an operation in flight is dropped (its callback never runs). */
void hsdo_client_free(struct hsdo_client *c);

/* Operations, one at a time: 0 and done is called exactly once (from
 * hsdo_client_io, from the store's completion, or before the start call
 * returns when nothing had to wait), or -HSDO_EAGAIN when one is running
 * (done never called). The callback may free the client or start the next
 * operation. */
typedef void (*hsdo_client_check_fn)(void *arg, int rc, const char *err);
typedef void (*hsdo_client_cycle_fn)(void *arg, int rc, const struct hsdo_client_report *rep);
typedef void (*hsdo_client_verify_fn)(void *arg, int rc, bool converged, const char *err);

/* Start-up check: every configured backend exists in HAProxy with slots
 * <base>1..<base>N, N = HAPROXY_BACKEND_SERVERS_LIST_SIZE. rc 0;
 * -HSDO_ECONFIG with every missing backend/server named in err; the open
 * error (-HSDO_ENOTFOUND socket missing, -HSDO_EIO refused/timeout) when
 * HAProxy cannot be reached. */
int hsdo_client_check_start(struct hsdo_client *c, hsdo_client_check_fn done, void *arg);
/* One cycle: the store (generation, the table only when it changed), then
 * HAProxy's state, the plan and one batch. With dry_run nothing is sent
 * (rep->plan holds what would be). rc 0 when HAProxy was reached and every
 * planned command succeeded, else the first error; rep is always filled
 * (valid during the callback; plan and table until the next cycle). */
int hsdo_client_cycle_start(struct hsdo_client *c, bool dry_run, hsdo_client_cycle_fn done,
			    void *arg);
/* Whether HAProxy matches the table as of the last cycle (the plan is
 * empty). -HSDO_ENOTFOUND at once when no table was read yet. */
int hsdo_client_verify_start(struct hsdo_client *c, hsdo_client_verify_fn done, void *arg);

/* The loop's callback: the fd is ready, or the timeout passed. */
void hsdo_client_io(struct hsdo_client *c);

/* What the operation in flight waits on, and since when (CLOCK_MONOTONIC
 * ms, the start of that phase), for /healthz. */
enum hsdo_client_wait {
	HSDO_CLIENT_IDLE = 0,
	HSDO_CLIENT_WAIT_STORE,
	HSDO_CLIENT_WAIT_HAPROXY,
	HSDO_CLIENT_WAIT_COUNT
};
enum hsdo_client_wait hsdo_client_waiting(const struct hsdo_client *c, int64_t *since_ms);
/* "idle", "store", "HAProxy". */
const char *hsdo_client_wait_str(enum hsdo_client_wait w);

/* Blocking versions of the three (stores that complete without a loop
 * only; -HSDO_EINVAL otherwise). */
int hsdo_client_check(struct hsdo_client *c, char *err, size_t errlen);
int hsdo_client_cycle(struct hsdo_client *c, bool dry_run, struct hsdo_client_report *rep);
int hsdo_client_verify(struct hsdo_client *c, bool *converged, char *err, size_t errlen);

#endif
