#include <stdarg.h>
#include <stdio.h>

#include "hsdo/log.h"

static hsdo_log_fn *log_fn;
static void *log_arg;
static enum hsdo_log_level log_max = HSDO_LOG_INFO;

void hsdo_log_set_handler(hsdo_log_fn *fn, void *arg, enum hsdo_log_level max_level)
{
	log_fn = fn;
	log_arg = arg;
	log_max = max_level;
}

void hsdo_log_set_level(enum hsdo_log_level max_level)
{
	log_max = max_level;
}

int hsdo_log_enabled(enum hsdo_log_level level)
{
	return log_fn != NULL && level <= log_max;
}

const char *hsdo_log_level_str(enum hsdo_log_level level)
{
	static const char *const names[HSDO_LOG_LEVEL_COUNT] = {
		"error", "warning", "info", "debug",
	};

	if ((unsigned)level >= HSDO_LOG_LEVEL_COUNT)
		return "unknown";
	return names[level];
}

void hsdo_log(enum hsdo_log_level level, const char *fmt, ...)
{
	char buf[2048];
	va_list ap;

	if (!hsdo_log_enabled(level))
		return;
	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	log_fn(level, buf, log_arg);
}

void hsdo_log_cause(const char *msg, char *key, size_t keylen)
{
	size_t o = 0;
	int depth = 0;

	if (keylen == 0)
		return;
	for (; *msg != '\0'; msg++) {
		if (*msg == '(') {
			depth++;
			/* "x (details)": the space before goes with them */
			if (depth == 1 && o > 0 && key[o - 1] == ' ')
				o--;
			continue;
		}
		if (*msg == ')' && depth > 0) {
			depth--;
			continue;
		}
		if (depth == 0 && o + 1 < keylen)
			key[o++] = *msg;
	}
	key[o] = '\0';
}
