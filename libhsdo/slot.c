#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
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
	s->ip = s->name = s->group = s->az = s->eject_reason = "";
}

void hsdo_slot_clear_eject(struct hsdo_slot *s)
{
	s->ejected_until_ms = 0;
	s->eject_since_ms = 0;
	s->eject_count = 0;
	s->eject_reason = "";
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
	if ((t->strs = hsdo_strset_new()) == NULL) {
		hsdo_free(t->slots);
		t->slots = NULL;
		return -HSDO_ENOMEM;
	}
	t->n = n;
	for (i = 0; i < n; i++) {
		t->slots[i].id = (uint32_t)(i + 1);
		hsdo_slot_clear(&t->slots[i]);
	}
	return 0;
}

void hsdo_table_free(struct hsdo_table *t)
{
	if (t == NULL)
		return;
	hsdo_free(t->slots);
	hsdo_strset_free(t->strs);
	memset(t, 0, sizeof(*t));
}

int hsdo_table_copy(struct hsdo_table *dst, const struct hsdo_table *src)
{
	return hsdo_table_copy_grow(dst, src, src->n);
}

int hsdo_table_copy_grow(struct hsdo_table *dst, const struct hsdo_table *src, size_t n)
{
	size_t i;

	memset(dst, 0, sizeof(*dst));
	if (n > HSDO_SLOTS_MAX || n < src->n)
		return -HSDO_EINVAL;
	dst->slots = hsdo_calloc(n ? n : 1, sizeof(*dst->slots));
	if (dst->slots == NULL)
		return -HSDO_ENOMEM;
	if (src->n)
		memcpy(dst->slots, src->slots, src->n * sizeof(*src->slots));
	for (i = src->n; i < n; i++) {
		dst->slots[i].id = (uint32_t)(i + 1);
		hsdo_slot_clear(&dst->slots[i]);
	}
	dst->n = n;
	dst->generation = src->generation;
	dst->strs = hsdo_strset_ref(src->strs);
	return 0;
}

/* The string fields of a slot and their bounds, for the functions that
 * treat them alike. */
#define SLOT_STRS(s) { &(s)->ip, &(s)->name, &(s)->group, &(s)->az, &(s)->eject_reason }
static const size_t slot_str_max[] = {
	HSDO_IP_LEN, HSDO_NAME_LEN, HSDO_GROUP_LEN, HSDO_AZ_LEN, HSDO_EJECT_REASON_LEN,
};
#define SLOT_NSTRS (sizeof(slot_str_max) / sizeof(slot_str_max[0]))

int hsdo_table_set(struct hsdo_table *t, const char **field, size_t max, const char *v)
{
	size_t len;

	if (v == NULL)
		return -HSDO_EINVAL;
	if ((len = strnlen(v, max)) >= max)
		return -HSDO_ETOOBIG;
	if (t->strs == NULL && (t->strs = hsdo_strset_new()) == NULL)
		return -HSDO_ENOMEM;
	return hsdo_strset_add(t->strs, v, len, field);
}

int hsdo_table_setf(struct hsdo_table *t, const char **field, size_t max, const char *fmt, ...)
{
	char buf[HSDO_NAME_LEN > HSDO_GROUP_LEN ? HSDO_NAME_LEN : HSDO_GROUP_LEN];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -HSDO_EINVAL;
	if ((size_t)n >= sizeof(buf) || (size_t)n >= max)
		return -HSDO_ETOOBIG;
	return hsdo_table_set(t, field, max, buf);
}

int hsdo_slot_intern(struct hsdo_slot *s, struct hsdo_strset *strs)
{
	const char **from[] = SLOT_STRS(s);
	const char *to[SLOT_NSTRS];
	size_t k;
	int rc;

	for (k = 0; k < SLOT_NSTRS; k++) {
		if (*from[k] == NULL || strnlen(*from[k], slot_str_max[k]) >= slot_str_max[k])
			return -HSDO_EINVAL;
		if ((rc = hsdo_strset_addz(strs, *from[k], &to[k])) != 0)
			return rc;
	}
	for (k = 0; k < SLOT_NSTRS; k++)
		*from[k] = to[k];
	return 0;
}

int hsdo_table_put(struct hsdo_table *t, size_t i, const struct hsdo_slot *src)
{
	struct hsdo_slot s;
	int rc;

	if (i >= t->n)
		return -HSDO_EINVAL;
	if (t->strs == NULL && (t->strs = hsdo_strset_new()) == NULL)
		return -HSDO_ENOMEM;
	s = *src;
	if ((rc = hsdo_slot_intern(&s, t->strs)) != 0)
		return rc;
	t->slots[i] = s;
	return 0;
}

int hsdo_table_compact(struct hsdo_table *t)
{
	struct hsdo_strset *next;
	size_t i, k, live = 0;

	for (i = 0; i < t->n; i++) {
		const char *const *f[] = SLOT_STRS(&t->slots[i]);

		for (k = 0; k < SLOT_NSTRS; k++)
			live += (*f[k])[0] != '\0' ? strlen(*f[k]) + 1 : 0;
	}
	if (hsdo_strset_bytes(t->strs) <= 2 * live)
		return 0;   /* also a table without a set (static strings only) */
	if ((next = hsdo_strset_new()) == NULL)
		return -HSDO_ENOMEM;
	/* Intern everything first: the second pass only finds strings
	 * already there, which cannot fail, so t changes all or not at all. */
	for (i = 0; i < t->n; i++) {
		const char **f[] = SLOT_STRS(&t->slots[i]);

		for (k = 0; k < SLOT_NSTRS; k++) {
			const char *p;

			if (hsdo_strset_addz(next, *f[k], &p) != 0) {
				hsdo_strset_free(next);
				return -HSDO_ENOMEM;
			}
		}
	}
	for (i = 0; i < t->n; i++) {
		const char **f[] = SLOT_STRS(&t->slots[i]);

		for (k = 0; k < SLOT_NSTRS; k++)
			(void)hsdo_strset_addz(next, *f[k], f[k]);
	}
	hsdo_strset_free(t->strs);
	t->strs = next;
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool hsdo_slot_equal(const struct hsdo_slot *a, const struct hsdo_slot *b)
{
	return a->id == b->id && a->state == b->state &&
	       str_eq(a->ip, b->ip) && str_eq(a->name, b->name) &&
	       str_eq(a->group, b->group) && str_eq(a->az, b->az) &&
	       a->port == b->port && a->weight == b->weight &&
	       a->last_weight_update_us == b->last_weight_update_us &&
	       a->ejected_until_ms == b->ejected_until_ms &&
	       a->eject_since_ms == b->eject_since_ms && a->eject_count == b->eject_count &&
	       str_eq(a->eject_reason, b->eject_reason);
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
