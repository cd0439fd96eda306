/* Wrappers over a reports backend's operations (see hsdo/reports.h). */
#include <stddef.h>

#include "hsdo/err.h"
#include "hsdo/reports.h"

int hsdo_reports_write(struct hsdo_reports *rs, const struct hsdo_report *r,
		       hsdo_store_done_fn done, void *arg)
{
	if (rs == NULL || r == NULL || done == NULL)
		return -HSDO_EINVAL;
	return rs->ops->write(rs, r, done, arg);
}

int hsdo_reports_read_all(struct hsdo_reports *rs, int64_t now_ms, struct hsdo_report_set *out,
			  hsdo_store_done_fn done, void *arg)
{
	if (rs == NULL || out == NULL || done == NULL)
		return -HSDO_EINVAL;
	return rs->ops->read_all(rs, now_ms, out, done, arg);
}

void hsdo_reports_free(struct hsdo_reports *rs)
{
	if (rs != NULL)
		rs->ops->free(rs);
}

const char *hsdo_reports_name(const struct hsdo_reports *rs)
{
	return rs != NULL ? rs->ops->name : "none";
}
