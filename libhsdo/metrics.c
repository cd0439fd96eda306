/* Metrics registry and Prometheus text format 0.0.4: see include/hsdo/metrics.h.
 *
 * Each family keeps its series in creation order (the rendering order) plus
 * an open-addressing index on the label values, so the agent can set one
 * series per slot of a 100,000-slot table without a quadratic scan. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/metrics.h"

struct series {
	char *lv;                /* label values, each NUL-terminated, back to back */
	double value;            /* counter, gauge */
	uint64_t *bucket;        /* histogram: per-bucket counts (not cumulative) */
	double sum;
	uint64_t count;
};

struct family {
	const struct hsdo_metrics_family_desc *d;
	size_t nlabels;
	struct series *s;
	size_t n, cap;
	size_t *index;           /* series index + 1; 0 is an empty cell */
	size_t icap;             /* 0 or a power of two, kept > 2n */
};

struct hsdo_metrics {
	struct family *f;
	size_t n;
};

const char *hsdo_metrics_type_str(enum hsdo_metrics_type t)
{
	static const char *const names[HSDO_METRICS_TYPE_COUNT] = {
		[HSDO_METRICS_COUNTER] = "counter",
		[HSDO_METRICS_GAUGE] = "gauge",
		[HSDO_METRICS_HISTOGRAM] = "histogram",
	};

	return (unsigned)t < HSDO_METRICS_TYPE_COUNT ? names[t] : "unknown";
}

/* ---- validation ---------------------------------------------------------- */

static bool name_valid(const char *s, bool colon)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
		    (colon && c == ':') || (i > 0 && c >= '0' && c <= '9'))
			continue;
		return false;
	}
	return true;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* Well-formed UTF-8 (no overlong forms, surrogates or code points past
 * U+10FFFF), which the exposition format requires of label values. */
static bool utf8_valid(const unsigned char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = s[i];
		size_t k, len;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			len = 2;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			len = 3;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += len;
	}
	return true;
}

static int desc_check(const struct hsdo_metrics_family_desc *desc, size_t fi,
		      size_t *nlabels, char *err, size_t errlen)
{
	const struct hsdo_metrics_family_desc *d = &desc[fi];
	const char *name = d->name ? d->name : "(null)";
	size_t i, j, nl = 0;

	if (!name_valid(d->name, true))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "family %zu: invalid metric name '%s'",
				   fi, name);
	if ((unsigned)d->type >= HSDO_METRICS_TYPE_COUNT || d->help == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: no help text or unknown type",
				   name);
	if (d->type == HSDO_METRICS_COUNTER && ends_with(d->name, "_total"))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: counter names omit '_total' "
				   "(the renderer adds it)", name);
	for (i = 0; i < fi; i++)
		if (strcmp(desc[i].name, d->name) == 0)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: defined twice", name);
	while (nl < HSDO_METRICS_LABELS_MAX && d->labels[nl] != NULL)
		nl++;
	for (i = 0; i < nl; i++) {
		if (!name_valid(d->labels[i], false) || strncmp(d->labels[i], "__", 2) == 0 ||
		    (d->type == HSDO_METRICS_HISTOGRAM && strcmp(d->labels[i], "le") == 0))
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: invalid label name '%s'",
					   name, d->labels[i]);
		for (j = 0; j < i; j++)
			if (strcmp(d->labels[i], d->labels[j]) == 0)
				return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: label '%s' "
						   "given twice", name, d->labels[i]);
	}
	if (d->type == HSDO_METRICS_HISTOGRAM) {
		if (d->buckets == NULL || d->nbuckets == 0 || d->nbuckets > HSDO_METRICS_BUCKETS_MAX)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: a histogram needs 1..%d "
					   "buckets", name, HSDO_METRICS_BUCKETS_MAX);
		for (i = 0; i < d->nbuckets; i++)
			if (!isfinite(d->buckets[i]) || (i > 0 && d->buckets[i] <= d->buckets[i - 1]))
				return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s: bucket bounds must "
						   "be finite and strictly increasing", name);
	}
	*nlabels = nl;
	return 0;
}

int hsdo_metrics_new(const struct hsdo_metrics_family_desc *desc, size_t n,
		     struct hsdo_metrics **out, char *err, size_t errlen)
{
	struct hsdo_metrics *m;
	size_t i, nl;
	int rc;

