/* Server planner benchmark, run by hand (build Release, no sanitizers):
 *   bench_plan_server [repetitions]
 * For 100, 1,000 and 10,000 slots, times one hsdo_plan_server call per
 * scenario (freeing the result is not timed) and prints the median and best:
 *   cold start  empty table, one instance per slot;
 *   steady      full table at max weight, same instances: nothing changes;
 *   churn       table 90% full at max weight, 10% of the instances replaced:
 *               they start draining and as many new ones are placed;
 *   ramp step   full table at min weight, one interval later: every slot
 *               steps.
 * Instance ids look like EC2 ids and arrive shuffled, as discovery gives them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "hsdo/err.h"
#include "hsdo/plan_server.h"
#include "hsdo/slot.h"

#define SEC 1000000LL
#define T0 (1700000000LL * SEC)

static const struct hsdo_plan_server_settings st = {
	.min_weight = 1, .max_weight = 100, .increase_weight = 10,
	.increase_interval_us = 10 * SEC, .drain_time_us = 60 * SEC,
};

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void make_inst(struct hsdo_instance *in, uint64_t serial)
{
	memset(in, 0, sizeof(*in));
	snprintf(in->id, sizeof(in->id), "i-%017llx",
		 (unsigned long long)(next_rand() & 0xfffffffffffffULL));
	snprintf(in->ip, sizeof(in->ip), "10.%u.%u.%u",
		 (unsigned)(serial >> 16) & 255, (unsigned)(serial >> 8) & 255,
		 (unsigned)serial & 255);
	snprintf(in->group, sizeof(in->group), "origin-asg-%u", (unsigned)(serial % 3));
	snprintf(in->az, sizeof(in->az), "eu-west-1%c", 'a' + (int)(serial % 3));
}

static void shuffle(struct hsdo_instance *in, size_t n)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = (size_t)(next_rand() % i);
		struct hsdo_instance tmp = in[i - 1];

		in[i - 1] = in[j];
		in[j] = tmp;
	}
}

/* Plan into a fresh table and keep it (as the store would). */
static void settle(struct hsdo_table *t, const struct hsdo_instance *in, size_t n,
		   int64_t now)
{
	struct hsdo_plan_server_result r;
	int rc = hsdo_plan_server(t, in, n, now, &st, &r);

	if (rc != 0)
		bench_die("bench_plan_server", "settle", rc);
	hsdo_table_free(t);
	*t = r.table;
	memset(&r.table, 0, sizeof(r.table));
	hsdo_plan_server_result_free(&r);
}

/* Time `reps` plans; print the row and check the plan did what it says. */
static void run(size_t nslots, const char *name, const struct hsdo_table *t,
		const struct hsdo_instance *in, size_t n, int64_t now, int reps,
		size_t want_changed)
{
	int64_t *ns = calloc((size_t)reps, sizeof(*ns));
	struct hsdo_plan_server_result r;
	int i, rc;

	if (ns == NULL)
		bench_die("bench_plan_server", name, -HSDO_ENOMEM);
	for (i = 0; i < reps; i++) {
		int64_t a = bench_mono_ns();

		rc = hsdo_plan_server(t, in, n, now, &st, &r);
		ns[i] = bench_mono_ns() - a;
		if (rc != 0)
			bench_die("bench_plan_server", name, rc);
		if (r.nchanged != want_changed) {
			fprintf(stderr, "bench_plan_server: %s/%zu: %zu changed, want %zu\n",
				name, nslots, r.nchanged, want_changed);
			exit(1);
		}
		hsdo_plan_server_result_free(&r);
	}
	qsort(ns, (size_t)reps, sizeof(*ns), bench_cmp_i64);
	printf("%8zu | %-11s | %10.1f | %10.1f\n", nslots, name,
	       (double)ns[reps / 2] / 1000.0, (double)ns[0] / 1000.0);
	free(ns);
}

static void bench_size(size_t n, int reps)
{
	struct hsdo_instance *in = calloc(n, sizeof(*in));
	size_t i, part = n - n / 10, k;
	struct hsdo_table empty, full, ramping, partial;
	int rc;

	if (in == NULL)
		bench_die("bench_plan_server", "calloc", -HSDO_ENOMEM);
	for (i = 0; i < n; i++)
		make_inst(&in[i], i + 1);
	shuffle(in, n);
	if ((rc = hsdo_table_init(&empty, n)) != 0 ||
	    (rc = hsdo_table_copy(&ramping, &empty)) != 0 ||
	    (rc = hsdo_table_copy(&partial, &empty)) != 0)
		bench_die("bench_plan_server", "table", rc);

	run(n, "cold start", &empty, in, n, T0, reps, n);

	settle(&ramping, in, n, T0);
	run(n, "ramp step", &ramping, in, n, T0 + st.increase_interval_us, reps, n);

	if ((rc = hsdo_table_copy(&full, &ramping)) != 0)
		bench_die("bench_plan_server", "table", rc);
	settle(&full, in, n, T0 + 3600 * SEC);
	run(n, "steady", &full, in, n, T0 + 7200 * SEC, reps, 0);

	/* 90% full; replace a tenth of those instances. */
	settle(&partial, in, part, T0);
	settle(&partial, in, part, T0 + 3600 * SEC);
	k = n / 10;
	for (i = 0; i < k; i++)
		make_inst(&in[i * (part / k)], n + i + 1);
	run(n, "churn 10%", &partial, in, part, T0 + 7200 * SEC, reps, 2 * k);

	hsdo_table_free(&empty);
	hsdo_table_free(&ramping);
	hsdo_table_free(&full);
	hsdo_table_free(&partial);
	free(in);
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 100, 1000, 10000 };
	int reps = 25;
	size_t i;

	if (argc > 1) {
		char *end;
		long v = strtol(argv[1], &end, 10);

		if (*end != '\0' || v < 1 || v > 100000) {
			fprintf(stderr, "usage: %s [repetitions 1..100000]\n", argv[0]);
			return 2;
		}
		reps = (int)v;
	}
	printf("hsdo_plan_server, %d repetitions per row (result free not timed)\n", reps);
	printf("%8s | %-11s | %10s | %10s\n", "slots", "scenario", "median µs", "best µs");
	printf("---------+-------------+------------+-----------\n");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		bench_size(sizes[i], reps);
	return 0;
}
