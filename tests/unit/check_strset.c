/* The interned string set: one copy per distinct string, pointers that
 * stay valid while the index and the chunks grow, reference counting,
 * bounds, and allocation failures at every step. ASan checks the
 * lifetimes (a string read after its set is gone, a set never freed). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/strset.h"
#include "hsdo_test.h"

START_TEST(dedup)
{
	struct hsdo_strset *s = hsdo_strset_new();
	const char *a, *b, *c, *d, *e;
	char buf[8] = "web-1";

	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(hsdo_strset_addz(s, "web-1", &a), 0);
	ck_assert_int_eq(hsdo_strset_addz(s, buf, &b), 0);  /* another copy of it */
	ck_assert_ptr_eq(a, b);
	ck_assert_ptr_ne(a, buf);
	ck_assert_str_eq(a, "web-1");
	buf[0] = 'x';                                        /* the set has its own */
	ck_assert_str_eq(a, "web-1");
	/* prefixes and extensions are other strings */
	ck_assert_int_eq(hsdo_strset_addz(s, "web-", &c), 0);
	ck_assert_int_eq(hsdo_strset_addz(s, "web-10", &d), 0);
	ck_assert_int_eq(hsdo_strset_add(s, "web-10", 5, &e), 0);  /* len, not NUL */
	ck_assert_ptr_ne(c, a);
	ck_assert_ptr_ne(d, a);
	ck_assert_ptr_eq(e, a);
	ck_assert_str_eq(c, "web-");
	ck_assert_str_eq(d, "web-10");
	ck_assert_uint_eq(hsdo_strset_count(s), 3);
	ck_assert_uint_eq(hsdo_strset_bytes(s), 6 + 5 + 7);
	/* the empty string takes no room */
	ck_assert_int_eq(hsdo_strset_addz(s, "", &e), 0);
	ck_assert_str_eq(e, "");
	ck_assert_int_eq(hsdo_strset_add(s, NULL, 0, &b), 0);
	ck_assert_ptr_eq(b, e);
	ck_assert_uint_eq(hsdo_strset_count(s), 3);
	hsdo_strset_free(s);
}
END_TEST

/* Enough strings to grow the index and the chunks many times: every
 * pointer handed out stays valid and is found again. */
START_TEST(many)
{
	enum { N = 20000 };
	struct hsdo_strset *s = hsdo_strset_new();
	const char **p = calloc(N, sizeof(*p)), *q;
	size_t i, bytes = 0;
	char buf[64];

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(p);
	for (i = 0; i < N; i++) {
		int n = snprintf(buf, sizeof(buf), "%zu:abcdefghijklmnop", i * 7919);

		/* lengths vary (the padding is cut, the number kept) */
		ck_assert_int_eq(hsdo_strset_add(s, buf, (size_t)n - i % 5, &p[i]), 0);
		bytes += (size_t)n - i % 5 + 1;
	}
	ck_assert_uint_eq(hsdo_strset_count(s), N);
	ck_assert_uint_eq(hsdo_strset_bytes(s), bytes);
	for (i = 0; i < N; i++) {
		int n = snprintf(buf, sizeof(buf), "%zu:abcdefghijklmnop", i * 7919);

		buf[n - i % 5] = '\0';
		ck_assert_str_eq(p[i], buf);
		ck_assert_int_eq(hsdo_strset_addz(s, buf, &q), 0);
		ck_assert_ptr_eq(q, p[i]);
	}
	ck_assert_uint_eq(hsdo_strset_count(s), N);
	free(p);
	hsdo_strset_free(s);
}
END_TEST

