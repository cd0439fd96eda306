/* The DynamoDB store against dynalite behind the SigV4-checking proxy:
 * table creation and verification (a missing table names table and
 * region), ensure_slots never overwriting and idempotent, Scan pagination
 * over many pages, read_generation, conditional writes refusing a stale
 * generation with nothing written, the lease (take, renew, conflict,
 * expiry takeover, epochs), fencing (a deposed holder is refused, also on
 * slots its successor stamped), throttling retried inside an operation,
 * bad requests, an original client's full read of the same table (the AWS
 * SDK, an independent implementation), and the asynchronous operations
 * on an event-driven transport (a poll(2) loop) with puts in flight
 * concurrently. */
#include <check.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dynalite.h"
#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/ddb.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/slot.h"
#include "hsdo/store.h"
#include "hsdo/store_ddb.h"
#include "hsdo_test.h"

static struct hsdo_test_dynalite dyn;
static char ep_env[128];

static void peers_up(void)
{
	char err[1024] = "";

	if (hsdo_test_dynalite_start(&dyn, NULL, err, sizeof(err)) != 0)
		ck_abort_msg("dynalite: %s", err);
	snprintf(ep_env, sizeof(ep_env), "AWS_ENDPOINT_URL_DYNAMODB=%s", dyn.url);
}

static void peers_down(void)
{
	hsdo_test_dynalite_stop(&dyn);
}

static void ctl(const char *path, const char *body)
{
	hsdo_test_dynalite_ctl_ok(&dyn, path, body);
}

static long pstat(const char *key)
{
	return hsdo_test_dynalite_stat_ok(&dyn, key);
}

/* ---- a client: transport + AWS + store ------------------------------------------- */

struct env {
	struct hsdo_http *http;
	struct hsdo_aws *aws;
	struct hsdo_store *st;
};

static char *client_env[] = { "HOME=/nonexistent", "AWS_REGION=" HSDO_TEST_REGION, ep_env,
			      "AWS_EC2_METADATA_DISABLED=true",
			      "AWS_ACCESS_KEY_ID=" HSDO_TEST_AKID,
			      "AWS_SECRET_ACCESS_KEY=" HSDO_TEST_SECRET, NULL };

static void aws_up(struct env *e, const struct hsdo_http_loop *loop)
{
	struct hsdo_aws_options o;
	char err[512] = "";

	memset(e, 0, sizeof(*e));
	ck_assert_int_eq(hsdo_http_new(NULL, loop, &e->http, err, sizeof(err)), 0);
	memset(&o, 0, sizeof(o));
	o.envp = client_env;
	o.max_tries = 4;
	o.base_delay_ms = 5;
	o.max_delay_ms = 50;
	ck_assert_msg(hsdo_aws_new(&o, e->http, &e->aws, err, sizeof(err)) == 0, "%s", err);
}

