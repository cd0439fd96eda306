#include <stdint.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/strset.h"

#define CHUNK_FIRST 512u
#define CHUNK_MAX   (64u << 10)

/* Strings live in chunks that are never moved or shrunk (the pointers
 * handed out stay valid); the index is an open-addressing table of those
 * pointers (power-of-two size, at most 3/4 full) rebuilt when it grows. */
struct chunk {
	struct chunk *next;
	size_t cap, used;
	char data[];
};

struct hsdo_strset {
	unsigned refs;
	struct chunk *chunks;            /* newest first */
	size_t next_cap;                 /* capacity of the next chunk */
	const char **index;
	size_t index_cap;                /* 0 or a power of two */
	size_t count, bytes;
};

static const char empty[1] = "";

/* FNV-1a, 64 bits. */
static uint64_t hash(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

struct hsdo_strset *hsdo_strset_new(void)
{
	struct hsdo_strset *s = hsdo_calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->refs = 1;
	s->next_cap = CHUNK_FIRST;
	return s;
}

struct hsdo_strset *hsdo_strset_ref(struct hsdo_strset *s)
{
	if (s != NULL)
		s->refs++;
	return s;
}

void hsdo_strset_free(struct hsdo_strset *s)
{
	struct chunk *c, *next;

	if (s == NULL || --s->refs > 0)
		return;
	for (c = s->chunks; c != NULL; c = next) {
		next = c->next;
		hsdo_free(c);
	}
	hsdo_free(s->index);
	hsdo_free(s);
}

/* The index slot holding str[0..len), or the empty one where it goes. */
static const char **find(const char **index, size_t cap, const char *str, size_t len)
{
	size_t i = (size_t)hash(str, len) & (cap - 1);

	while (index[i] != NULL &&
	       (strncmp(index[i], str, len) != 0 || index[i][len] != '\0'))
		i = (i + 1) & (cap - 1);
	return &index[i];
}

/* Room for one more entry in the index: double it past 3/4 full. */
static int index_grow(struct hsdo_strset *s)
{
	size_t cap = s->index_cap ? s->index_cap * 2 : 64, i;
	const char **index;

	if ((s->count + 1) * 4 <= s->index_cap * 3)
		return 0;
	index = hsdo_calloc(cap, sizeof(*index));
	if (index == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < s->index_cap; i++)
		if (s->index[i] != NULL)
			*find(index, cap, s->index[i], strlen(s->index[i])) = s->index[i];
	hsdo_free(s->index);
	s->index = index;
	s->index_cap = cap;
	return 0;
}

/* size bytes in a chunk: the newest one, or a new one at least that big. */
static char *chunk_take(struct hsdo_strset *s, size_t size)
{
	struct chunk *c = s->chunks;
	size_t cap;

	if (c == NULL || c->cap - c->used < size) {
		cap = s->next_cap > size ? s->next_cap : size;
		c = hsdo_malloc(sizeof(*c) + cap);
		if (c == NULL)
			return NULL;
		c->cap = cap;
		c->used = 0;
		c->next = s->chunks;
		s->chunks = c;
		if (s->next_cap < CHUNK_MAX)
			s->next_cap *= 2;
	}
	c->used += size;
	return c->data + c->used - size;
}

int hsdo_strset_add(struct hsdo_strset *s, const char *str, size_t len, const char **out)
{
	const char **at;
	char *p;
	int rc;

	if (s == NULL || (str == NULL && len > 0))
		return -HSDO_EINVAL;
	if (len == 0) {
		*out = empty;
		return 0;
	}
	if (memchr(str, '\0', len) != NULL)
		return -HSDO_EINVAL;
	if (len > HSDO_STRSET_STR_MAX || s->bytes + len + 1 > HSDO_STRSET_BYTES_MAX)
		return -HSDO_ETOOBIG;
	if (s->index_cap > 0 && *(at = find(s->index, s->index_cap, str, len)) != NULL) {
		*out = *at;
		return 0;
	}
	if ((rc = index_grow(s)) != 0)
		return rc;
	if ((p = chunk_take(s, len + 1)) == NULL)
		return -HSDO_ENOMEM;
	memcpy(p, str, len);
	p[len] = '\0';
	*find(s->index, s->index_cap, str, len) = p;
	s->count++;
	s->bytes += len + 1;
	*out = p;
	return 0;
}

int hsdo_strset_addz(struct hsdo_strset *s, const char *str, const char **out)
{
	if (str == NULL)
		return -HSDO_EINVAL;
	return hsdo_strset_add(s, str, strnlen(str, HSDO_STRSET_STR_MAX + 1), out);
}

size_t hsdo_strset_count(const struct hsdo_strset *s)
{
	return s != NULL ? s->count : 0;
}

size_t hsdo_strset_bytes(const struct hsdo_strset *s)
{
	return s != NULL ? s->bytes : 0;
}

unsigned hsdo_strset_refs(const struct hsdo_strset *s)
{
	return s != NULL ? s->refs : 0;
}
