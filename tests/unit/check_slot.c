/* Slot model helpers: table init/copy/free, field copies, IP validation,
 * server-template names to slot numbers, error strings and the allocation
 * failure hook. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/slot.h"
#include "hsdo_test.h"

START_TEST(table_init_numbers_slots)
{
	struct hsdo_table t;
	size_t i;

	ck_assert_int_eq(hsdo_table_init(&t, 10), 0);
	ck_assert_uint_eq(t.n, 10);
	for (i = 0; i < t.n; i++) {
		ck_assert_uint_eq(t.slots[i].id, i + 1);
		ck_assert_int_eq(t.slots[i].state, HSDO_SLOT_FREE);
		ck_assert_str_eq(t.slots[i].ip, "");
	}
	hsdo_table_free(&t);
	ck_assert_ptr_null(t.slots);
	ck_assert_uint_eq(t.n, 0);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(table_init_bounds)
{
	struct hsdo_table t;

	ck_assert_int_eq(hsdo_table_init(&t, HSDO_SLOTS_MAX + 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_table_init(&t, 0), 0);
	ck_assert_uint_eq(t.n, 0);
	hsdo_table_free(&t);
}
END_TEST

START_TEST(table_copy_is_deep)
{
	struct hsdo_table a, b;

	ck_assert_int_eq(hsdo_table_init(&a, 3), 0);
	ck_assert_int_eq(hsdo_table_set(&a, &a.slots[1].ip, HSDO_IP_LEN, "10.0.0.1"), 0);
	a.slots[1].state = HSDO_SLOT_ACTIVE;
	a.generation = 7;
	ck_assert_int_eq(hsdo_table_copy(&b, &a), 0);
	ck_assert(hsdo_slot_equal(&a.slots[1], &b.slots[1]));
	ck_assert_uint_eq(b.generation, 7);
	b.slots[1].weight = 5;
	ck_assert(!hsdo_slot_equal(&a.slots[1], &b.slots[1]));
	hsdo_slot_clear(&b.slots[1]);
	ck_assert_uint_eq(b.slots[1].id, 2);
	ck_assert_str_eq(b.slots[1].ip, "");
	hsdo_table_free(&a);
	hsdo_table_free(&b);
}
END_TEST

START_TEST(table_init_alloc_failure)
{
	struct hsdo_table t;
	unsigned long i;

	for (i = 1; i <= 2; i++) {    /* the slots, then the string set */
		hsdo_alloc_fail_at(i, 0);
		ck_assert_int_eq(hsdo_table_init(&t, 4), -HSDO_ENOMEM);
		hsdo_alloc_fail_at(0, 0);
		ck_assert_ptr_null(t.slots);
		ck_assert_ptr_null(t.strs);
	}
}
END_TEST

/* ---- strings: interned in the table's set, shared by copies ------------------------ */

/* A copy shares the set: no string is copied, and either table outlives
 * the other (ASan sees a string read after its set is gone). */
