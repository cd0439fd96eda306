/* Proleptic Gregorian calendar arithmetic (H. Hinnant's algorithms), pure:
 * no clock, no time zone, no libc time functions. Shared by everything that
 * reads or writes a UTC date (item timestamps, SigV4 dates, credential
 * expirations). */
#ifndef HSDO_CIVIL_H
#define HSDO_CIVIL_H

#include <stdbool.h>
#include <stdint.h>

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31; not validated). */
int64_t hsdo_civil_days_from(int64_t y, unsigned m, unsigned d);
/* The date of day z since 1970-01-01. */
void hsdo_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);
/* True when y-m-d names a real day (m 1..12, d within the month). */
bool hsdo_civil_valid(int64_t y, unsigned m, unsigned d);

#endif
