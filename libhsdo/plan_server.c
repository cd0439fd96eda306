/* The server planner. See include/hsdo/plan_server.h for the contract.
 *
 * Plan, in order (every step is a sort or a linear pass: O(n log n)):
 *  1. Keep the valid instances (non-empty id and ip, every string field
 *     NUL-terminated within its array), sort them by (id, leaving, ip,
 *     group, az, port) and drop repeated ids: the record kept for an id
 *     (in service before leaving) never depends on the input order.
 *  2. Match by id: merge the instances with the used (active or draining)
 *     slots sorted by (name, slot id). A name used by several slots matches
 *     the lowest slot id; the others are left unmatched and drain.
 *  3. Drop instances whose ip+port another instance already has: the one
 *     holding a slot wins, then the lower id. Port is part of the key so
 *     several services of one host (Consul, Nomad) are not merged. A loser
 *     that held a slot lets it go (the slot drains).
 *  4. Match by IP, for tables written by the original (its ServerName need
 *     not be the instance id): an unmatched instance takes the lowest used
 *     slot with its ip (and its port, when the slot has one) whose name is
 *     no current instance's id.
 *  5. Walk the slots: update slots matched by an in-service instance from
 *     it, then ramp or reactivate them; drain or free the others. A slot
 *     whose instance is leaving is not rewritten: it drains on the address
 *     HAProxy has.
 *  6. Place new in-service instances, in id order, in the lowest free slots
 *     (including slots freed in step 5); the rest overflow.
 *  7. List the slots whose content differs from the input.
 *
 * IP syntax is counted (bad_ip), not enforced: deciding what an address is
 * belongs to the discovery source, and skipping the instance here would
 * drain a server the source still reports. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/plan_server.h"
#include "hsdo/slot.h"

#define NO_SLOT UINT32_MAX

/* The first 16 bytes of a string, big-endian and NUL-padded. Comparing keys
 * orders like strcmp on those bytes without touching the string, so sorts
 * of 10,000 ids do not chase a pointer into a 600-byte record on every
 * comparison (that halved the time of a 10,000-slot plan). */
struct key {
	uint64_t hi, lo;
};

/* One kept instance and the slot (table index) it holds. 32 bytes: glibc's
 * qsort sorts larger elements through an extra array of pointers. */
struct ent {
	struct key id;
	const struct hsdo_instance *in;
	uint32_t slot;          /* table index (n <= HSDO_SLOTS_MAX) or NO_SLOT */
	bool dup;
	bool bad_ip;            /* found while the input is read in order */
};

/* A slot keyed by its name or its ip. */
struct sref {
	struct key k;
	const struct hsdo_slot *s;
};

/* An instance keyed by its ip, with what the sort needs inline (following
 * e to the instance on every comparison doubled the time of this sort). */
struct ipref {
	struct key ip;
	struct ent *e;
	uint16_t port;
	bool holder;
};

/* Work arrays of one plan; freed together. */
struct work {
	struct ent *ents;       /* sorted by id, unique ids */
	size_t nents;
	struct ipref *byip;     /* ents by (ip, port, holder first, id) */
	struct sref *byname;    /* used slots by (name, id) */
	size_t nused;
	struct sref *cands;     /* IP-match candidates by (ip, id) */
	size_t ncands;
	size_t *next;           /* per candidate ip group: next one to hand out */
	uint32_t *owner;        /* table index -> ents index, or NO_SLOT */
	bool *dirty;            /* table index -> written by this plan */
};

int hsdo_plan_server_settings_check(const struct hsdo_plan_server_settings *st)
{
	if (st == NULL || st->max_weight > HSDO_WEIGHT_MAX ||
	    st->min_weight > st->max_weight || st->increase_weight == 0 ||
	    st->increase_weight > HSDO_WEIGHT_MAX ||
	    st->increase_interval_us <= 0 || st->drain_time_us < 0)
		return -HSDO_EINVAL;
	return 0;
}

void hsdo_plan_server_result_free(struct hsdo_plan_server_result *r)
{
	if (r == NULL)
		return;
	hsdo_table_free(&r->table);
	hsdo_free(r->changed);
	hsdo_free(r->overflow_ids);
	memset(r, 0, sizeof(*r));
}

static struct key key_of(const char *s)
{
	struct key k = { 0, 0 };
	size_t i;

