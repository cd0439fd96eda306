/* The DynamoDB slot store (see hsdo/store_ddb.h): each store operation is
 * a state machine over hsdo_aws_call. op_run() drives it in a loop, so
 * with a blocking transport (where every call completes before
 * hsdo_aws_call returns) the stack stays flat however many pages or puts
 * an operation takes; with an event-driven one, completions re-enter
 * op_run() from the loop. Request bodies come from the pure builders in
 * ddb.c, responses go through its parsers. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/ddb.h"
#include "hsdo/err.h"
#include "hsdo/http.h"
#include "hsdo/item.h"
#include "hsdo/log.h"
#include "hsdo/slot.h"
#include "hsdo/store.h"
#include "hsdo/store_ddb.h"

#define OP_ERR_LEN   640
#define LEASE_READS  2     /* re-reads of item 0 after a failed lease condition */

struct ddb_store {
	struct hsdo_store st;
	struct hsdo_aws *aws;
	char *table;
	size_t max_slots;
	uint32_t page_limit;
	unsigned max_inflight;
	/* the lease this store renewed last ("" if none) */
	char held_by[HSDO_LEASE_HOLDER_LEN];
	uint64_t held_epoch;
	/* The last read_table found no generation: the next one starts with
	 * the Scan (see read_table in hsdo/store_ddb.h). */
	bool unversioned;
};

enum op_kind { OP_GEN = 0, OP_TABLE, OP_ENSURE, OP_WRITE, OP_LEASE, OP_VERIFY };

enum op_step {
	S_START = 0,
	S_WAIT,          /* a request is in flight */
	S_GET_CONTROL,   /* GetItem 0 (lease) */
	S_PRE_GEN,       /* GetItem 0 before a table's Scan */
	S_SCAN,          /* next Scan page */
	S_PUTS,          /* PutItems, several in flight */
	S_COMMIT,        /* UpdateItem 0 */
	S_RENEW,
	S_TAKE,
	S_DESCRIBE,
	S_FINISH         /* call done with o->rc / o->err */
};

struct op;
typedef void (*op_handler)(struct op *o, int rc, const char *body, size_t len,
			   const char *err);

struct put_ctx {
	struct op *o;
	uint32_t id;
};

struct op {
	struct ddb_store *s;
	enum op_kind kind;
	enum op_step step;
	hsdo_store_done_fn done;
	void *arg;
	bool running, again;
	op_handler handler;           /* for the request in flight */
	int rc;
	char err[OP_ERR_LEN];
	/* read_generation */
	uint64_t *gen_out;
	/* read_table / ensure_slots: the scan */
	struct hsdo_table *table_out;
	struct hsdo_ddb_scan scan;
	struct hsdo_ddb_page page;    /* the last page, for ExclusiveStartKey */
	bool have_page;
	uint64_t pre_gen;
	bool scan_first;              /* read_table of an unversioned table */
	/* ensure_slots */
	size_t n;
	uint8_t *have;                /* have[id] for ids 0..n */
	bool control_seen;
	uint64_t control_gen;
	uint32_t *missing;
	/* write_slots / ensure_slots: puts */
	const struct hsdo_table *t;
	const uint32_t *ids;
	size_t nids;
	uint64_t expected, epoch;
	struct put_ctx *puts;
	size_t next, inflight;
	bool put_failed;
	size_t created;
	/* lease */
	char me[HSDO_LEASE_HOLDER_LEN];
	int64_t now_ms, ttl_ms;
	struct hsdo_lease *lease_out;
	struct hsdo_lease seen;       /* the last lease read */
	int reads;
	uint64_t renew_epoch;
};

static struct ddb_store *ds_of(struct hsdo_store *st)
{
	return st->impl;
}

/* ---- driving ---------------------------------------------------------------- */

static void op_step(struct op *o);

static void op_free(struct op *o)
{
	hsdo_ddb_scan_free(&o->scan);
	hsdo_ddb_page_free(&o->page);
	hsdo_free(o->have);
	hsdo_free(o->missing);
	hsdo_free(o->puts);
	hsdo_free(o);
}

static void op_run(struct op *o)
{
	hsdo_store_done_fn done;
	void *arg;
	char err[OP_ERR_LEN];
	int rc;

	if (o->running) {
		o->again = true;
		return;
	}
	o->running = true;
	do {
		o->again = false;
		op_step(o);
	} while (o->again && o->step != S_FINISH);
	o->running = false;
	if (o->step != S_FINISH || o->inflight > 0)
		return;
	/* done may free the store: nothing of o or the store is used after */
	done = o->done;
	arg = o->arg;
	rc = o->rc;
	snprintf(err, sizeof(err), "%s", rc != 0 ? o->err : "");
	op_free(o);
	done(arg, rc, err);
}

