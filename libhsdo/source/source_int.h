/* Private to the discovery sources (source*.c): building a result. */
#ifndef HSDO_SOURCE_INT_H
#define HSDO_SOURCE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "hsdo/source.h"

/* A result being built: the arrays' capacities. */
struct hsdo_source_builder {
	struct hsdo_source_result *r;
	size_t cap, gcap, acap;
};

/* Append a copy of *in (bounded by HSDO_SOURCE_INSTANCES_MAX). 0,
 * -HSDO_ETOOBIG or -HSDO_ENOMEM, with err. */
int hsdo_source_push(struct hsdo_source_builder *b, const struct hsdo_instance *in,
		     char *err, size_t errlen);
/* Room for n instances in all when the source knows how many are coming
 * (a list's length), so that pushing them does not over-allocate by up to
 * twice; n past HSDO_SOURCE_INSTANCES_MAX reserves that many (the push
 * past it fails). 0 or -HSDO_ENOMEM, with err. */
int hsdo_source_reserve(struct hsdo_source_builder *b, size_t n, char *err, size_t errlen);
/* The group called name, added (zeroed) at the end when missing. NULL
 * with err on -HSDO_ENOMEM / -HSDO_ETOOBIG / a name too long (*rc). */
struct hsdo_source_group *hsdo_source_group(struct hsdo_source_builder *b, const char *name,
					    int *rc, char *err, size_t errlen);
int hsdo_source_push_awaiting(struct hsdo_source_builder *b, const char *id, const char *group,
			      char *err, size_t errlen);
/* Sort instances by id and keep one per id (a ready copy over a leaving
 * one, then the earliest pushed), counting duplicates and nleaving, in
 * place (the array is then sized to what is kept); sort and dedupe
 * awaiting. 0 or -HSDO_ENOMEM. */
int hsdo_source_finish(struct hsdo_source_result *r);
/* Keep the first warning only. */
void hsdo_source_warn(struct hsdo_source_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Copy s into a printable, quoted form for messages (at most 48 bytes). */
const char *hsdo_source_show(const char *s, size_t len, char *buf, size_t bufsz);

#endif
