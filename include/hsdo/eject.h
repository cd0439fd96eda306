/* Server-side fleet health (docs/health.md): from the clients' reports,
 * which slots to eject, which to bring back, and which instances to report
 * to Auto Scaling. Pure: a table, reports and `now` in; the table changed
 * in place and the decisions out; no clock, no I/O, no logging.
 *
 * One step, after the server planner and before the safety valve:
 *  1. expired reports are left out (hsdo_report_fresh); of two reports with
 *     one client id, the later written counts;
 *  2. an ejected slot whose time is up comes back: active, weight
 *     min_weight, ramp clock now (the planner ramps it from there); its
 *     eject count stays. With enabled false every ejected slot comes back
 *     at once and nothing else happens;
 *  3. an active slot that was ejected before and has served at max_weight
 *     for HSDO_EJECT_TIME_MAX_MS since its last ramp step forgets its
 *     ejections (count and since back to 0);
 *  4. outliers: a client that votes on two in-service slots or more, and
 *     for which more than half of them are failing while most of the
 *     other clients voting on them call them ok, is an outlier: none of
 *     its votes count (its own network is what fails). When the fleet
 *     agrees that most slots fail, nobody is an outlier and the cap below
 *     applies;
 *  5. votes: a fresh report's entry on an active slot with a verdict other
 *     than idle is a vote. When the report's generation is below
 *     min_gen[slot - 1] (its counts predate the slot's instance or its
 *     return) the vote is stale: it counts as a vote that is not failing,
 *     so the quorum waits for the clients to judge the slot as it is now.
 *     A slot is failing when more than quorum of its votes say failing;
 *  6. the cap, per group (slot.group: the ASG, Consul service or static
 *     group the slot's instance belongs to): at most max_ejected_percent of
 *     the group's in-service (active or ejected) slots ejected at once, at
 *     least one, never the last active one. The most failing slots go
 *     first (share of failing votes, then median error ratio, then slot
 *     id); the others are reported as capped;
 *  7. an ejected slot: weight 0, eject_count + 1, ejected_until = now +
 *     eject_time x count (at most HSDO_EJECT_TIME_MAX_MS), eject_since =
 *     now if it is its first ejection, the reason with the votes.
 * No fresh report means no vote: nothing is ejected (steps 2 and 3 still
 * run). Ejected slots whose trouble began asg_after_ms ago or more
 * (now - eject_since) are listed for SetInstanceHealth. */
#ifndef HSDO_EJECT_H
#define HSDO_EJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/report.h"
#include "hsdo/slot.h"

#define HSDO_EJECT_TIME_MAX_MS   300000   /* the backoff's cap */
#define HSDO_EJECT_OUTLIERS_MAX  32       /* outliers named in a result */

struct hsdo_eject_settings {
	bool enabled;                 /* HEALTH_EJECT */
	uint32_t quorum_ppm;          /* HEALTH_QUORUM in millionths, 0..1000000 */
	int64_t eject_time_ms;        /* HEALTH_EJECT_TIME, 1..HSDO_EJECT_TIME_MAX_MS */
	unsigned max_ejected_percent; /* HEALTH_MAX_EJECTED_PERCENT, 1..100 */
	uint32_t min_weight;          /* the ramp's start and end */
	uint32_t max_weight;
	int64_t asg_after_ms;         /* HEALTH_ASG_AFTER; < 0: list nothing */
	uint32_t error_ratio_ppm;     /* HEALTH_ERROR_RATIO, for the reason text */
};

enum hsdo_eject_kind {
	HSDO_EJECT_EJECTED = 0,       /* taken out */
	HSDO_EJECT_READMITTED,        /* back, ramping from min_weight */
	HSDO_EJECT_CAPPED,            /* a quorum says failing; the cap keeps it in */
	HSDO_EJECT_FORGOTTEN,         /* its ejections are forgotten (step 3) */
	HSDO_EJECT_KIND_COUNT
};

enum hsdo_eject_cause {
	HSDO_EJECT_CAUSE_ERRORS = 0,  /* some failing vote counts errors */
	HSDO_EJECT_CAUSE_CHECK,       /* every failing vote is a check DOWN */
	HSDO_EJECT_CAUSE_COUNT
};

/* The votes on one slot. */
struct hsdo_eject_tally {
	unsigned voters;              /* fresh, non-outlier reports with a vote */
	unsigned failing;             /* of those, failing */
	unsigned by_check;            /* of those, with the check DOWN */
	unsigned median_pct;          /* median error ratio (%) of the failing
				       * votes with responses; 0 if none */
};

struct hsdo_eject_event {
	enum hsdo_eject_kind kind;
	uint32_t slot;
	struct hsdo_eject_tally votes; /* EJECTED, CAPPED */
	enum hsdo_eject_cause cause;   /* EJECTED, CAPPED */
	int64_t duration_ms;          /* EJECTED: for how long */
	uint32_t count;               /* the slot's eject_count after the event */
};

struct hsdo_eject_outlier {
	char client_id[HSDO_REPORT_ID_LEN];
	unsigned failing, voting;
};

struct hsdo_eject_result {
	struct hsdo_eject_event *events; /* by slot, then kind; owned */
	size_t nevents;
	size_t counts[HSDO_EJECT_KIND_COUNT];
	struct hsdo_eject_outlier *outliers; /* the first HSDO_EJECT_OUTLIERS_MAX
					  * by client id; owned */
	size_t noutliers;             /* named */
	size_t outlier_count;         /* all of them */
	size_t fresh, expired;        /* reports used / left out */
	size_t stale;                 /* votes taken as not failing by min_gen */
	size_t ejected;               /* slots ejected after this step */
	uint32_t *asg_due;            /* slot ids, ascending; owned */
	size_t nasg_due;
};

/* 0 if usable, else -HSDO_EINVAL. */
int hsdo_eject_settings_check(const struct hsdo_eject_settings *st);

/* Run the step on t (changed in place) with reports rep[0..nrep) (borrowed)
 * and min_gen (t->n entries, or NULL: no vote is stale). 0 and *out (free
 * with hsdo_eject_result_free); -HSDO_EINVAL (bad settings, a table with
 * slots[i].id != i + 1, over HSDO_REPORT_SET_MAX reports) or
 * -HSDO_ENOMEM, with t untouched and *out zeroed. */
int hsdo_eject_plan(struct hsdo_table *t, const struct hsdo_report *rep, size_t nrep,
		    const uint64_t *min_gen, int64_t now_ms, const struct hsdo_eject_settings *st,
		    struct hsdo_eject_result *out);
void hsdo_eject_result_free(struct hsdo_eject_result *r);

/* The reason an ejection carries, e.g. "4 of 5 HAProxies see errors ≥ 50 %
 * (median 83 %)" or "3 of 3 HAProxies see its check DOWN". Returns buf. */
const char *hsdo_eject_reason(const struct hsdo_eject_tally *v, enum hsdo_eject_cause c,
			      uint32_t ratio_ppm, char *buf, size_t len);

/* "ejected", "readmitted", "capped", "forgotten" / "errors", "check";
 * "unknown" out of range. */
const char *hsdo_eject_kind_str(enum hsdo_eject_kind k);
const char *hsdo_eject_cause_str(enum hsdo_eject_cause c);

#endif
