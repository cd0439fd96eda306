/* A reference-counted set of interned strings: each distinct string is
 * stored once, NUL-terminated, in append-only chunks that never move, so a
 * pointer returned by hsdo_strset_add stays valid (and equal strings get
 * the same pointer) until the last reference to the set is dropped.
 *
 * A slot table owns one (slot.h): its slots' strings point into it, and a
 * copy of the table shares it instead of copying the strings. Adding to a
 * shared set is safe (nothing moves); a set only grows, so its holder
 * rebuilds it when too much of it is dead (hsdo_table_compact). Not
 * thread-safe: one set belongs to one thread. */
#ifndef HSDO_STRSET_H
#define HSDO_STRSET_H

#include <stddef.h>

#define HSDO_STRSET_STR_MAX   4096u            /* bytes of one string, NUL excluded */
#define HSDO_STRSET_BYTES_MAX (256u << 20)     /* bytes of one set */

struct hsdo_strset;

/* An empty set with one reference; NULL on allocation failure. */
struct hsdo_strset *hsdo_strset_new(void);
/* One more reference to s (NULL stays NULL); returns s. */
struct hsdo_strset *hsdo_strset_ref(struct hsdo_strset *s);
/* Drop one reference; the last one frees the set and every string in it.
 * NULL is a no-op. */
void hsdo_strset_free(struct hsdo_strset *s);
/* The interned copy of str[0..len) (len bytes, no NUL among them) into
 * *out: the one already in s if there is one, else a new one. The empty
 * string is a static "" that takes no room. 0, -HSDO_EINVAL (a NUL in
 * str), -HSDO_ETOOBIG (len over HSDO_STRSET_STR_MAX, or the set would
 * pass HSDO_STRSET_BYTES_MAX) or -HSDO_ENOMEM; *out is unchanged on error. */
int hsdo_strset_add(struct hsdo_strset *s, const char *str, size_t len, const char **out);
/* hsdo_strset_add of a NUL-terminated string. */
int hsdo_strset_addz(struct hsdo_strset *s, const char *str, const char **out);
/* Distinct strings held, and the bytes they take (each with its NUL). */
size_t hsdo_strset_count(const struct hsdo_strset *s);
size_t hsdo_strset_bytes(const struct hsdo_strset *s);
/* References held (1 for a set nobody shares). */
unsigned hsdo_strset_refs(const struct hsdo_strset *s);

#endif
