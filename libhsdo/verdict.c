/* Client-side verdicts (see hsdo/verdict.h). Pure. */
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/health.h"
#include "hsdo/report.h"
#include "hsdo/rtapi.h"
#include "hsdo/slot.h"
#include "hsdo/verdict.h"

#define CHK_ENABLED 0x04u
#define CHK_PAUSED  0x08u
#define PPM         UINT64_C(1000000)

uint32_t hsdo_verdict_ratio_ppm(double ratio)
{
	double v = ratio * 1e6 + 0.5;

	if (!(v >= 1.0))
		return 1;
	if (v >= 1e6)
		return 1000000;
	return (uint32_t)v;
}

enum hsdo_verdict hsdo_verdict_judge(uint64_t responses, uint64_t errors, enum hsdo_check check,
				     const struct hsdo_verdict_settings *st)
{
	bool volume = responses >= st->min_requests && responses > 0;

	if (errors > responses)
		errors = responses;
	if (check == HSDO_CHECK_DOWN)
		return HSDO_VERDICT_FAILING;
	if (volume) {
		/* errors / responses >= ppm / 1e6 in integers; counts that big
		 * (no window holds 2^44 responses) are scaled down first. */
		while (responses > UINT64_MAX / PPM) {
			responses >>= 1;
			errors >>= 1;
		}
		return errors * PPM >= responses * st->error_ratio_ppm ? HSDO_VERDICT_FAILING
									: HSDO_VERDICT_OK;
	}
	return check == HSDO_CHECK_UP ? HSDO_VERDICT_OK : HSDO_VERDICT_IDLE;
}

enum hsdo_check hsdo_verdict_check_of(const struct hsdo_srv_state *s)
{
	if ((s->check_state & CHK_ENABLED) == 0 || (s->check_state & CHK_PAUSED) != 0 ||
	    hsdo_rtapi_admin_is_maint(s->admin_state))
		return HSDO_CHECK_NONE;
	return s->op_state == HSDO_RTAPI_OP_STOPPED ? HSDO_CHECK_DOWN : HSDO_CHECK_UP;
}

/* ---- collect ------------------------------------------------------------------------ */

