/* Fleet-health reports in DynamoDB (see reports.h): the health table
 * HEALTH_TABLE_NAME, one item per client (ddb.h: ClientId, the report item,
 * TTL on Expires). write is one PutItem; read_all is an eventually
 * consistent Scan, page after page (at most HSDO_DDB_PAGES_MAX), over the
 * AWS client's asynchronous calls: nothing waits on the network. */
#ifndef HSDO_REPORTS_DDB_H
#define HSDO_REPORTS_DDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/reports.h"

struct hsdo_aws;

/* Reports in table (hash key ClientId S) through aws (borrowed; it must
 * outlive the backend). page_limit: Scan Limit per page (0: none). */
int hsdo_reports_ddb_open(const char *table, struct hsdo_aws *aws, uint32_t page_limit,
			  struct hsdo_reports **out, char *err, size_t errlen);
/* Create the table (ClientId S, on-demand), wait until it is ACTIVE and
 * enable TTL on Expires (already enabled is fine): *ttl (may be NULL)
 * false when the endpoint has no UpdateTimeToLive (dynalite), which is
 * only warned about. Blocking transport only, as
 * hsdo_store_ddb_create_table; for --create-table. */
int hsdo_reports_ddb_create_table(struct hsdo_aws *aws, const char *table, bool *ttl,
				  char *err, size_t errlen);

#endif