/* Stop with rc and a message naming the table. */
static void op_fail(struct op *o, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void op_fail(struct op *o, int rc, const char *fmt, ...)
{
	char msg[OP_ERR_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o->rc = rc;
	(void)hsdo_seterr(o->err, sizeof(o->err), rc, "table %s in %s: %s", o->s->table,
			  hsdo_aws_region(o->s->aws), msg);
	o->step = S_FINISH;
}

static void op_ok(struct op *o)
{
	o->rc = 0;
	o->err[0] = '\0';
	o->step = S_FINISH;
}

static void on_call_done(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct op *o = arg;

	o->handler(o, rc, body, len, err);
	if (o->step == S_WAIT)
		o->step = S_FINISH;   /* a handler that set no step failed to */
	op_run(o);
}

/* Send one DynamoDB request built into *r (consumed); the response goes to
 * h, then the machine goes on. */
static void op_send(struct op *o, struct hsdo_ddb_req *r, const char *operation, op_handler h)
{
	struct hsdo_aws_request req;
	int rc;

	hsdo_store_ddb_request(&req, r, operation);
	o->handler = h;
	o->step = S_WAIT;
	rc = hsdo_aws_call(o->s->aws, &req, on_call_done, o);
	hsdo_ddb_req_free(r);
	if (rc != 0)
		op_fail(o, rc, "dynamodb %s: cannot send: %s", operation, hsdo_strerror(rc));
}

/* A builder failed: report it. */
static void op_build_failed(struct op *o, int rc, const char *what, const char *berr)
{
	op_fail(o, rc, "%s: %s", what, berr);
}

static struct op *op_new(struct hsdo_store *st, enum op_kind kind, hsdo_store_done_fn done,
			 void *arg)
{
	struct op *o = hsdo_calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->s = ds_of(st);
	o->kind = kind;
	o->done = done;
	o->arg = arg;
	o->step = S_START;
	hsdo_ddb_scan_init(&o->scan, o->s->max_slots);
	return o;
}

/* ---- GetItem of the control item -------------------------------------------------- */

static void get_control(struct op *o, op_handler h)
{
	struct hsdo_ddb_req r;
	char berr[256];
	int rc;

	rc = hsdo_ddb_build_get_item(o->s->table, HSDO_DDB_CONTROL_ID, &r, berr, sizeof(berr));
	if (rc != 0) {
		op_build_failed(o, rc, "GetItem", berr);
		return;
	}
	op_send(o, &r, "GetItem", h);
}

/* Parse a control item reply into *c, or fail o. */
static bool control_reply(struct op *o, int rc, const char *body, size_t len, const char *err,
			  struct hsdo_ddb_control *c)
{
	char perr[256];

	if (rc != 0) {
		op_fail(o, rc, "%s", err);
		return false;
	}
	rc = hsdo_ddb_parse_control(body, len, c, perr, sizeof(perr));
	if (rc != 0) {
		op_fail(o, rc, "control item 0: %s", perr);
		return false;
	}
	return true;
}

/* ---- read_generation ----------------------------------------------------------------- */

static void gen_reply(struct op *o, int rc, const char *body, size_t len, const char *err)
{
	struct hsdo_ddb_control c;

	if (!control_reply(o, rc, body, len, err, &c))
		return;
	*o->gen_out = c.generation;
	op_ok(o);
}

/* ---- Scan (read_table, ensure_slots) -------------------------------------------------- */

static void scan_reply(struct op *o, int rc, const char *body, size_t len, const char *err);

static void scan_next(struct op *o)
{
	struct hsdo_ddb_req r;
	char berr[256];
	int rc;

	rc = hsdo_ddb_build_scan_page(o->s->table, o->have_page ? &o->page : NULL,
				      o->s->page_limit, &r, berr, sizeof(berr));
	if (rc != 0) {
		op_build_failed(o, rc, "Scan", berr);
		return;
	}
	op_send(o, &r, "Scan", scan_reply);
}

static int ensure_note_page(struct op *o, const struct hsdo_ddb_page *pg)
{
	size_t i;

	if (pg->has_control) {
		o->control_seen = true;
		o->control_gen = pg->generation;
	}
	for (i = 0; i < pg->n; i++)
		if (pg->slots[i].id >= 1 && pg->slots[i].id <= o->n)
			o->have[pg->slots[i].id] = 1;
	return 0;
}

static void ensure_after_scan(struct op *o);

static void scan_reply(struct op *o, int rc, const char *body, size_t len, const char *err)
{
	struct hsdo_ddb_page pg;
	struct hsdo_table t;
	char perr[256];

	if (rc != 0) {
		op_fail(o, rc, "%s", err);
		return;
	}
	rc = hsdo_ddb_parse_scan(body, len, &pg, perr, sizeof(perr));
	if (rc != 0) {
		op_fail(o, rc, "Scan page %zu: %s", o->scan.pages + 1, perr);
		return;
	}
	if (o->kind == OP_ENSURE) {
		ensure_note_page(o, &pg);
		o->scan.pages++;
		if (o->scan.pages > HSDO_DDB_PAGES_MAX)
			rc = hsdo_seterr(perr, sizeof(perr), -HSDO_ETOOBIG, "more than %d pages",
					 HSDO_DDB_PAGES_MAX);
	} else {
		rc = hsdo_ddb_scan_add(&o->scan, &pg, perr, sizeof(perr));
	}
	if (rc != 0) {
		hsdo_ddb_page_free(&pg);
		op_fail(o, rc, "Scan: %s", perr);
		return;
	}
	hsdo_ddb_page_free(&o->page);
	o->page = pg;
	o->have_page = true;
	if (pg.more) {
		o->step = S_SCAN;
		return;
	}
	if (o->kind == OP_ENSURE) {
		ensure_after_scan(o);
		return;
	}
	rc = hsdo_ddb_scan_finish(&o->scan, &t, perr, sizeof(perr));
	if (rc != 0) {
		op_fail(o, rc, "%s", perr);
		return;
	}
	if (o->scan_first && t.generation != 0) {
		/* A control item with a generation appeared: its value cannot be
		 * ordered with the slots scanned around it. Read again the
		 * versioned way. */
		hsdo_table_free(&t);
		hsdo_ddb_page_free(&o->page);
		o->have_page = false;
		o->scan_first = false;
		o->step = S_PRE_GEN;
		return;
	}
	if (!o->scan_first) {
		o->s->unversioned = o->pre_gen == 0 && t.generation == 0;
		/* the generation read before the scan: the slots are at least as
		 * new (0 when the table had none then) */
		t.generation = o->pre_gen;
	}
	*o->table_out = t;
	op_ok(o);
}

static void table_pre_gen(struct op *o, int rc, const char *body, size_t len, const char *err)
{
	struct hsdo_ddb_control c;

	if (!control_reply(o, rc, body, len, err, &c))
		return;
	o->pre_gen = c.generation;
	o->step = S_SCAN;
}

/* ---- PutItems, several in flight ----------------------------------------------------- */

static void put_reply(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct put_ctx *p = arg;
	struct op *o = p->o;

	(void)body;
	(void)len;
	o->inflight--;
	if (rc == -HSDO_ECONFLICT && o->kind == OP_ENSURE) {
		rc = 0;   /* created by someone else meanwhile: fine */
	} else if (rc == 0 && o->kind == OP_ENSURE) {
		o->created++;
	}
	if (rc != 0 && !o->put_failed) {
		o->put_failed = true;
		if (rc == -HSDO_ECONFLICT)
			op_fail(o, rc, "slot %" PRIu32 " is stamped with an epoch above this "
				"writer's %" PRIu64 ": deposed, nothing committed", p->id, o->epoch);
		else
			op_fail(o, rc, "slot %" PRIu32 ": %s", p->id, err);
		o->step = S_PUTS;   /* drain what is in flight first */
	}
	op_run(o);
}

/* Submit puts while the window allows; move on when all have returned. */
static void puts_step(struct op *o)
{
	struct hsdo_aws_request req;
	struct hsdo_ddb_req r;
	const struct hsdo_slot *s;
	struct hsdo_slot fresh;
	unsigned max = hsdo_http_blocking(hsdo_aws_http(o->s->aws)) ? 1 : o->s->max_inflight;
	char berr[256];
	struct put_ctx *p;
	int rc;

	while (!o->put_failed && o->next < o->nids && o->inflight < max) {
		p = &o->puts[o->next++];
		if (o->kind == OP_ENSURE) {
			memset(&fresh, 0, sizeof(fresh));
			fresh.id = p->id;
			s = &fresh;
			rc = hsdo_ddb_build_put_slot(o->s->table, s, true, &r, berr, sizeof(berr));
		} else {
			s = &o->t->slots[p->id - 1];
			rc = hsdo_ddb_build_put_slot_fenced(o->s->table, s, o->epoch, &r, berr,
							    sizeof(berr));
		}
		if (rc != 0) {
			o->put_failed = true;
			op_fail(o, rc, "slot %" PRIu32 ": %s", p->id, berr);
			o->step = S_PUTS;
			break;
		}
		hsdo_store_ddb_request(&req, &r, "PutItem");
		o->inflight++;
		rc = hsdo_aws_call(o->s->aws, &req, put_reply, p);
		hsdo_ddb_req_free(&r);
		if (rc != 0) {
			o->inflight--;
			o->put_failed = true;
			op_fail(o, rc, "slot %" PRIu32 ": cannot send: %s", p->id,
				hsdo_strerror(rc));
			o->step = S_PUTS;
			break;
		}
	}
	if (o->inflight > 0)
		return;
	if (o->put_failed) {
		o->step = S_FINISH;
		return;
	}
	if (o->next < o->nids)
		return;
	o->step = S_COMMIT;
	o->again = true;
}

/* ---- the commit ------------------------------------------------------------------------ */

static void commit_reply(struct op *o, int rc, const char *body, size_t len, const char *err)
{
	(void)body;
	(void)len;
	if (rc == -HSDO_ECONFLICT && o->kind == OP_ENSURE) {
		op_ok(o);   /* someone else bumped it: readers rescan anyway */
		return;
	}
	if (rc == -HSDO_ECONFLICT) {
		if (o->epoch != 0)
			op_fail(o, rc, "commit refused: the generation is no longer %" PRIu64
				" or the lease epoch no longer %" PRIu64 " (slot puts are "
				"left uncommitted)", o->expected, o->epoch);
		else
			op_fail(o, rc, "commit refused: the generation is no longer %" PRIu64
				" (slot puts are left uncommitted)", o->expected);
		return;
	}
	if (rc != 0) {
		op_fail(o, rc, "%s", err);
		return;
	}
	o->s->unversioned = false;   /* it has a generation now */
	op_ok(o);
}

static void commit(struct op *o)
{
	struct hsdo_ddb_req r;
	char berr[256];
	int rc;

	rc = hsdo_ddb_build_commit(o->s->table, o->expected, o->epoch, &r, berr, sizeof(berr));
	if (rc != 0) {
		op_build_failed(o, rc, "UpdateItem", berr);
		return;
	}
	op_send(o, &r, "UpdateItem", commit_reply);
}

/* ---- ensure_slots ------------------------------------------------------------------------ */

static void ensure_after_scan(struct op *o)
{
	size_t id, k = 0;

	for (id = 1; id <= o->n; id++)
		if (!o->have[id])
			k++;
	if (k > 0) {
		o->puts = hsdo_calloc(k, sizeof(*o->puts));
		if (o->puts == NULL) {
			op_fail(o, -HSDO_ENOMEM, "out of memory for %zu slots", k);
			return;
		}
		k = 0;
		for (id = 1; id <= o->n; id++) {
			if (o->have[id])
				continue;
			o->puts[k].o = o;
			o->puts[k].id = (uint32_t)id;
			k++;
		}
	}
	o->nids = k;
	o->next = 0;
	o->expected = o->control_seen ? o->control_gen : 0;
	o->epoch = 0;
	o->step = S_PUTS;
}

/* ---- write_slots -------------------------------------------------------------------------- */

static void write_precheck(struct op *o, int rc, const char *body, size_t len, const char *err)
{
	struct hsdo_ddb_control c;

	if (!control_reply(o, rc, body, len, err, &c))
		return;
	if (c.generation != o->expected) {
		op_fail(o, -HSDO_ECONFLICT, "generation is %" PRIu64 ", expected %" PRIu64
			": nothing written", c.generation, o->expected);
		return;
	}
	if (o->epoch != 0 && c.lease.epoch != o->epoch) {
		op_fail(o, -HSDO_ECONFLICT, "lease epoch is %" PRIu64 " (holder %s), this "
			"writer's is %" PRIu64 ": deposed, nothing written", c.lease.epoch,
			c.lease.holder[0] ? c.lease.holder : "none", o->epoch);
		return;
	}
	o->step = S_PUTS;
}

/* ---- lease --------------------------------------------------------------------------------- */

static void lease_read_reply(struct op *o, int rc, const char *body, size_t len,
			     const char *err);

static void lease_conflict(struct op *o)
{
	struct ddb_store *s = o->s;

	s->held_by[0] = '\0';
	s->held_epoch = 0;
	*o->lease_out = o->seen;
	o->lease_out->taken_over = false;
	if (o->seen.holder[0] != '\0')
		op_fail(o, -HSDO_ECONFLICT, "lease held by %s (epoch %" PRIu64 ") for %" PRId64
			" ms more", o->seen.holder, o->seen.epoch, o->seen.expires_ms - o->now_ms);
	else
		op_fail(o, -HSDO_ECONFLICT, "lease changed hands while taking it (epoch %" PRIu64
			")", o->seen.epoch);
}

static void lease_won(struct op *o, const struct hsdo_ddb_control *c, bool taken)
{
	struct ddb_store *s = o->s;

	if (strcmp(c->lease.holder, o->me) != 0 || c->lease.epoch == 0) {
		op_fail(o, -HSDO_EPROTO, "lease update returned holder %s epoch %" PRIu64,
			c->lease.holder, c->lease.epoch);
		return;
	}
	*o->lease_out = c->lease;
	o->lease_out->taken_over = taken;
	snprintf(s->held_by, sizeof(s->held_by), "%s", o->me);
	s->held_epoch = c->lease.epoch;
	op_ok(o);
}

static void lease_update_reply(struct op *o, int rc, const char *body, size_t len,
			       const char *err, bool taken)
{
	struct hsdo_ddb_control c;

	if (rc == -HSDO_ECONFLICT) {
		if (o->reads >= LEASE_READS) {
			lease_conflict(o);
			return;
		}
		o->step = S_GET_CONTROL;   /* who holds it now? */
		return;
	}
	if (!control_reply(o, rc, body, len, err, &c))
		return;
	lease_won(o, &c, taken);
}

static void renew_reply(struct op *o, int rc, const char *body, size_t len, const char *err)
{
	lease_update_reply(o, rc, body, len, err, false);
}

static void take_reply(struct op *o, int rc, const char *body, size_t len, const char *err)
{
	lease_update_reply(o, rc, body, len, err, true);
}

static void lease_read_reply(struct op *o, int rc, const char *body, size_t len,
			     const char *err)
{
	struct hsdo_ddb_control c;

	if (!control_reply(o, rc, body, len, err, &c))
		return;
	o->reads++;
	o->seen = c.lease;
	if (c.lease.holder[0] != '\0' && strcmp(c.lease.holder, o->me) == 0 && c.lease.epoch != 0) {
		o->renew_epoch = c.lease.epoch;
		o->step = S_RENEW;
	} else if (c.lease.holder[0] != '\0' && c.lease.expires_ms > o->now_ms) {
		lease_conflict(o);
	} else {
		o->step = S_TAKE;
	}
}

static void lease_update(struct op *o, bool take)
{
	struct hsdo_ddb_req r;
	char berr[256];
	int rc;

	if (take)
		rc = hsdo_ddb_build_lease_take(o->s->table, o->me, o->now_ms,
					       o->now_ms + o->ttl_ms, &r, berr, sizeof(berr));
	else
		rc = hsdo_ddb_build_lease_renew(o->s->table, o->me, o->renew_epoch,
						o->now_ms + o->ttl_ms, &r, berr, sizeof(berr));
	if (rc != 0) {
		op_build_failed(o, rc, "UpdateItem", berr);
		return;
	}
	op_send(o, &r, "UpdateItem", take ? take_reply : renew_reply);
}

/* ---- DescribeTable ----------------------------------------------------------------------- */

static void describe_reply(struct op *o, int rc, const char *body, size_t len, const char *err)
{
	struct hsdo_ddb_table_info info;
	char perr[256];

	if (rc == -HSDO_ENOTFOUND) {
		op_fail(o, rc, "no such DynamoDB table (endpoint %s): create it "
			"(infrastructure code, or hsdo-agent --create-table)",
			hsdo_aws_endpoint(o->s->aws, HSDO_CREDS_SVC_DYNAMODB));
		return;
	}
	if (rc != 0) {
		op_fail(o, rc, "%s", err);
		return;
	}
	rc = hsdo_ddb_parse_describe_table(body, len, &info, perr, sizeof(perr));
	if (rc != 0) {
		op_fail(o, rc, "DescribeTable: %s", perr);
		return;
	}
	if (strcmp(info.status, "CREATING") == 0 || strcmp(info.status, "DELETING") == 0) {
		op_fail(o, -HSDO_ECONFIG, "table is %s", info.status);
		return;
	}
	op_ok(o);
}

static void describe(struct op *o)
{
	struct hsdo_ddb_req r;
	char berr[256];
	int rc;

	rc = hsdo_ddb_build_describe_table(o->s->table, &r, berr, sizeof(berr));
	if (rc != 0) {
		op_build_failed(o, rc, "DescribeTable", berr);
		return;
	}
	op_send(o, &r, "DescribeTable", describe_reply);
}

/* ---- the step function ---------------------------------------------------------------------- */

static void op_step(struct op *o)
{
	struct ddb_store *s = o->s;

	switch (o->step) {
	case S_START:
		switch (o->kind) {
		case OP_GEN:
			get_control(o, gen_reply);
			break;
		case OP_TABLE:
			o->scan_first = s->unversioned;
			o->step = o->scan_first ? S_SCAN : S_PRE_GEN;
			break;
		case OP_ENSURE:
			o->step = S_SCAN;
			break;
		case OP_WRITE:
			get_control(o, write_precheck);
			break;
		case OP_LEASE:
			if (s->held_epoch != 0 && strcmp(s->held_by, o->me) == 0) {
				o->renew_epoch = s->held_epoch;
				o->step = S_RENEW;
			} else {
				o->step = S_GET_CONTROL;
			}
			break;
		case OP_VERIFY:
			o->step = S_DESCRIBE;
			break;
		}
		break;
	case S_GET_CONTROL:
		get_control(o, lease_read_reply);
		break;
	case S_PRE_GEN:
		get_control(o, table_pre_gen);
		break;
	case S_SCAN:
		scan_next(o);
		break;
	case S_PUTS:
		puts_step(o);
		return;
	case S_COMMIT:
		if (o->kind == OP_ENSURE && o->created == 0 && o->control_seen) {
			op_ok(o);
			break;
		}
		commit(o);
		break;
	case S_RENEW:
		lease_update(o, false);
		break;
	case S_TAKE:
		lease_update(o, true);
		break;
	case S_DESCRIBE:
		describe(o);
		break;
	case S_WAIT:
	case S_FINISH:
		return;
	}
	if (o->step != S_WAIT && o->step != S_FINISH)
		o->again = true;
}

/* ---- the async operations ----------------------------------------------------------------- */

static int ddb_read_generation_async(struct hsdo_store *st, uint64_t *gen,
				     hsdo_store_done_fn done, void *arg)
{
	struct op *o;

	if (gen == NULL || done == NULL)
		return -HSDO_EINVAL;
	if ((o = op_new(st, OP_GEN, done, arg)) == NULL)
		return -HSDO_ENOMEM;
	o->gen_out = gen;
	op_run(o);
	return 0;
}

static int ddb_read_table_async(struct hsdo_store *st, struct hsdo_table *out,
				hsdo_store_done_fn done, void *arg)
{
	struct op *o;

	if (out == NULL || done == NULL)
		return -HSDO_EINVAL;
	if ((o = op_new(st, OP_TABLE, done, arg)) == NULL)
		return -HSDO_ENOMEM;
	o->table_out = out;
	op_run(o);
	return 0;
}

static int ddb_ensure_slots_async(struct hsdo_store *st, size_t n, hsdo_store_done_fn done,
				  void *arg)
{
	struct op *o;

	if (done == NULL)
		return -HSDO_EINVAL;
	if ((o = op_new(st, OP_ENSURE, done, arg)) == NULL)
		return -HSDO_ENOMEM;
	if (n < 1 || n > HSDO_SLOTS_MAX || n > o->s->max_slots) {
		op_fail(o, -HSDO_EINVAL, "slot count %zu out of range 1..%zu", n,
			o->s->max_slots);
	} else {
		o->n = n;
		o->have = hsdo_calloc(n + 1, 1);
		if (o->have == NULL)
			op_fail(o, -HSDO_ENOMEM, "out of memory for %zu slots", n);
	}
	op_run(o);
	return 0;
}

static int ddb_write_slots_async(struct hsdo_store *st, const struct hsdo_table *t,
				 const uint32_t *ids, size_t nids, uint64_t expected_gen,
				 uint64_t epoch, hsdo_store_done_fn done, void *arg)
{
	char ierr[200];
	struct op *o;
	size_t i;
	uint32_t id;

	if (done == NULL)
		return -HSDO_EINVAL;
	if ((o = op_new(st, OP_WRITE, done, arg)) == NULL)
		return -HSDO_ENOMEM;
	o->t = t;
	o->ids = ids;
	o->nids = nids;
	o->expected = expected_gen;
	o->epoch = epoch;
	if (t == NULL || (nids != 0 && ids == NULL)) {
		op_fail(o, -HSDO_EINVAL, "write_slots: no table or ids");
	} else if (expected_gen == UINT64_MAX) {
		op_fail(o, -HSDO_EINVAL, "generation would overflow");
	} else if (nids > 0 && (o->puts = hsdo_calloc(nids, sizeof(*o->puts))) == NULL) {
		op_fail(o, -HSDO_ENOMEM, "out of memory for %zu slots", nids);
	} else {
		for (i = 0; i < nids; i++) {
			id = ids[i];
			if (id < 1 || id > t->n || t->slots[id - 1].id != id) {
				op_fail(o, -HSDO_EINVAL, "slot id %" PRIu32 " is not in the given "
					"table of %zu slots", id, t->n);
				break;
			}
			if (hsdo_item_check(&t->slots[id - 1], ierr, sizeof(ierr)) != 0) {
				op_fail(o, -HSDO_EINVAL, "%s", ierr);
				break;
			}
			o->puts[i].o = o;
			o->puts[i].id = id;
		}
	}
	op_run(o);
	return 0;
}

static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

static int ddb_lease_async(struct hsdo_store *st, const char *me, int64_t now_ms,
			   int64_t ttl_ms, struct hsdo_lease *out, hsdo_store_done_fn done,
			   void *arg)
{
	struct op *o;

	if (out == NULL || done == NULL)
		return -HSDO_EINVAL;
	if ((o = op_new(st, OP_LEASE, done, arg)) == NULL)
		return -HSDO_ENOMEM;
	o->lease_out = out;
	o->now_ms = now_ms;
	o->ttl_ms = ttl_ms;
	if (me == NULL || me[0] == '\0' || strlen(me) >= sizeof(o->me) || ttl_ms <= 0 ||
	    now_ms < 0 || now_ms > INT64_MAX - ttl_ms || !printable(me))
		op_fail(o, -HSDO_EINVAL, "lease: bad holder or time");
	else
		snprintf(o->me, sizeof(o->me), "%s", me);
	op_run(o);
	return 0;
}

int hsdo_store_ddb_verify_async(struct hsdo_store *st, hsdo_store_done_fn done, void *arg)
{
	struct op *o;

	if (st == NULL || done == NULL || !hsdo_store_is_ddb(st))
		return -HSDO_EINVAL;
	if ((o = op_new(st, OP_VERIFY, done, arg)) == NULL)
		return -HSDO_ENOMEM;
	op_run(o);
	return 0;
}

static void ddb_free(struct hsdo_store *st)
{
	struct ddb_store *s;

	if (st == NULL)
		return;
	s = ds_of(st);
	hsdo_free(s->table);
	hsdo_free(s);
}

/* ---- synchronous operations: only over a blocking transport ----------------------------
 *
 * Over the event-driven transport an operation completes later, from the
 * loop, with pointers into the caller's stack: refuse up front instead. */

struct wait {
	bool done;
	int rc;
	char *err;
	size_t errlen;
};

static void wait_done(void *arg, int rc, const char *err)
{
	struct wait *w = arg;

	w->done = true;
	w->rc = rc;
	if (w->err != NULL && w->errlen > 0)
		snprintf(w->err, w->errlen, "%s", err != NULL ? err : "");
}

static int sync_begin(struct hsdo_store *st, const char *op, char *err, size_t errlen)
{
	if (!hsdo_http_blocking(hsdo_aws_http(ds_of(st)->aws)))
		return hsdo_seterr(err, errlen, -HSDO_EAGAIN,
				   "dynamodb %s: this transport is event-driven: use the "
				   "asynchronous operation and the event loop", op);
	return 0;
}

static int sync_end(struct wait *w, int rc)
{
	if (rc != 0)
		return hsdo_seterr(w->err, w->errlen, rc, "%s", hsdo_strerror(rc));
	if (!w->done)
		return hsdo_seterr(w->err, w->errlen, -HSDO_EAGAIN, "operation did not complete");
	return w->rc;
}

#define WAIT(err, errlen) { false, 0, (err), (errlen) }

static int ddb_read_generation(struct hsdo_store *st, uint64_t *gen, char *err, size_t errlen)
{
	struct wait w = WAIT(err, errlen);
	int rc = sync_begin(st, "read_generation", err, errlen);

	return rc != 0 ? rc : sync_end(&w, ddb_read_generation_async(st, gen, wait_done, &w));
}

static int ddb_read_table(struct hsdo_store *st, struct hsdo_table *out, char *err,
			  size_t errlen)
{
	struct wait w = WAIT(err, errlen);
	int rc = sync_begin(st, "read_table", err, errlen);

	return rc != 0 ? rc : sync_end(&w, ddb_read_table_async(st, out, wait_done, &w));
}

static int ddb_ensure_slots(struct hsdo_store *st, size_t n, char *err, size_t errlen)
{
	struct wait w = WAIT(err, errlen);
	int rc = sync_begin(st, "ensure_slots", err, errlen);

	return rc != 0 ? rc : sync_end(&w, ddb_ensure_slots_async(st, n, wait_done, &w));
}

static int ddb_write_slots(struct hsdo_store *st, const struct hsdo_table *t,
			   const uint32_t *ids, size_t nids, uint64_t expected_gen,
			   uint64_t epoch, char *err, size_t errlen)
{
	struct wait w = WAIT(err, errlen);
	int rc = sync_begin(st, "write_slots", err, errlen);

	return rc != 0 ? rc : sync_end(&w, ddb_write_slots_async(st, t, ids, nids, expected_gen,
								 epoch, wait_done, &w));
}

static int ddb_lease(struct hsdo_store *st, const char *me, int64_t now_ms, int64_t ttl_ms,
		     struct hsdo_lease *out, char *err, size_t errlen)
{
	struct wait w = WAIT(err, errlen);
	int rc = sync_begin(st, "lease", err, errlen);

	return rc != 0 ? rc : sync_end(&w, ddb_lease_async(st, me, now_ms, ttl_ms, out,
							   wait_done, &w));
}

static const struct hsdo_store_ops ddb_ops = {
	.name = "dynamodb",
	.read_generation = ddb_read_generation,
	.read_table = ddb_read_table,
	.ensure_slots = ddb_ensure_slots,
	.write_slots = ddb_write_slots,
	.lease = ddb_lease,
	.free = ddb_free,
};

static const struct hsdo_store_async_ops ddb_async_ops = {
	.read_generation = ddb_read_generation_async,
	.read_table = ddb_read_table_async,
	.ensure_slots = ddb_ensure_slots_async,
	.write_slots = ddb_write_slots_async,
	.lease = ddb_lease_async,
};

void hsdo_store_ddb_request(struct hsdo_aws_request *req, const struct hsdo_ddb_req *r,
			    const char *operation)
{
	memset(req, 0, sizeof(*req));
	req->service = HSDO_CREDS_SVC_DYNAMODB;
	req->protocol = HSDO_AWS_JSON;
	req->operation = operation;
	req->target = r->target;
	req->body = r->body;
	req->len = r->len;
}

bool hsdo_store_is_ddb(const struct hsdo_store *st)
{
	return st != NULL && st->ops == &ddb_ops;
}

/* ---- open / create ---------------------------------------------------------------------- */

int hsdo_store_ddb_open(const struct hsdo_store_ddb_options *o, struct hsdo_aws *aws,
			struct hsdo_store **out, char *err, size_t errlen)
{
	struct hsdo_ddb_req probe;
	struct ddb_store *s;
	char berr[256];
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	*out = NULL;
	if (o == NULL || aws == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "dynamodb store: no options or client");
	/* the table name is checked by the builders */
	rc = hsdo_ddb_build_describe_table(o->table, &probe, berr, sizeof(berr));
	if (rc != 0)
		return hsdo_seterr(err, errlen, rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG,
				   "DynamoDB table: %s", berr);
	hsdo_ddb_req_free(&probe);
	if (o->max_inflight > HSDO_STORE_DDB_INFLIGHT_MAX || o->max_slots > HSDO_SLOTS_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "dynamodb store: max_inflight over %u or max_slots over %d",
				   HSDO_STORE_DDB_INFLIGHT_MAX, HSDO_SLOTS_MAX);
	if (o->verify && !hsdo_http_blocking(hsdo_aws_http(aws)))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "dynamodb store: verify at open needs a blocking transport "
				   "(use hsdo_store_ddb_verify_async)");
	s = hsdo_calloc(1, sizeof(*s));
	if (s == NULL || (s->table = hsdo_strdup(o->table)) == NULL) {
		hsdo_free(s);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	s->aws = aws;
	s->max_slots = o->max_slots ? o->max_slots : HSDO_SLOTS_MAX;
	s->page_limit = o->page_limit;
	s->max_inflight = o->max_inflight ? o->max_inflight : HSDO_STORE_DDB_INFLIGHT_DEFAULT;
	s->st.ops = &ddb_ops;
	s->st.async = &ddb_async_ops;
	s->st.impl = s;
	if (o->verify) {
		struct wait w = WAIT(err, errlen);

		rc = sync_end(&w, hsdo_store_ddb_verify_async(&s->st, wait_done, &w));
		if (rc != 0) {
			ddb_free(&s->st);
			return rc;
		}
	}
	*out = &s->st;
	return 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0)
		;
}

int hsdo_store_ddb_create_table(struct hsdo_aws *aws, const char *table, char *err,
				size_t errlen)
{
	return hsdo_store_ddb_create_table_key(aws, table, HSDO_DDB_KEY, "N", err, errlen);
}

int hsdo_store_ddb_create_table_key(struct hsdo_aws *aws, const char *table, const char *key,
				    const char *key_type, char *err, size_t errlen)
{
	struct hsdo_aws_request req;
	struct hsdo_ddb_table_info info;
	struct hsdo_ddb_req r;
	char aerr[OP_ERR_LEN], berr[256];
	char *body = NULL;
	size_t len = 0;
	long waited = 0, step = 100;
	int rc;

	if (aws == NULL || !hsdo_http_blocking(hsdo_aws_http(aws)))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "create table: needs a blocking transport");
	rc = hsdo_ddb_build_create_table_key(table, key, key_type, &r, berr, sizeof(berr));
	if (rc != 0)
		return hsdo_seterr(err, errlen, rc, "create table: %s", berr);
	hsdo_store_ddb_request(&req, &r, "CreateTable");
	rc = hsdo_aws_call_sync(aws, &req, &body, &len, aerr, sizeof(aerr));
	hsdo_ddb_req_free(&r);
	hsdo_free(body);
	body = NULL;
	if (rc != 0 && strstr(aerr, "ResourceInUseException") == NULL)
		return hsdo_seterr(err, errlen, rc, "create table %s in %s: %s", table,
				   hsdo_aws_region(aws), aerr);
	if (rc == 0)
		hsdo_log_info("dynamodb: created table %s in %s", table, hsdo_aws_region(aws));
	for (;;) {
		rc = hsdo_ddb_build_describe_table(table, &r, berr, sizeof(berr));
		if (rc != 0)
			return hsdo_seterr(err, errlen, rc, "create table: %s", berr);
		hsdo_store_ddb_request(&req, &r, "DescribeTable");
		rc = hsdo_aws_call_sync(aws, &req, &body, &len, aerr, sizeof(aerr));
		hsdo_ddb_req_free(&r);
		if (rc == 0) {
			rc = hsdo_ddb_parse_describe_table_key(body, len, key, key_type, &info, berr,
							       sizeof(berr));
			hsdo_free(body);
			body = NULL;
			if (rc != 0)
				return hsdo_seterr(err, errlen, rc, "table %s in %s: %s", table,
						   hsdo_aws_region(aws), berr);
			if (info.active)
				break;
		} else if (rc != -HSDO_ENOTFOUND) {
			return hsdo_seterr(err, errlen, rc, "table %s in %s: %s", table,
					   hsdo_aws_region(aws), aerr);
		}
		if (waited >= HSDO_STORE_DDB_CREATE_WAIT_MS)
			return hsdo_seterr(err, errlen, -HSDO_EAGAIN,
					   "table %s in %s: not ACTIVE after %ld ms", table,
					   hsdo_aws_region(aws), waited);
		sleep_ms(step);
		waited += step;
		if (step < 1000)
			step *= 2;
	}
	return 0;
}