	for (i = 0; i < 8 && s[i] != '\0'; i++)
		k.hi |= (uint64_t)(unsigned char)s[i] << (56 - 8 * i);
	if (i == 8)
		for (; i < 16 && s[i] != '\0'; i++)
			k.lo |= (uint64_t)(unsigned char)s[i] << (120 - 8 * i);
	return k;
}

/* Compare keys only; when they are equal, key_long() says whether the
 * strings go on past the key and their tails must be compared. */
static int key_cmp(struct key ka, struct key kb)
{
	if (ka.hi != kb.hi)
		return ka.hi < kb.hi ? -1 : 1;
	if (ka.lo != kb.lo)
		return ka.lo < kb.lo ? -1 : 1;
	return 0;
}

static bool key_long(struct key k)
{
	return (k.lo & 0xff) != 0;
}

/* The sign of strcmp(a, b), given their keys (fields are >= 17 bytes). */
static int keyed_cmp(struct key ka, const char *a, struct key kb, const char *b)
{
	int c = key_cmp(ka, kb);

	if (c != 0 || !key_long(ka))
		return c;
	return strcmp(a + 16, b + 16);
}

/* s is a string of fewer than len bytes (reading no further than its NUL). */
static bool terminated(const char *s, size_t len)
{
	return s != NULL && strnlen(s, len) < len;
}

/* slot.h's invariants, checked before any strcmp on the slot's fields. */
static bool slot_valid(const struct hsdo_slot *s, size_t idx)
{
	return s->id == idx + 1 && (unsigned)s->state < HSDO_SLOT_STATE_COUNT &&
	       terminated(s->ip, HSDO_IP_LEN) &&
	       terminated(s->name, HSDO_NAME_LEN) &&
	       terminated(s->group, HSDO_GROUP_LEN) &&
	       terminated(s->az, HSDO_AZ_LEN) &&
	       terminated(s->eject_reason, HSDO_EJECT_REASON_LEN);
}

/* Copy cur into out (sharing its strings), checking each slot while it is
 * in cache. */
static int table_copy_valid(struct hsdo_table *out, const struct hsdo_table *cur)
{
	size_t i;
	int rc;

	if (cur->n > HSDO_SLOTS_MAX || (cur->n > 0 && cur->slots == NULL))
		return -HSDO_EINVAL;
	if ((rc = hsdo_table_copy(out, cur)) != 0)
		return rc;
	for (i = 0; i < cur->n; i++) {
		if (!slot_valid(&out->slots[i], i)) {
			hsdo_table_free(out);
			return -HSDO_EINVAL;
		}
	}
	out->generation = cur->generation;
	return 0;
}

static bool inst_valid(const struct hsdo_instance *in)
{
	return in->id[0] != '\0' && in->ip[0] != '\0' &&
	       terminated(in->id, sizeof(in->id)) &&
	       terminated(in->ip, sizeof(in->ip)) &&
	       terminated(in->group, sizeof(in->group)) &&
	       terminated(in->az, sizeof(in->az));
}

/* A total order on instance content, id first: ties between records of one
 * id resolve the same way whatever the input order. */
static int ent_cmp(const void *pa, const void *pb)
{
	const struct ent *ea = pa, *eb = pb;
	const struct hsdo_instance *a = ea->in, *b = eb->in;
	int c;

	if ((c = keyed_cmp(ea->id, a->id, eb->id, b->id)) != 0)
		return c;
	if (a->leaving != b->leaving)
		return a->leaving ? 1 : -1;   /* an in-service record wins */
	if ((c = strcmp(a->ip, b->ip)) != 0)
		return c;
	if ((c = strcmp(a->group, b->group)) != 0)
		return c;
	if ((c = strcmp(a->az, b->az)) != 0)
		return c;
	return (a->port > b->port) - (a->port < b->port);
}

/* (ip, port), then slot holders first, then id (unique after step 1). */
static int byip_cmp(const void *pa, const void *pb)
{
	const struct ipref *a = pa, *b = pb;
	int c;

	/* The instance is read only when the keys tie. */
	if ((c = key_cmp(a->ip, b->ip)) != 0)
		return c;
	if (key_long(a->ip) && (c = strcmp(a->e->in->ip + 16, b->e->in->ip + 16)) != 0)
		return c;
	if (a->port != b->port)
		return a->port < b->port ? -1 : 1;
	if (a->holder != b->holder)
		return a->holder ? -1 : 1;
	return keyed_cmp(a->e->id, a->e->in->id, b->e->id, b->e->in->id);
}