START_TEST(bounds)
{
	struct hsdo_strset *s = hsdo_strset_new();
	char *big = malloc(HSDO_STRSET_STR_MAX + 2);
	const char *p = "unchanged", *q;

	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(big);
	memset(big, 'a', HSDO_STRSET_STR_MAX + 1);
	big[HSDO_STRSET_STR_MAX + 1] = '\0';
	ck_assert_int_eq(hsdo_strset_addz(s, big, &p), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_strset_add(s, big, HSDO_STRSET_STR_MAX + 1, &p), -HSDO_ETOOBIG);
	ck_assert_str_eq(p, "unchanged");
	/* the longest string fits, in a chunk of its own size */
	ck_assert_int_eq(hsdo_strset_add(s, big, HSDO_STRSET_STR_MAX, &q), 0);
	ck_assert_uint_eq(strlen(q), HSDO_STRSET_STR_MAX);
	/* a NUL inside, no set, no string */
	ck_assert_int_eq(hsdo_strset_add(s, "a\0b", 3, &p), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_strset_add(NULL, "a", 1, &p), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_strset_add(s, NULL, 1, &p), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_strset_addz(s, NULL, &p), -HSDO_EINVAL);
	ck_assert_str_eq(p, "unchanged");
	ck_assert_uint_eq(hsdo_strset_count(s), 1);
	ck_assert_uint_eq(hsdo_strset_count(NULL), 0);
	ck_assert_uint_eq(hsdo_strset_bytes(NULL), 0);
	free(big);
	hsdo_strset_free(s);
}
END_TEST

/* The strings live until the last reference is dropped (ASan would see a
 * read after the free, and a set never freed). */
START_TEST(refcount)
{
	struct hsdo_strset *s = hsdo_strset_new(), *r;
	const char *a;

	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(hsdo_strset_refs(s), 1);
	ck_assert_int_eq(hsdo_strset_addz(s, "asg-a", &a), 0);
	r = hsdo_strset_ref(s);
	ck_assert_ptr_eq(r, s);
	ck_assert_uint_eq(hsdo_strset_refs(s), 2);
	hsdo_strset_free(s);
	ck_assert_uint_eq(hsdo_strset_refs(r), 1);
	ck_assert_str_eq(a, "asg-a");
	/* a holder may add to a shared set: nothing moves */
	ck_assert_int_eq(hsdo_strset_addz(r, "asg-b", &a), 0);
	hsdo_strset_free(r);
	hsdo_strset_free(NULL);
	ck_assert_ptr_null(hsdo_strset_ref(NULL));
	ck_assert_uint_eq(hsdo_strset_refs(NULL), 0);
}
END_TEST

/* Every allocation of a run of adds fails in turn (and every one after
 * it): each failing add says so and leaves its output alone, the set
 * stays whole (what it holds is found again), nothing leaks. */
START_TEST(alloc_failures)
{
	enum { N = 300 };
	unsigned long i;
	bool done = false;
	char buf[32];

	for (i = 1; !done; i++) {
		struct hsdo_strset *s;
		const char *p;
		size_t k, ok = 0;
		int rc = 0;

		ck_assert_uint_lt(i, 1000);
		hsdo_alloc_fail_at(i, 1);
		s = hsdo_strset_new();
		for (k = 0; s != NULL && k < N && rc == 0; k++) {
			snprintf(buf, sizeof(buf), "10.0.%zu.%zu", k / 250, k % 250);
			p = "before";
			rc = hsdo_strset_addz(s, buf, &p);
			if (rc != 0) {
				ck_assert_int_eq(rc, -HSDO_ENOMEM);
				ck_assert_str_eq(p, "before");
			} else {
				ok++;
			}
		}
		hsdo_alloc_fail_at(0, 0);
		done = s != NULL && rc == 0;
		if (s == NULL)
			continue;
		ck_assert_uint_eq(hsdo_strset_count(s), ok);
		for (k = 0; k < ok; k++) {
			snprintf(buf, sizeof(buf), "10.0.%zu.%zu", k / 250, k % 250);
			ck_assert_int_eq(hsdo_strset_addz(s, buf, &p), 0);
			ck_assert_str_eq(p, buf);
		}
		ck_assert_uint_eq(hsdo_strset_count(s), ok);
		hsdo_strset_free(s);
	}
	ck_assert_uint_gt(i, 3);
}
END_TEST

static Suite *strset_suite(void)
{
	Suite *s = suite_create("strset");
	TCase *tc = tcase_create("strset");

	tcase_add_test(tc, dedup);
	tcase_add_test(tc, many);
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, refcount);
	tcase_add_test(tc, alloc_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(strset_suite());
}
