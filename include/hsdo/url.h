/* Percent-encoding (RFC 3986), shared by everything that builds a URL or a
 * form body: the SigV4 canonical request, the Query protocol's form bodies
 * and the Consul source's paths. Pure. */
#ifndef HSDO_URL_H
#define HSDO_URL_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 3986 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
static inline bool hsdo_url_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Percent-encode len bytes of `in`: unreserved characters kept, every other
 * byte as %XX (upper case, as SigV4 requires), '/' kept unless
 * encode_slash. Writes a NUL-terminated string; returns its length, or
 * -HSDO_ETOOBIG if outlen is too small (3 * len + 1 always suffices). */
int hsdo_url_encode(const char *in, size_t len, bool encode_slash, char *out, size_t outlen);

#endif
