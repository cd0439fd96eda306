/* Server-side fleet health: ejection, return, outliers, the cap (see
 * hsdo/eject.h). Pure. Decisions are made on a scratch copy of what each
 * slot becomes and applied last, so a failed allocation changes nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/eject.h"
#include "hsdo/err.h"
#include "hsdo/report.h"
#include "hsdo/slot.h"

#define PPM UINT64_C(1000000)

enum todo { T_NONE = 0, T_EJECT, T_READMIT, T_CAPPED };

/* One report as used: the later of several with one id. */
struct rref {
	const struct hsdo_report *r;
	bool outlier;
	unsigned voting, failing;
};

/* A slot a quorum calls failing, with what the cap orders it by. */
struct cand {
	const char *group;
	unsigned failing, voters, median_pct;
	size_t idx;
};

/* One failing vote's error ratio, for the medians. */
struct pct {
	uint32_t slot;
	unsigned pct;
};

struct work {
	struct rref *refs;
	size_t nrefs;
	struct hsdo_eject_tally *tally;   /* per table index */
	enum hsdo_eject_cause *cause;
	unsigned char *todo;              /* enum todo per table index */
	bool *forget;                     /* step 3, per table index */
	bool *errors_vote;                /* a failing vote that counts errors */
	struct pct *pcts;
	size_t npcts;
	struct cand *cands;               /* slots a quorum calls failing */
	const char **reason;              /* T_EJECT: the reason, in t's set */
};

const char *hsdo_eject_kind_str(enum hsdo_eject_kind k)
{
	static const char *const names[HSDO_EJECT_KIND_COUNT] = {
		"ejected", "readmitted", "capped", "forgotten",
	};

	return (unsigned)k < HSDO_EJECT_KIND_COUNT ? names[k] : "unknown";
}

const char *hsdo_eject_cause_str(enum hsdo_eject_cause c)
{
	static const char *const names[HSDO_EJECT_CAUSE_COUNT] = { "errors", "check" };

	return (unsigned)c < HSDO_EJECT_CAUSE_COUNT ? names[c] : "unknown";
}

int hsdo_eject_settings_check(const struct hsdo_eject_settings *st)
{
	if (st == NULL || st->quorum_ppm > PPM || st->eject_time_ms < 1 ||
	    st->eject_time_ms > HSDO_EJECT_TIME_MAX_MS || st->max_ejected_percent < 1 ||
	    st->max_ejected_percent > 100 || st->min_weight > st->max_weight ||
	    st->max_weight > HSDO_WEIGHT_MAX || st->error_ratio_ppm > PPM)
		return -HSDO_EINVAL;
	return 0;
}

void hsdo_eject_result_free(struct hsdo_eject_result *r)
{
	if (r == NULL)
		return;
	hsdo_free(r->events);
	hsdo_free(r->outliers);
	hsdo_free(r->asg_due);
	memset(r, 0, sizeof(*r));
}

static void pct_text(uint32_t ppm, char *buf, size_t len)
{
	if (ppm % 10000 == 0)
		snprintf(buf, len, "%u", ppm / 10000);
	else
		snprintf(buf, len, "%.1f", (double)ppm / 10000.0);
}

const char *hsdo_eject_reason(const struct hsdo_eject_tally *v, enum hsdo_eject_cause c,
			      uint32_t ratio_ppm, char *buf, size_t len)
{
	const char *who = v->voters == 1 ? "HAProxy sees" : "HAProxies see";
	char ratio[16];

	pct_text(ratio_ppm, ratio, sizeof(ratio));
	if (c == HSDO_EJECT_CAUSE_CHECK)
		snprintf(buf, len, "%u of %u %s its check DOWN", v->failing, v->voters, who);
	else
		snprintf(buf, len, "%u of %u %s errors ≥ %s %%%s (median %u %%)", v->failing,
			 v->voters, who, ratio, v->by_check > 0 ? " or its check DOWN" : "",
			 v->median_pct);
	return buf;
}