	if (desc == NULL || n == 0 || n > HSDO_METRICS_FAMILIES_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "1..%d families expected, got %zu",
				   HSDO_METRICS_FAMILIES_MAX, desc == NULL ? (size_t)0 : n);
	for (i = 0; i < n; i++) {
		rc = desc_check(desc, i, &nl, err, errlen);
		if (rc != 0)
			return rc;
	}
	m = hsdo_calloc(1, sizeof(*m));
	if (m == NULL)
		return -HSDO_ENOMEM;
	m->f = hsdo_calloc(n, sizeof(*m->f));
	if (m->f == NULL) {
		hsdo_free(m);
		return -HSDO_ENOMEM;
	}
	m->n = n;
	for (i = 0; i < n; i++) {
		m->f[i].d = &desc[i];
		(void)desc_check(desc, i, &m->f[i].nlabels, NULL, 0);
	}
	*out = m;
	return 0;
}

static void series_release(struct series *s)
{
	hsdo_free(s->lv);
	hsdo_free(s->bucket);
}

void hsdo_metrics_clear(struct hsdo_metrics *m, size_t fam)
{
	struct family *f;
	size_t i;

	if (m == NULL || fam >= m->n)
		return;
	f = &m->f[fam];
	for (i = 0; i < f->n; i++)
		series_release(&f->s[i]);
	f->n = 0;
	if (f->index != NULL)
		memset(f->index, 0, f->icap * sizeof(*f->index));
}

void hsdo_metrics_free(struct hsdo_metrics *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->n; i++) {
		hsdo_metrics_clear(m, i);
		hsdo_free(m->f[i].s);
		hsdo_free(m->f[i].index);
	}
	hsdo_free(m->f);
	hsdo_free(m);
}

/* ---- series lookup ------------------------------------------------------- */

/* FNV-1a over each value and its terminating NUL, so ("a","bc") and
 * ("ab","c") differ. */
static size_t values_hash(const char *const *values, size_t n)
{
	uint64_t h = 14695981039346656037ull;
	size_t i;
	const unsigned char *p;

	for (i = 0; i < n; i++) {
		for (p = (const unsigned char *)values[i]; ; p++) {
			h = (h ^ *p) * 1099511628211ull;
			if (*p == '\0')
				break;
		}
	}
	return (size_t)h;
}

static bool values_equal(const char *lv, const char *const *values, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(lv, values[i]) != 0)
			return false;
		lv += strlen(lv) + 1;
	}
	return true;
}

/* The index cell for values: the one holding its series, or the empty one
 * where it would go. icap must be non-zero. */
static size_t *index_cell(const struct family *f, const char *const *values, size_t hash)
{
	size_t mask = f->icap - 1, i = hash & mask, k;

	for (;;) {
		k = f->index[i];
		if (k == 0 || values_equal(f->s[k - 1].lv, values, f->nlabels))
			return &f->index[i];
		i = (i + 1) & mask;
	}
}

static int values_check(const struct family *f, const char *const *values, size_t *total)
{
	size_t i, len;

	*total = 0;
	if (f->nlabels > 0 && values == NULL)
		return -HSDO_EINVAL;
	for (i = 0; i < f->nlabels; i++) {
		if (values[i] == NULL)
			return -HSDO_EINVAL;
		len = strlen(values[i]);
		if (len > HSDO_METRICS_VALUE_MAX)
			return -HSDO_ETOOBIG;
		if (!utf8_valid((const unsigned char *)values[i], len))
			return -HSDO_EINVAL;
		*total += len + 1;
	}
	return 0;
}

/* Rebuild the index at twice its size (at least 16 cells); the series
 * array is unchanged. */
static int index_grow(struct family *f)
{
	size_t ncap = f->icap ? f->icap * 2 : 16, i, mask = ncap - 1, h;
	size_t *idx = hsdo_calloc(ncap, sizeof(*idx));
	const char *vals[HSDO_METRICS_LABELS_MAX];

	if (idx == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < f->n; i++) {
		const char *p = f->s[i].lv;
		size_t j;

		for (j = 0; j < f->nlabels; j++) {
			vals[j] = p;
			p += strlen(p) + 1;
		}
		for (h = values_hash(vals, f->nlabels) & mask; idx[h] != 0; h = (h + 1) & mask)
			;
		idx[h] = i + 1;
	}
	hsdo_free(f->index);
	f->index = idx;
	f->icap = ncap;
	return 0;
}

/* Find or create the series of fam with these values. On error nothing
 * observable changes (the arrays may have grown). */
static int series_get(struct hsdo_metrics *m, size_t fam, const char *const *values,
		      struct series **out)
{
	struct family *f;
	struct series *s;
	size_t total, hash, *cell, i;
	char *p;
	int rc;

