/* Error convention for all of libhsdo.
 *
 * Functions return int: 0 (HSDO_OK) on success, or the negation of an
 * enum hsdo_err value on failure (e.g. return -HSDO_EINVAL). Decoders may
 * instead return a byte count (>= 0) or a negative error. Human-readable
 * detail, where a function offers it, goes into a caller-provided buffer
 * `char *err, size_t errlen` (may be NULL/0), always NUL-terminated.
 */
#ifndef HSDO_ERR_H
#define HSDO_ERR_H

#include <stdbool.h>
#include <stddef.h>

enum hsdo_err {
	HSDO_OK = 0,
	HSDO_ENOMEM,     /* allocation failed */
	HSDO_EINVAL,     /* invalid argument or input value */
	HSDO_EPROTO,     /* malformed data from a peer or a file */
	HSDO_ETOOBIG,    /* a bound was exceeded */
	HSDO_EAGAIN,     /* incomplete input: feed more bytes */
	HSDO_EIO,        /* I/O error (errno-level failure) */
	HSDO_ENOTFOUND,  /* named thing does not exist */
	HSDO_ECONFLICT,  /* condition failed / concurrent writer */
	HSDO_ECONFIG,    /* configuration invalid */
	HSDO_EHTTP,      /* HTTP transport failure */
	HSDO_EAWS,       /* AWS returned an error */
	HSDO_ERR_COUNT
};

/* Text for an error code; accepts either sign. Never NULL. */
const char *hsdo_strerror(int code);

/* snprintf into err/errlen when err is non-NULL; returns `code` so callers
 * can write `return hsdo_seterr(err, errlen, -HSDO_EINVAL, "...", ...)`. */
int hsdo_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Untrusted bytes made safe for a message or a log line, the one rule: at
 * most max bytes of s[0..len), each byte outside printable ASCII as '?',
 * "..." when cut, between single quotes when quoted. buf needs max + 4
 * bytes (+ 2 quoted); a smaller one gets "?". Returns what to print. */
const char *hsdo_show(const char *s, size_t len, size_t max, bool quoted, char *buf,
		      size_t bufsz);

#endif