static void work_free(struct work *w)
{
	hsdo_free(w->refs);
	hsdo_free(w->tally);
	hsdo_free(w->cause);
	hsdo_free(w->todo);
	hsdo_free(w->forget);
	hsdo_free(w->errors_vote);
	hsdo_free(w->pcts);
	hsdo_free(w->cands);
	hsdo_free(w->reason);
}

/* ---- reports ------------------------------------------------------------------------- */

static int rref_cmp(const void *pa, const void *pb)
{
	const struct rref *a = pa, *b = pb;
	int c = strcmp(a->r->client_id, b->r->client_id);

	if (c != 0)
		return c;
	/* the later written first, then the higher generation */
	if (a->r->written_ms != b->r->written_ms)
		return a->r->written_ms > b->r->written_ms ? -1 : 1;
	return (a->r->generation < b->r->generation) - (a->r->generation > b->r->generation);
}

/* Step 1: the fresh reports, one per client id, sorted by id. */
static int take_reports(struct work *w, const struct hsdo_report *rep, size_t nrep,
			int64_t now_ms, struct hsdo_eject_result *out)
{
	size_t i, k;

	if (nrep == 0)
		return 0;
	w->refs = hsdo_calloc(nrep, sizeof(*w->refs));
	if (w->refs == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < nrep; i++) {
		if (!hsdo_report_fresh(&rep[i], now_ms) ||
		    memchr(rep[i].client_id, '\0', sizeof(rep[i].client_id)) == NULL) {
			out->expired++;
			continue;
		}
		w->refs[w->nrefs++].r = &rep[i];
	}
	if (w->nrefs > 1)
		qsort(w->refs, w->nrefs, sizeof(*w->refs), rref_cmp);
	for (i = 0, k = 0; i < w->nrefs; i++) {
		if (k > 0 && strcmp(w->refs[k - 1].r->client_id, w->refs[i].r->client_id) == 0) {
			out->expired++;   /* superseded by the same client's later one */
			continue;
		}
		w->refs[k++] = w->refs[i];
	}
	w->nrefs = k;
	out->fresh = k;
	return 0;
}

static bool in_service(const struct hsdo_slot *s)
{
	return s->state == HSDO_SLOT_ACTIVE || s->state == HSDO_SLOT_EJECTED;
}

/* Step 4: a client is an outlier when more than half of the in-service
 * slots it votes on (two or more) are failing for it and ok for most of
 * the other clients that vote on them. */
static int find_outliers(struct work *w, const struct hsdo_table *t)
{
	unsigned *ok, *bad;
	size_t i, j;

	ok = hsdo_calloc(t->n, sizeof(*ok));
	bad = hsdo_calloc(t->n, sizeof(*bad));
	if (ok == NULL || bad == NULL) {
		hsdo_free(ok);
		hsdo_free(bad);
		return -HSDO_ENOMEM;
	}
	for (i = 0; i < w->nrefs; i++) {
		const struct hsdo_report *r = w->refs[i].r;

		for (j = 0; j < r->n; j++) {
			const struct hsdo_report_slot *e = &r->slots[j];

			if (e->slot < 1 || e->slot > t->n || e->verdict == HSDO_VERDICT_IDLE ||
			    (unsigned)e->verdict >= HSDO_VERDICT_COUNT ||
			    !in_service(&t->slots[e->slot - 1]))
				continue;
			w->refs[i].voting++;
			if (e->verdict == HSDO_VERDICT_FAILING)
				bad[e->slot - 1]++;
			else
				ok[e->slot - 1]++;
		}
	}
	for (i = 0; i < w->nrefs; i++) {
		const struct hsdo_report *r = w->refs[i].r;
		unsigned against = 0;

		for (j = 0; j < r->n; j++) {
			const struct hsdo_report_slot *e = &r->slots[j];
			size_t x = e->slot - 1;

			if (e->slot < 1 || e->slot > t->n || e->verdict != HSDO_VERDICT_FAILING ||
			    !in_service(&t->slots[x]))
				continue;
			w->refs[i].failing++;
			/* the others: every vote but this one, a failing one */
			against += ok[x] > bad[x] - 1;
		}
		w->refs[i].outlier = w->refs[i].voting >= 2 && 2 * against > w->refs[i].voting;
	}
	hsdo_free(ok);
	hsdo_free(bad);
	return 0;
}

