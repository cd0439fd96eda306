/* The process's local time zone, for the timestamps the original HSDO
 * writes: its server stores LastWeightUpdate as Python's
 * str(datetime.now()), a naive local time, and compares it with local time.
 * We read and write those strings in the zone of TZ (or /etc/localtime),
 * like the original, and convert at that edge (item.c) so every other
 * module keeps UTC microseconds. Through the C library (localtime_r and its
 * tm_gmtoff): the zone is read when TZ changes. Times are microseconds;
 * "local" means the naive local wall clock counted as if it were UTC. */
#ifndef HSDO_ZONE_H
#define HSDO_ZONE_H

#include <stdint.h>

/* The local wall-clock time of instant utc_us. 0, or -HSDO_EINVAL when the
 * C library cannot place it (outside time_t, years out of range). */
int hsdo_zone_utc_to_local(int64_t utc_us, int64_t *local_us);

/* The instant a local wall-clock time means. Once a year a local hour
 * happens twice (clocks back): the later instant is taken, so a clock read
 * back can only move later, never earlier. A local time that never happens
 * (clocks forward) is read with the offset from before the change. 0 or
 * -HSDO_EINVAL. */
int hsdo_zone_local_to_utc(int64_t local_us, int64_t *utc_us);

#endif