START_TEST(table_copy_shares_strings)
{
	struct hsdo_table a, b;

	ck_assert_int_eq(hsdo_table_init(&a, 2), 0);
	ck_assert_int_eq(hsdo_table_set(&a, &a.slots[0].name, HSDO_NAME_LEN, "i-1"), 0);
	ck_assert_int_eq(hsdo_table_copy(&b, &a), 0);
	ck_assert_ptr_eq(b.strs, a.strs);
	ck_assert_uint_eq(hsdo_strset_refs(a.strs), 2);
	ck_assert_ptr_eq(b.slots[0].name, a.slots[0].name);
	/* each changes alone */
	ck_assert_int_eq(hsdo_table_set(&b, &b.slots[0].name, HSDO_NAME_LEN, "i-2"), 0);
	ck_assert_str_eq(a.slots[0].name, "i-1");
	ck_assert_str_eq(b.slots[0].name, "i-2");
	hsdo_table_free(&a);
	ck_assert_uint_eq(hsdo_strset_refs(b.strs), 1);
	ck_assert_str_eq(b.slots[0].name, "i-2");
	ck_assert_int_eq(hsdo_table_copy(&a, &b), 0);
	hsdo_table_free(&b);
	ck_assert_str_eq(a.slots[0].name, "i-2");
	/* grown: the slots kept, the new ones free and numbered on */
	ck_assert_int_eq(hsdo_table_copy_grow(&b, &a, 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_table_copy_grow(&b, &a, HSDO_SLOTS_MAX + 1), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_table_copy_grow(&b, &a, 5), 0);
	hsdo_table_free(&a);
	ck_assert_uint_eq(b.n, 5);
	ck_assert_str_eq(b.slots[0].name, "i-2");
	ck_assert_uint_eq(b.slots[4].id, 5);
	ck_assert_int_eq(b.slots[4].state, HSDO_SLOT_FREE);
	ck_assert_str_eq(b.slots[4].name, "");
	hsdo_table_free(&b);
}
END_TEST

START_TEST(table_set_bounds_and_dedup)
{
	struct hsdo_table t;
	char ip[HSDO_IP_LEN + 1];
	const char *before;

	memset(ip, '1', HSDO_IP_LEN);
	ip[HSDO_IP_LEN] = '\0';
	ck_assert_int_eq(hsdo_table_init(&t, 3), 0);
	/* the longest a field takes, and one byte more */
	ip[HSDO_IP_LEN - 1] = '\0';
	ck_assert_int_eq(hsdo_table_set(&t, &t.slots[0].ip, HSDO_IP_LEN, ip), 0);
	ck_assert_uint_eq(strlen(t.slots[0].ip), HSDO_IP_LEN - 1);
	ip[HSDO_IP_LEN - 1] = '1';
	before = t.slots[0].ip;
	ck_assert_int_eq(hsdo_table_set(&t, &t.slots[0].ip, HSDO_IP_LEN, ip), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_table_setf(&t, &t.slots[0].ip, HSDO_IP_LEN, "%s", ip),
			 -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_table_set(&t, &t.slots[0].ip, HSDO_IP_LEN, NULL), -HSDO_EINVAL);
	ck_assert_ptr_eq(t.slots[0].ip, before);
	/* one copy of a group every slot names */
	ck_assert_int_eq(hsdo_table_setf(&t, &t.slots[1].group, HSDO_GROUP_LEN, "asg-%d", 1), 0);
	ck_assert_int_eq(hsdo_table_set(&t, &t.slots[2].group, HSDO_GROUP_LEN, "asg-1"), 0);
	ck_assert_ptr_eq(t.slots[1].group, t.slots[2].group);
	ck_assert_str_eq(t.slots[2].group, "asg-1");
	ck_assert_uint_eq(hsdo_strset_count(t.strs), 2);
	hsdo_table_free(&t);
	hsdo_table_free(NULL);

	/* a table not made by hsdo_table_init gets its set on the first string */
	{
		struct hsdo_slot s;
		struct hsdo_table z = { &s, 1, 0, NULL };

		memset(&s, 0, sizeof(s));
		s.id = 1;
		hsdo_slot_clear(&s);
		ck_assert_int_eq(hsdo_table_set(&z, &s.az, HSDO_AZ_LEN, "eu-west-1a"), 0);
		ck_assert_ptr_nonnull(z.strs);
		ck_assert_str_eq(s.az, "eu-west-1a");
		hsdo_strset_free(z.strs);
	}
}
END_TEST

/* A slot from elsewhere (another table, a stack copy) gets its own copies
 * of its strings; bad strings are refused and leave the slot alone. */
START_TEST(table_put_and_intern)
{
	struct hsdo_table a, b;
	struct hsdo_slot s;
	char name[16] = "i-stack";
	char over[HSDO_AZ_LEN + 1];

	ck_assert_int_eq(hsdo_table_init(&a, 2), 0);
	ck_assert_int_eq(hsdo_table_init(&b, 2), 0);
	ck_assert_int_eq(hsdo_table_set(&a, &a.slots[1].ip, HSDO_IP_LEN, "10.0.0.2"), 0);
	a.slots[1].state = HSDO_SLOT_ACTIVE;
	ck_assert_int_eq(hsdo_table_put(&b, 1, &a.slots[1]), 0);
	hsdo_table_free(&a);
	ck_assert_str_eq(b.slots[1].ip, "10.0.0.2");
	ck_assert_int_eq(b.slots[1].state, HSDO_SLOT_ACTIVE);

	s = b.slots[0];
	s.name = name;
	ck_assert_int_eq(hsdo_table_put(&b, 0, &s), 0);
	name[0] = 'X';
	ck_assert_str_eq(b.slots[0].name, "i-stack");
	ck_assert_int_eq(hsdo_table_put(&b, 2, &s), -HSDO_EINVAL);
	s.ip = NULL;
	ck_assert_int_eq(hsdo_table_put(&b, 0, &s), -HSDO_EINVAL);
	memset(over, 'a', HSDO_AZ_LEN);
	over[HSDO_AZ_LEN] = '\0';
	s.ip = "10.0.0.1";
	s.az = over;
	ck_assert_int_eq(hsdo_slot_intern(&s, b.strs), -HSDO_EINVAL);
	ck_assert_ptr_eq(s.az, over);
	ck_assert_int_eq(hsdo_table_put(&b, 0, &s), -HSDO_EINVAL);
	ck_assert_str_eq(b.slots[0].name, "i-stack");
	ck_assert_str_eq(b.slots[0].ip, "");
	hsdo_table_free(&b);
}
END_TEST

/* Churn: every round renames every slot. Without compaction the set grows
 * by a table's worth of names each round; with it, it stays within twice
 * what the slots hold, and the strings survive the rebuild. */
START_TEST(table_compact_bounds_churn)
{
	enum { N = 100, ROUNDS = 200 };
	struct hsdo_table t, old;
	size_t i, r, live;
	const char *kept;

	ck_assert_int_eq(hsdo_table_init(&t, N), 0);
	ck_assert_int_eq(hsdo_table_set(&t, &t.slots[0].group, HSDO_GROUP_LEN, "asg-kept"), 0);
	kept = t.slots[0].group;
	ck_assert_int_eq(hsdo_table_copy(&old, &t), 0);   /* a holder of the old set */
	for (r = 0; r < ROUNDS; r++) {
		for (i = 0; i < N; i++)
			ck_assert_int_eq(hsdo_table_setf(&t, &t.slots[i].name, HSDO_NAME_LEN,
							 "i-%05zu-%05zu", r, i), 0);
		ck_assert_int_eq(hsdo_table_compact(&t), 0);
		live = N * sizeof("i-00000-00000") + sizeof("asg-kept");
		ck_assert_uint_le(hsdo_strset_bytes(t.strs), 2 * live);
		for (i = 0; i < N; i += 17) {
			char want[32];

			snprintf(want, sizeof(want), "i-%05zu-%05zu", r, i);
			ck_assert_str_eq(t.slots[i].name, want);
		}
		ck_assert_str_eq(t.slots[0].group, "asg-kept");
	}
	/* it was rebuilt (the old holder keeps the first set, untouched) */
	ck_assert_ptr_ne(t.strs, old.strs);
	ck_assert_str_eq(old.slots[0].group, "asg-kept");
	ck_assert_ptr_eq(old.slots[0].group, kept);
	ck_assert_str_eq(old.slots[5].name, "");
	/* nothing dead: a no-op */
	{
		struct hsdo_strset *before = t.strs;

		ck_assert_int_eq(hsdo_table_compact(&t), 0);
		ck_assert_ptr_eq(t.strs, before);
	}
	hsdo_table_free(&old);
	hsdo_table_free(&t);
}
END_TEST

/* Every allocation of set / put / copy / compact fails in turn: the call
 * says so and the table keeps its content. */
START_TEST(table_alloc_failures)
{
	struct hsdo_table t, c;
	struct hsdo_slot s;
	unsigned long i;
	size_t k;
	int rc;

	ck_assert_int_eq(hsdo_table_init(&t, 20), 0);
	for (k = 0; k < 20; k++)
		ck_assert_int_eq(hsdo_table_setf(&t, &t.slots[k].name, HSDO_NAME_LEN, "old-%zu", k),
				 0);
	for (k = 0; k < 20; k++)   /* now mostly dead */
		ck_assert_int_eq(hsdo_table_setf(&t, &t.slots[k].name, HSDO_NAME_LEN, "n-%zu", k),
				 0);
	for (k = 0; k < 20; k++)
		ck_assert_int_eq(hsdo_table_setf(&t, &t.slots[k].name, HSDO_NAME_LEN, "%zu", k), 0);
	for (i = 1;; i++) {
		struct hsdo_strset *before = t.strs;

		ck_assert_uint_lt(i, 100);
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_table_compact(&t);
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0) {
			ck_assert_ptr_ne(t.strs, before);
			break;
		}
		ck_assert_int_eq(rc, -HSDO_ENOMEM);
		ck_assert_ptr_eq(t.strs, before);
		ck_assert_str_eq(t.slots[19].name, "19");
	}
	ck_assert_str_eq(t.slots[19].name, "19");
	ck_assert_uint_eq(hsdo_strset_count(t.strs), 20);

	hsdo_alloc_fail_at(1, 0);
	ck_assert_int_eq(hsdo_table_copy(&c, &t), -HSDO_ENOMEM);
	hsdo_alloc_fail_at(0, 0);
	ck_assert_ptr_null(c.slots);
	ck_assert_uint_eq(hsdo_strset_refs(t.strs), 1);

	s = t.slots[3];
	s.group = "a-new-group";
	for (i = 1;; i++) {
		ck_assert_uint_lt(i, 100);
		hsdo_alloc_fail_at(i, 1);
		rc = hsdo_table_put(&t, 4, &s);
		hsdo_alloc_fail_at(0, 0);
		if (rc == 0)
			break;
		ck_assert_int_eq(rc, -HSDO_ENOMEM);
		ck_assert_str_eq(t.slots[4].name, "4");
		ck_assert_str_eq(t.slots[4].group, "");
	}
	ck_assert_str_eq(t.slots[4].name, "3");
	ck_assert_str_eq(t.slots[4].group, "a-new-group");
	hsdo_table_free(&t);
}
END_TEST