static int pct_cmp(const void *pa, const void *pb)
{
	const struct pct *a = pa, *b = pb;

	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	return (a->pct > b->pct) - (a->pct < b->pct);
}

/* Step 5. */
static int tally_votes(struct work *w, const struct hsdo_table *t, const uint64_t *min_gen,
		       struct hsdo_eject_result *out)
{
	size_t i, j, k, np = 0;

	for (i = 0; i < w->nrefs; i++)
		if (!w->refs[i].outlier)
			np += w->refs[i].r->n;
	if (np > 0 && (w->pcts = hsdo_calloc(np, sizeof(*w->pcts))) == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < w->nrefs; i++) {
		const struct hsdo_report *r = w->refs[i].r;

		if (w->refs[i].outlier)
			continue;
		for (j = 0; j < r->n; j++) {
			const struct hsdo_report_slot *e = &r->slots[j];
			struct hsdo_eject_tally *v;
			size_t x;

			if (e->slot < 1 || e->slot > t->n || e->verdict == HSDO_VERDICT_IDLE ||
			    (unsigned)e->verdict >= HSDO_VERDICT_COUNT)
				continue;
			x = e->slot - 1;
			if (t->slots[x].state != HSDO_SLOT_ACTIVE)
				continue;
			v = &w->tally[x];
			v->voters++;
			/* A stale vote is not failing, but it is a vote: the quorum
			 * waits for the clients to judge the slot as it is now, rather
			 * than follow the first one that does. */
			if (min_gen != NULL && r->generation < min_gen[x]) {
				out->stale++;
				continue;
			}
			if (e->verdict != HSDO_VERDICT_FAILING)
				continue;
			v->failing++;
			if (e->check == HSDO_CHECK_DOWN)
				v->by_check++;
			else
				w->errors_vote[x] = true;
			if (e->responses > 0) {
				w->pcts[w->npcts].slot = e->slot;
				w->pcts[w->npcts++].pct = (unsigned)((uint64_t)e->errors * 100 /
								     e->responses);
			}
		}
	}
	if (w->npcts > 1)
		qsort(w->pcts, w->npcts, sizeof(*w->pcts), pct_cmp);
	for (i = 0; i < w->npcts; i = k) {
		for (k = i; k < w->npcts && w->pcts[k].slot == w->pcts[i].slot; k++)
			;
		w->tally[w->pcts[i].slot - 1].median_pct = w->pcts[i + (k - i) / 2].pct;
	}
	for (i = 0; i < t->n; i++)
		w->cause[i] = w->errors_vote[i] ? HSDO_EJECT_CAUSE_ERRORS : HSDO_EJECT_CAUSE_CHECK;
	return 0;
}

static bool quorum_failing(const struct hsdo_eject_tally *v, uint32_t quorum_ppm)
{
	return v->voters > 0 && (uint64_t)v->failing * PPM > (uint64_t)quorum_ppm * v->voters;
}

/* ---- the cap ------------------------------------------------------------------------- */

/* Group, then the most failing first: share of failing votes, median
 * error ratio, slot. */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;
	int c = strcmp(a->group, b->group);
	uint64_t x, y;

	if (c != 0)
		return c;
	x = (uint64_t)a->failing * b->voters;
	y = (uint64_t)b->failing * a->voters;
	if (x != y)
		return x > y ? -1 : 1;
	if (a->median_pct != b->median_pct)
		return a->median_pct > b->median_pct ? -1 : 1;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* In-service and ejected slots of group g, after the returns of this step. */