static int sref_name_cmp(const void *pa, const void *pb)
{
	const struct sref *a = pa, *b = pb;
	int c = keyed_cmp(a->k, a->s->name, b->k, b->s->name);

	if (c != 0)
		return c;
	return (a->s->id > b->s->id) - (a->s->id < b->s->id);
}

static int sref_ip_cmp(const void *pa, const void *pb)
{
	const struct sref *a = pa, *b = pb;
	int c = keyed_cmp(a->k, a->s->ip, b->k, b->s->ip);

	if (c != 0)
		return c;
	return (a->s->id > b->s->id) - (a->s->id < b->s->id);
}

static void work_free(struct work *w)
{
	hsdo_free(w->ents);
	hsdo_free(w->byip);
	hsdo_free(w->byname);
	hsdo_free(w->cands);
	hsdo_free(w->next);
	hsdo_free(w->owner);
	hsdo_free(w->dirty);
	memset(w, 0, sizeof(*w));
}

/* Step 1. */
static int collect(struct work *w, const struct hsdo_instance *inst, size_t ninst,
		   struct hsdo_plan_server_result *out)
{
	size_t i, k;

	w->ents = hsdo_calloc(ninst, sizeof(*w->ents));
	if (w->ents == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < ninst; i++) {
		struct ent *e = &w->ents[w->nents];

		if (!inst_valid(&inst[i])) {
			out->invalid++;
			continue;
		}
		e->id = key_of(inst[i].id);
		e->in = &inst[i];
		e->slot = NO_SLOT;
		e->bad_ip = !hsdo_ip_valid(inst[i].ip);
		w->nents++;
	}
	if (w->nents > 1)
		qsort(w->ents, w->nents, sizeof(*w->ents), ent_cmp);
	for (i = 0, k = 0; i < w->nents; i++) {
		const struct ent *e = &w->ents[i];

		if (k > 0 && keyed_cmp(w->ents[k - 1].id, w->ents[k - 1].in->id,
				       e->id, e->in->id) == 0) {
			out->duplicates++;
			continue;
		}
		w->ents[k++] = *e;
	}
	w->nents = k;
	return 0;
}

/* Step 2, and the candidate list of step 4 (used slots whose name is no
 * kept instance's id), from one merge of two sorted lists. */
static int match_by_name(struct work *w, const struct hsdo_table *t)
{
	size_t i, j, e = 0;

	w->owner = hsdo_calloc(t->n, sizeof(*w->owner));
	w->byname = hsdo_calloc(t->n, sizeof(*w->byname));
	w->dirty = hsdo_calloc(t->n, sizeof(*w->dirty));
	if (w->owner == NULL || w->byname == NULL || w->dirty == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < t->n; i++) {
		w->owner[i] = NO_SLOT;
		if (t->slots[i].state != HSDO_SLOT_FREE) {
			w->byname[w->nused].k = key_of(t->slots[i].name);
			w->byname[w->nused++].s = &t->slots[i];
		}
	}
	if (w->nused > 1)
		qsort(w->byname, w->nused, sizeof(*w->byname), sref_name_cmp);
	for (j = 0; j < w->nused; j++) {
		const struct sref *r = &w->byname[j];
		int c = 1;

		while (e < w->nents &&
		       (c = keyed_cmp(w->ents[e].id, w->ents[e].in->id, r->k, r->s->name)) < 0)
			e++;
		if (e < w->nents && c == 0) {
			/* Lowest slot id of this name first; later ones stay
			 * unmatched and are no candidates either. */
			if (w->ents[e].slot == NO_SLOT) {
				w->ents[e].slot = r->s->id - 1;
				w->owner[r->s->id - 1] = (uint32_t)e;
			}
			continue;
		}
		if (w->cands == NULL) {
			w->cands = hsdo_calloc(w->nused, sizeof(*w->cands));
			if (w->cands == NULL)
				return -HSDO_ENOMEM;
		}
		w->cands[w->ncands].k = key_of(r->s->ip);
		w->cands[w->ncands++].s = r->s;
	}
	return 0;
}

