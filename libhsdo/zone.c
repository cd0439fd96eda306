/* Local time <-> UTC through the C library: see include/hsdo/zone.h. */
#include <stdbool.h>
#include <time.h>

#include "hsdo/err.h"
#include "hsdo/zone.h"

#define US_PER_SEC INT64_C(1000000)
#define DAY_SEC    INT64_C(86400)

static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Seconds east of UTC in force at instant t (seconds). */
static int offset_at(int64_t t, int64_t *off)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if ((int64_t)tt != t || localtime_r(&tt, &tm) == NULL)
		return -HSDO_EINVAL;
	*off = tm.tm_gmtoff;
	return 0;
}

int hsdo_zone_utc_to_local(int64_t utc_us, int64_t *local_us)
{
	int64_t off;

	tzset();   /* localtime_r need not look at TZ again by itself */
	if (offset_at(floor_div(utc_us, US_PER_SEC), &off) != 0 ||
	    __builtin_add_overflow(utc_us, off * US_PER_SEC, local_us))
		return -HSDO_EINVAL;
	return 0;
}

/* The offsets in force a day before, at and a day after the local time
 * (read as UTC) are the only ones it can mean: zones change offset at
 * most once in two days. An offset o fits when the instant local - o is
 * indeed at offset o. */
int hsdo_zone_local_to_utc(int64_t local_us, int64_t *utc_us)
{
	int64_t l = floor_div(local_us, US_PER_SEC), o, fit, before = 0, best = 0;
	bool found = false;
	int i;

	tzset();
	for (i = -1; i <= 1; i++) {
		if (offset_at(l + i * DAY_SEC, &o) != 0)
			return -HSDO_EINVAL;
		if (i == -1)
			before = o;
		if (offset_at(l - o, &fit) != 0)
			return -HSDO_EINVAL;
		/* The later instant: the smaller offset. */
		if (fit == o && (!found || o < best)) {
			best = o;
			found = true;
		}
	}
	if (!found)
		best = before;
	if (__builtin_sub_overflow(local_us, best * US_PER_SEC, utc_us))
		return -HSDO_EINVAL;
	return 0;
}