static void group_counts(const struct work *w, const struct hsdo_table *t, const char *g,
			 size_t *in, size_t *ejected)
{
	size_t i;

	*in = *ejected = 0;
	for (i = 0; i < t->n; i++) {
		if (!in_service(&t->slots[i]) || strcmp(t->slots[i].group, g) != 0)
			continue;
		(*in)++;
		*ejected += t->slots[i].state == HSDO_SLOT_EJECTED && w->todo[i] != T_READMIT;
	}
}

/* Step 6: mark the candidates T_EJECT or T_CAPPED. */
static int apply_cap(struct work *w, const struct hsdo_table *t,
		     const struct hsdo_eject_settings *st)
{
	size_t i, k, n = 0, in, ej, limit, allowed, g;

	for (i = 0; i < t->n; i++)
		if (t->slots[i].state == HSDO_SLOT_ACTIVE && w->todo[i] == T_NONE &&
		    quorum_failing(&w->tally[i], st->quorum_ppm))
			n++;
	if (n == 0)
		return 0;
	w->cands = hsdo_calloc(n, sizeof(*w->cands));
	if (w->cands == NULL)
		return -HSDO_ENOMEM;
	for (i = 0, k = 0; i < t->n; i++) {
		if (t->slots[i].state != HSDO_SLOT_ACTIVE || w->todo[i] != T_NONE ||
		    !quorum_failing(&w->tally[i], st->quorum_ppm))
			continue;
		w->cands[k].group = t->slots[i].group;
		w->cands[k].failing = w->tally[i].failing;
		w->cands[k].voters = w->tally[i].voters;
		w->cands[k].median_pct = w->tally[i].median_pct;
		w->cands[k++].idx = i;
	}
	qsort(w->cands, n, sizeof(*w->cands), cand_cmp);
	for (g = 0; g < n; g = k) {
		const char *grp = w->cands[g].group;

		for (k = g; k < n && strcmp(w->cands[k].group, grp) == 0; k++)
			;
		/* Groups are a handful: one pass over the table per group. */
		group_counts(w, t, grp, &in, &ej);
		limit = in * st->max_ejected_percent / 100;
		if (limit < 1)
			limit = 1;
		allowed = limit > ej ? limit - ej : 0;
		if (allowed > in - ej - 1)
			allowed = in - ej - 1;   /* never the last active one */
		for (i = g; i < k; i++)
			w->todo[w->cands[i].idx] = i - g < allowed ? T_EJECT : T_CAPPED;
	}
	return 0;
}

/* ---- applying ----------------------------------------------------------------------- */

static int64_t eject_duration(uint32_t count, int64_t base)
{
	if (count == 0 || (uint64_t)count > (uint64_t)(HSDO_EJECT_TIME_MAX_MS / base))
		return HSDO_EJECT_TIME_MAX_MS;
	return base * count < HSDO_EJECT_TIME_MAX_MS ? base * count : HSDO_EJECT_TIME_MAX_MS;
}

static struct hsdo_eject_event *add_event(struct hsdo_eject_result *out,
					  enum hsdo_eject_kind k, const struct hsdo_slot *s)
{
	struct hsdo_eject_event *ev = &out->events[out->nevents++];

	ev->kind = k;
	ev->slot = s->id;
	out->counts[k]++;
	return ev;
}

/* The reason of each ejection, interned in t's set before t changes (an
 * unused one is only a dead string, which hsdo_table_compact reclaims). */
static int intern_reasons(struct work *w, struct hsdo_table *t,
			  const struct hsdo_eject_settings *st)
{
	char buf[HSDO_EJECT_REASON_LEN];
	size_t i;
	int rc;

	for (i = 0; i < t->n; i++) {
		if (w->todo[i] != T_EJECT)
			continue;
		if (w->reason == NULL &&
		    (w->reason = hsdo_calloc(t->n, sizeof(*w->reason))) == NULL)
			return -HSDO_ENOMEM;
		hsdo_eject_reason(&w->tally[i], w->cause[i], st->error_ratio_ppm, buf, sizeof(buf));
		if ((rc = hsdo_table_set(t, &w->reason[i], sizeof(buf), buf)) != 0)
			return rc;
	}
	return 0;
}

