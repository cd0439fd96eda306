/* The static discovery source: a YAML file listing the instances
 * (SERVER_STATIC_FILE). See source.h for the interface it implements. */
#ifndef HSDO_SOURCE_STATIC_H
#define HSDO_SOURCE_STATIC_H

#include <stddef.h>

#include "hsdo/source.h"

#define HSDO_SOURCE_STATIC_FILE_MAX (16u << 20) /* bytes of a static file */

/* The static file at path (copied). Nothing is read before the first list;
 * each list stat()s the file and parses it again only when its device,
 * inode, size, mtime or ctime changed, or when it was modified less than
 * 2 s before it was last read (a rewrite within the timestamp granularity
 * would keep all five). A malformed file fails the list with "FILE:LINE:
 * reason" (the same error again, without re-reading, until the file
 * changes). list always completes before returning. */
int hsdo_source_static_open(const char *path, struct hsdo_source **out,
			    char *err, size_t errlen);

/* ---- pure part, exposed for tests and fuzzers ----------------------------- */

/* Parse a static instance list (YAML) from buf[0..len); fname labels
 * errors. 0 with *out (hsdo_source_result_free), or -HSDO_EPROTO with
 * "FNAME:LINE: reason" in err (*out zeroed), -HSDO_ETOOBIG, -HSDO_ENOMEM.
 * The document is a list of mappings with keys name, ip (required), port,
 * group, az, leaving; unknown keys, duplicates and bad values are errors. */
int hsdo_source_static_parse(const char *buf, size_t len, const char *fname,
			     struct hsdo_source_result *out, char *err, size_t errlen);

#endif
