/* Response health per backend and slot (see health.h).
 *
 * Keys live in one array in order of appearance, found through an
 * open-addressing index. The window is a ring of `buckets` count arrays
 * shared by every key: bucket b holds absolute bucket number bidx[b]. When
 * time reaches a new bucket number, the buckets it reuses are zeroed for
 * every key at once (a memset per bucket passed), so recording a response
 * is a lookup and two increments, and reading never changes anything: a
 * bucket not reused yet is skipped by its number. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/health.h"

#define NCLASS HSDO_HEALTH_CLASS_COUNT
#define BIDX_NONE (INT64_MIN / 2)   /* a bucket holding nothing yet */

struct hkey {
	char backend[HSDO_HEALTH_BACKEND_MAX + 1];
	uint32_t slot;
	uint32_t hash;
	uint64_t total[NCLASS];
};

struct hsdo_health {
	int64_t window_ms, width;   /* width: ms per bucket */
	unsigned nb;
	size_t max_keys;
	struct hkey *keys;
	size_t n, cap;
	uint64_t *win[HSDO_HEALTH_BUCKETS_MAX];   /* nb arrays of cap * NCLASS */
	int64_t bidx[HSDO_HEALTH_BUCKETS_MAX];    /* bucket number each holds */
	int64_t cur;                /* latest bucket number seen */
	uint32_t *index;            /* 0 empty, else key index + 1 */
	size_t icap;                /* power of two, > 2 * n */
	uint64_t dropped;
};

const char *hsdo_health_class_str(enum hsdo_health_class c)
{
	static const char *const names[NCLASS] = { "1xx", "2xx", "3xx", "4xx", "5xx", "none" };

	return (unsigned)c < NCLASS ? names[c] : "unknown";
}

enum hsdo_health_class hsdo_health_class_of(int64_t status)
{
	if (status < 100 || status > 599)
		return HSDO_HEALTH_NONE;
	return (enum hsdo_health_class)(status / 100 - 1);
}

bool hsdo_health_class_is_error(enum hsdo_health_class c)
{
	return c == HSDO_HEALTH_5XX || c == HSDO_HEALTH_NONE;
}

void hsdo_health_params_default(struct hsdo_health_params *p)
{
	p->window_ms = HSDO_HEALTH_WINDOW_DEFAULT;
	p->buckets = HSDO_HEALTH_BUCKETS_DEFAULT;
	p->max_keys = HSDO_HEALTH_KEYS_DEFAULT;
}

int hsdo_health_new(const struct hsdo_health_params *p, int64_t now_ms,
		    struct hsdo_health **out)
{
	struct hsdo_health_params def;
	struct hsdo_health *h;
	unsigned b;

	if (p == NULL) {
		hsdo_health_params_default(&def);
		p = &def;
	}
	if (out == NULL || now_ms < 0 || p->buckets < 1 || p->buckets > HSDO_HEALTH_BUCKETS_MAX ||
	    p->window_ms < (int64_t)p->buckets || p->window_ms > HSDO_HEALTH_WINDOW_MAX ||
	    p->max_keys < 1 || p->max_keys > HSDO_HEALTH_KEYS_MAX)
		return -HSDO_EINVAL;
	h = hsdo_calloc(1, sizeof(*h));
	if (h == NULL)
		return -HSDO_ENOMEM;
	h->window_ms = p->window_ms;
	h->nb = p->buckets;
	h->width = p->window_ms / p->buckets;
	h->max_keys = p->max_keys;
	h->cur = now_ms / h->width;
	for (b = 0; b < h->nb; b++)
		h->bidx[b] = BIDX_NONE;
	h->bidx[h->cur % h->nb] = h->cur;
	*out = h;
	return 0;
}

void hsdo_health_free(struct hsdo_health *h)
{
	unsigned b;

	if (h == NULL)
		return;
	for (b = 0; b < h->nb; b++)
		hsdo_free(h->win[b]);
	hsdo_free(h->keys);
	hsdo_free(h->index);
	hsdo_free(h);
}