/* A fresh table (created) and a store on it. */
static void store_up(struct env *e, const char *table, uint32_t page_limit)
{
	struct hsdo_store_ddb_options so;
	char err[640] = "";

	aws_up(e, NULL);
	ck_assert_msg(hsdo_store_ddb_create_table(e->aws, table, err, sizeof(err)) == 0, "%s",
		      err);
	memset(&so, 0, sizeof(so));
	so.table = table;
	so.verify = true;
	so.page_limit = page_limit;
	ck_assert_msg(hsdo_store_ddb_open(&so, e->aws, &e->st, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(hsdo_store_name(e->st), "dynamodb");
	ck_assert(hsdo_store_is_ddb(e->st));
}

static void env_down(struct env *e)
{
	hsdo_http_free(e->http);
	hsdo_store_free(e->st);
	hsdo_aws_free(e->aws);
	memset(e, 0, sizeof(*e));
}

static uint64_t gen_of(struct env *e)
{
	char err[640] = "";
	uint64_t g = 99;

	ck_assert_msg(hsdo_store_read_generation(e->st, &g, err, sizeof(err)) == 0, "%s", err);
	return g;
}

static void read_all(struct env *e, struct hsdo_table *t)
{
	char err[640] = "";

	ck_assert_msg(hsdo_store_read_table(e->st, t, err, sizeof(err)) == 0, "%s", err);
}

/* s is a slot of t, or a stack slot (t NULL) given literals. */
static void set_active(struct hsdo_table *t, struct hsdo_slot *s, const char *ip, const char *name,
		       uint32_t w)
{
	s->state = HSDO_SLOT_ACTIVE;
	if (t == NULL) {
		s->ip = ip;
		s->name = name;
		s->group = "asg-a";
	} else {
		ck_assert_int_eq(hsdo_table_set(t, &s->ip, HSDO_IP_LEN, ip), 0);
		ck_assert_int_eq(hsdo_table_set(t, &s->name, HSDO_NAME_LEN, name), 0);
		ck_assert_int_eq(hsdo_table_set(t, &s->group, HSDO_GROUP_LEN, "asg-a"), 0);
	}
	s->weight = w;
	s->last_weight_update_us = INT64_C(1700000000123456);
}

/* ---- tests ---------------------------------------------------------------------------- */

START_TEST(create_verify_missing)
{
	struct hsdo_store_ddb_options so;
	struct hsdo_store *st = NULL;
	struct env e;
	char err[640] = "";

	store_up(&e, "hsdo-create", 0);
	/* again: the table exists, still fine */
	ck_assert_msg(hsdo_store_ddb_create_table(e.aws, "hsdo-create", err, sizeof(err)) == 0,
		      "%s", err);
	memset(&so, 0, sizeof(so));
	so.table = "hsdo-missing";
	so.verify = true;
	ck_assert_int_eq(hsdo_store_ddb_open(&so, e.aws, &st, err, sizeof(err)), -HSDO_ENOTFOUND);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err, "table hsdo-missing in " HSDO_TEST_REGION
			      ": no such DynamoDB table") == err, "%s", err);
	ck_assert_msg(strstr(err, dyn.url) != NULL, "%s", err);
	/* without verify it opens; operations then name table and region */
	so.verify = false;
	ck_assert_int_eq(hsdo_store_ddb_open(&so, e.aws, &st, err, sizeof(err)), 0);
	{
		uint64_t g;

		ck_assert_int_eq(hsdo_store_read_generation(st, &g, err, sizeof(err)),
				 -HSDO_ENOTFOUND);
		ck_assert_msg(strstr(err, "table hsdo-missing in " HSDO_TEST_REGION ": dynamodb "
				      "GetItem: ResourceNotFoundException") == err, "%s", err);
		ck_assert_int_eq(hsdo_store_ensure_slots(st, 3, err, sizeof(err)), -HSDO_ENOTFOUND);
	}
	hsdo_store_free(st);
	/* a table with another key schema is refused, by verify and by create */
	{
		static const char body[] = "{\"TableName\":\"hsdo-wrongkey\","
			"\"AttributeDefinitions\":[{\"AttributeName\":\"id\",\"AttributeType\":\"S\"}],"
			"\"KeySchema\":[{\"AttributeName\":\"id\",\"KeyType\":\"HASH\"}],"
			"\"BillingMode\":\"PAY_PER_REQUEST\"}";
		struct hsdo_aws_request req = { HSDO_CREDS_SVC_DYNAMODB, HSDO_AWS_JSON,
						"CreateTable", "DynamoDB_20120810.CreateTable",
						body, sizeof(body) - 1 };

		ck_assert_msg(hsdo_aws_call_sync(e.aws, &req, NULL, NULL, err, sizeof(err)) == 0,
			      "%s", err);
		so.table = "hsdo-wrongkey";
		so.verify = true;
		ck_assert_int_eq(hsdo_store_ddb_open(&so, e.aws, &st, err, sizeof(err)),
				 -HSDO_EPROTO);
		ck_assert_msg(strstr(err, "BackendServerID") != NULL, "%s", err);
		ck_assert_int_eq(hsdo_store_ddb_create_table(e.aws, "hsdo-wrongkey", err,
							     sizeof(err)), -HSDO_EPROTO);
	}
	/* a bad table name is a configuration error */
	so.table = "a b";
	ck_assert_int_eq(hsdo_store_ddb_open(&so, e.aws, &st, err, sizeof(err)), -HSDO_ECONFIG);
	env_down(&e);
}
END_TEST

START_TEST(ensure_slots_idempotent)
{
	struct hsdo_table t, t2;
	uint32_t id = 2;
	struct env e;
	char err[640] = "";

	store_up(&e, "hsdo-ensure", 0);
	ctl("/__reset", "{}");
	ck_assert_uint_eq(gen_of(&e), 0);
	ck_assert_msg(hsdo_store_ensure_slots(e.st, 5, err, sizeof(err)) == 0, "%s", err);
	ck_assert_int_eq(pstat("DynamoDB_20120810.PutItem"), 5);
	ck_assert_uint_eq(gen_of(&e), 1);
	read_all(&e, &t);
	ck_assert_uint_eq(t.n, 5);
	ck_assert_uint_eq(t.generation, 1);
	ck_assert_int_eq(t.slots[4].id, 5);
	ck_assert_int_eq(t.slots[4].state, HSDO_SLOT_FREE);

	/* nothing missing: no put, no bump */
	ck_assert_int_eq(hsdo_store_ensure_slots(e.st, 5, err, sizeof(err)), 0);
	ck_assert_int_eq(pstat("DynamoDB_20120810.PutItem"), 5);
	ck_assert_uint_eq(gen_of(&e), 1);

	/* an existing slot is never overwritten */
	set_active(&t, &t.slots[1], "10.0.0.2", "i-2", 7);
	ck_assert_msg(hsdo_store_write_slots(e.st, &t, &id, 1, 1, 0, err, sizeof(err)) == 0, "%s",
		      err);
	ck_assert_int_eq(hsdo_store_ensure_slots(e.st, 8, err, sizeof(err)), 0);
	ck_assert_int_eq(pstat("DynamoDB_20120810.PutItem"), 5 + 1 + 3);
	ck_assert_uint_eq(gen_of(&e), 3);
	read_all(&e, &t2);
	ck_assert_uint_eq(t2.n, 8);
	ck_assert_uint_eq(t2.generation, 3);
	ck_assert(hsdo_slot_equal(&t2.slots[1], &t.slots[1]));
	ck_assert_int_eq(t2.slots[7].state, HSDO_SLOT_FREE);
	hsdo_table_free(&t);
	hsdo_table_free(&t2);

	ck_assert_int_eq(hsdo_store_ensure_slots(e.st, 0, err, sizeof(err)), -HSDO_EINVAL);
	env_down(&e);
}
END_TEST

