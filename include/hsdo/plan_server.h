/* The server planner: from the current slot table and the instances a
 * discovery source reports, compute the next table. Pure: no clock, no I/O,
 * no logging; the caller passes `now` and logs the counters.
 *
 * Rules in short (the long version is in libhsdo/plan_server.c):
 * - an instance keeps its slot for life, matched by instance id (slot name),
 *   else, for tables written by the original Python server, by IP (a slot
 *   taken over under another name restarts its ramp at min_weight: the
 *   weight it had was the previous server's);
 * - new in-service instances take the lowest free slots in id order, and an
 *   existing server is never evicted to make room;
 * - active slots ramp from min_weight to max_weight, one increase_weight step
 *   per full increase_interval, on a fixed grid;
 * - slots whose instance vanished or is leaving drain (weight 0, address
 *   kept) for drain_time, then are freed;
 * - an ejected slot (fleet health, eject.h) whose instance is still in
 *   service stays ejected: only eject.h brings it back; if its instance
 *   leaves, it drains like an active one and its ejection ends.
 * The output depends only on the set of instances, not on their order. */
#ifndef HSDO_PLAN_SERVER_H
#define HSDO_PLAN_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "hsdo/slot.h"

/* How many overflowing instance ids a result keeps for the log. */
#define HSDO_PLAN_SERVER_OVERFLOW_IDS 32
/* Most instances one plan accepts (ten per slot of the largest table). */
#define HSDO_PLAN_SERVER_INSTANCES_MAX (10 * HSDO_SLOTS_MAX)

struct hsdo_plan_server_settings {
	uint32_t min_weight;          /* weight of a new server, 0..256 */
	uint32_t max_weight;          /* ramp target, min_weight..256 */
	uint32_t increase_weight;     /* ramp step, 1..256 */
	int64_t increase_interval_us; /* ramp step period, > 0 */
	int64_t drain_time_us;        /* >= 0; 0 frees a leaving slot at once */
};

struct hsdo_plan_server_result {
	struct hsdo_table table;      /* the new table (owned; same n, ids and
				       * generation as the input) */
	uint32_t *changed;            /* ids of slots whose content differs from
				       * the input, ascending; NULL if none */
	size_t nchanged;

	/* Event counts for logs and metrics. A slot may count in several. */
	size_t added;                 /* new instances placed in a free slot */
	size_t reactivated;           /* draining slots back in service */
	size_t drain_started;         /* active slots that began draining */
	size_t freed;                 /* slots freed (drain over, or no drain) */
	size_t ramped;                /* active weights moved by the ramp rules
				       * (step, raise to min, lower to max) */
	size_t updated;               /* slots whose name/ip/group/az/port were
				       * rewritten from their in-service
				       * instance (a leaving one drains as is) */
	size_t clock_resets;          /* ramp/drain clocks in the future (clock
				       * stepped back, skewed writer) set to now */

	/* Input problems. */
	size_t overflow;              /* in-service instances left out for lack
				       * of a free slot */
	char (*overflow_ids)[HSDO_NAME_LEN]; /* the first of those ids in
				       * sorted order; NULL if none */
	size_t noverflow_ids;         /* <= HSDO_PLAN_SERVER_OVERFLOW_IDS */
	size_t duplicates;            /* instances ignored: id, or ip+port,
				       * already taken by another instance */
	size_t invalid;               /* instances skipped: empty id or ip, or a
				       * field not NUL-terminated */
	size_t bad_ip;                /* planned instances whose ip is not an
				       * IPv4/IPv6 literal (counted, not skipped) */
};

/* 0 if the settings are usable, else -HSDO_EINVAL (min > max, a weight above
 * 256, increase_weight 0, interval <= 0, drain < 0). */
int hsdo_plan_server_settings_check(const struct hsdo_plan_server_settings *st);

/* Plan the next table from cur and the ninst instances (both borrowed, not
 * modified). On success *out owns a new table and lists; free it with
 * hsdo_plan_server_result_free. Fails with -HSDO_EINVAL (bad settings; a
 * table with slots[i].id != i + 1, an unknown state or an unterminated
 * string), -HSDO_ETOOBIG (ninst above the bound) or -HSDO_ENOMEM; *out is
 * then zeroed and nothing is held. */
int hsdo_plan_server(const struct hsdo_table *cur,
		     const struct hsdo_instance *inst, size_t ninst,
		     int64_t now_us,
		     const struct hsdo_plan_server_settings *st,
		     struct hsdo_plan_server_result *out);

/* Release what a result owns and zero it. NULL is a no-op. */
void hsdo_plan_server_result_free(struct hsdo_plan_server_result *r);

#endif