static void apply(struct work *w, struct hsdo_table *t, int64_t now_ms,
		  const struct hsdo_eject_settings *st, struct hsdo_eject_result *out)
{
	int64_t now_us = now_ms * 1000;
	struct hsdo_eject_event *ev;
	size_t i;

	for (i = 0; i < t->n; i++) {
		struct hsdo_slot *s = &t->slots[i];

		if (w->forget[i]) {
			hsdo_slot_clear_eject(s);
			add_event(out, HSDO_EJECT_FORGOTTEN, s);
		}
		switch (w->todo[i]) {
		case T_READMIT:
			s->state = HSDO_SLOT_ACTIVE;
			s->weight = st->min_weight;
			s->last_weight_update_us = now_us;
			s->ejected_until_ms = 0;
			s->eject_reason = "";
			add_event(out, HSDO_EJECT_READMITTED, s)->count = s->eject_count;
			break;
		case T_EJECT:
			if (s->eject_count == 0 || s->eject_since_ms == 0)
				s->eject_since_ms = now_ms;
			if (s->eject_count < UINT32_MAX)
				s->eject_count++;
			ev = add_event(out, HSDO_EJECT_EJECTED, s);
			ev->duration_ms = eject_duration(s->eject_count, st->eject_time_ms);
			ev->votes = w->tally[i];
			ev->cause = w->cause[i];
			ev->count = s->eject_count;
			s->state = HSDO_SLOT_EJECTED;
			s->weight = 0;
			s->last_weight_update_us = now_us;
			s->ejected_until_ms = now_ms + ev->duration_ms;
			s->eject_reason = w->reason[i];
			break;
		case T_CAPPED:
			ev = add_event(out, HSDO_EJECT_CAPPED, s);
			ev->votes = w->tally[i];
			ev->cause = w->cause[i];
			ev->count = s->eject_count;
			break;
		default:
			break;
		}
	}
}

static int list_outliers(struct work *w, struct hsdo_eject_result *out)
{
	size_t i;

	for (i = 0; i < w->nrefs; i++)
		out->outlier_count += w->refs[i].outlier;
	if (out->outlier_count == 0)
		return 0;
	out->outliers = hsdo_calloc(out->outlier_count < HSDO_EJECT_OUTLIERS_MAX ?
				    out->outlier_count : HSDO_EJECT_OUTLIERS_MAX,
				    sizeof(*out->outliers));
	if (out->outliers == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < w->nrefs && out->noutliers < HSDO_EJECT_OUTLIERS_MAX; i++) {
		struct hsdo_eject_outlier *o = &out->outliers[out->noutliers];

		if (!w->refs[i].outlier)
			continue;
		memcpy(o->client_id, w->refs[i].r->client_id, sizeof(o->client_id));
		o->failing = w->refs[i].failing;
		o->voting = w->refs[i].voting;
		out->noutliers++;
	}
	return 0;
}

/* Room for the Auto Scaling list: the slots ejected after the step. */
static int asg_room(const struct work *w, const struct hsdo_table *t,
		    const struct hsdo_eject_settings *st, struct hsdo_eject_result *out)
{
	size_t i, n = 0;

	if (st->asg_after_ms < 0)
		return 0;
	for (i = 0; i < t->n; i++)
		n += w->todo[i] == T_EJECT ||
		     (t->slots[i].state == HSDO_SLOT_EJECTED && w->todo[i] != T_READMIT);
	if (n > 0 && (out->asg_due = hsdo_calloc(n, sizeof(*out->asg_due))) == NULL)
		return -HSDO_ENOMEM;
	return 0;
}

/* After apply: count the ejected slots, list those due for SetInstanceHealth. */
static void list_asg(const struct hsdo_table *t, int64_t now_ms,
		     const struct hsdo_eject_settings *st, struct hsdo_eject_result *out)
{
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct hsdo_slot *s = &t->slots[i];

		if (s->state != HSDO_SLOT_EJECTED)
			continue;
		out->ejected++;
		if (out->asg_due != NULL && s->eject_since_ms > 0 &&
		    now_ms - s->eject_since_ms >= st->asg_after_ms)
			out->asg_due[out->nasg_due++] = s->id;
	}
}