START_TEST(field_copy_bounds)
{
	char buf[4] = "ab";

	ck_assert_int_eq(hsdo_strlcpy_field(buf, sizeof(buf), "xyz"), 0);
	ck_assert_str_eq(buf, "xyz");
	ck_assert_int_eq(hsdo_strlcpy_field(buf, sizeof(buf), "wxyz"), -HSDO_ETOOBIG);
	ck_assert_str_eq(buf, "xyz");
}
END_TEST

static const struct {
	const char *s;
	bool ok;
} ip_cases[] = {
	{ "10.0.0.1", true }, { "::1", true }, { "fe80::1:2", true },
	{ "10.0.0.256", false }, { "999.1.1.1", false }, { "example.com", false },
	{ "", false }, { "none", false }, { "10.0.0.1 ", false }, { "1.2.3", false },
};

START_TEST(ip_validation)
{
	ck_assert_msg(hsdo_ip_valid(ip_cases[_i].s) == ip_cases[_i].ok,
		      "ip '%s'", ip_cases[_i].s);
}
END_TEST

START_TEST(strerror_both_signs)
{
	ck_assert_str_eq(hsdo_strerror(-HSDO_ENOMEM), "out of memory");
	ck_assert_str_eq(hsdo_strerror(HSDO_EPROTO), "malformed data");
	ck_assert_str_eq(hsdo_strerror(-9999), "unknown error");
	ck_assert_str_eq(hsdo_slot_state_str(HSDO_SLOT_DRAINING), "draining");
	ck_assert_str_eq(hsdo_slot_state_str(HSDO_SLOT_STATE_COUNT), "unknown");
}
END_TEST

