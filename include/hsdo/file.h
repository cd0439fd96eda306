/* Reading a small local file without ever blocking on what is not one: the
 * one way every file the agent reads is opened (the store document and its
 * lease, the configuration, credential and token files). A FIFO, a device
 * or a directory put where a file was expected is refused at once: the
 * open is non-blocking (a FIFO opened for reading without O_NONBLOCK waits
 * for a writer forever) and the opened file must be regular. */
#ifndef HSDO_FILE_H
#define HSDO_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Read the regular file at path, at most max bytes, into *buf (hsdo_free;
 * NUL-terminated after *len bytes); st (may be NULL) gets its fstat.
 * 0, or with *buf NULL and the reason in err ("<path>: ..."):
 * -HSDO_ENOTFOUND (no such file), -HSDO_EIO (cannot open or read, not a
 * regular file, changed size while read), -HSDO_ETOOBIG (over max),
 * -HSDO_ENOMEM. */
int hsdo_file_read(const char *path, size_t max, char **buf, size_t *len, struct stat *st,
		   char *err, size_t errlen);

#endif
