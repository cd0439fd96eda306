/* Allocation wrappers. All libhsdo allocations go through these so tests can
 * make the Nth allocation fail (curl torture style) and prove that every
 * error path frees what it took. hsdo_free(NULL) is a no-op. */
#ifndef HSDO_ALLOC_H
#define HSDO_ALLOC_H

#include <stddef.h>

void *hsdo_malloc(size_t n);
void *hsdo_calloc(size_t nmemb, size_t size);
void *hsdo_realloc(void *p, size_t n);
/* realloc of nmemb*size with overflow check (OpenBSD reallocarray). */
void *hsdo_reallocarray(void *p, size_t nmemb, size_t size);
char *hsdo_strdup(const char *s);
char *hsdo_strndup(const char *s, size_t n);
/* printf into a new string (hsdo_free); NULL on allocation failure. */
char *hsdo_strdup_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void hsdo_free(void *p);
/* Make room for entry n of the growing array *arr (*cap entries of size
 * bytes, at most max): the capacity doubles from 16, capped at max, and new
 * entries are zeroed. 0, -HSDO_ETOOBIG ("more than <max> <what>") or
 * -HSDO_ENOMEM (*arr unchanged), with the reason in err. */
int hsdo_grow(void **arr, size_t *cap, size_t n, size_t size, size_t max, const char *what,
	      char *err, size_t errlen);
/* Wipe n bytes of p (explicit_bzero), then free it. For secrets. */
void hsdo_freezero(void *p, size_t n);

/* Test hook: fail the allocation numbered `n` from now (1 = next one) and
 * every one after it if `sticky`; n = 0 disables. Returns how many
 * allocations were made since the last call. Not thread-safe. */
unsigned long hsdo_alloc_fail_at(unsigned long n, int sticky);

#endif
