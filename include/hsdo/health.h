/* Response health per backend and slot, as the SPOE agent sees HAProxy's
 * responses: cumulative counts by status class, and the same counts over a
 * sliding window (by default 60 s in 10 buckets of 6 s). Pure: the caller
 * passes `now` (milliseconds on a clock that does not jump, e.g.
 * CLOCK_MONOTONIC); nothing here reads a clock, logs or does I/O.
 *
 * Bounded: at most max_keys distinct (backend, slot) keys; a response whose
 * key would be one too many, or whose backend name is not acceptable, is
 * counted as dropped and changes nothing else. Keys are never removed, so
 * cumulative counts never go back (Prometheus counters).
 *
 * Window: bucket k covers [k*w, (k+1)*w) with w = window_ms / buckets. The
 * window at `now` is the current bucket and the buckets-1 before it, so it
 * spans between window_ms - w and window_ms. A `now` earlier than one seen
 * before is taken as that later time (the window never moves back). */
#ifndef HSDO_HEALTH_H
#define HSDO_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HSDO_HEALTH_BACKEND_MAX      127      /* bytes of a backend name */
#define HSDO_HEALTH_WINDOW_DEFAULT   60000    /* ms */
#define HSDO_HEALTH_BUCKETS_DEFAULT  10
#define HSDO_HEALTH_BUCKETS_MAX      600
#define HSDO_HEALTH_WINDOW_MAX       (24LL * 3600 * 1000)  /* one day, in ms */
#define HSDO_HEALTH_KEYS_DEFAULT     4096
#define HSDO_HEALTH_KEYS_MAX         1000000

/* Status classes; NONE is a response without a valid status (absent,
 * negative, or outside 100..599). */
enum hsdo_health_class {
	HSDO_HEALTH_1XX = 0,
	HSDO_HEALTH_2XX,
	HSDO_HEALTH_3XX,
	HSDO_HEALTH_4XX,
	HSDO_HEALTH_5XX,
	HSDO_HEALTH_NONE,
	HSDO_HEALTH_CLASS_COUNT
};

struct hsdo_health_params {
	int64_t window_ms;         /* 1..HSDO_HEALTH_WINDOW_MAX, >= buckets */
	unsigned buckets;          /* 1..HSDO_HEALTH_BUCKETS_MAX */
	size_t max_keys;           /* 1..HSDO_HEALTH_KEYS_MAX */
};

/* One key's counts at a given time. `backend` is borrowed from the
 * aggregator: valid until it is freed. */
struct hsdo_health_stats {
	const char *backend;       /* NUL-terminated */
	uint32_t slot;             /* 0: the response had no server */
	uint64_t total[HSDO_HEALTH_CLASS_COUNT];   /* since the key appeared */
	uint64_t window[HSDO_HEALTH_CLASS_COUNT];  /* in the window */
	uint64_t window_total;     /* sum of window[] */
	uint64_t window_errors;    /* window[5XX] + window[NONE] */
};

struct hsdo_health;

/* "1xx".."5xx", "none"; "unknown" out of range. Never NULL. */
const char *hsdo_health_class_str(enum hsdo_health_class c);
/* The class of an HTTP status; status < 0 means "no status". */
enum hsdo_health_class hsdo_health_class_of(int64_t status);
/* True for the classes counted as errors: 5XX and NONE. */
bool hsdo_health_class_is_error(enum hsdo_health_class c);

/* Fill p with the defaults (60 s, 10 buckets, 4096 keys). */
void hsdo_health_params_default(struct hsdo_health_params *p);
/* A new, empty aggregator whose window starts at now_ms (>= 0). p NULL:
 * the defaults. 0, -HSDO_EINVAL (a parameter out of bounds, now_ms < 0)
 * or -HSDO_ENOMEM. */
int hsdo_health_new(const struct hsdo_health_params *p, int64_t now_ms,
		    struct hsdo_health **out);
/* Free it; NULL is a no-op. */
void hsdo_health_free(struct hsdo_health *h);

/* Count one response of class c for (backend[0..len), slot) at now_ms.
 * 0; otherwise the response is counted as dropped and the result says why:
 * -HSDO_EINVAL (empty name, a byte outside printable ASCII, bad class),
 * -HSDO_ETOOBIG (name over HSDO_HEALTH_BACKEND_MAX, or max_keys reached),
 * -HSDO_ENOMEM. */
int hsdo_health_record(struct hsdo_health *h, const char *backend, size_t len,
		       uint32_t slot, enum hsdo_health_class c, int64_t now_ms);

/* Number of keys, and key i (0 <= i < count, in order of appearance) with
 * its window as of now_ms. Does not change h. */
size_t hsdo_health_count(const struct hsdo_health *h);
void hsdo_health_get(const struct hsdo_health *h, size_t i, int64_t now_ms,
		     struct hsdo_health_stats *out);
/* The stats of one key: 0, or -HSDO_ENOTFOUND (out zeroed). */
int hsdo_health_find(const struct hsdo_health *h, const char *backend, size_t len,
		     uint32_t slot, int64_t now_ms, struct hsdo_health_stats *out);
/* Responses dropped since creation (see hsdo_health_record). */
uint64_t hsdo_health_dropped(const struct hsdo_health *h);
/* The window's nominal length in ms. */
int64_t hsdo_health_window_ms(const struct hsdo_health *h);

#endif
