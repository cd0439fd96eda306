/* Server mode and client polling on DynamoDB (dynalite), through the real
 * store, AWS client, SigV4 and HTTP transport (blocking mode):
 *  - a server cycle with 1,000 instances: first fill, nothing changed
 *    (goal: zero writes), one instance changed (goal: one slot write plus
 *    the generation);
 *  - a client's idle poll (one GetItem of the control item) against the
 *    original's way (a full Scan of the table every cycle).
 * Requests and bytes are counted by the AWS client and the transport;
 * capacity units follow DynamoDB's rules for strongly consistent reads
 * (4 KB units of the items read) and writes (1 KB units per item), with the
 * item sizes measured from the JSON DynamoDB returns (an upper bound).
 *
 *   bench/server_ddb.sh     (starts dynalite, runs this)
 *   HSDO_BENCH_DDB_URL=http://127.0.0.1:PORT ./bench_server_ddb */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsdo/aws.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/server.h"
#include "hsdo/store.h"
#include "hsdo/store_ddb.h"

#include "bench_util.h"

#define N 1000
#define ROUNDS 15

extern char **environ;

struct counts {
	uint64_t requests, errors, retries, bytes_in, bytes_out;
	uint64_t by_op[8]; /* GetItem, Scan, PutItem, UpdateItem, other */
};

static const char *const ops[] = { "GetItem", "Scan", "PutItem", "UpdateItem" };

static void snap(struct hsdo_aws *aws, struct hsdo_http *http, struct counts *c)
{
	struct hsdo_aws_op_stats st[32];
	struct hsdo_http_stats hs;
	size_t i, j, n = hsdo_aws_stats(aws, st, 32);

	memset(c, 0, sizeof(*c));
	for (i = 0; i < n; i++) {
		c->requests += st[i].ok + st[i].errors;
		c->errors += st[i].errors;
		c->retries += st[i].retries;
		for (j = 0; j < 4; j++)
			if (strcmp(st[i].operation, ops[j]) == 0)
				c->by_op[j] += st[i].ok + st[i].errors;
	}
	hsdo_http_stats(http, &hs);
	c->bytes_in = hs.bytes_in;
	c->bytes_out = hs.bytes_out;
}

static void diff(const struct counts *a, const struct counts *b, struct counts *d)
{
	size_t j;

	d->requests = b->requests - a->requests;
	d->errors = b->errors - a->errors;
	d->retries = b->retries - a->retries;
	d->bytes_in = b->bytes_in - a->bytes_in;
	d->bytes_out = b->bytes_out - a->bytes_out;
	for (j = 0; j < 4; j++)
		d->by_op[j] = b->by_op[j] - a->by_op[j];
}

static struct hsdo_server_report last;

static void on_done(void *arg, const struct hsdo_server_report *rep)
{
	(void)arg;
	last = *rep;
}

static struct hsdo_instance inst[N];

