/* Diagnostics: a bounded list of error and warning messages, so a parser can
 * report every problem it finds in one call instead of stopping at the
 * first. The library never prints them; the caller decides where they go. */
#ifndef HSDO_DIAG_H
#define HSDO_DIAG_H

#include <stddef.h>

#define HSDO_DIAG_MAX     256   /* entries kept, the last one being the "too many" marker */
#define HSDO_DIAG_MSG_MAX 1024  /* longer messages are truncated */

enum hsdo_diag_level {
	HSDO_DIAG_ERROR = 0,
	HSDO_DIAG_WARNING,
	HSDO_DIAG_LEVEL_COUNT
};

struct hsdo_diag_entry {
	enum hsdo_diag_level level;
	char *msg;                 /* owned by the list */
};

/* Zero-initialise (struct hsdo_diag d = {0}) before the first add. */
struct hsdo_diag {
	struct hsdo_diag_entry *v;
	size_t n;
	size_t nerrors;            /* error-level adds, including dropped ones */
};

/* "error" / "warning"; "unknown" out of range. */
const char *hsdo_diag_level_str(enum hsdo_diag_level lvl);

/* Append a printf-formatted message (cut at HSDO_DIAG_MSG_MAX - 1 bytes).
 * The HSDO_DIAG_MAX-th message is replaced by "too many diagnostics" at the
 * same level; later ones are only counted in nerrors. Returns 0, or
 * -HSDO_ENOMEM / -HSDO_EINVAL (d is then unchanged apart from nerrors). */
int hsdo_diag_add(struct hsdo_diag *d, enum hsdo_diag_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Free every entry and zero d; NULL is a no-op. */
void hsdo_diag_free(struct hsdo_diag *d);

#endif