/* The bucket number of now_ms, never before the latest one seen. */
static int64_t bucket_of(const struct hsdo_health *h, int64_t now_ms)
{
	int64_t idx = now_ms >= 0 ? now_ms / h->width : h->cur;

	return idx > h->cur ? idx : h->cur;
}

/* Move to bucket number idx, zeroing the buckets it reuses. */
static void advance(struct hsdo_health *h, int64_t idx)
{
	int64_t j, start;
	unsigned b;

	if (idx <= h->cur)
		return;
	start = idx - (int64_t)h->nb + 1;
	if (start < h->cur + 1)
		start = h->cur + 1;
	for (j = start; j <= idx; j++) {
		b = (unsigned)(j % h->nb);
		if (h->win[b] != NULL && h->n > 0)
			memset(h->win[b], 0, h->n * NCLASS * sizeof(uint64_t));
		h->bidx[b] = j;
	}
	h->cur = idx;
}

/* FNV-1a over the name, then the slot. */
static uint32_t key_hash(const char *s, size_t len, uint32_t slot)
{
	uint32_t x = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		x = (x ^ (uint8_t)s[i]) * 16777619u;
	for (i = 0; i < 4; i++)
		x = (x ^ ((slot >> (8 * i)) & 0xffu)) * 16777619u;
	return x;
}

/* Index cell of the key, or of the empty cell where it would go. */
static uint32_t *find_cell(const struct hsdo_health *h, const char *s, size_t len,
			   uint32_t slot, uint32_t hash)
{
	size_t mask = h->icap - 1, i = hash & mask;
	const struct hkey *k;

	for (;;) {
		if (h->index[i] == 0)
			return &h->index[i];
		k = &h->keys[h->index[i] - 1];
		if (k->hash == hash && k->slot == slot && strncmp(k->backend, s, len) == 0 &&
		    k->backend[len] == '\0')
			return &h->index[i];
		i = (i + 1) & mask;
	}
}

static const struct hkey *lookup(const struct hsdo_health *h, const char *s, size_t len,
				 uint32_t slot)
{
	uint32_t *cell;

	if (h->icap == 0 || s == NULL || len == 0 || len > HSDO_HEALTH_BACKEND_MAX)
		return NULL;
	cell = find_cell(h, s, len, slot, key_hash(s, len, slot));
	return *cell != 0 ? &h->keys[*cell - 1] : NULL;
}

/* Room for one more key: the key array, every bucket, and an index at most
 * half full. 0 or -HSDO_ENOMEM, with h unchanged in what it holds. */
static int grow(struct hsdo_health *h)
{
	size_t cap = h->cap, icap, i, m;
	struct hkey *keys;
	uint32_t *index;
	unsigned b;

	if (h->n == h->cap) {
		cap = h->cap ? h->cap * 2 : 16;
		if (cap > h->max_keys)
			cap = h->max_keys;
		keys = hsdo_reallocarray(h->keys, cap, sizeof(*keys));
		if (keys == NULL)
			return -HSDO_ENOMEM;
		h->keys = keys;
		/* A bucket grown before a later one fails is merely larger than
		 * cap: the next attempt reallocates it to the same size. */
		for (b = 0; b < h->nb; b++) {
			uint64_t *w = hsdo_reallocarray(h->win[b], cap * NCLASS, sizeof(uint64_t));

			if (w == NULL)
				return -HSDO_ENOMEM;
			h->win[b] = w;
		}
		for (b = 0; b < h->nb; b++)
			memset(h->win[b] + h->cap * NCLASS, 0,
			       (cap - h->cap) * NCLASS * sizeof(uint64_t));
		h->cap = cap;
	}
	if (h->icap > 2 * (h->n + 1))
		return 0;
	icap = h->icap ? h->icap : 32;
	while (icap <= 2 * (h->n + 1))
		icap *= 2;
	index = hsdo_calloc(icap, sizeof(*index));
	if (index == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < h->n; i++) {
		for (m = h->keys[i].hash & (icap - 1); index[m] != 0; m = (m + 1) & (icap - 1))
			;
		index[m] = (uint32_t)(i + 1);
	}
	hsdo_free(h->index);
	h->index = index;
	h->icap = icap;
	return 0;
}