START_TEST(scan_pagination)
{
	struct hsdo_table t;
	uint32_t ids[60];
	struct env e;
	char err[640] = "";
	size_t i;

	store_up(&e, "hsdo-pages", 7);
	ck_assert_int_eq(hsdo_store_ensure_slots(e.st, 60, err, sizeof(err)), 0);
	read_all(&e, &t);
	for (i = 0; i < 60; i++) {
		char ip[32], name[32];

		snprintf(ip, sizeof(ip), "10.1.0.%zu", i + 1);
		snprintf(name, sizeof(name), "i-%04zu", i + 1);
		set_active(&t, &t.slots[i], ip, name, (uint32_t)(i % 200));
		ids[i] = (uint32_t)(i + 1);
	}
	ck_assert_msg(hsdo_store_write_slots(e.st, &t, ids, 60, t.generation, 0, err,
					     sizeof(err)) == 0, "%s", err);
	ctl("/__reset", "{}");
	{
		struct hsdo_table r;

		read_all(&e, &r);
		ck_assert_uint_eq(r.n, 60);
		ck_assert_uint_eq(r.generation, 2);
		for (i = 0; i < 60; i++)
			ck_assert_msg(hsdo_slot_equal(&r.slots[i], &t.slots[i]), "slot %zu", i + 1);
		/* 61 items (60 slots + item 0) in pages of 7: 9 pages */
		ck_assert_int_ge(pstat("DynamoDB_20120810.Scan"), 9);
		ck_assert_int_eq(pstat("DynamoDB_20120810.GetItem"), 1);
		hsdo_table_free(&r);
	}
	hsdo_table_free(&t);
	env_down(&e);
}
END_TEST

