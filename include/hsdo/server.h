/* Server mode's cycle: lease, table, plan, safety valves, write.
 *
 * One cycle, given the instances a discovery source reported (the caller
 * runs the source; a source error means no cycle):
 *  1. lease (when lease_ttl_ms > 0): take or renew the writer lease when
 *     less than half its TTL is left; held by another server -> standby,
 *     nothing else happens; taken over from another -> the cached table is
 *     dropped and every slot is rewritten under the new epoch (fencing);
 *  2. table: read the generation (one small read); read the whole table
 *     only when it is not the one this server last wrote or read, or when
 *     it is 0 (unversioned: another writer, such as the original server,
 *     changes it without announcing it);
 *  3. plan (hsdo_plan_server), fleet health (hsdo_eject_plan on the
 *     planned table, with the reports read after the lease: ejections,
 *     returns; see eject.h) and the safety valves (below), which judge
 *     the plan and the ejections together;
 *  4. write only the slots that changed, plus the generation, under the
 *     lease epoch; nothing changed -> no write at all. A conflict (another
 *     writer) drops the cache; the next cycle re-reads.
 *
 * Safety valves: a plan that would take more than max_remove_share of the
 * used slots out of service (active -> draining or free) at once, or that
 * sees zero instances where slots are in use, is *held*: nothing is
 * written, and it is reported. It applies at the first cycle that finds it
 * held for confirm_us (wall clock, from the first cycle that held it;
 * counting cycles instead made the hold shrink with INTERVAL); any cycle
 * where it no longer holds resets the clock. Overflow (more instances
 * in service than free slots) is reported, never silently truncated.
 *
 * Reports (hsdo_server_set_reports): with eject.enabled, the lease holder
 * reads every report once per cycle, after the lease; a failed read is
 * reported and the cycle goes on without votes (nothing new is ejected;
 * returns still happen). The server keeps, per slot, the generation of its
 * last write that changed the slot's instance or state: a report holding
 * an older generation votes on that slot no more (eject.h, min_gen).
 *
 * The cycle is asynchronous over the store's asynchronous operations (done
 * is called exactly once; before hsdo_server_cycle returns with a
 * synchronous store such as the file store). */
#ifndef HSDO_SERVER_H
#define HSDO_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/eject.h"
#include "hsdo/plan_server.h"
#include "hsdo/report.h"
#include "hsdo/reports.h"
#include "hsdo/slot.h"
#include "hsdo/store.h"

struct hsdo_server;

struct hsdo_server_settings {
	struct hsdo_plan_server_settings plan;
	size_t slots;                  /* N */
	char holder[HSDO_LEASE_HOLDER_LEN]; /* lease holder id (host:pid) */
	int64_t lease_ttl_ms;          /* 0: no lease, single writer (epoch 0) */
	double max_remove_share;       /* 0..1; default 0.5 */
	int64_t confirm_us;            /* SERVER_VALVE_SECONDS; 0 = valve off */
	/* Fleet health. min_weight and max_weight come from plan; a zero
	 * eject_time_ms or max_ejected_percent takes the default (30 s, 20). */
	struct hsdo_eject_settings eject;
};

enum hsdo_server_outcome {
	HSDO_SERVER_WROTE = 0,         /* changed slots written */
	HSDO_SERVER_UNCHANGED,         /* nothing to write */
	HSDO_SERVER_STANDBY,           /* another server holds the lease */
	HSDO_SERVER_HELD,              /* a safety valve held the plan */
	HSDO_SERVER_CONFLICT,          /* another writer won; re-read next cycle */
	HSDO_SERVER_ERROR,             /* store error */
	HSDO_SERVER_OUTCOME_COUNT
};

struct hsdo_server_report {
	enum hsdo_server_outcome outcome;
	int rc;                        /* 0 or the store's error */
	char error[256];
	uint64_t generation;           /* of the table after the cycle */
	size_t ninstances;
	size_t written;                /* slot items written */
	bool took_over, fenced;        /* lease changed hands to us; all slots rewritten */
	bool table_read;               /* the whole table was read this cycle */
	size_t store_calls;            /* store operations this cycle */
	struct hsdo_lease lease;       /* as last seen */
	/* The valve: why it held, for how many cycles and how long so far. */
	char held_reason[200];
	unsigned held_cycles;
	int64_t held_us;
	size_t would_remove, used;
	/* The plan's counters (added, freed, overflow...), valid when a plan ran. */
	bool planned;
	size_t added, reactivated, drain_started, freed, ramped, updated, overflow,
	       duplicates, invalid;
	char overflow_ids[4][HSDO_NAME_LEN];
	const struct hsdo_table *table;  /* current table (borrowed), NULL if none */
	/* Fleet health: the reports read this cycle (reports_read false when
	 * none were: no reports store, HEALTH_EJECT off, standby), how many,
	 * how many did not decode (the first named) or the read's error; and
	 * the step's decisions (borrowed until the next cycle; NULL when no
	 * plan ran), which are in the store only when the outcome is WROTE. */
	bool reports_read;
	size_t reports;
	size_t reports_bad;
	char reports_first_bad[256];
	int reports_rc;
	char reports_error[256];
	const struct hsdo_eject_result *eject;
};

typedef void (*hsdo_server_done_fn)(void *arg, const struct hsdo_server_report *rep);

/* 0, -HSDO_EINVAL (bad settings, reason in err) or -HSDO_ENOMEM. The store
 * is borrowed. */
int hsdo_server_new(const struct hsdo_server_settings *st, struct hsdo_store *store,
		    struct hsdo_server **out, char *err, size_t errlen);
void hsdo_server_free(struct hsdo_server *s);

/* The reports to read each cycle (borrowed; NULL: none). */
void hsdo_server_set_reports(struct hsdo_server *s, struct hsdo_reports *reports);

/* Run one cycle over inst, borrowed until done is called (not copied: the
 * caller keeps the list as it is meanwhile). now_us: wall clock, Unix µs.
 * -HSDO_EAGAIN when a cycle is already running, else 0 and done is called. */
int hsdo_server_cycle(struct hsdo_server *s, const struct hsdo_instance *inst, size_t ninst,
		      int64_t now_us, hsdo_server_done_fn done, void *arg);
bool hsdo_server_busy(const struct hsdo_server *s);

/* Release the lease at shutdown so a standby takes over at once (expiry
 * set to now). 0 (done will be called), -HSDO_ENOTFOUND when there is no
 * lease to release or a cycle is running, or the store's error. */
int hsdo_server_release(struct hsdo_server *s, int64_t now_us, hsdo_store_done_fn done,
			void *arg);

/* Pure valve check: slots taken out of service from cur to next and the
 * used slots of cur; true if the plan must be held, with a reason. */
bool hsdo_server_valve(const struct hsdo_table *cur, const struct hsdo_table *next,
		       size_t ninst, double max_remove_share, size_t *would_remove,
		       size_t *used, char *why, size_t whylen);

/* Pure: whether an instance leaving the group may now complete its
 * lifecycle action: its slot (by name) is free or gone, or has drained for
 * drain_time_us. */
bool hsdo_server_lifecycle_due(const struct hsdo_table *t, const char *instance_id,
			       int64_t now_us, int64_t drain_time_us);

const char *hsdo_server_outcome_str(enum hsdo_server_outcome o);

#endif
