/* AWS layer benchmark, run by hand (Release build; bench/aws.sh starts the
 * peers):
 *   bench_aws [runs]
 * Always: SigV4 signing cost per request (median and best of `runs` runs
 * of 2,000 signatures) for a GetItem-sized and a 4 KB body.
 * With HSDO_BENCH_DDB_URL (an endpoint speaking DynamoDB: dynalite, or the
 * SigV4-checking proxy in front of it) and AWS credentials in the
 * environment: a 1,000-slot table is made (table hsdo-bench-<pid>) and
 * timed through the DynamoDB store over the blocking transport:
 *   read_generation  one consistent GetItem of item 0 (what clients poll)
 *   read_table       GetItem 0 + consistent Scan of every page (1 MB pages,
 *                    and pages of 100 items)
 *   write_slots      1,000 PutItems (sequential: blocking transport) + commit
 * with wall time (median of runs), requests and response bytes per
 * operation. Speed is never asserted in tests. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_util.h"
#include "hsdo/aws.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/sigv4.h"
#include "hsdo/slot.h"
#include "hsdo/store.h"
#include "hsdo/store_ddb.h"

#define PROG "bench_aws"
#define SIGN_ITERS 2000
#define SLOTS 1000

extern char **environ;

static volatile size_t sink;

static void bench_sign(int runs, size_t body_len, const char *label)
{
	struct hsdo_sigv4_header h[3] = {
		{ "Host", "dynamodb.eu-west-1.amazonaws.com" },
		{ "Content-Type", "application/x-amz-json-1.0" },
		{ "X-Amz-Target", "DynamoDB_20120810.GetItem" },
	};
	struct hsdo_sigv4_credentials c = { "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
					    "IQoJb3JpZ2luX2VjEXAMPLETOKEN" };
	struct hsdo_sigv4_params p = { "eu-west-1", "dynamodb", 1700000000, true };
	struct hsdo_sigv4_request r;
	struct hsdo_sigv4_result res;
	int64_t *v = calloc((size_t)runs, sizeof(*v)), med, best, t0;
	char *body = malloc(body_len + 1), err[256];
	int i, k, rc;

	if (v == NULL || body == NULL)
		bench_die(PROG, "malloc", -HSDO_ENOMEM);
	memset(body, 'x', body_len);
	body[body_len] = '\0';
	memset(&r, 0, sizeof(r));
	r.method = "POST";
	r.path = "/";
	r.headers = h;
	r.nheaders = 3;
	r.body = body;
	r.body_len = body_len;
	for (k = 0; k < runs; k++) {
		t0 = bench_mono_ns();
		for (i = 0; i < SIGN_ITERS; i++) {
			p.now_s = 1700000000 + i;
			rc = hsdo_sigv4_sign(&r, &c, &p, &res, err, sizeof(err));
			if (rc != 0)
				bench_die(PROG, err, rc);
			sink += strlen(res.authorization);
			hsdo_sigv4_result_free(&res);
		}
		v[k] = (bench_mono_ns() - t0) / SIGN_ITERS;
	}
	med = bench_median(v, (size_t)runs, &best);
	printf("| sign %-24s | %10.2f us | %10.2f us | %8s | %10s |\n", label, med / 1e3,
	       best / 1e3, "-", "-");
	free(v);
	free(body);
}

struct ctx {
	struct hsdo_http *http;
	struct hsdo_aws *aws;
	struct hsdo_store *st;
};

static uint64_t requests(struct ctx *c)
{
	struct hsdo_aws_op_stats rows[16];
	size_t n = hsdo_aws_stats(c->aws, rows, 16), i;
	uint64_t t = 0;

	for (i = 0; i < n; i++)
		t += rows[i].ok + rows[i].errors + rows[i].retries;
	return t;
}

static void row(const char *label, int64_t *v, int runs, uint64_t reqs, uint64_t bytes)
{
	int64_t med, best;

	med = bench_median(v, (size_t)runs, &best);
	printf("| %-29s | %10.2f ms | %10.2f ms | %8" PRIu64 " | %10" PRIu64 " |\n", label,
	       med / 1e6, best / 1e6, reqs, bytes);
}

static void open_store(struct ctx *c, const char *table, uint32_t page_limit)
{
	struct hsdo_store_ddb_options so;
	char err[640];
	int rc;

	memset(&so, 0, sizeof(so));
	so.table = table;
	so.page_limit = page_limit;
	if (c->st != NULL)
		hsdo_store_free(c->st);
	c->st = NULL;
	rc = hsdo_store_ddb_open(&so, c->aws, &c->st, err, sizeof(err));
	if (rc != 0)
		bench_die(PROG, err, rc);
}

/* Time op `runs` times; requests and bytes per run. */
#define TIMED(label, runs, stmt) do {                                               \
		struct hsdo_http_stats h0, h1;                                      \
		uint64_t r0 = requests(&c);                                         \
		int k_;                                                             \
		hsdo_http_stats(c.http, &h0);                                       \
		for (k_ = 0; k_ < (runs); k_++) {                                   \
			int64_t t0_ = bench_mono_ns();                              \
			stmt;                                                       \
			v[k_] = bench_mono_ns() - t0_;                              \
		}                                                                   \
		hsdo_http_stats(c.http, &h1);                                       \
		row(label, v, runs, (requests(&c) - r0) / (uint64_t)(runs),         \
		    (h1.bytes_in - h0.bytes_in) / (uint64_t)(runs));                \
	} while (0)