static int find_backend(const struct hsdo_verdict_backend *be, size_t nbe, const char *name,
			size_t len)
{
	size_t i;

	for (i = 0; i < nbe; i++)
		if (strlen(be[i].name) == len && memcmp(be[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static int input_cmp(const void *pa, const void *pb)
{
	const struct hsdo_verdict_input *a = pa, *b = pb;

	if (a->backend != b->backend)
		return a->backend < b->backend ? -1 : 1;
	return (a->slot > b->slot) - (a->slot < b->slot);
}

int hsdo_verdict_collect(const struct hsdo_health *h, int64_t now_ms,
			 const struct hsdo_servers_state *st,
			 const struct hsdo_verdict_backend *be, size_t nbe, uint32_t nslots,
			 struct hsdo_verdict_input **out, size_t *nout)
{
	size_t nkeys = h != NULL ? hsdo_health_count(h) : 0, nsrv = st != NULL ? st->n : 0;
	struct hsdo_verdict_input *v;
	struct hsdo_health_stats hs;
	size_t i, k = 0, m;
	uint32_t slot;
	int b;

	*out = NULL;
	*nout = 0;
	if ((nbe > 0 && be == NULL) || nbe > UINT32_MAX || nslots > HSDO_SLOTS_MAX)
		return -HSDO_EINVAL;
	if (nkeys + nsrv == 0)
		return 0;
	v = hsdo_calloc(nkeys + nsrv, sizeof(*v));
	if (v == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < nkeys; i++) {
		hsdo_health_get(h, i, now_ms, &hs);
		b = find_backend(be, nbe, hs.backend, strlen(hs.backend));
		if (b < 0 || hs.slot == 0 || hs.slot > nslots || hs.window_total == 0)
			continue;
		v[k].backend = (uint32_t)b;
		v[k].slot = hs.slot;
		v[k].responses = hs.window_total;
		v[k].errors = hs.window_errors;
		v[k++].check = HSDO_CHECK_NONE;
	}
	for (i = 0; i < nsrv; i++) {
		const struct hsdo_srv_state *s = &st->srv[i];
		enum hsdo_check c = hsdo_verdict_check_of(s);

		if (c == HSDO_CHECK_NONE ||
		    (b = find_backend(be, nbe, s->be_name, strlen(s->be_name))) < 0 ||
		    hsdo_slot_from_name(be[b].base_name, s->srv_name, strlen(s->srv_name), nslots,
					&slot) != 0)
			continue;
		v[k].backend = (uint32_t)b;
		v[k].slot = slot;
		v[k++].check = c;
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), input_cmp);
	/* Merge the health key and the check of one (backend, slot). */
	for (i = 0, m = 0; i < k; i++) {
		if (m > 0 && input_cmp(&v[m - 1], &v[i]) == 0) {
			v[m - 1].responses += v[i].responses;
			v[m - 1].errors += v[i].errors;
			if (v[i].check != HSDO_CHECK_NONE)
				v[m - 1].check = v[i].check;
			continue;
		}
		v[m++] = v[i];
	}
	if (m == 0) {
		hsdo_free(v);
		return 0;
	}
	*out = v;
	*nout = m;
	return 0;
}

/* ---- build -------------------------------------------------------------------------- */

static int by_slot(const void *pa, const void *pb)
{
	const struct hsdo_verdict_input *a = pa, *b = pb;

	return (a->slot > b->slot) - (a->slot < b->slot);
}

static uint32_t sat32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Severity order: idle < ok < failing; checks: none < up < down. */
static void merge(struct hsdo_report_slot *e, const struct hsdo_verdict_input *in,
		  const struct hsdo_verdict_settings *st, uint64_t *resp, uint64_t *errs)
{
	enum hsdo_verdict v = hsdo_verdict_judge(in->responses, in->errors, in->check, st);
	uint64_t errors = in->errors > in->responses ? in->responses : in->errors;

	if (v > e->verdict)
		e->verdict = v;
	if (in->check > e->check)
		e->check = in->check;
	*resp = *resp + in->responses < *resp ? UINT64_MAX : *resp + in->responses;
	*errs = *errs + errors < *errs ? UINT64_MAX : *errs + errors;
}

/* Keep at most HSDO_REPORT_SLOTS_MAX of e[0..*n): the highest idle
 * entries go first, then the highest slots. Returns how many went. */
static size_t trim(struct hsdo_report_slot *e, size_t *n)
{
	size_t i, k, excess, drop = 0;

	if (*n <= HSDO_REPORT_SLOTS_MAX)
		return 0;
	excess = *n - HSDO_REPORT_SLOTS_MAX;
	for (i = *n; i-- > 0 && drop < excess;)
		if (e[i].verdict == HSDO_VERDICT_IDLE) {
			e[i].slot = 0;
			drop++;
		}
	for (i = 0, k = 0; i < *n; i++)
		if (e[i].slot != 0)
			e[k++] = e[i];
	*n = k;
	if (*n > HSDO_REPORT_SLOTS_MAX) {
		drop += *n - HSDO_REPORT_SLOTS_MAX;
		*n = HSDO_REPORT_SLOTS_MAX;
	}
	return drop;
}

int hsdo_verdict_build(const struct hsdo_verdict_input *in, size_t n,
		       const struct hsdo_verdict_settings *st,
		       struct hsdo_report_slot **out, size_t *nout, size_t *dropped)
{
	struct hsdo_verdict_input *v;
	struct hsdo_report_slot *e;
	uint64_t resp = 0, errs = 0;
	size_t i, k = 0;

	*out = NULL;
	*nout = 0;
	if (dropped != NULL)
		*dropped = 0;
	if ((n > 0 && in == NULL) || st == NULL || st->min_requests == 0 ||
	    st->error_ratio_ppm == 0 || st->error_ratio_ppm > PPM)
		return -HSDO_EINVAL;
	if (n == 0)
		return 0;
	v = hsdo_calloc(n, sizeof(*v));
	e = hsdo_calloc(n, sizeof(*e));
	if (v == NULL || e == NULL) {
		hsdo_free(v);
		hsdo_free(e);
		return -HSDO_ENOMEM;
	}
	memcpy(v, in, n * sizeof(*v));
	qsort(v, n, sizeof(*v), by_slot);
	for (i = 0; i < n; i++) {
		if (v[i].slot == 0 || v[i].slot > HSDO_SLOTS_MAX ||
		    (unsigned)v[i].check >= HSDO_CHECK_COUNT)
			continue;
		if (k == 0 || e[k - 1].slot != v[i].slot) {
			if (k > 0) {
				e[k - 1].responses = sat32(resp);
				e[k - 1].errors = sat32(errs);
			}
			memset(&e[k], 0, sizeof(e[k]));
			e[k++].slot = v[i].slot;
			resp = errs = 0;
		}
		merge(&e[k - 1], &v[i], st, &resp, &errs);
	}
	if (k > 0) {
		e[k - 1].responses = sat32(resp);
		e[k - 1].errors = sat32(errs);
	}
	hsdo_free(v);
	/* An idle slot without a single response says nothing. */
	for (i = 0, n = 0; i < k; i++)
		if (e[i].verdict != HSDO_VERDICT_IDLE || e[i].responses > 0)
			e[n++] = e[i];
	i = trim(e, &n);
	if (dropped != NULL)
		*dropped = i;
	if (n == 0) {
		hsdo_free(e);
		return 0;
	}
	*out = e;
	*nout = n;
	return 0;
}

/* ---- when to write -------------------------------------------------------------------- */

/* The next non-idle entry of e[0..n) from *i on, or NULL. */
static const struct hsdo_report_slot *next_vote(const struct hsdo_report_slot *e, size_t n,
						size_t *i)
{
	while (*i < n && e[*i].verdict == HSDO_VERDICT_IDLE)
		(*i)++;
	return *i < n ? &e[(*i)++] : NULL;
}

bool hsdo_verdict_changed(const struct hsdo_report_slot *a, size_t na,
			  const struct hsdo_report_slot *b, size_t nb)
{
	const struct hsdo_report_slot *x, *y;
	size_t i = 0, j = 0;

	for (;;) {
		x = next_vote(a, na, &i);
		y = next_vote(b, nb, &j);
		if (x == NULL || y == NULL)
			return x != y;
		if (x->slot != y->slot || x->verdict != y->verdict)
			return true;
	}
}

bool hsdo_verdict_due(int64_t last_ms, int64_t now_ms, bool changed, int64_t min_gap_ms,
		      int64_t heartbeat_ms)
{
	int64_t gap;

	if (last_ms < 0 || now_ms < last_ms)
		return true;
	gap = now_ms - last_ms;
	return gap >= heartbeat_ms || (changed && gap >= min_gap_ms);
}
