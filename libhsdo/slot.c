#include <arpa/inet.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/slot.h"

const char *hsdo_slot_state_str(enum hsdo_slot_state s)
{
	static const char *const names[HSDO_SLOT_STATE_COUNT] = {
		"free", "active", "draining", "ejected",
	};

	if ((unsigned)s >= HSDO_SLOT_STATE_COUNT)
		return "unknown";
	return names[s];
}

int hsdo_slot_from_name(const char *base, const char *name, size_t nlen, uint32_t max,
			uint32_t *slot)
{
	size_t blen = base != NULL ? strlen(base) : 0, i;
	uint64_t v = 0;

	*slot = 0;
	if (name == NULL || nlen <= blen || memcmp(name, base != NULL ? base : "", blen) != 0 ||
	    name[blen] < '1' || name[blen] > '9')
		return -HSDO_EINVAL;
	/* v <= max <= UINT32_MAX before each step: no overflow. */
	for (i = blen; i < nlen; i++) {
		if (name[i] < '0' || name[i] > '9')
			return -HSDO_EINVAL;
		v = v * 10 + (uint64_t)(name[i] - '0');
		if (v > max)
			return -HSDO_EINVAL;
	}
	*slot = (uint32_t)v;
	return 0;
}

void hsdo_slot_clear(struct hsdo_slot *s)
{
	uint32_t id = s->id;

	memset(s, 0, sizeof(*s));
	s->id = id;
	s->state = HSDO_SLOT_FREE;
}

void hsdo_slot_clear_eject(struct hsdo_slot *s)
{
	s->ejected_until_ms = 0;
	s->eject_since_ms = 0;
	s->eject_count = 0;
	memset(s->eject_reason, 0, sizeof(s->eject_reason));
}

bool hsdo_slot_used(const struct hsdo_slot *s)
{
	return s->state == HSDO_SLOT_ACTIVE || s->state == HSDO_SLOT_DRAINING ||
	       s->state == HSDO_SLOT_EJECTED;
}

int hsdo_table_init(struct hsdo_table *t, size_t n)
{
	size_t i;

	memset(t, 0, sizeof(*t));
	if (n > HSDO_SLOTS_MAX)
		return -HSDO_EINVAL;
	t->slots = hsdo_calloc(n ? n : 1, sizeof(*t->slots));
	if (t->slots == NULL)
		return -HSDO_ENOMEM;
	t->n = n;
	for (i = 0; i < n; i++)
		t->slots[i].id = (uint32_t)(i + 1);
	return 0;
}

void hsdo_table_free(struct hsdo_table *t)
{
	if (t == NULL)
		return;
	hsdo_free(t->slots);
	memset(t, 0, sizeof(*t));
}

int hsdo_table_copy(struct hsdo_table *dst, const struct hsdo_table *src)
{
	int rc = hsdo_table_init(dst, src->n);

	if (rc != 0)
		return rc;
	if (src->n)
		memcpy(dst->slots, src->slots, src->n * sizeof(*src->slots));
	dst->generation = src->generation;
	return 0;
}

bool hsdo_slot_equal(const struct hsdo_slot *a, const struct hsdo_slot *b)
{
	return a->id == b->id && a->state == b->state &&
	       strcmp(a->ip, b->ip) == 0 && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->group, b->group) == 0 && strcmp(a->az, b->az) == 0 &&
	       a->port == b->port && a->weight == b->weight &&
	       a->last_weight_update_us == b->last_weight_update_us &&
	       a->ejected_until_ms == b->ejected_until_ms &&
	       a->eject_since_ms == b->eject_since_ms && a->eject_count == b->eject_count &&
	       strcmp(a->eject_reason, b->eject_reason) == 0;
}

int hsdo_table_diff(const struct hsdo_table *a, const struct hsdo_table *b,
		    uint32_t **ids, size_t *n)
{
	size_t i, k = 0;

	*ids = NULL;
	*n = 0;
	if (a->n != b->n)
		return -HSDO_EINVAL;
	for (i = 0; i < a->n; i++)
		k += !hsdo_slot_equal(&a->slots[i], &b->slots[i]);
	if (k == 0)
		return 0;
	*ids = hsdo_calloc(k, sizeof(**ids));
	if (*ids == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < a->n; i++)
		if (!hsdo_slot_equal(&a->slots[i], &b->slots[i]))
			(*ids)[(*n)++] = b->slots[i].id;
	return 0;
}

int hsdo_strlcpy_field(char *dst, size_t dstlen, const char *src)
{
	size_t len = strlen(src);

	if (len >= dstlen)
		return -HSDO_ETOOBIG;
	memcpy(dst, src, len + 1);
	return 0;
}

bool hsdo_ip_valid(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}