static bool name_ok(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((uint8_t)s[i] < 0x21 || (uint8_t)s[i] > 0x7e)
			return false;
	return len > 0;
}

int hsdo_health_record(struct hsdo_health *h, const char *backend, size_t len,
		       uint32_t slot, enum hsdo_health_class c, int64_t now_ms)
{
	struct hkey *k;
	uint32_t hash, *cell;
	size_t ki;
	int rc;

	if (h == NULL)
		return -HSDO_EINVAL;
	if ((unsigned)c >= NCLASS || backend == NULL || len == 0) {
		h->dropped++;
		return -HSDO_EINVAL;
	}
	if (len > HSDO_HEALTH_BACKEND_MAX) {
		h->dropped++;
		return -HSDO_ETOOBIG;
	}
	if (!name_ok(backend, len)) {
		h->dropped++;
		return -HSDO_EINVAL;
	}
	advance(h, bucket_of(h, now_ms));
	hash = key_hash(backend, len, slot);
	cell = h->icap > 0 ? find_cell(h, backend, len, slot, hash) : NULL;
	if (cell != NULL && *cell != 0) {
		ki = *cell - 1;
	} else {
		if (h->n >= h->max_keys) {
			h->dropped++;
			return -HSDO_ETOOBIG;
		}
		rc = grow(h);
		if (rc != 0) {
			h->dropped++;
			return rc;
		}
		ki = h->n++;
		k = &h->keys[ki];
		memset(k, 0, sizeof(*k));
		memcpy(k->backend, backend, len);
		k->slot = slot;
		k->hash = hash;
		*find_cell(h, backend, len, slot, hash) = (uint32_t)(ki + 1);
	}
	h->keys[ki].total[c]++;
	h->win[h->cur % h->nb][ki * NCLASS + (size_t)c]++;
	return 0;
}

size_t hsdo_health_count(const struct hsdo_health *h)
{
	return h != NULL ? h->n : 0;
}

static void fill(const struct hsdo_health *h, size_t ki, int64_t now_ms,
		 struct hsdo_health_stats *out)
{
	const struct hkey *k = &h->keys[ki];
	int64_t q = bucket_of(h, now_ms);
	unsigned b, c;

	memset(out, 0, sizeof(*out));
	out->backend = k->backend;
	out->slot = k->slot;
	memcpy(out->total, k->total, sizeof(out->total));
	for (b = 0; b < h->nb; b++) {
		if (h->bidx[b] <= q - (int64_t)h->nb)
			continue;
		for (c = 0; c < NCLASS; c++)
			out->window[c] += h->win[b][ki * NCLASS + c];
	}
	for (c = 0; c < NCLASS; c++)
		out->window_total += out->window[c];
	out->window_errors = out->window[HSDO_HEALTH_5XX] + out->window[HSDO_HEALTH_NONE];
}

void hsdo_health_get(const struct hsdo_health *h, size_t i, int64_t now_ms,
		     struct hsdo_health_stats *out)
{
	if (h == NULL || i >= h->n) {
		memset(out, 0, sizeof(*out));
		return;
	}
	fill(h, i, now_ms, out);
}

int hsdo_health_find(const struct hsdo_health *h, const char *backend, size_t len,
		     uint32_t slot, int64_t now_ms, struct hsdo_health_stats *out)
{
	const struct hkey *k = h != NULL ? lookup(h, backend, len, slot) : NULL;

	if (k == NULL) {
		memset(out, 0, sizeof(*out));
		return -HSDO_ENOTFOUND;
	}
	fill(h, (size_t)(k - h->keys), now_ms, out);
	return 0;
}

uint64_t hsdo_health_dropped(const struct hsdo_health *h)
{
	return h != NULL ? h->dropped : 0;
}

int64_t hsdo_health_window_ms(const struct hsdo_health *h)
{
	return h != NULL ? h->window_ms : 0;
}