/* Step 3. */
static int dedup_by_ip(struct work *w, struct hsdo_plan_server_result *out)
{
	size_t i;

	if (w->nents < 2)
		return 0;
	w->byip = hsdo_calloc(w->nents, sizeof(*w->byip));
	if (w->byip == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < w->nents; i++) {
		w->byip[i].ip = key_of(w->ents[i].in->ip);
		w->byip[i].e = &w->ents[i];
		w->byip[i].port = w->ents[i].in->port;
		w->byip[i].holder = w->ents[i].slot != NO_SLOT;
	}
	qsort(w->byip, w->nents, sizeof(*w->byip), byip_cmp);
	for (i = 1; i < w->nents; i++) {
		const struct ipref *prev = &w->byip[i - 1], *cur = &w->byip[i];
		struct ent *e = cur->e;

		/* Each (ip, port) run keeps its first entry only. */
		if (key_cmp(prev->ip, cur->ip) != 0 || prev->port != cur->port ||
		    (key_long(cur->ip) && strcmp(prev->e->in->ip, e->in->ip) != 0))
			continue;
		e->dup = true;
		out->duplicates++;
		if (e->slot != NO_SLOT) {
			w->owner[e->slot] = NO_SLOT;
			e->slot = NO_SLOT;
		}
	}
	return 0;
}

/* Step 4: candidates sorted by (ip, slot id); each ip group hands out its
 * slots lowest first, tracked by w->next at the group's first index. */
static int match_by_ip(struct work *w)
{
	size_t i;

	if (w->ncands == 0)
		return 0;
	w->next = hsdo_calloc(w->ncands, sizeof(*w->next));
	if (w->next == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < w->ncands; i++)
		w->next[i] = i;
	if (w->ncands > 1)
		qsort(w->cands, w->ncands, sizeof(*w->cands), sref_ip_cmp);
	for (i = 0; i < w->nents; i++) {
		struct ent *e = &w->ents[i];
		struct key k;
		size_t lo = 0, hi = w->ncands, g;

		if (e->dup || e->slot != NO_SLOT)
			continue;
		k = key_of(e->in->ip);
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;

			if (keyed_cmp(w->cands[mid].k, w->cands[mid].s->ip, k, e->in->ip) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == w->ncands ||
		    keyed_cmp(w->cands[lo].k, w->cands[lo].s->ip, k, e->in->ip) != 0)
			continue;
		/* The lowest free slot of this ip with the same port, or with
		 * no port (the original writes none): ip+port is the endpoint
		 * HAProxy sends to, and a service that left must drain, not be
		 * taken over by another service of the same host. */
		for (g = w->next[lo]; g < w->ncands &&
		     keyed_cmp(w->cands[g].k, w->cands[g].s->ip, k, e->in->ip) == 0; g++)
			if (w->owner[w->cands[g].s->id - 1] == NO_SLOT &&
			    (w->cands[g].s->port == 0 || w->cands[g].s->port == e->in->port))
				break;
		if (g == w->ncands ||
		    keyed_cmp(w->cands[g].k, w->cands[g].s->ip, k, e->in->ip) != 0)
			continue;  /* no free slot of this endpoint */
		if (g == w->next[lo])
			w->next[lo] = g + 1;
		e->slot = w->cands[g].s->id - 1;
		w->owner[e->slot] = (uint32_t)i;
	}
	return 0;
}

/* Set one string field of a slot of t to v if it differs; *changed then. */
static int take_field(struct hsdo_table *t, const char **field, size_t max, const char *v,
		      bool *changed)
{
	int rc;

	if (strcmp(*field, v) == 0)
		return 0;
	if ((rc = hsdo_table_set(t, field, max, v)) != 0)
		return rc;
	*changed = true;
	return 0;
}

/* Copy the instance's address fields (and id) into its slot s of t (the
 * strings interned in t's set); *changed when one differed. 0 or
 * -HSDO_ENOMEM (s may then hold some of the new fields). */
static int slot_take_fields(struct hsdo_table *t, struct hsdo_slot *s,
			    const struct hsdo_instance *in, bool *changed)
{
	int rc;

	*changed = false;
	if ((rc = take_field(t, &s->name, HSDO_NAME_LEN, in->id, changed)) != 0 ||
	    (rc = take_field(t, &s->ip, HSDO_IP_LEN, in->ip, changed)) != 0 ||
	    (rc = take_field(t, &s->group, HSDO_GROUP_LEN, in->group, changed)) != 0 ||
	    (rc = take_field(t, &s->az, HSDO_AZ_LEN, in->az, changed)) != 0)
		return rc;
	if (s->port != in->port) {
		s->port = in->port;
		*changed = true;
	}
	return 0;
}

/* now - then, saturated; callers ensure then <= now. */
static int64_t elapsed_us(int64_t now, int64_t then)
{
	int64_t d;

	if (__builtin_sub_overflow(now, then, &d))
		return INT64_MAX;
	return d;
}