	if (m == NULL || fam >= m->n)
		return -HSDO_EINVAL;
	f = &m->f[fam];
	rc = values_check(f, values, &total);
	if (rc != 0)
		return rc;
	hash = values_hash(values, f->nlabels);
	if (f->icap != 0) {
		cell = index_cell(f, values, hash);
		if (*cell != 0) {
			*out = &f->s[*cell - 1];
			return 0;
		}
	}
	if (f->n >= HSDO_METRICS_SERIES_MAX)
		return -HSDO_ETOOBIG;
	if ((f->n + 1) * 2 > f->icap && index_grow(f) != 0)
		return -HSDO_ENOMEM;
	if (f->n == f->cap) {
		size_t ncap = f->cap ? f->cap * 2 : 4;
		struct series *ns = hsdo_reallocarray(f->s, ncap, sizeof(*ns));

		if (ns == NULL)
			return -HSDO_ENOMEM;
		f->s = ns;
		f->cap = ncap;
	}
	s = &f->s[f->n];
	memset(s, 0, sizeof(*s));
	s->lv = hsdo_malloc(total ? total : 1);
	if (f->d->type == HSDO_METRICS_HISTOGRAM)
		s->bucket = hsdo_calloc(f->d->nbuckets, sizeof(*s->bucket));
	if (s->lv == NULL || (f->d->type == HSDO_METRICS_HISTOGRAM && s->bucket == NULL)) {
		series_release(s);
		return -HSDO_ENOMEM;
	}
	for (i = 0, p = s->lv; i < f->nlabels; i++) {
		size_t len = strlen(values[i]) + 1;

		memcpy(p, values[i], len);
		p += len;
	}
	*index_cell(f, values, hash) = ++f->n;
	*out = s;
	return 0;
}

static enum hsdo_metrics_type fam_type(const struct hsdo_metrics *m, size_t fam)
{
	return m != NULL && fam < m->n ? m->f[fam].d->type : HSDO_METRICS_TYPE_COUNT;
}

int hsdo_metrics_touch(struct hsdo_metrics *m, size_t fam, const char *const *values)
{
	struct series *s;

	return series_get(m, fam, values, &s);
}

int hsdo_metrics_add(struct hsdo_metrics *m, size_t fam, const char *const *values,
		     double delta)
{
	enum hsdo_metrics_type t = fam_type(m, fam);
	struct series *s;
	int rc;

	if (t != HSDO_METRICS_COUNTER && t != HSDO_METRICS_GAUGE)
		return -HSDO_EINVAL;
	if (t == HSDO_METRICS_COUNTER && !(isfinite(delta) && delta >= 0))
		return -HSDO_EINVAL;
	rc = series_get(m, fam, values, &s);
	if (rc == 0)
		s->value += delta;
	return rc;
}

int hsdo_metrics_set(struct hsdo_metrics *m, size_t fam, const char *const *values, double v)
{
	enum hsdo_metrics_type t = fam_type(m, fam);
	struct series *s;
	int rc;

	if (t != HSDO_METRICS_COUNTER && t != HSDO_METRICS_GAUGE)
		return -HSDO_EINVAL;
	rc = series_get(m, fam, values, &s);
	if (rc == 0)
		s->value = v;
	return rc;
}

int hsdo_metrics_observe(struct hsdo_metrics *m, size_t fam, const char *const *values,
			 double v)
{
	const struct hsdo_metrics_family_desc *d;
	struct series *s;
	size_t i;
	int rc;

	if (fam_type(m, fam) != HSDO_METRICS_HISTOGRAM || isnan(v))
		return -HSDO_EINVAL;
	rc = series_get(m, fam, values, &s);
	if (rc != 0)
		return rc;
	d = m->f[fam].d;
	for (i = 0; i < d->nbuckets && v > d->buckets[i]; i++)
		;
	if (i < d->nbuckets)
		s->bucket[i]++;
	s->count++;
	s->sum += v;
	return 0;
}

/* ---- rendering ----------------------------------------------------------- */

struct out {
	char *p;
	size_t len, cap;
	int rc;                  /* first error; appends are no-ops after one */
};

static void out_grow(struct out *o, size_t need)
{
	size_t ncap;
	char *np;

	if (o->rc != 0)
		return;
	if (need > HSDO_METRICS_OUTPUT_MAX - o->len) {
		o->rc = -HSDO_ETOOBIG;
		return;
	}
	ncap = o->cap ? o->cap : 4096;
	while (ncap < o->len + need + 1)
		ncap *= 2;
	if (ncap > HSDO_METRICS_OUTPUT_MAX + 1)
		ncap = HSDO_METRICS_OUTPUT_MAX + 1;
	np = hsdo_realloc(o->p, ncap);
	if (np == NULL) {
		o->rc = -HSDO_ENOMEM;
		return;
	}
	o->p = np;
	o->cap = ncap;
}