/* ---- server-template name -> slot ------------------------------------------------ */

static const struct {
	const char *base, *name;
	uint32_t max;
	int rc;
	uint32_t slot;
} name_cases[] = {
	/* digits after the prefix */
	{ "web", "web1", 10, 0, 1 },
	{ "web", "web9", 10, 0, 9 },
	{ "web", "web10", 10, 0, 10 },
	{ "web", "web12", 100, 0, 12 },
	{ "web", "web100000", 100000, 0, 100000 },
	/* bounds: 1..max */
	{ "web", "web11", 10, -HSDO_EINVAL, 0 },
	{ "web", "web100001", 100000, -HSDO_EINVAL, 0 },
	{ "web", "web1", 0, -HSDO_EINVAL, 0 },
	{ "web", "web4294967295", UINT32_MAX, 0, 4294967295u },
	/* overflow: past UINT32_MAX, past 64 bits */
	{ "web", "web4294967296", UINT32_MAX, -HSDO_EINVAL, 0 },
	{ "web", "web99999999999", UINT32_MAX, -HSDO_EINVAL, 0 },
	{ "web", "web184467440737095516161", UINT32_MAX, -HSDO_EINVAL, 0 },
	/* zero and leading zeros: server-template never pads */
	{ "web", "web0", 10, -HSDO_EINVAL, 0 },
	{ "web", "web00", 10, -HSDO_EINVAL, 0 },
	{ "web", "web01", 10, -HSDO_EINVAL, 0 },
	{ "web", "web007", 10, -HSDO_EINVAL, 0 },
	/* the prefix must match exactly, case included */
	{ "web", "web", 10, -HSDO_EINVAL, 0 },
	{ "web", "we1", 10, -HSDO_EINVAL, 0 },
	{ "web", "Web1", 10, -HSDO_EINVAL, 0 },
	{ "web", "xweb1", 10, -HSDO_EINVAL, 0 },
	{ "web", "", 10, -HSDO_EINVAL, 0 },
	{ "web", "webweb1", 10, -HSDO_EINVAL, 0 },
	/* nothing but digits after it: no sign, space or suffix */
	{ "web", "web1a", 10, -HSDO_EINVAL, 0 },
	{ "web", "web-1", 10, -HSDO_EINVAL, 0 },
	{ "web", "web+1", 10, -HSDO_EINVAL, 0 },
	{ "web", "web 1", 10, -HSDO_EINVAL, 0 },
	{ "web", "web1 ", 10, -HSDO_EINVAL, 0 },
	{ "web", "web\xd9\xa1", 10, -HSDO_EINVAL, 0 },
	/* empty and NULL base: the name is the number */
	{ "", "7", 10, 0, 7 },
	{ NULL, "7", 10, 0, 7 },
	{ "", "x7", 10, -HSDO_EINVAL, 0 },
	{ "", "07", 10, -HSDO_EINVAL, 0 },
	/* a base that ends in digits */
	{ "srv_", "srv_3", 10, 0, 3 },
	{ "a1", "a12", 10, 0, 2 },
	{ "a1", "a1", 10, -HSDO_EINVAL, 0 },
};