static void mkinst(int gen_shift)
{
	int i;

	for (i = 0; i < N; i++) {
		memset(&inst[i], 0, sizeof(inst[i]));
		snprintf(inst[i].id, sizeof(inst[i].id), "i-%012d", i + gen_shift * (i == 0 ? 100000 : 0));
		snprintf(inst[i].ip, sizeof(inst[i].ip), "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
		snprintf(inst[i].group, sizeof(inst[i].group), "asg-bench");
		snprintf(inst[i].az, sizeof(inst[i].az), "eu-west-1a");
	}
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Run one server cycle; its wall time in ns and the request counts. */
static int64_t cycle(struct hsdo_server *s, struct hsdo_aws *aws, struct hsdo_http *http,
		     int64_t t, struct counts *d)
{
	struct counts a, b;
	int64_t t0;
	int rc;

	snap(aws, http, &a);
	t0 = bench_mono_ns();
	rc = hsdo_server_cycle(s, inst, N, t, on_done, NULL);
	if (rc != 0)
		bench_die("bench_server_ddb", "cycle", rc);
	t0 = bench_mono_ns() - t0;
	snap(aws, http, &b);
	diff(&a, &b, d);
	if (last.outcome == HSDO_SERVER_ERROR || last.outcome == HSDO_SERVER_CONFLICT) {
		fprintf(stderr, "cycle: %s: %s\n", hsdo_server_outcome_str(last.outcome), last.error);
		exit(1);
	}
	return t0;
}

static void row(const char *what, int64_t ns, const struct counts *d, size_t writes,
		double rcu, double wcu)
{
	printf("| %-38s | %9.2f | %5" PRIu64 " | %4" PRIu64 " | %4" PRIu64 " | %4" PRIu64 " | %4" PRIu64
	       " | %6zu | %9" PRIu64 " | %9" PRIu64 " | %7.1f | %5.1f |\n",
	       what, (double)ns / 1e6, d->requests, d->by_op[0], d->by_op[1], d->by_op[2],
	       d->by_op[3], writes, d->bytes_out, d->bytes_in, rcu, wcu);
}

int main(void)
{
	const char *url = getenv("HSDO_BENCH_DDB_URL");
	struct hsdo_store_ddb_options so;
	struct hsdo_server_settings set;
	struct hsdo_http_options ho;
	struct hsdo_aws_options ao;
	struct hsdo_http *http;
	struct hsdo_aws *aws;
	struct hsdo_store *st;
	struct hsdo_server *srv;
	struct hsdo_table t;
	struct counts d, a, b;
	char err[512] = "", table[64];
	int64_t v[ROUNDS], best, t0, base;
	uint64_t gen;
	size_t r, item_bytes;
	int rc;

	if (url == NULL) {
		fprintf(stderr, "set HSDO_BENCH_DDB_URL (bench/server_ddb.sh does)\n");
		return 2;
	}
	setenv("AWS_ENDPOINT_URL_DYNAMODB", url, 1);
	setenv("AWS_ACCESS_KEY_ID", "AKIDBENCH", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "bench-secret", 1);
	setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
	memset(&ho, 0, sizeof(ho));
	memset(&ao, 0, sizeof(ao));
	ao.envp = environ;
	ao.region = "eu-west-1";
	if ((rc = hsdo_http_new(&ho, NULL, &http, err, sizeof(err))) != 0 ||
	    (rc = hsdo_aws_new(&ao, http, &aws, err, sizeof(err))) != 0) {
		fprintf(stderr, "setup: %s\n", err);
		return 1;
	}
	snprintf(table, sizeof(table), "hsdo-bench-%ld", (long)time(NULL));
	if ((rc = hsdo_store_ddb_create_table(aws, table, err, sizeof(err))) != 0) {
		fprintf(stderr, "create table: %s\n", err);
		return 1;
	}
	memset(&so, 0, sizeof(so));
	so.table = table;
	so.max_slots = N;
	if ((rc = hsdo_store_ddb_open(&so, aws, &st, err, sizeof(err))) != 0) {
		fprintf(stderr, "open: %s\n", err);
		return 1;
	}
	memset(&set, 0, sizeof(set));
	set.plan.min_weight = 1;
	set.plan.max_weight = 1;      /* no ramp: "nothing changed" stays so */
	set.plan.increase_weight = 1;
	set.plan.increase_interval_us = 30 * 1000000LL;
	set.plan.drain_time_us = 30 * 1000000LL;
	set.slots = N;
	snprintf(set.holder, sizeof(set.holder), "bench");
	set.lease_ttl_ms = 15000;
	set.max_remove_share = 0.5;
	set.confirm_us = 30 * 1000000LL;
	if ((rc = hsdo_server_new(&set, st, &srv, err, sizeof(err))) != 0) {
		fprintf(stderr, "server: %s\n", err);
		return 1;
	}
	mkinst(0);
	base = now_us();

	printf("DynamoDB (dynalite 4 at %s), %d slots, %d instances, SigV4, blocking transport\n\n",
	       url, N, N);
	printf("| %-38s | %9s | %5s | %4s | %4s | %4s | %4s | %6s | %9s | %9s | %7s | %5s |\n",
	       "operation", "ms", "reqs", "Get", "Scan", "Put", "Upd", "writes", "bytes out",
	       "bytes in", "~RCU", "~WCU");
	printf("|%s|\n", "----------------------------------------|-----------|-------|------|"
	       "------|------|------|--------|-----------|-----------|---------|-------");

	t0 = cycle(srv, aws, http, base, &d);
	row("server: first start (create + fill)", t0, &d, last.written, 0,
	    (double)(d.by_op[2] + d.by_op[3]));

	for (r = 0; r < ROUNDS; r++)
		v[r] = cycle(srv, aws, http, base + (int64_t)(r + 1) * 100000, &d);
	row("server: nothing changed (median)", bench_median(v, ROUNDS, &best), &d, last.written,
	    1.0 * (double)d.by_op[0], (double)(d.by_op[2] + d.by_op[3]));
	if (last.outcome != HSDO_SERVER_UNCHANGED || d.by_op[2] + d.by_op[3] != 0)
		fprintf(stderr, "warning: unchanged cycle wrote (%s)\n",
			hsdo_server_outcome_str(last.outcome));

	mkinst(1);  /* instance 0 replaced: one slot drains, one is added */
	t0 = cycle(srv, aws, http, base + 2000000, &d);
	row("server: one instance replaced", t0, &d, last.written, (double)d.by_op[0],
	    (double)(d.by_op[2] + d.by_op[3]));
	mkinst(1);
	inst[5].leaving = true;   /* one instance leaving: one slot drains */
	t0 = cycle(srv, aws, http, base + 3000000, &d);
	row("server: one instance leaving", t0, &d, last.written, (double)d.by_op[0],
	    (double)(d.by_op[2] + d.by_op[3]));

	/* A client's idle poll: the generation only. */
	for (r = 0; r < ROUNDS; r++) {
		snap(aws, http, &a);
		t0 = bench_mono_ns();
		if ((rc = hsdo_store_read_generation(st, &gen, err, sizeof(err))) != 0)
			bench_die("bench_server_ddb", err, rc);
		v[r] = bench_mono_ns() - t0;
		snap(aws, http, &b);
	}
	diff(&a, &b, &d);
	row("client idle poll: GetItem generation", bench_median(v, ROUNDS, &best), &d, 0, 1.0, 0);
	/* The original: a full Scan every cycle. */
	for (r = 0; r < 5; r++) {
		snap(aws, http, &a);
		t0 = bench_mono_ns();
		if ((rc = hsdo_store_read_table(st, &t, err, sizeof(err))) != 0)
			bench_die("bench_server_ddb", err, rc);
		v[r] = bench_mono_ns() - t0;
		snap(aws, http, &b);
		hsdo_table_free(&t);
	}
	diff(&a, &b, &d);
	item_bytes = (size_t)d.bytes_in;
	row("original's poll: full Scan", bench_median(v, 5, &best), &d, 0,
	    (double)((item_bytes + 4095) / 4096), 0);
	printf("\n~RCU: strongly consistent reads, 4 KB units of the items read (Scan: "
	       "measured from the\nresponse bytes, an upper bound); ~WCU: 1 per item written "
	       "(items < 1 KB). Lease renewals\n(one UpdateItem per TTL/2 = 7.5 s) fall outside "
	       "these rows.\n");
	hsdo_server_free(srv);
	hsdo_store_free(st);
	hsdo_aws_free(aws);
	hsdo_http_free(http);
	return 0;
}