/* The weight rules of an in-service active slot. Returns true if the slot
 * was written. The ramp stays on the grid last_update + k * interval, so a
 * late plan applies all the steps that fell due, at their own times. */
static bool ramp(struct hsdo_slot *s, int64_t now,
		 const struct hsdo_plan_server_settings *st,
		 struct hsdo_plan_server_result *out)
{
	int64_t k;
	uint32_t need;

	if (s->weight < st->min_weight) {
		s->weight = st->min_weight;
		s->last_weight_update_us = now;
		out->ramped++;
		return true;
	}
	if (s->weight > st->max_weight) {
		s->weight = st->max_weight;
		out->ramped++;
		return true;
	}
	if (s->weight == st->max_weight)
		return false;
	if (s->last_weight_update_us > now) {
		s->last_weight_update_us = now;
		out->clock_resets++;
		return true;
	}
	k = elapsed_us(now, s->last_weight_update_us) / st->increase_interval_us;
	if (k == 0)
		return false;
	need = (st->max_weight - s->weight + st->increase_weight - 1) /
	       st->increase_weight;
	if (k >= need) {
		/* need * interval <= k * interval <= now - last: no overflow. */
		s->weight = st->max_weight;
		s->last_weight_update_us += (int64_t)need * st->increase_interval_us;
	} else {
		s->weight += (uint32_t)k * st->increase_weight;
		s->last_weight_update_us += k * st->increase_interval_us;
	}
	out->ramped++;
	return true;
}

/* A slot with no in-service instance: start, continue or end its drain. */
static bool drain(struct hsdo_slot *s, int64_t now,
		  const struct hsdo_plan_server_settings *st,
		  struct hsdo_plan_server_result *out)
{
	if (st->drain_time_us == 0) {
		hsdo_slot_clear(s);
		out->freed++;
		return true;
	}
	if (s->state == HSDO_SLOT_ACTIVE || s->state == HSDO_SLOT_EJECTED) {
		/* An ejected instance that leaves drains like any other: its
		 * ejection ends with it. */
		s->state = HSDO_SLOT_DRAINING;
		s->weight = 0;
		s->last_weight_update_us = now;
		hsdo_slot_clear_eject(s);
		out->drain_started++;
		return true;
	}
	if (s->last_weight_update_us > now) {
		s->last_weight_update_us = now;
		s->weight = 0;
		out->clock_resets++;
		return true;
	}
	if (elapsed_us(now, s->last_weight_update_us) >= st->drain_time_us) {
		hsdo_slot_clear(s);
		out->freed++;
		return true;
	}
	if (s->weight != 0) {
		s->weight = 0;
		return true;
	}
	return false;
}

/* Step 5. */
static int update_slots(struct work *w, struct hsdo_table *t, int64_t now,
			const struct hsdo_plan_server_settings *st,
			struct hsdo_plan_server_result *out)
{
	size_t i;
	bool took;
	int rc;

	for (i = 0; i < t->n; i++) {
		struct hsdo_slot *s = &t->slots[i];
		const struct hsdo_instance *in;
		bool wrote = false;

		if (s->state == HSDO_SLOT_FREE)
			continue;
		in = w->owner[i] == NO_SLOT ? NULL : w->ents[w->owner[i]].in;
		if (in != NULL && in->leaving)
			in = NULL;  /* drains as it was: same address, same name */
		if (in != NULL) {
			/* Matched by IP under another name: a table written by the
			 * original, or a private IP that AWS handed to a new
			 * instance. Either way the weight belongs to the slot's
			 * previous server: the newcomer starts its own ramp. */
			bool renamed = strcmp(s->name, in->id) != 0;

			if ((rc = slot_take_fields(t, s, in, &took)) != 0)
				return rc;
			if (took) {
				out->updated++;
				wrote = true;
			}
			if (renamed && (s->state == HSDO_SLOT_ACTIVE ||
					s->state == HSDO_SLOT_EJECTED)) {
				/* An ejection, too, was the previous server's. */
				s->state = HSDO_SLOT_ACTIVE;
				s->weight = st->min_weight;
				s->last_weight_update_us = now;
				hsdo_slot_clear_eject(s);
			} else if (s->state == HSDO_SLOT_EJECTED) {
				/* Stays out: fleet health (eject.h) decides when it
				 * comes back. */
			} else if (s->state == HSDO_SLOT_DRAINING) {
				s->state = HSDO_SLOT_ACTIVE;
				s->weight = st->min_weight;
				s->last_weight_update_us = now;
				out->reactivated++;
				wrote = true;
			} else if (ramp(s, now, st, out)) {
				wrote = true;
			}
		} else if (drain(s, now, st, out)) {
			wrote = true;
		}
		w->dirty[i] = wrote;
	}
	return 0;
}