static void out_mem(struct out *o, const char *s, size_t n)
{
	if (o->rc == 0 && o->len + n + 1 > o->cap)
		out_grow(o, n);
	if (o->rc != 0)
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

/* Copy s escaping backslash and newline, and the double quote when `quote`
 * (label values); HELP text escapes only the first two. */
static void out_escaped(struct out *o, const char *s, bool quote)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *rep = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n" :
				  quote && *s == '"' ? "\\\"" : NULL;

		if (rep == NULL)
			continue;
		out_mem(o, run, (size_t)(s - run));
		out_str(o, rep);
		run = s + 1;
	}
	out_mem(o, run, (size_t)(s - run));
}

/* A sample value as Go's client renders it: NaN, +Inf, -Inf; integers up
 * to 2^53 in full; otherwise the shortest %g that reads back the same. */
static void fmt_value(char *buf, size_t len, double v)
{
	int p;

	if (isnan(v)) {
		snprintf(buf, len, "NaN");
	} else if (isinf(v)) {
		snprintf(buf, len, "%s", v > 0 ? "+Inf" : "-Inf");
	} else if (v == 0) {
		snprintf(buf, len, "0");
	} else if (fabs(v) < 9007199254740992.0 && v == (double)(int64_t)v) {
		snprintf(buf, len, "%lld", (long long)v);
	} else {
		for (p = 1; p <= 17; p++) {
			snprintf(buf, len, "%.*g", p, v);
			if (strtod(buf, NULL) == v)
				break;
		}
	}
}

static void out_value(struct out *o, double v)
{
	char buf[40];

	fmt_value(buf, sizeof(buf), v);
	out_str(o, buf);
}

/* "{a="x",b="y"}" for a series, with an extra le="bound" for a bucket; ""
 * when there is no label at all. */
static void out_labels(struct out *o, const struct family *f, const struct series *s,
		       const char *le)
{
	const char *v = s->lv;
	size_t i;

	if (f->nlabels == 0 && le == NULL)
		return;
	out_str(o, "{");
	for (i = 0; i < f->nlabels; i++) {
		if (i)
			out_str(o, ",");
		out_str(o, f->d->labels[i]);
		out_str(o, "=\"");
		out_escaped(o, v, true);
		out_str(o, "\"");
		v += strlen(v) + 1;
	}
	if (le != NULL) {
		out_str(o, f->nlabels ? ",le=\"" : "le=\"");
		out_str(o, le);
		out_str(o, "\"");
	}
	out_str(o, "}");
}

static void out_sample(struct out *o, const struct family *f, const struct series *s,
		       const char *suffix, const char *le, double v)
{
	out_str(o, f->d->name);
	out_str(o, suffix);
	out_labels(o, f, s, le);
	out_str(o, " ");
	out_value(o, v);
	out_str(o, "\n");
}

static void out_family(struct out *o, const struct family *f)
{
	const struct hsdo_metrics_family_desc *d = f->d;
	const char *suffix = d->type == HSDO_METRICS_COUNTER ? "_total" : "";
	char le[40];
	size_t i, b;

	out_str(o, "# HELP ");
	out_str(o, d->name);
	out_str(o, suffix);
	out_str(o, " ");
	out_escaped(o, d->help, false);
	out_str(o, "\n# TYPE ");
	out_str(o, d->name);
	out_str(o, suffix);
	out_str(o, " ");
	out_str(o, hsdo_metrics_type_str(d->type));
	out_str(o, "\n");
	for (i = 0; i < f->n && o->rc == 0; i++) {
		const struct series *s = &f->s[i];
		uint64_t cum = 0;

		if (d->type != HSDO_METRICS_HISTOGRAM) {
			out_sample(o, f, s, suffix, NULL, s->value);
			continue;
		}
		for (b = 0; b < d->nbuckets; b++) {
			cum += s->bucket[b];
			fmt_value(le, sizeof(le), d->buckets[b]);
			out_sample(o, f, s, "_bucket", le, (double)cum);
		}
		out_sample(o, f, s, "_bucket", "+Inf", (double)s->count);
		out_sample(o, f, s, "_sum", NULL, s->sum);
		out_sample(o, f, s, "_count", NULL, (double)s->count);
	}
}

int hsdo_metrics_render(const struct hsdo_metrics *m, char **out, size_t *len)
{
	struct out o = { 0 };
	size_t i;

	*out = NULL;
	*len = 0;
	if (m == NULL)
		return -HSDO_EINVAL;
	out_grow(&o, 0);
	if (o.rc == 0)
		o.p[0] = '\0';
	for (i = 0; i < m->n && o.rc == 0; i++)
		if (m->f[i].n > 0)
			out_family(&o, &m->f[i]);
	if (o.rc != 0) {
		hsdo_free(o.p);
		return o.rc;
	}
	*out = o.p;
	*len = o.len;
	return 0;
}
