/* Private to the file backends (store_file.c, reports_file.c): replacing a
 * small file atomically (they read through hsdo_file_read, hsdo/file.h). */
#ifndef HSDO_FILE_IO_H
#define HSDO_FILE_IO_H

#include <stdbool.h>
#include <stddef.h>

/* Replace target with len bytes of doc atomically: a temporary file from
 * tmp_template (mkstemp, in target's directory dir), then rename(2) over
 * target. durable: fsync the file before and the directory after (the
 * slot table); without, a crash may lose the write but never tear it. */
int hsdo_file_replace(const char *dir, const char *tmp_template, const char *target,
		      const char *doc, size_t len, bool durable, char *err, size_t errlen);

#endif
