/* Liveness: what /healthz says, from timestamps the agent keeps. Pure: the
 * agent's loop fills a struct hsdo_liveness as it works (its own last turn,
 * when each operation in flight started, the outcome of the last cycle),
 * and anyone holding a copy decides at any later `now` (the exporter's
 * thread, while the loop may be stuck).
 *
 * Unhealthy, in this order (the first that applies is the reason):
 *  1. the event loop has not turned for more than bound_ms: "event loop
 *     stalled for 12.3 s";
 *  2. an operation has been outstanding for more than bound_ms: a store
 *     call, a HAProxy call, a discovery list, then the cycle itself:
 *     "store dynamodb: read outstanding for 10.4 s";
 *  3. no cycle has ended yet: "starting: no cycle has run yet";
 *  4. the last cycle failed: its reason.
 * A stall is what a watchdog should restart; 3 and 4 are the agent saying
 * it cannot do its job (HAProxy or the store unreachable) while alive. */
#ifndef HSDO_LIVENESS_H
#define HSDO_LIVENESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hsdo_liveness_op {
	HSDO_LIVENESS_STORE = 0,   /* a slot store call */
	HSDO_LIVENESS_HAPROXY,     /* a Runtime API exchange */
	HSDO_LIVENESS_SOURCE,      /* a discovery list (not a blocking query) */
	HSDO_LIVENESS_CYCLE,       /* the cycle as a whole */
	HSDO_LIVENESS_OP_COUNT
};

#define HSDO_LIVENESS_WHAT_LEN 160
#define HSDO_LIVENESS_WHY_LEN  600

struct hsdo_liveness {
	int64_t bound_ms;                    /* HEALTHZ_STALL_TIMEOUT */
	int64_t loop_ms;                     /* the loop's last turn; 0: not yet */
	int64_t since_ms[HSDO_LIVENESS_OP_COUNT];   /* start of the one in flight; 0: none */
	char what[HSDO_LIVENESS_OP_COUNT][HSDO_LIVENESS_WHAT_LEN];  /* "store dynamodb" */
	bool cycled;                         /* a cycle has ended */
	char last_error[HSDO_LIVENESS_WHY_LEN]; /* "" when the last cycle succeeded */
};

/* "store", "HAProxy", "source", "cycle"; "unknown". */
const char *hsdo_liveness_op_str(enum hsdo_liveness_op op);

/* True when healthy; else false and the reason in why (NUL-terminated,
 * truncated to whylen). Times are one monotonic clock, in ms. */
bool hsdo_liveness_ok(const struct hsdo_liveness *l, int64_t now_ms, char *why, size_t whylen);

/* The operation (or the loop: HSDO_LIVENESS_OP_COUNT) outstanding past the
 * bound, the first in the order above; -1 when none. How long it has been
 * in *age_ms. For logging when it starts and ends. */
int hsdo_liveness_stalled(const struct hsdo_liveness *l, int64_t now_ms, int64_t *age_ms);

#endif
