/* Percent-encoding: see include/hsdo/url.h. */
#include <limits.h>

#include "hsdo/err.h"
#include "hsdo/url.h"

static const char hexup[] = "0123456789ABCDEF";

int hsdo_url_encode(const char *in, size_t len, bool encode_slash, char *out, size_t outlen)
{
	size_t i, o = 0;
	unsigned char c;

	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (hsdo_url_unreserved(c) || (c == '/' && !encode_slash)) {
			if (outlen - o < 2)
				goto toobig;
			out[o++] = (char)c;
		} else {
			if (outlen - o < 4)
				goto toobig;
			out[o++] = '%';
			out[o++] = hexup[c >> 4];
			out[o++] = hexup[c & 0xf];
		}
		if (o > INT_MAX - 4)
			goto toobig;
	}
	if (outlen - o < 1)
		goto toobig;
	out[o] = '\0';
	return (int)o;
toobig:
	if (outlen > 0)
		out[0] = '\0';
	return -HSDO_ETOOBIG;
}
