/* Where clients publish their fleet-health reports and the server reads
 * them (docs/health.md): beside the slot store, never in it (the original
 * server exits when the slot table holds more than N items, and the
 * original client would act on extra items). Two backends behind one
 * small interface, as the slot store:
 *   file      one file per client, <dir>/<client id>.json, dir being
 *             <STORE_FILE_PATH>.health (reports_file.h);
 *   dynamodb  one item per client in HEALTH_TABLE_NAME (reports_ddb.h).
 *
 * Both operations are asynchronous: 0 means done will be called exactly
 * once (before returning for the file backend, from the event loop for
 * DynamoDB over the event-driven transport); a negative hsdo_err means it
 * will not. */
#ifndef HSDO_REPORTS_H
#define HSDO_REPORTS_H

#include <stdint.h>

#include "hsdo/report.h"
#include "hsdo/store.h"

struct hsdo_reports;

struct hsdo_reports_ops {
	const char *name;
	/* Replace the client's report with r (copied or encoded at once: r
	 * may go away when this returns). */
	int (*write)(struct hsdo_reports *rs, const struct hsdo_report *r,
		     hsdo_store_done_fn done, void *arg);
	/* Every report into out (empty, owned by the caller, valid until done).
	 * Reports that do not decode are counted in out->bad, never fatal. On
	 * error out is emptied. now_ms: the file backend deletes files expired
	 * for a day (DynamoDB's TTL does that for the table). */
	int (*read_all)(struct hsdo_reports *rs, int64_t now_ms, struct hsdo_report_set *out,
			hsdo_store_done_fn done, void *arg);
	void (*free)(struct hsdo_reports *rs);
};

struct hsdo_reports {
	const struct hsdo_reports_ops *ops;
	void *impl;
};

/* Wrappers over rs->ops. */
int hsdo_reports_write(struct hsdo_reports *rs, const struct hsdo_report *r,
		       hsdo_store_done_fn done, void *arg);
int hsdo_reports_read_all(struct hsdo_reports *rs, int64_t now_ms, struct hsdo_report_set *out,
			  hsdo_store_done_fn done, void *arg);
/* NULL is a no-op. */
void hsdo_reports_free(struct hsdo_reports *rs);
/* "file", "dynamodb"; "none" for NULL. */
const char *hsdo_reports_name(const struct hsdo_reports *rs);

#endif
