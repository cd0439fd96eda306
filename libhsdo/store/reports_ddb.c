/* Fleet-health reports in DynamoDB (see hsdo/reports_ddb.h): request
 * bodies from ddb.c's builders, replies through its parsers, calls through
 * the AWS client. read_all runs its pages from a loop (op_run), so a
 * blocking transport, where each call completes before hsdo_aws_call
 * returns, does not nest one call per page. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/ddb.h"
#include "hsdo/err.h"
#include "hsdo/log.h"
#include "hsdo/report.h"
#include "hsdo/reports.h"
#include "hsdo/reports_ddb.h"
#include "hsdo/store_ddb.h"

#define ERR_LEN 640

struct ddb_reports {
	struct hsdo_reports rs;
	struct hsdo_aws *aws;
	char *table;
	uint32_t page_limit;
};

/* One operation in flight: a PutItem, or a Scan page after page. */
struct op {
	struct ddb_reports *d;
	bool scan;
	struct hsdo_report_set *out;
	char next[HSDO_REPORT_ID_LEN];
	size_t pages;
	bool running, again, waiting, finished;
	int rc;
	char err[ERR_LEN];
	hsdo_store_done_fn done;
	void *arg;
};

static void op_run(struct op *o);

static void op_fail(struct op *o, int rc, const char *what, const char *why)
{
	o->rc = hsdo_seterr(o->err, sizeof(o->err), rc, "health table %s in %s: %s: %s",
			    o->d->table, hsdo_aws_region(o->d->aws), what, why);
	o->finished = true;
}

static void on_reply(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct op *o = arg;
	char perr[320];

	o->waiting = false;
	if (rc != 0) {
		op_fail(o, rc, o->scan ? "Scan" : "PutItem", err != NULL ? err : "");
	} else if (!o->scan) {
		o->finished = true;
	} else {
		rc = hsdo_ddb_parse_scan_reports(body, len, o->out, o->next, sizeof(o->next), perr,
						 sizeof(perr));
		if (rc != 0)
			op_fail(o, rc, "Scan", perr);
		else if (o->next[0] == '\0')
			o->finished = true;
		else if (++o->pages >= HSDO_DDB_PAGES_MAX)
			op_fail(o, -HSDO_ETOOBIG, "Scan", "too many pages");
	}
	op_run(o);
}

/* Send the next Scan page. */
static void scan_next(struct op *o)
{
	struct hsdo_aws_request req;
	struct hsdo_ddb_req r;
	char berr[256];
	int rc;

	rc = hsdo_ddb_build_scan_reports(o->d->table, o->next[0] ? o->next : NULL,
					 o->d->page_limit, &r, berr, sizeof(berr));
	if (rc != 0) {
		op_fail(o, rc, "Scan", berr);
		return;
	}
	hsdo_store_ddb_request(&req, &r, "Scan");
	o->waiting = true;
	rc = hsdo_aws_call(o->d->aws, &req, on_reply, o);
	hsdo_ddb_req_free(&r);
	if (rc != 0) {
		o->waiting = false;
		op_fail(o, rc, "Scan", hsdo_strerror(rc));
	}
}

static void op_run(struct op *o)
{
	hsdo_store_done_fn done;
	char err[ERR_LEN];
	void *arg;
	int rc;

	if (o->running) {
		o->again = true;
		return;
	}
	o->running = true;
	do {
		o->again = false;
		if (!o->finished && !o->waiting)
			scan_next(o);
	} while (o->again && !o->finished);
	o->running = false;
	if (!o->finished || o->waiting)
		return;
	done = o->done;
	arg = o->arg;
	rc = o->rc;
	snprintf(err, sizeof(err), "%s", rc != 0 ? o->err : "");
	if (rc != 0 && o->out != NULL)
		hsdo_report_set_free(o->out);
	hsdo_free(o);
	done(arg, rc, err);
}

static struct op *op_new(struct hsdo_reports *rs, hsdo_store_done_fn done, void *arg)
{
	struct op *o = hsdo_calloc(1, sizeof(*o));

	if (o == NULL)
		return NULL;
	o->d = rs->impl;
	o->done = done;
	o->arg = arg;
	return o;
}