START_TEST(slot_names)
{
	uint32_t slot = 99;
	const char *name = name_cases[_i].name;
	int rc = hsdo_slot_from_name(name_cases[_i].base, name, strlen(name), name_cases[_i].max,
				     &slot);

	ck_assert_msg(rc == name_cases[_i].rc, "%s (max %u): %d", name, name_cases[_i].max, rc);
	ck_assert_uint_eq(slot, name_cases[_i].slot);
}
END_TEST

/* Every name of a 1000-slot template maps to its number, and every other
 * decimal spelling of 0..1100 to nothing. */
START_TEST(slot_names_exhaustive)
{
	char name[32];
	uint32_t slot, v;

	for (v = 0; v <= 1100; v++) {
		int n = snprintf(name, sizeof(name), "be%u", v);

		slot = 99;
		if (v >= 1 && v <= 1000) {
			ck_assert_int_eq(hsdo_slot_from_name("be", name, (size_t)n, 1000, &slot), 0);
			ck_assert_uint_eq(slot, v);
		} else {
			ck_assert_int_eq(hsdo_slot_from_name("be", name, (size_t)n, 1000, &slot),
					 -HSDO_EINVAL);
			ck_assert_uint_eq(slot, 0);
		}
		n = snprintf(name, sizeof(name), "be0%u", v);
		ck_assert_int_eq(hsdo_slot_from_name("be", name, (size_t)n, 1000, &slot),
				 -HSDO_EINVAL);
	}
}
END_TEST

START_TEST(slot_name_length)
{
	uint32_t slot = 0;

	/* only name[0..nlen) is read: names come unterminated from SPOP */
	ck_assert_int_eq(hsdo_slot_from_name("web", "web12junk", 5, 100, &slot), 0);
	ck_assert_uint_eq(slot, 12);
	ck_assert_int_eq(hsdo_slot_from_name("web", "web12", 4, 100, &slot), 0);
	ck_assert_uint_eq(slot, 1);
	ck_assert_int_eq(hsdo_slot_from_name("web", "web12", 3, 100, &slot), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_slot_from_name("web", "we", 3, 100, &slot), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_slot_from_name("web", NULL, 0, 100, &slot), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_slot_from_name("", "1\0" "2", 3, 100, &slot), -HSDO_EINVAL);
}
END_TEST

