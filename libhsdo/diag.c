#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/diag.h"
#include "hsdo/err.h"

static const char *const diag_level_str[HSDO_DIAG_LEVEL_COUNT] = {
	[HSDO_DIAG_ERROR] = "error",
	[HSDO_DIAG_WARNING] = "warning",
};

const char *hsdo_diag_level_str(enum hsdo_diag_level lvl)
{
	if ((unsigned)lvl >= HSDO_DIAG_LEVEL_COUNT)
		return "unknown";
	return diag_level_str[lvl];
}

/* Store one message, growing the array geometrically. */
static int diag_push(struct hsdo_diag *d, enum hsdo_diag_level lvl, char *msg)
{
	struct hsdo_diag_entry *nv;
	size_t cap;

	/* The array is sized in powers of two from 8, so n being a power of
	 * two (or 0) means it is full. */
	if (d->n == 0 || (d->n >= 8 && (d->n & (d->n - 1)) == 0)) {
		cap = d->n == 0 ? 8 : d->n * 2;
		if (cap > HSDO_DIAG_MAX)
			cap = HSDO_DIAG_MAX;
		nv = hsdo_reallocarray(d->v, cap, sizeof(*nv));
		if (nv == NULL)
			return -HSDO_ENOMEM;
		d->v = nv;
	}
	d->v[d->n].level = lvl;
	d->v[d->n].msg = msg;
	d->n++;
	return 0;
}

int hsdo_diag_add(struct hsdo_diag *d, enum hsdo_diag_level lvl, const char *fmt, ...)
{
	char buf[HSDO_DIAG_MSG_MAX];
	const char *text = buf;
	char *msg;
	va_list ap;
	int rc, len;

	if (d == NULL || fmt == NULL || (unsigned)lvl >= HSDO_DIAG_LEVEL_COUNT)
		return -HSDO_EINVAL;
	if (lvl == HSDO_DIAG_ERROR)
		d->nerrors++;
	if (d->n >= HSDO_DIAG_MAX)
		return 0;
	if (d->n == HSDO_DIAG_MAX - 1) {
		/* Keeps lvl, so a list of warnings never shows an error. */
		text = "too many diagnostics, the rest are not shown";
	} else {
		va_start(ap, fmt);
		len = vsnprintf(buf, sizeof(buf), fmt, ap);
		va_end(ap);
		if (len < 0)
			return -HSDO_EINVAL;
	}
	msg = hsdo_strdup(text);
	if (msg == NULL)
		return -HSDO_ENOMEM;
	rc = diag_push(d, lvl, msg);
	if (rc != 0)
		hsdo_free(msg);
	return rc;
}

void hsdo_diag_free(struct hsdo_diag *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < d->n; i++)
		hsdo_free(d->v[i].msg);
	hsdo_free(d->v);
	memset(d, 0, sizeof(*d));
}