/* Step 6. */
static int place_new(struct work *w, struct hsdo_table *t, int64_t now,
		     const struct hsdo_plan_server_settings *st,
		     struct hsdo_plan_server_result *out)
{
	size_t i, f = 0;
	bool took;
	int rc;

	for (i = 0; i < w->nents; i++) {
		const struct hsdo_instance *in = w->ents[i].in;
		struct hsdo_slot *s;

		if (w->ents[i].dup || w->ents[i].slot != NO_SLOT || in->leaving)
			continue;
		while (f < t->n && t->slots[f].state != HSDO_SLOT_FREE)
			f++;
		if (f == t->n) {
			if (out->overflow_ids == NULL) {
				out->overflow_ids = hsdo_calloc(HSDO_PLAN_SERVER_OVERFLOW_IDS,
								sizeof(*out->overflow_ids));
				if (out->overflow_ids == NULL)
					return -HSDO_ENOMEM;
			}
			if (out->noverflow_ids < HSDO_PLAN_SERVER_OVERFLOW_IDS)
				memcpy(out->overflow_ids[out->noverflow_ids++], in->id,
				       strlen(in->id) + 1);
			out->overflow++;
			continue;
		}
		s = &t->slots[f];
		hsdo_slot_clear(s);
		if ((rc = slot_take_fields(t, s, in, &took)) != 0)
			return rc;
		s->state = HSDO_SLOT_ACTIVE;
		s->weight = st->min_weight;
		s->last_weight_update_us = now;
		w->ents[i].slot = (uint32_t)f;
		w->dirty[f] = true;
		out->added++;
	}
	return 0;
}

/* Step 7. A written slot may still equal its input (a field set to the
 * value it had), so the list comes from comparing, not from the writes. */
static int list_changes(struct work *w, const struct hsdo_table *cur,
			struct hsdo_plan_server_result *out)
{
	const struct hsdo_table *t = &out->table;
	size_t i, n = 0;

	for (i = 0; i < t->n; i++) {
		if (w->dirty[i] && hsdo_slot_equal(&t->slots[i], &cur->slots[i]))
			w->dirty[i] = false;
		n += w->dirty[i];
	}
	if (n == 0)
		return 0;
	out->changed = hsdo_calloc(n, sizeof(*out->changed));
	if (out->changed == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < t->n; i++)
		if (w->dirty[i])
			out->changed[out->nchanged++] = t->slots[i].id;
	return 0;
}

int hsdo_plan_server(const struct hsdo_table *cur,
		     const struct hsdo_instance *inst, size_t ninst,
		     int64_t now_us,
		     const struct hsdo_plan_server_settings *st,
		     struct hsdo_plan_server_result *out)
{
	struct work w;
	size_t i;
	int rc;

	if (out == NULL)
		return -HSDO_EINVAL;
	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	if (cur == NULL || (inst == NULL && ninst > 0) ||
	    hsdo_plan_server_settings_check(st) != 0)
		return -HSDO_EINVAL;
	if (ninst > HSDO_PLAN_SERVER_INSTANCES_MAX)
		return -HSDO_ETOOBIG;

	/* Matching reads the copy: it equals cur until step 5 writes it. */
	if ((rc = table_copy_valid(&out->table, cur)) != 0 ||
	    (rc = collect(&w, inst, ninst, out)) != 0 ||
	    (rc = match_by_name(&w, &out->table)) != 0 ||
	    (rc = dedup_by_ip(&w, out)) != 0 ||
	    (rc = match_by_ip(&w)) != 0)
		goto fail;
	for (i = 0; i < w.nents; i++)
		out->bad_ip += !w.ents[i].dup && w.ents[i].bad_ip;

	if ((rc = update_slots(&w, &out->table, now_us, st, out)) != 0 ||
	    (rc = place_new(&w, &out->table, now_us, st, out)) != 0 ||
	    (rc = list_changes(&w, cur, out)) != 0 ||
	    (rc = hsdo_table_compact(&out->table)) != 0)
		goto fail;
	work_free(&w);
	return 0;
fail:
	work_free(&w);
	hsdo_plan_server_result_free(out);
	return rc;
}
