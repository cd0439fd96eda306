/* The monotonic clock: see include/hsdo/clock.h. */
#include <time.h>

#include "hsdo/clock.h"

int64_t hsdo_clock_mono_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t hsdo_clock_mono_ms(void)
{
	return hsdo_clock_mono_us() / 1000;
}