START_TEST(write_conflict)
{
	struct hsdo_table t, r;
	uint32_t id = 1;
	struct env e;
	char err[640] = "";

	store_up(&e, "hsdo-conflict", 0);
	ck_assert_int_eq(hsdo_store_ensure_slots(e.st, 3, err, sizeof(err)), 0);
	read_all(&e, &t);
	set_active(&t, &t.slots[0], "10.0.0.1", "i-1", 1);
	ck_assert_int_eq(hsdo_store_write_slots(e.st, &t, &id, 1, 1, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(gen_of(&e), 2);
	/* a writer still at generation 1 is refused, and writes nothing */
	ctl("/__reset", "{}");
	set_active(&t, &t.slots[0], "10.0.0.99", "i-99", 9);
	ck_assert_int_eq(hsdo_store_write_slots(e.st, &t, &id, 1, 1, 0, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	ck_assert_msg(strstr(err, "generation is 2, expected 1: nothing written") != NULL, "%s",
		      err);
	ck_assert_int_eq(pstat("DynamoDB_20120810.PutItem"), -1);   /* none sent */
	read_all(&e, &r);
	ck_assert_str_eq(r.slots[0].ip, "10.0.0.1");
	ck_assert_uint_eq(r.generation, 2);
	hsdo_table_free(&r);
	/* an id outside the table, a bad slot */
	id = 9;
	ck_assert_int_eq(hsdo_store_write_slots(e.st, &t, &id, 1, 2, 0, err, sizeof(err)),
			 -HSDO_EINVAL);
	id = 1;
	t.slots[0].weight = HSDO_WEIGHT_MAX + 1;
	ck_assert_int_eq(hsdo_store_write_slots(e.st, &t, &id, 1, 2, 0, err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_uint_eq(gen_of(&e), 2);
	/* nothing to write still commits a generation */
	ck_assert_int_eq(hsdo_store_write_slots(e.st, &t, NULL, 0, 2, 0, err, sizeof(err)), 0);
	ck_assert_uint_eq(gen_of(&e), 3);
	hsdo_table_free(&t);
	env_down(&e);
}
END_TEST

START_TEST(lease_lifecycle)
{
	struct hsdo_lease l;
	struct env a, b;
	char err[640] = "";

	store_up(&a, "hsdo-lease", 0);
	store_up(&b, "hsdo-lease", 0);
	/* A takes a free lease: the first epoch is the time of the take, + 1 */
	ck_assert_msg(hsdo_store_lease(a.st, "srv-a", 1000, 10000, &l, err, sizeof(err)) == 0,
		      "%s", err);
	ck_assert_str_eq(l.holder, "srv-a");
	ck_assert_uint_eq(l.epoch, 1001);
	ck_assert_int_eq(l.expires_ms, 11000);
	ck_assert(l.taken_over);
	/* the lease creates item 0 with a generation an original client survives */
	ck_assert_uint_eq(gen_of(&a), 0);
	/* A renews: same epoch */
	ctl("/__reset", "{}");
	ck_assert_int_eq(hsdo_store_lease(a.st, "srv-a", 2000, 10000, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.epoch, 1001);
	ck_assert_int_eq(l.expires_ms, 12000);
	ck_assert(!l.taken_over);
	ck_assert_int_eq(pstat("DynamoDB_20120810.UpdateItem"), 1);   /* one write, no read */
	ck_assert_int_eq(pstat("DynamoDB_20120810.GetItem"), -1);
	/* B while A holds it: one read, the holder reported */
	ctl("/__reset", "{}");
	memset(&l, 0, sizeof(l));
	ck_assert_int_eq(hsdo_store_lease(b.st, "srv-b", 3000, 10000, &l, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	ck_assert_str_eq(l.holder, "srv-a");
	ck_assert_uint_eq(l.epoch, 1001);
	ck_assert_int_eq(l.expires_ms, 12000);
	ck_assert_msg(strstr(err, "lease held by srv-a (epoch 1001) for 9000 ms more") != NULL, "%s",
		      err);
	ck_assert_int_eq(pstat("DynamoDB_20120810.GetItem"), 1);
	ck_assert_int_eq(pstat("DynamoDB_20120810.UpdateItem"), -1);
	/* A lapses; B takes over with the next epoch */
	ck_assert_int_eq(hsdo_store_lease(b.st, "srv-b", 12000, 10000, &l, err, sizeof(err)), 0);
	ck_assert_str_eq(l.holder, "srv-b");
	ck_assert_uint_eq(l.epoch, 1002);
	ck_assert(l.taken_over);
	/* A comes back: its renewal fails and it learns the new holder */
	ck_assert_int_eq(hsdo_store_lease(a.st, "srv-a", 12500, 10000, &l, err, sizeof(err)),
			 -HSDO_ECONFLICT);
	ck_assert_str_eq(l.holder, "srv-b");
	ck_assert_uint_eq(l.epoch, 1002);
	/* a restarted B (no memory of its lease) renews without a new epoch */
	env_down(&b);
	store_up(&b, "hsdo-lease", 0);
	ck_assert_int_eq(hsdo_store_lease(b.st, "srv-b", 13000, 10000, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.epoch, 1002);
	ck_assert(!l.taken_over);
	ck_assert_int_eq(l.expires_ms, 23000);
	/* bad arguments */
	ck_assert_int_eq(hsdo_store_lease(b.st, "", 1, 1, &l, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_store_lease(b.st, "x", 1, 0, &l, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_store_lease(b.st, "bad\nname", 1, 10, &l, err, sizeof(err)),
			 -HSDO_EINVAL);
	env_down(&a);
	env_down(&b);
}
END_TEST

/* PutItem of slot id stamped with epoch, as a successor would. */
static void stamp_slot(struct env *e, const char *table, uint32_t id, uint64_t epoch)
{
	struct hsdo_aws_request req;
	struct hsdo_ddb_req r;
	struct hsdo_slot s;
	char err[512] = "";

	memset(&s, 0, sizeof(s));
	s.id = id;
	hsdo_slot_clear(&s);
	set_active(NULL, &s, "10.9.9.9", "i-successor", 3);
	ck_assert_int_eq(hsdo_ddb_build_put_slot_fenced(table, &s, epoch, &r, err, sizeof(err)), 0);
	memset(&req, 0, sizeof(req));
	req.service = HSDO_CREDS_SVC_DYNAMODB;
	req.protocol = HSDO_AWS_JSON;
	req.operation = "PutItem";
	req.target = r.target;
	req.body = r.body;
	req.len = r.len;
	ck_assert_msg(hsdo_aws_call_sync(e->aws, &req, NULL, NULL, err, sizeof(err)) == 0, "%s",
		      err);
	hsdo_ddb_req_free(&r);
}

START_TEST(fencing)
{
	struct hsdo_table t, r;
	struct hsdo_lease la, lb;
	uint32_t all[4] = { 1, 2, 3, 4 }, one = 3;
	struct env a, b;
	char err[640] = "";

	store_up(&a, "hsdo-fence", 0);
	store_up(&b, "hsdo-fence", 0);
	ck_assert_int_eq(hsdo_store_ensure_slots(a.st, 4, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_store_lease(a.st, "srv-a", 1000, 5000, &la, err, sizeof(err)), 0);
	ck_assert_uint_eq(la.epoch, 1001);
	read_all(&a, &t);
	set_active(&t, &t.slots[2], "10.0.0.3", "i-3", 5);
	ck_assert_msg(hsdo_store_write_slots(a.st, &t, &one, 1, t.generation, la.epoch, err,
					     sizeof(err)) == 0, "%s", err);

	/* slot level: a slot stamped with a later epoch refuses A's put even
	 * while A's lease check passes; nothing is committed */
	stamp_slot(&b, "hsdo-fence", 3, la.epoch + 1);
	read_all(&a, &r);
	set_active(&r, &r.slots[2], "10.0.0.33", "i-33", 6);
	ck_assert_int_eq(hsdo_store_write_slots(a.st, &r, &one, 1, r.generation, la.epoch, err,
						sizeof(err)), -HSDO_ECONFLICT);
	ck_assert_msg(strstr(err, "slot 3 is stamped with an epoch above this writer's 1001: "
			      "deposed, nothing committed") != NULL, "%s", err);
	ck_assert_uint_eq(gen_of(&a), r.generation);
	hsdo_table_free(&r);
	read_all(&a, &r);
	ck_assert_str_eq(r.slots[2].name, "i-successor");
	hsdo_table_free(&r);

	/* lease level: B takes over after A's expiry and rewrites every slot
	 * under the next epoch; deposed A is refused before writing anything */
	ck_assert_int_eq(hsdo_store_lease(b.st, "srv-b", 7000, 5000, &lb, err, sizeof(err)), 0);
	ck_assert_uint_eq(lb.epoch, 1002);
	read_all(&b, &r);
	ck_assert_msg(hsdo_store_write_slots(b.st, &r, all, 4, r.generation, lb.epoch, err,
					     sizeof(err)) == 0, "%s", err);
	hsdo_table_free(&r);
	read_all(&a, &r);
	ctl("/__reset", "{}");
	set_active(&r, &r.slots[0], "10.0.0.111", "i-111", 1);
	one = 1;
	ck_assert_int_eq(hsdo_store_write_slots(a.st, &r, &one, 1, r.generation, la.epoch, err,
						sizeof(err)), -HSDO_ECONFLICT);
	ck_assert_msg(strstr(err, "lease epoch is 1002 (holder srv-b), this writer's is 1001: deposed, "
			      "nothing written") != NULL, "%s", err);
	ck_assert_int_eq(pstat("DynamoDB_20120810.PutItem"), -1);
	hsdo_table_free(&r);
	/* an unfenced write (epoch 0) is not checked against the lease */
	read_all(&a, &r);
	ck_assert_int_eq(hsdo_store_write_slots(a.st, &r, NULL, 0, r.generation, 0, err,
						sizeof(err)), 0);
	hsdo_table_free(&r);
	hsdo_table_free(&t);
	env_down(&a);
	env_down(&b);
}
END_TEST

START_TEST(throttling_inside_operations)
{
	struct hsdo_aws_op_stats rows[8];
	struct hsdo_table t;
	struct env e;
	char err[640] = "";
	size_t n, i;
	uint64_t retries = 0;

	store_up(&e, "hsdo-throttle", 3);
	ck_assert_int_eq(hsdo_store_ensure_slots(e.st, 10, err, sizeof(err)), 0);
	ctl("/__reset", "{}");
	ctl("/__inject", "{\"count\":2,\"target\":\"DynamoDB_20120810.Scan\"}");
	ctl("/__inject", "{\"count\":1,\"status\":500,\"code\":\"\",\"target\":"
	    "\"DynamoDB_20120810.GetItem\"}");
	read_all(&e, &t);
	ck_assert_uint_eq(t.n, 10);
	ck_assert_int_eq(pstat("injected"), 3);
	n = hsdo_aws_stats(e.aws, rows, 8);
	for (i = 0; i < n; i++)
		retries += rows[i].retries;
	ck_assert_uint_ge(retries, 3);
	hsdo_table_free(&t);
	/* a throttled put that never clears fails the write with the code */
	ctl("/__inject", "{\"count\":10,\"target\":\"DynamoDB_20120810.PutItem\"}");
	read_all(&e, &t);
	{
		uint32_t id = 4;

		set_active(&t, &t.slots[3], "10.0.0.4", "i-4", 1);
		ck_assert_int_eq(hsdo_store_write_slots(e.st, &t, &id, 1, t.generation, 0, err,
							sizeof(err)), -HSDO_EAWS);
		ck_assert_msg(strstr(err, "slot 4: dynamodb PutItem: "
				      "ProvisionedThroughputExceededException") != NULL, "%s", err);
		ck_assert_msg(strstr(err, "4 tries") != NULL, "%s", err);
	}
	ctl("/__reset", "{}");
	hsdo_table_free(&t);
	env_down(&e);
}
END_TEST

START_TEST(original_client_reads_it)
{
	struct hsdo_table t;
	struct hsdo_lease l;
	uint32_t id = 2;
	struct env e;
	char err[640] = "", line[8192] = "";

	store_up(&e, "hsdo-original", 2);
	ck_assert_int_eq(hsdo_store_ensure_slots(e.st, 4, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_store_lease(e.st, "srv-a", 1000, 5000, &l, err, sizeof(err)), 0);
	read_all(&e, &t);
	set_active(&t, &t.slots[1], "10.0.0.2", "i-2", 9);
	ck_assert_int_eq(hsdo_store_write_slots(e.st, &t, &id, 1, t.generation, l.epoch, err,
						sizeof(err)), 0);
	hsdo_table_free(&t);
	{
		const char *args[] = { dyn.direct_url, "hsdo-original", NULL };

		ck_assert_int_eq(hsdo_test_node_run("ddb_original_scan.js", args, line,
						    sizeof(line)), 0);
	}
	/* 5 items: item 0 reads as a free slot 0, slot 2 as enabled */
	ck_assert_msg(strstr(line, "{\"items\":5,\"slots\":[{\"id\":0,\"ip\":\"none\",\"name\":"
			      "\"none\",\"weight\":0,\"status\":\"disabled\"},") == line, "%s", line);
	ck_assert_msg(strstr(line, "{\"id\":2,\"ip\":\"10.0.0.2\",\"name\":\"i-2\",\"weight\":9,"
			      "\"status\":\"enabled\"}") != NULL, "%s", line);
	env_down(&e);
}
END_TEST

/* Run the original-style peer (tests/fixtures/original_hsdo.js) on table. */
static void original(const char *table, const char *const *args)
{
	const char *argv[24];
	char out[2048] = "";
	size_t n = 0;

	argv[n++] = args[0];
	argv[n++] = "--endpoint";
	argv[n++] = dyn.direct_url;
	argv[n++] = "--table";
	argv[n++] = table;
	for (args++; *args != NULL && n < 23; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	ck_assert_msg(hsdo_test_node_run("original_hsdo.js", argv, out, sizeof(out)) == 0,
		      "original_hsdo.js %s: %s", argv[0], out);
}

/* Read the table and check what it cost: Scan pages and GetItems. */
static void read_costs(struct env *e, uint64_t gen, long scans, long gets)
{
	struct hsdo_table t;

	ctl("/__reset", "{}");
	read_all(e, &t);
	ck_assert_uint_eq(t.n, 3);
	ck_assert_uint_eq(t.generation, gen);
	ck_assert_int_eq(pstat("DynamoDB_20120810.Scan"), scans);
	ck_assert_int_eq(pstat("DynamoDB_20120810.GetItem"), gets);  /* -1: none */
	hsdo_table_free(&t);
}

/* A table the original server wrote (no item 0) is generation 0, and once a
 * read found it so, reading it again costs one Scan and no GetItem, what
 * the original client pays. An item 0 with a generation appearing sends the
 * read back to the versioned way (GetItem 0, then Scan); one without
 * Generation leaves the table unversioned. */
START_TEST(unversioned_table_reads)
{
	const char *seed[] = { "seed", "--size", "3", "--slot", "1,10.0.0.1,i-1,web,4,enabled,now",
			       NULL };
	const char *ctl7[] = { "put-control", "--generation", "7", NULL };
	const char *ctl_nogen[] = { "put-control", NULL };
	const char *del0[] = { "delete", "--id", "0", NULL };
	struct env e;

	store_up(&e, "hsdo-unversioned", 0);
	original("hsdo-unversioned", seed);
	ck_assert_uint_eq(gen_of(&e), 0);
	read_costs(&e, 0, 1, 1);     /* not known yet: GetItem 0, then Scan */
	read_costs(&e, 0, 1, -1);    /* unversioned: the Scan alone */
	read_costs(&e, 0, 1, -1);
	original("hsdo-unversioned", ctl7);
	read_costs(&e, 7, 2, 1);     /* the Scan meets item 0: read again, versioned */
	read_costs(&e, 7, 1, 1);
	original("hsdo-unversioned", del0);
	read_costs(&e, 0, 1, 1);
	read_costs(&e, 0, 1, -1);
	original("hsdo-unversioned", ctl_nogen);
	ck_assert_uint_eq(gen_of(&e), 0);
	read_costs(&e, 0, 1, -1);    /* item 0 without Generation: still unversioned */
	env_down(&e);
}
END_TEST

/* The way back to the original and forward again: item 0 (and the lease's
 * epoch with it) is deleted while the slots keep our Epoch stamps (the
 * original's UpdateItem leaves them). The next holder's epoch starts from
 * the time of its take, above every stamp of the earlier era, so its full
 * rewrite is not refused as "deposed". */
START_TEST(epoch_after_control_item_deleted)
{
	const char *del0[] = { "delete", "--id", "0", NULL };
	uint32_t all[3] = { 1, 2, 3 };
	struct hsdo_table t;
	struct hsdo_lease l;
	struct env e;
	char err[640] = "";

	store_up(&e, "hsdo-era", 0);
	ck_assert_int_eq(hsdo_store_ensure_slots(e.st, 3, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_store_lease(e.st, "srv-a", 1000, 5000, &l, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_store_lease(e.st, "srv-b", 7000, 5000, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.epoch, 1002);
	read_all(&e, &t);
	ck_assert_msg(hsdo_store_write_slots(e.st, &t, all, 3, t.generation, l.epoch, err,
					     sizeof(err)) == 0, "%s", err);
	hsdo_table_free(&t);
	original("hsdo-era", del0);
	ck_assert_int_eq(hsdo_store_lease(e.st, "srv-c", 20000, 5000, &l, err, sizeof(err)), 0);
	ck_assert_uint_eq(l.epoch, 20001);
	read_all(&e, &t);
	ck_assert_uint_eq(t.generation, 0);
	ck_assert_msg(hsdo_store_write_slots(e.st, &t, all, 3, t.generation, l.epoch, err,
					     sizeof(err)) == 0, "%s", err);
	hsdo_table_free(&t);
	env_down(&e);
}
END_TEST

START_TEST(alloc_failure_ops)
{
	struct hsdo_table t, r;
	struct hsdo_lease l;
	uint32_t ids[6] = { 1, 2, 3, 4, 5, 6 };
	struct env e;
	char err[640] = "";
	unsigned long i;
	uint64_t g;
	int rc = -1, op;

	store_up(&e, "hsdo-alloc", 4);
	ck_assert_int_eq(hsdo_store_ensure_slots(e.st, 6, err, sizeof(err)), 0);
	read_all(&e, &t);
	for (i = 0; i < 6; i++)
		set_active(&t, &t.slots[i], "10.3.0.1", "i-alloc", (uint32_t)i);
	for (op = 0; op < 4; op++) {
		for (i = 1; i < 5000; i++) {
			g = gen_of(&e);
			err[0] = '\0';
			hsdo_alloc_fail_at(i, 1);
			switch (op) {
			case 0:
				rc = hsdo_store_read_table(e.st, &r, err, sizeof(err));
				break;
			case 1:
				rc = hsdo_store_write_slots(e.st, &t, ids, 6, g, 0, err, sizeof(err));
				break;
			case 2:
				rc = hsdo_store_lease(e.st, "srv-alloc", 1000, 100000, &l, err,
						      sizeof(err));
				break;
			default:
				rc = hsdo_store_ensure_slots(e.st, 9, err, sizeof(err));
				break;
			}
			hsdo_alloc_fail_at(0, 0);
			if (rc == 0)
				break;
			ck_assert_msg(rc < 0 && err[0] != '\0', "op %d step %lu: %d", op, i, rc);
		}
		ck_assert_msg(rc == 0, "op %d: %s", op, err);
		ck_assert_uint_gt(i, 3);
		if (op == 0)
			hsdo_table_free(&r);
	}
	read_all(&e, &r);
	ck_assert_uint_eq(r.n, 9);
	ck_assert(hsdo_slot_equal(&r.slots[5], &t.slots[5]));
	hsdo_table_free(&r);
	hsdo_table_free(&t);
	env_down(&e);
}
END_TEST

/* ---- event mode ------------------------------------------------------------------------- */

struct result {
	bool done;
	int rc;
	char err[640];
};

static void on_done(void *arg, int rc, const char *err)
{
	struct result *r = arg;

	r->done = true;
	r->rc = rc;
	snprintf(r->err, sizeof(r->err), "%s", err);
}

START_TEST(event_mode)
{
	struct hsdo_http_loop loop;
	struct hsdo_store_ddb_options so;
	struct hsdo_test_poll pl;
	struct env blk, ev;
	struct hsdo_table t, r;
	struct hsdo_lease l;
	struct result res;
	uint32_t ids[40];
	uint64_t gen = 0;
	char err[640] = "";
	size_t i;

	/* the table, made with a blocking client */
	store_up(&blk, "hsdo-event", 5);
	ck_assert_int_eq(hsdo_store_ensure_slots(blk.st, 40, err, sizeof(err)), 0);

	hsdo_test_poll_init(&pl, &loop);
	aws_up(&ev, &loop);
	pl.h = ev.http;
	memset(&so, 0, sizeof(so));
	so.table = "hsdo-event";
	so.page_limit = 5;
	so.max_inflight = 8;
	ck_assert_int_eq(hsdo_store_ddb_open(&so, ev.aws, &ev.st, err, sizeof(err)), 0);
	/* verify needs the loop: asynchronously */
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_store_ddb_verify_async(ev.st, on_done, &res), 0);
	ck_assert(!res.done);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 20000), 0);
	ck_assert_msg(res.rc == 0, "%s", res.err);
	/* a synchronous operation is refused up front on an event-driven transport */
	ck_assert_int_eq(hsdo_store_read_generation(ev.st, &gen, err, sizeof(err)), -HSDO_EAGAIN);
	ck_assert_msg(strstr(err, "event loop") != NULL, "%s", err);
	ck_assert_uint_eq(hsdo_aws_pending(ev.aws), 0);

	/* lease, read, write of 40 slots with puts in flight together */
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_store_lease_async(ev.st, "srv-ev", 1000, 5000, &l, on_done, &res), 0);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 20000), 0);
	ck_assert_msg(res.rc == 0, "%s", res.err);
	ck_assert_uint_eq(l.epoch, 1001);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_store_read_table_async(ev.st, &t, on_done, &res), 0);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 20000), 0);
	ck_assert_msg(res.rc == 0, "%s", res.err);
	ck_assert_uint_eq(t.n, 40);
	for (i = 0; i < 40; i++) {
		char ip[32], name[32];

		snprintf(ip, sizeof(ip), "10.2.0.%zu", i + 1);
		snprintf(name, sizeof(name), "i-ev-%zu", i + 1);
		set_active(&t, &t.slots[i], ip, name, 2);
		ids[i] = (uint32_t)(i + 1);
	}
	ctl("/__reset", "{}");
	ctl("/__delay", "{\"ms\":20}");
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_store_write_slots_async(ev.st, &t, ids, 40, t.generation, l.epoch,
						      on_done, &res), 0);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 20000), 0);
	ck_assert_msg(res.rc == 0, "%s", res.err);
	ctl("/__delay", "{\"ms\":0}");
	ck_assert_int_eq(pstat("DynamoDB_20120810.PutItem"), 40);
	ck_assert_int_gt(pstat("maxInFlight"), 1);
	ck_assert_int_le(pstat("maxInFlight"), 8);
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_store_read_generation_async(ev.st, &gen, on_done, &res), 0);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 20000), 0);
	ck_assert_uint_eq(gen, t.generation + 1);
	/* the blocking client sees the same table */
	read_all(&blk, &r);
	ck_assert_uint_eq(r.generation, gen);
	for (i = 0; i < 40; i++)
		ck_assert(hsdo_slot_equal(&r.slots[i], &t.slots[i]));
	hsdo_table_free(&r);

	/* a failing put stops the write, after the puts in flight return */
	ctl("/__reset", "{}");
	ctl("/__inject", "{\"count\":1,\"status\":400,\"code\":\"ValidationException\","
	    "\"target\":\"DynamoDB_20120810.PutItem\"}");
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_store_write_slots_async(ev.st, &t, ids, 40, gen, l.epoch, on_done,
						      &res), 0);
	ck_assert_int_eq(hsdo_test_poll_run(&pl, &res.done, 20000), 0);
	ck_assert_int_eq(res.rc, -HSDO_EAWS);
	ck_assert_msg(strstr(res.err, "ValidationException") != NULL, "%s", res.err);
	ck_assert_int_eq(pstat("DynamoDB_20120810.UpdateItem"), -1);   /* no commit */
	ck_assert_uint_eq(hsdo_aws_pending(ev.aws), 0);

	/* freeing the transport first cancels an operation in flight */
	ctl("/__delay", "{\"ms\":2000}");
	memset(&res, 0, sizeof(res));
	ck_assert_int_eq(hsdo_store_read_table_async(ev.st, &r, on_done, &res), 0);
	ck_assert(!res.done);
	hsdo_http_free(ev.http);
	ev.http = NULL;
	ck_assert(res.done);
	ck_assert_int_eq(res.rc, -HSDO_EAGAIN);
	ctl("/__delay", "{\"ms\":0}");
	hsdo_table_free(&t);
	env_down(&ev);
	env_down(&blk);
}
END_TEST

static Suite *store_ddb_suite(void)
{
	Suite *s = suite_create("store_ddb");
	TCase *tc = tcase_create("dynalite");

	tcase_add_unchecked_fixture(tc, peers_up, peers_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, create_verify_missing);
	tcase_add_test(tc, ensure_slots_idempotent);
	tcase_add_test(tc, scan_pagination);
	tcase_add_test(tc, write_conflict);
	tcase_add_test(tc, lease_lifecycle);
	tcase_add_test(tc, fencing);
	tcase_add_test(tc, throttling_inside_operations);
	tcase_add_test(tc, original_client_reads_it);
	tcase_add_test(tc, unversioned_table_reads);
	tcase_add_test(tc, epoch_after_control_item_deleted);
	tcase_add_test(tc, alloc_failure_ops);
	tcase_add_test(tc, event_mode);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(store_ddb_suite());
}
