/* The slot model: what one row of the slot table means, independent of any
 * store. A table has N slots numbered 1..N (DynamoDB BackendServerID); slot
 * i maps to HAProxy server "<baseName><i>" of a server-template, so slot i
 * has the same server id on every HAProxy node.
 *
 * A slot's strings are never NULL: they point into its table's string set
 * (strset.h), each distinct string stored once and sized to its content, or
 * at static strings ("", literals). The table owns the set, so a slot is
 * only meaningful next to its table: a slot's strings are written with
 * hsdo_table_set / _setf / _put, which intern into the table's set, never
 * by assigning a pointer to a string that may die before the table.
 * A copy of a table shares the set (a reference), so it copies the slots
 * (~80 bytes each) but no string. The HSDO_*_LEN bounds are what a field
 * accepts (its longest content + 1). A free slot has empty ip/name/group
 * (the stores write them as "none"). */
#ifndef HSDO_SLOT_H
#define HSDO_SLOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/strset.h"

#define HSDO_IP_LEN    46   /* INET6_ADDRSTRLEN */
#define HSDO_NAME_LEN  256  /* instance id / Consul service id */
#define HSDO_GROUP_LEN 256  /* ASG names are up to 255 characters */
#define HSDO_AZ_LEN    32
#define HSDO_WEIGHT_MAX 256 /* HAProxy's absolute weight bound */
#define HSDO_SLOTS_MAX  100000
#define HSDO_EJECT_REASON_LEN 160 /* "4 of 5 HAProxies see errors >= 50 % ..." */

enum hsdo_slot_state {
	HSDO_SLOT_FREE = 0,  /* no server: HAProxy keeps it in maint */
	HSDO_SLOT_ACTIVE,    /* serving; weight ramps to MAX_WEIGHT */
	HSDO_SLOT_DRAINING,  /* leaving: weight 0, address kept, then freed */
	HSDO_SLOT_EJECTED,   /* in service but failing for a quorum of HAProxies:
			      * weight 0, address kept, back at ejected_until
			      * (docs/health.md) */
	HSDO_SLOT_STATE_COUNT
};

struct hsdo_slot {
	uint32_t id;                   /* 1..N */
	enum hsdo_slot_state state;
	const char *ip;                /* IPv4/IPv6 literal; "" when free */
	const char *name;              /* instance id; "" when free */
	const char *group;             /* ASG (or Consul service); "" if none */
	const char *az;                /* availability zone; "" if unknown */
	uint16_t port;                 /* per-instance port; 0 = backend's port */
	uint32_t weight;               /* 0..256 */
	/* Microseconds since the Unix epoch (UTC). For an active slot, the last
	 * weight change (ramp clock); for a draining slot, when the drain
	 * started; 0 for a free slot ("0-0-0 00:00:00.000000"). */
	int64_t last_weight_update_us;
	/* Fleet health (docs/health.md). An ejected slot comes back at
	 * ejected_until_ms (Unix ms) for eject_reason. eject_count (times
	 * ejected) and eject_since_ms (first of those ejections) stay on the
	 * slot after it comes back, for the backoff and the Auto Scaling
	 * report; all zero / "" on a slot never ejected. */
	int64_t ejected_until_ms;
	int64_t eject_since_ms;
	uint32_t eject_count;
	const char *eject_reason;
};

struct hsdo_table {
	struct hsdo_slot *slots;       /* slots[i].id == i + 1 */
	size_t n;
	uint64_t generation;           /* bumped by the writer on each change */
	struct hsdo_strset *strs;      /* the slots' strings (shared by copies);
					* NULL until the first string is set in a
					* table not made by hsdo_table_init */
};

/* A backend instance as a discovery source reports it. */
struct hsdo_instance {
	char id[HSDO_NAME_LEN];        /* instance id: the slot's identity */
	char ip[HSDO_IP_LEN];
	char group[HSDO_GROUP_LEN];
	char az[HSDO_AZ_LEN];
	uint16_t port;                 /* 0 = backend's port */
	bool leaving;                  /* Terminating, Standby, ...: drain it */
};

const char *hsdo_slot_state_str(enum hsdo_slot_state s);

