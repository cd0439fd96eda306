/* Fleet-health reports in files (see reports.h): <dir>/<client id>.json,
 * each the file document of report.h, replaced by rename(2) so a reader
 * sees a whole report or the previous one. No lock: one client writes one
 * file. The server reads every *.json of the directory; a file whose name
 * is not its report's client id is counted as bad. Small local files, read
 * and written before the call returns, as the file slot store does. */
#ifndef HSDO_REPORTS_FILE_H
#define HSDO_REPORTS_FILE_H

#include <stddef.h>

#include "hsdo/reports.h"

/* A report file older than this past its expiry is deleted by read_all. */
#define HSDO_REPORTS_FILE_PURGE_MS (24LL * 3600 * 1000)
/* Files read per read_all at most (more are counted as bad). */
#define HSDO_REPORTS_FILE_MAX 100000

/* Reports in directory dir (created by the first write when missing; a
 * missing directory reads as no report). 0, -HSDO_EINVAL or -HSDO_ENOMEM. */
int hsdo_reports_file_open(const char *dir, struct hsdo_reports **out, char *err,
			   size_t errlen);
/* <store path>.health: the directory beside a file store. A heap string
 * (hsdo_free), NULL on allocation failure. */
char *hsdo_reports_file_dir(const char *store_path);

#endif
