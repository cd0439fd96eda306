/* Timing helpers shared by the benchmarks (header-only: each bench program is
 * its own executable). */
#ifndef HSDO_BENCH_UTIL_H
#define HSDO_BENCH_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "hsdo/err.h"

static inline int64_t bench_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline int bench_cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Sort the n samples and return their median; *best gets the minimum. */
static inline int64_t bench_median(int64_t *v, size_t n, int64_t *best)
{
	qsort(v, n, sizeof(*v), bench_cmp_i64);
	*best = v[0];
	return v[n / 2];
}

static inline void bench_die(const char *prog, const char *what, int rc)
{
	fprintf(stderr, "%s: %s: %s\n", prog, what, hsdo_strerror(rc));
	exit(1);
}

#endif
