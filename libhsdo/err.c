#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/err.h"

static const char *const err_str[HSDO_ERR_COUNT] = {
	[HSDO_OK] = "success",
	[HSDO_ENOMEM] = "out of memory",
	[HSDO_EINVAL] = "invalid argument",
	[HSDO_EPROTO] = "malformed data",
	[HSDO_ETOOBIG] = "too big",
	[HSDO_EAGAIN] = "incomplete",
	[HSDO_EIO] = "I/O error",
	[HSDO_ENOTFOUND] = "not found",
	[HSDO_ECONFLICT] = "conflict",
	[HSDO_ECONFIG] = "invalid configuration",
	[HSDO_EHTTP] = "HTTP error",
	[HSDO_EAWS] = "AWS error",
};

const char *hsdo_strerror(int code)
{
	if (code < 0)
		code = -code;
	if (code >= HSDO_ERR_COUNT || err_str[code] == NULL)
		return "unknown error";
	return err_str[code];
}

int hsdo_seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return code;
	va_start(ap, fmt);
	(void)vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

const char *hsdo_show(const char *s, size_t len, size_t max, bool quoted, char *buf,
		      size_t bufsz)
{
	size_t i, o = 0;

	if (bufsz < max + (quoted ? 6 : 4))
		return "?";
	if (quoted)
		buf[o++] = '\'';
	for (i = 0; i < len && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (len > max) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	if (quoted)
		buf[o++] = '\'';
	buf[o] = '\0';
	return buf;
}