static int ddb_write(struct hsdo_reports *rs, const struct hsdo_report *r,
		     hsdo_store_done_fn done, void *arg)
{
	struct hsdo_aws_request req;
	struct hsdo_ddb_req q;
	char berr[256];
	struct op *o;
	int rc;

	if ((o = op_new(rs, done, arg)) == NULL)
		return -HSDO_ENOMEM;
	/* The body is built now: r may go away when this returns. */
	rc = hsdo_ddb_build_put_report(o->d->table, r, &q, berr, sizeof(berr));
	if (rc != 0) {
		op_fail(o, rc, "PutItem", berr);
		op_run(o);
		return 0;
	}
	hsdo_store_ddb_request(&req, &q, "PutItem");
	o->waiting = true;
	o->running = true;   /* a blocking reply must not start a Scan */
	rc = hsdo_aws_call(o->d->aws, &req, on_reply, o);
	hsdo_ddb_req_free(&q);
	if (rc != 0) {
		hsdo_free(o);
		return rc;
	}
	o->running = false;
	op_run(o);
	return 0;
}

static int ddb_read_all(struct hsdo_reports *rs, int64_t now_ms, struct hsdo_report_set *out,
			hsdo_store_done_fn done, void *arg)
{
	struct op *o;

	(void)now_ms;   /* the table's TTL removes old reports */
	if ((o = op_new(rs, done, arg)) == NULL)
		return -HSDO_ENOMEM;
	o->scan = true;
	o->out = out;
	op_run(o);
	return 0;
}

static void ddb_free(struct hsdo_reports *rs)
{
	struct ddb_reports *d = rs->impl;

	hsdo_free(d->table);
	hsdo_free(d);
}

static const struct hsdo_reports_ops ddb_ops = {
	.name = "dynamodb",
	.write = ddb_write,
	.read_all = ddb_read_all,
	.free = ddb_free,
};

int hsdo_reports_ddb_open(const char *table, struct hsdo_aws *aws, uint32_t page_limit,
			  struct hsdo_reports **out, char *err, size_t errlen)
{
	struct hsdo_ddb_req probe;
	struct ddb_reports *d;
	char berr[256];
	int rc;

	if (out == NULL || aws == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "health table: no client");
	rc = hsdo_ddb_build_describe_table(table, &probe, berr, sizeof(berr));
	if (rc != 0)
		return hsdo_seterr(err, errlen, rc == -HSDO_ENOMEM ? rc : -HSDO_ECONFIG,
				   "health table: %s", berr);
	hsdo_ddb_req_free(&probe);
	d = hsdo_calloc(1, sizeof(*d));
	if (d == NULL || (d->table = hsdo_strdup(table)) == NULL) {
		hsdo_free(d);
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	}
	d->aws = aws;
	d->page_limit = page_limit;
	d->rs.ops = &ddb_ops;
	d->rs.impl = d;
	*out = &d->rs;
	return 0;
}

int hsdo_reports_ddb_create_table(struct hsdo_aws *aws, const char *table, bool *ttl,
				  char *err, size_t errlen)
{
	struct hsdo_aws_request req;
	struct hsdo_ddb_req r;
	char aerr[ERR_LEN], berr[256], *body = NULL;
	size_t len = 0;
	int rc;

	if (ttl != NULL)
		*ttl = false;

	rc = hsdo_store_ddb_create_table_key(aws, table, HSDO_DDB_REPORTS_KEY, "S", err, errlen);
	if (rc != 0)
		return rc;
	rc = hsdo_ddb_build_update_ttl(table, HSDO_DDB_REPORTS_TTL, &r, berr, sizeof(berr));
	if (rc != 0)
		return hsdo_seterr(err, errlen, rc, "health table %s: %s", table, berr);
	hsdo_store_ddb_request(&req, &r, "UpdateTimeToLive");
	rc = hsdo_aws_call_sync(aws, &req, &body, &len, aerr, sizeof(aerr));
	hsdo_ddb_req_free(&r);
	hsdo_free(body);
	/* Enabling it twice is refused with "TimeToLive is already enabled". An
	 * endpoint without the operation (dynalite; DynamoDB has it) only loses
	 * the deletion of reports gone for good: the server still skips them. */
	if (rc != 0 && strstr(aerr, "UnknownOperationException") != NULL) {
		hsdo_log_warn("dynamodb: %s does not know UpdateTimeToLive: table %s has no TTL, "
			      "reports of clients gone for good stay in it (expired, not counted)",
			      hsdo_aws_endpoint(aws, HSDO_CREDS_SVC_DYNAMODB), table);
		return 0;
	}
	if (rc != 0 && strstr(aerr, "already enabled") == NULL)
		return hsdo_seterr(err, errlen, rc, "health table %s in %s: TTL on "
				   HSDO_DDB_REPORTS_TTL ": %s", table, hsdo_aws_region(aws), aerr);
	if (rc == 0)
		hsdo_log_info("dynamodb: TTL on Expires enabled for table %s", table);
	if (ttl != NULL)
		*ttl = true;
	return 0;
}
