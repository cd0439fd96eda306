/* Fuzz the DynamoDB response parsers: any bytes are parsed by each of them
 * (error body, DescribeTable, Scan page, GetItem control item, control item
 * with its lease from GetItem or UpdateItem ALL_NEW, the health table's
 * report Scan page and DescribeTable) without a
 * crash; a rejection always says why; a Scan page that parses assembles
 * into a table or is refused with a reason, and its decoded slots can be
 * written back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/ddb.h"
#include "hsdo/err.h"
#include "hsdo/report.h"
#include "hsdo/slot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rejection(int rc, const char *err)
{
	if (rc != 0 && err[0] == '\0')
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct hsdo_ddb_table_info info;
	struct hsdo_ddb_page pg;
	struct hsdo_ddb_scan sc;
	struct hsdo_ddb_req r;
	struct hsdo_table t;
	char err[256];
	uint64_t gen;
	size_t i;
	int rc;

	err[0] = '\0';
	rc = hsdo_ddb_parse_error(buf, size, err, sizeof(err));
	if (rc >= 0)
		abort();
	check_rejection(rc, err);

	err[0] = '\0';
	rc = hsdo_ddb_parse_describe_table(buf, size, &info, err, sizeof(err));
	check_rejection(rc, err);
	if (rc == 0 && memchr(info.status, '\0', sizeof(info.status)) == NULL)
		abort();

	err[0] = '\0';
	rc = hsdo_ddb_parse_get_control(buf, size, &gen, err, sizeof(err));
	check_rejection(rc, err);

	err[0] = '\0';
	{
		struct hsdo_ddb_control c;

		rc = hsdo_ddb_parse_control(buf, size, &c, err, sizeof(err));
		check_rejection(rc, err);
		if (rc == 0 && (memchr(c.lease.holder, '\0', sizeof(c.lease.holder)) == NULL ||
				c.lease.expires_ms < 0 || c.lease.taken_over))
			abort();
		/* a holder that parsed can be renewed */
		if (rc == 0 && c.lease.holder[0] != '\0' &&
		    hsdo_ddb_build_lease_renew("fuzz-table", c.lease.holder, c.lease.epoch,
					       c.lease.expires_ms, &r, err, sizeof(err)) == 0)
			hsdo_ddb_req_free(&r);
	}

	err[0] = '\0';
	{
		/* the health table: reports Scan page, DescribeTable with key ClientId */
		struct hsdo_report_set set;
		char next[HSDO_REPORT_ID_LEN];

		memset(&set, 0, sizeof(set));
		rc = hsdo_ddb_parse_scan_reports(buf, size, &set, next, sizeof(next), err,
						 sizeof(err));
		check_rejection(rc, err);
		for (i = 0; i < set.n; i++) {
			if (hsdo_ddb_build_put_report("fuzz-table", &set.v[i], &r, err,
						      sizeof(err)) != 0)
				abort();
			hsdo_ddb_req_free(&r);
		}
		if (rc == 0 && next[0] != '\0') {
			if (hsdo_ddb_build_scan_reports("fuzz-table", next, 0, &r, err,
							sizeof(err)) != 0)
				abort();
			hsdo_ddb_req_free(&r);
		}
		hsdo_report_set_free(&set);
		err[0] = '\0';
		rc = hsdo_ddb_parse_describe_table_key(buf, size, HSDO_DDB_REPORTS_KEY, "S", &info,
						       err, sizeof(err));
		check_rejection(rc, err);
	}

	err[0] = '\0';
	rc = hsdo_ddb_parse_scan(buf, size, &pg, err, sizeof(err));
	check_rejection(rc, err);
	if (rc != 0)
		return 0;
	for (i = 0; i < pg.n; i++) {
		if (hsdo_ddb_build_put_slot("fuzz-table", &pg.slots[i], false, &r, err,
					    sizeof(err)) != 0)
			abort();
		hsdo_ddb_req_free(&r);
	}
	if (pg.more) {
		if (hsdo_ddb_build_scan("fuzz-table", &pg, &r, err, sizeof(err)) != 0)
			abort();
		hsdo_ddb_req_free(&r);
	}
	hsdo_ddb_scan_init(&sc, 0);
	err[0] = '\0';
	rc = hsdo_ddb_scan_add(&sc, &pg, err, sizeof(err));
	if (rc == 0)
		rc = hsdo_ddb_scan_finish(&sc, &t, err, sizeof(err));
	check_rejection(rc, err);
	if (rc == 0) {
		for (i = 0; i < t.n; i++)
			if (t.slots[i].id != i + 1)
				abort();
		hsdo_table_free(&t);
	}
	hsdo_ddb_scan_free(&sc);
	hsdo_ddb_page_free(&pg);
	return 0;
}