/* Slot number of a server-template server, the one rule for every caller
 * (the client's planner, its start-up check, the SPOE agent): name[0..nlen)
 * is base followed by the slot in plain decimal, 1..max, with no sign and
 * no leading zero. HAProxy names the servers of `server-template <base>
 * 1-<N>` "<base>1".."<base>N" and never pads, so "web01" and "web0" are not
 * slots. base NULL counts as "". 0 with *slot, or -HSDO_EINVAL (*slot 0). */
int hsdo_slot_from_name(const char *base, const char *name, size_t nlen, uint32_t max,
			uint32_t *slot);

/* Allocate n free slots numbered 1..n (n <= HSDO_SLOTS_MAX) and an empty
 * string set. 0 or -HSDO_ENOMEM / -HSDO_EINVAL. hsdo_table_free releases
 * t->slots and t's reference to its set, and zeroes t; NULL is a no-op. */
int hsdo_table_init(struct hsdo_table *t, size_t n);
void hsdo_table_free(struct hsdo_table *t);
/* Copy src into dst (dst is overwritten, not freed first): its own slots,
 * sharing src's string set. Either may then be changed or freed alone. */
int hsdo_table_copy(struct hsdo_table *dst, const struct hsdo_table *src);
/* The same with n >= src->n slots: those past src->n are free (ids n+1..).
 * -HSDO_EINVAL when n < src->n or n > HSDO_SLOTS_MAX. */
int hsdo_table_copy_grow(struct hsdo_table *dst, const struct hsdo_table *src, size_t n);
/* Set *field, a string field of one of t's slots, to v interned in t's set.
 * max bounds it as the fixed fields did (HSDO_IP_LEN, HSDO_NAME_LEN...):
 * -HSDO_ETOOBIG when strlen(v) >= max, -HSDO_EINVAL for v NULL, or
 * -HSDO_ENOMEM; *field is then unchanged. */
int hsdo_table_set(struct hsdo_table *t, const char **field, size_t max, const char *v);
/* hsdo_table_set of a printf-formatted value (truncation is -HSDO_ETOOBIG). */
int hsdo_table_setf(struct hsdo_table *t, const char **field, size_t max, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Store slot src (from any table, or a stack copy) as t->slots[i], its
 * strings interned in t's set. 0, -HSDO_EINVAL (i out of range, src's
 * strings over their bounds) or -HSDO_ENOMEM (t->slots[i] unchanged). */
int hsdo_table_put(struct hsdo_table *t, size_t i, const struct hsdo_slot *src);
/* Point s's strings at their copies in strs, interning them: for a slot
 * that moves into a table with another set (a decoded item, a Scan page).
 * 0, -HSDO_EINVAL (a string NULL or over its bound) or -HSDO_ENOMEM (s
 * unchanged; strs may keep some of the strings). */
int hsdo_slot_intern(struct hsdo_slot *s, struct hsdo_strset *strs);
/* Bound the dead strings a long-lived, often-rewritten table accumulates
 * in its set: when the set holds more than twice the bytes its slots'
 * strings take (counted once per field), give t a new set holding only
 * those. A no-op otherwise. 0 or -HSDO_ENOMEM (t unchanged). */
int hsdo_table_compact(struct hsdo_table *t);
/* Ids of the slots whose content differs between a and b (same n), in
 * ascending order, into *ids (hsdo_free; NULL when none). 0, -HSDO_EINVAL
 * (sizes differ) or -HSDO_ENOMEM. */
int hsdo_table_diff(const struct hsdo_table *a, const struct hsdo_table *b,
		    uint32_t **ids, size_t *n);
/* Reset one slot to free, keeping its id (its strings become ""). */
void hsdo_slot_clear(struct hsdo_slot *s);
/* Forget a slot's ejection history (until, since, count, reason). */
void hsdo_slot_clear_eject(struct hsdo_slot *s);
/* True for the states whose slot holds an instance (active, draining,
 * ejected): it keeps its address and its name. */
bool hsdo_slot_used(const struct hsdo_slot *s);
/* True when two slots carry the same stored content. */
bool hsdo_slot_equal(const struct hsdo_slot *a, const struct hsdo_slot *b);

/* Bounded copy of a string into a fixed field; -HSDO_ETOOBIG if it does not
 * fit (dst is then left unchanged). */
int hsdo_strlcpy_field(char *dst, size_t dstlen, const char *src);

/* True if s is a literal IPv4 or IPv6 address (what HAProxy's
 * `set server addr` accepts). */
bool hsdo_ip_valid(const char *s);

#endif