/* Growing arrays: doubling from 16 up to max, zeroed, bounded, and an
 * allocation failure leaves the array as it was. */
START_TEST(grow_arrays)
{
	uint32_t *v = NULL;
	size_t cap = 0, i;
	char err[64];

	for (i = 0; i < 40; i++) {
		ck_assert_int_eq(hsdo_grow((void **)&v, &cap, i, sizeof(*v), 40, "ids", err,
					   sizeof(err)), 0);
		ck_assert_uint_eq(v[i], 0);
		v[i] = (uint32_t)i + 1;
	}
	ck_assert_uint_eq(cap, 40);   /* 16, 32, then capped at 40 */
	ck_assert_int_eq(hsdo_grow((void **)&v, &cap, 40, sizeof(*v), 40, "ids", err,
				   sizeof(err)), -HSDO_ETOOBIG);
	ck_assert_str_eq(err, "more than 40 ids");
	hsdo_free(v);
	v = NULL;
	cap = 0;
	ck_assert_int_eq(hsdo_grow((void **)&v, &cap, 0, sizeof(*v), 40, "ids", err,
				   sizeof(err)), 0);
	hsdo_alloc_fail_at(1, 0);
	ck_assert_int_eq(hsdo_grow((void **)&v, &cap, 16, sizeof(*v), 40, "ids", err,
				   sizeof(err)), -HSDO_ENOMEM);
	hsdo_alloc_fail_at(0, 0);
	ck_assert_uint_eq(cap, 16);
	ck_assert_ptr_nonnull(v);
	hsdo_free(v);
}
END_TEST

/* The one rule for untrusted bytes in a message. */
START_TEST(show_untrusted_bytes)
{
	char buf[16];

	ck_assert_str_eq(hsdo_show("abc", 3, 8, false, buf, sizeof(buf)), "abc");
	ck_assert_str_eq(hsdo_show("abc", 3, 8, true, buf, sizeof(buf)), "'abc'");
	ck_assert_str_eq(hsdo_show("a\nb\x7f\xff", 5, 8, false, buf, sizeof(buf)), "a?b??");
	ck_assert_str_eq(hsdo_show("abcdefghij", 10, 8, false, buf, sizeof(buf)), "abcdefgh...");
	ck_assert_str_eq(hsdo_show("abcdefghij", 10, 8, true, buf, sizeof(buf)), "'abcdefgh...'");
	ck_assert_str_eq(hsdo_show("abcdefgh", 8, 8, true, buf, sizeof(buf)), "'abcdefgh'");
	ck_assert_str_eq(hsdo_show("a\0b", 3, 8, false, buf, sizeof(buf)), "a?b");
	ck_assert_str_eq(hsdo_show("abc", 3, 12, false, buf, sizeof(buf)), "abc");
	ck_assert_str_eq(hsdo_show("abc", 3, 12, true, buf, sizeof(buf)), "?");  /* 12 + 6 > 16 */
}
END_TEST

static Suite *slot_suite(void)
{
	Suite *s = suite_create("slot");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, table_init_numbers_slots);
	tcase_add_test(tc, table_init_bounds);
	tcase_add_test(tc, table_copy_is_deep);
	tcase_add_test(tc, table_init_alloc_failure);
	tcase_add_test(tc, table_copy_shares_strings);
	tcase_add_test(tc, table_set_bounds_and_dedup);
	tcase_add_test(tc, table_put_and_intern);
	tcase_add_test(tc, table_compact_bounds_churn);
	tcase_add_test(tc, table_alloc_failures);
	tcase_add_test(tc, field_copy_bounds);
	tcase_add_loop_test(tc, ip_validation, 0, sizeof(ip_cases) / sizeof(ip_cases[0]));
	tcase_add_test(tc, strerror_both_signs);
	tcase_add_test(tc, show_untrusted_bytes);
	tcase_add_test(tc, grow_arrays);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, slot_names, 0, sizeof(name_cases) / sizeof(name_cases[0]));
	tcase_add_test(tc, slot_names_exhaustive);
	tcase_add_test(tc, slot_name_length);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(slot_suite());
}
