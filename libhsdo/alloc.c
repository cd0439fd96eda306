#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"

static unsigned long alloc_count;
static unsigned long alloc_fail_at;
static int alloc_fail_sticky;

/* True when the test hook says this allocation must fail. */
static int alloc_should_fail(void)
{
	alloc_count++;
	if (alloc_fail_at == 0)
		return 0;
	if (alloc_count == alloc_fail_at)
		return 1;
	return alloc_fail_sticky && alloc_count > alloc_fail_at;
}

unsigned long hsdo_alloc_fail_at(unsigned long n, int sticky)
{
	unsigned long made = alloc_count;

	alloc_count = 0;
	alloc_fail_at = n;
	alloc_fail_sticky = sticky;
	return made;
}

void *hsdo_malloc(size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *hsdo_calloc(size_t nmemb, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	if (nmemb == 0 || size == 0)
		return calloc(1, 1);
	return calloc(nmemb, size);
}

void *hsdo_realloc(void *p, size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

void *hsdo_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size != 0 && nmemb > SIZE_MAX / size) {
		errno = ENOMEM;
		return NULL;
	}
	return hsdo_realloc(p, nmemb * size);
}

char *hsdo_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = hsdo_malloc(len + 1);

	if (d == NULL)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *hsdo_strdup(const char *s)
{
	return hsdo_strndup(s, strlen(s));
}

char *hsdo_strdup_printf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = hsdo_malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	if (vsnprintf(s, (size_t)n + 1, fmt, ap) != n) {
		hsdo_free(s);
		s = NULL;
	}
	va_end(ap);
	return s;
}

void hsdo_free(void *p)
{
	free(p);
}

void hsdo_freezero(void *p, size_t n)
{
	if (p == NULL)
		return;
	explicit_bzero(p, n);
	free(p);
}

int hsdo_grow(void **arr, size_t *cap, size_t n, size_t size, size_t max, const char *what,
	      char *err, size_t errlen)
{
	size_t ncap;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= max)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "more than %zu %s", max, what);
	ncap = *cap != 0 ? *cap * 2 : 16;
	if (ncap > max)
		ncap = max;
	p = hsdo_reallocarray(*arr, ncap, size);
	if (p == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	memset((char *)p + *cap * size, 0, (ncap - *cap) * size);
	*arr = p;
	*cap = ncap;
	return 0;
}
