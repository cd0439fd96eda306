/* A metrics registry and its Prometheus text exposition (format 0.0.4).
 * Pure: the agent describes its metric families in a static table, updates
 * values as its cycles run, and renders the registry on each scrape; nothing
 * here reads the clock, /proc or a socket.
 *
 * A family has a name, a help text, a type and up to HSDO_METRICS_LABELS_MAX
 * label names; each distinct tuple of label values is one series, created on
 * first use. Families are addressed by their index in the table. */
#ifndef HSDO_METRICS_H
#define HSDO_METRICS_H

#include <stddef.h>

#define HSDO_METRICS_LABELS_MAX    8
#define HSDO_METRICS_BUCKETS_MAX   32
#define HSDO_METRICS_FAMILIES_MAX  256
#define HSDO_METRICS_VALUE_MAX     1024                /* bytes of one label value */
#define HSDO_METRICS_SERIES_MAX    250000              /* per family */
#define HSDO_METRICS_OUTPUT_MAX    (64u * 1024 * 1024) /* rendered bytes */

enum hsdo_metrics_type {
	HSDO_METRICS_COUNTER = 0,  /* rendered as <name>_total */
	HSDO_METRICS_GAUGE,
	HSDO_METRICS_HISTOGRAM,    /* <name>_bucket{le=...}, <name>_sum, <name>_count */
	HSDO_METRICS_TYPE_COUNT
};

struct hsdo_metrics_family_desc {
	const char *name;          /* counters: without the "_total" the renderer adds */
	const char *help;
	enum hsdo_metrics_type type;
	const char *labels[HSDO_METRICS_LABELS_MAX];   /* names; the first NULL ends them */
	const double *buckets;     /* histograms: strictly increasing finite upper */
	size_t nbuckets;           /* bounds, 1..HSDO_METRICS_BUCKETS_MAX; +Inf implied */
};

struct hsdo_metrics;

/* "counter", "gauge", "histogram" (the TYPE line's word); "unknown" else. */
const char *hsdo_metrics_type_str(enum hsdo_metrics_type t);

/* Build an empty registry for the n families of desc, which is borrowed and
 * must outlive it (a static table). Names, labels and buckets are validated:
 * -HSDO_EINVAL naming the family in err, or -HSDO_ENOMEM. */
int hsdo_metrics_new(const struct hsdo_metrics_family_desc *desc, size_t n,
		     struct hsdo_metrics **out, char *err, size_t errlen);
/* Free a registry; NULL is a no-op. */
void hsdo_metrics_free(struct hsdo_metrics *m);

/* The update functions take the family index and its label values (as many
 * as the family has label names; NULL when it has none), valid UTF-8 of at
 * most HSDO_METRICS_VALUE_MAX bytes, copied. A series is created on first
 * use. 0, -HSDO_EINVAL (wrong type, bad value, NaN count), -HSDO_ETOOBIG
 * (value or series bound), -HSDO_ENOMEM; on error nothing changes. */

/* Create the series at zero if it does not exist (so it renders before its
 * first event). Any type. */
int hsdo_metrics_touch(struct hsdo_metrics *m, size_t fam, const char *const *values);
/* Counter or gauge += delta; a counter takes only finite delta >= 0. */
int hsdo_metrics_add(struct hsdo_metrics *m, size_t fam, const char *const *values,
		     double delta);
/* Gauge = v; also a counter, for one mirrored from an outside source that
 * is itself monotonic (CPU seconds read from the kernel). */
int hsdo_metrics_set(struct hsdo_metrics *m, size_t fam, const char *const *values, double v);
/* Histogram: count v in the first bucket whose bound is >= v, add it to the
 * sum. NaN is refused. */
int hsdo_metrics_observe(struct hsdo_metrics *m, size_t fam, const char *const *values,
			 double v);
/* Drop every series of a family (a gauge rebuilt from a fresh table). */
void hsdo_metrics_clear(struct hsdo_metrics *m, size_t fam);

/* Render every family that has series, in table order, each series in
 * creation order, as text format 0.0.4. *out is a NUL-terminated buffer of
 * *len bytes the caller frees with hsdo_free. 0, -HSDO_ETOOBIG (over
 * HSDO_METRICS_OUTPUT_MAX) or -HSDO_ENOMEM, *out then NULL. */
int hsdo_metrics_render(const struct hsdo_metrics *m, char **out, size_t *len);

#endif