/* Steps 2 and 3. */
static void mark_returns(struct work *w, const struct hsdo_table *t, int64_t now_ms,
			 const struct hsdo_eject_settings *st)
{
	int64_t now_us = now_ms * 1000;
	size_t i;

	for (i = 0; i < t->n; i++) {
		const struct hsdo_slot *s = &t->slots[i];

		if (s->state == HSDO_SLOT_EJECTED && (!st->enabled || s->ejected_until_ms <= now_ms))
			w->todo[i] = T_READMIT;
		else if (s->state == HSDO_SLOT_ACTIVE && s->eject_count > 0 &&
			 s->weight >= st->max_weight && s->last_weight_update_us <= now_us &&
			 now_us - s->last_weight_update_us >= (int64_t)HSDO_EJECT_TIME_MAX_MS * 1000)
			w->forget[i] = true;
	}
}

int hsdo_eject_plan(struct hsdo_table *t, const struct hsdo_report *rep, size_t nrep,
		    const uint64_t *min_gen, int64_t now_ms, const struct hsdo_eject_settings *st,
		    struct hsdo_eject_result *out)
{
	struct work w;
	size_t i, nev;
	int rc = -HSDO_ENOMEM;

	if (out == NULL)
		return -HSDO_EINVAL;
	memset(out, 0, sizeof(*out));
	memset(&w, 0, sizeof(w));
	if (t == NULL || (t->n > 0 && t->slots == NULL) || t->n > HSDO_SLOTS_MAX ||
	    (nrep > 0 && rep == NULL) || nrep > HSDO_REPORT_SET_MAX ||
	    hsdo_eject_settings_check(st) != 0 || now_ms < 0)
		return -HSDO_EINVAL;
	for (i = 0; i < t->n; i++)
		if (t->slots[i].id != i + 1 || t->slots[i].group == NULL)
			return -HSDO_EINVAL;
	if (t->n == 0)
		return 0;
	w.tally = hsdo_calloc(t->n, sizeof(*w.tally));
	w.cause = hsdo_calloc(t->n, sizeof(*w.cause));
	w.todo = hsdo_calloc(t->n, sizeof(*w.todo));
	w.errors_vote = hsdo_calloc(t->n, sizeof(*w.errors_vote));
	w.forget = hsdo_calloc(t->n, sizeof(*w.forget));
	if (w.tally == NULL || w.cause == NULL || w.todo == NULL || w.errors_vote == NULL ||
	    w.forget == NULL)
		goto fail;
	mark_returns(&w, t, now_ms, st);
	if (st->enabled) {
		if ((rc = take_reports(&w, rep, nrep, now_ms, out)) != 0)
			goto fail;
		if ((rc = find_outliers(&w, t)) != 0 ||
		    (rc = tally_votes(&w, t, min_gen, out)) != 0 ||
		    (rc = apply_cap(&w, t, st)) != 0 ||
		    (rc = list_outliers(&w, out)) != 0)
			goto fail;
	}
	for (i = 0, nev = 0; i < t->n; i++)
		nev += (w.todo[i] != T_NONE) + w.forget[i];
	if (nev > 0 && (out->events = hsdo_calloc(nev, sizeof(*out->events))) == NULL) {
		rc = -HSDO_ENOMEM;
		goto fail;
	}
	if ((rc = asg_room(&w, t, st, out)) != 0 || (rc = intern_reasons(&w, t, st)) != 0)
		goto fail;
	/* Nothing can fail from here on: t changes only now. */
	apply(&w, t, now_ms, st, out);
	list_asg(t, now_ms, st, out);
	work_free(&w);
	return 0;
fail:
	work_free(&w);
	hsdo_eject_result_free(out);
	return rc;
}