static void bench_ddb(int runs, const char *url)
{
	struct hsdo_aws_options o;
	struct hsdo_table t;
	struct ctx c;
	uint32_t *ids;
	char err[640], table[64], env_ep[300];
	char **envp;
	size_t n = 0, i;
	uint64_t gen = 0;
	int64_t *v = calloc((size_t)(runs > 200 ? runs : 200), sizeof(*v));
	int rc;

	if (v == NULL)
		bench_die(PROG, "malloc", -HSDO_ENOMEM);
	while (environ[n] != NULL)
		n++;
	envp = calloc(n + 2, sizeof(*envp));
	if (envp == NULL)
		bench_die(PROG, "malloc", -HSDO_ENOMEM);
	for (i = 0; i < n; i++)
		envp[i] = environ[i];
	snprintf(env_ep, sizeof(env_ep), "AWS_ENDPOINT_URL_DYNAMODB=%s", url);
	envp[n] = env_ep;
	memset(&c, 0, sizeof(c));
	if ((rc = hsdo_http_new(NULL, NULL, &c.http, err, sizeof(err))) != 0)
		bench_die(PROG, err, rc);
	memset(&o, 0, sizeof(o));
	o.envp = envp;
	o.region = "us-east-1";
	if ((rc = hsdo_aws_new(&o, c.http, &c.aws, err, sizeof(err))) != 0)
		bench_die(PROG, err, rc);
	snprintf(table, sizeof(table), "hsdo-bench-%ld", (long)getpid());
	if ((rc = hsdo_store_ddb_create_table(c.aws, table, err, sizeof(err))) != 0)
		bench_die(PROG, err, rc);
	open_store(&c, table, 0);
	if ((rc = hsdo_store_ensure_slots(c.st, SLOTS, err, sizeof(err))) != 0)
		bench_die(PROG, err, rc);
	if ((rc = hsdo_store_read_table(c.st, &t, err, sizeof(err))) != 0)
		bench_die(PROG, err, rc);
	ids = calloc(SLOTS, sizeof(*ids));
	if (ids == NULL)
		bench_die(PROG, "malloc", -HSDO_ENOMEM);
	for (i = 0; i < SLOTS; i++) {
		struct hsdo_slot *s = &t.slots[i];

		s->state = HSDO_SLOT_ACTIVE;
		hsdo_table_setf(&t, &s->ip, HSDO_IP_LEN, "10.%zu.%zu.%zu", i / 65536, (i / 256) % 256, i % 256);
		hsdo_table_setf(&t, &s->name, HSDO_NAME_LEN, "i-%017zx", i + 1);
		hsdo_table_setf(&t, &s->group, HSDO_GROUP_LEN, "bench-asg-%zu", i % 3);
		hsdo_table_setf(&t, &s->az, HSDO_AZ_LEN, "us-east-1%c", (char)('a' + i % 3));
		s->weight = (uint32_t)(i % 257);
		s->last_weight_update_us = INT64_C(1700000000000000) + (int64_t)i;
		ids[i] = (uint32_t)(i + 1);
	}
	gen = t.generation;
	printf("\n%d runs against %s, table of %d active slots\n\n", runs, url, SLOTS);
	printf("| %-29s | %13s | %13s | %8s | %10s |\n", "operation", "median", "best",
	       "requests", "bytes in");
	printf("|-------------------------------|---------------|---------------|----------|------------|\n");
	TIMED("write_slots 1000 (blocking)", runs, {
		rc = hsdo_store_write_slots(c.st, &t, ids, SLOTS, gen, 0, err, sizeof(err));
		if (rc != 0)
			bench_die(PROG, err, rc);
		gen++;
	});
	TIMED("read_generation (GetItem)", runs * 10 > 200 ? 200 : runs * 10, {
		uint64_t g;

		rc = hsdo_store_read_generation(c.st, &g, err, sizeof(err));
		if (rc != 0 || g != gen)
			bench_die(PROG, err, rc ? rc : -HSDO_EPROTO);
	});
	TIMED("read_table (Scan, 1 MB pages)", runs, {
		struct hsdo_table r;

		rc = hsdo_store_read_table(c.st, &r, err, sizeof(err));
		if (rc != 0 || r.n != SLOTS)
			bench_die(PROG, err, rc ? rc : -HSDO_EPROTO);
		hsdo_table_free(&r);
	});
	open_store(&c, table, 100);
	TIMED("read_table (pages of 100)", runs, {
		struct hsdo_table r;

		rc = hsdo_store_read_table(c.st, &r, err, sizeof(err));
		if (rc != 0 || r.n != SLOTS)
			bench_die(PROG, err, rc ? rc : -HSDO_EPROTO);
		hsdo_table_free(&r);
	});
	hsdo_table_free(&t);
	free(ids);
	free(v);
	hsdo_http_free(c.http);
	hsdo_store_free(c.st);
	hsdo_aws_free(c.aws);
	free(envp);
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 15;
	const char *url = getenv("HSDO_BENCH_DDB_URL");

	if (runs < 1)
		runs = 1;
	printf("| %-29s | %13s | %13s | %8s | %10s |\n", "operation", "median", "best",
	       "requests", "bytes in");
	printf("|-------------------------------|---------------|---------------|----------|------------|\n");
	bench_sign(runs, 90, "GetItem body (90 B)");
	bench_sign(runs, 4096, "4 KB body");
	if (url == NULL || url[0] == '\0') {
		printf("\n(set HSDO_BENCH_DDB_URL, or run bench/aws.sh, for the DynamoDB rows)\n");
		return 0;
	}
	bench_ddb(runs, url);
	return 0;
}
