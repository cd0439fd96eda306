/* The monotonic clock (CLOCK_MONOTONIC), read in one place: durations,
 * deadlines, backoffs and the ages /healthz judges, in the library and the
 * agent. It never goes back and ignores changes of the wall clock. Pure
 * modules do not read it: they take `now` as a parameter. */
#ifndef HSDO_CLOCK_H
#define HSDO_CLOCK_H

#include <stdint.h>

/* Milliseconds on the monotonic clock (since an unspecified start). */
int64_t hsdo_clock_mono_ms(void);
/* Microseconds on the same clock. */
int64_t hsdo_clock_mono_us(void);

#endif
