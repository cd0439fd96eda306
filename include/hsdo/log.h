/* Logging. libhsdo logs only through the handler the agent installs; with
 * none installed it logs nothing. Pure modules (codecs, parsers, planners)
 * never log: they return results and reasons. */
#ifndef HSDO_LOG_H
#define HSDO_LOG_H

#include <stddef.h>

enum hsdo_log_level {
	HSDO_LOG_ERR = 0,
	HSDO_LOG_WARN,
	HSDO_LOG_INFO,
	HSDO_LOG_DEBUG,
	HSDO_LOG_LEVEL_COUNT
};

typedef void hsdo_log_fn(enum hsdo_log_level level, const char *msg, void *arg);

/* Install fn (NULL removes it); messages above max_level are dropped before
 * formatting. */
void hsdo_log_set_handler(hsdo_log_fn *fn, void *arg, enum hsdo_log_level max_level);
void hsdo_log_set_level(enum hsdo_log_level max_level);
int hsdo_log_enabled(enum hsdo_log_level level);
const char *hsdo_log_level_str(enum hsdo_log_level level);
void hsdo_log(enum hsdo_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The cause of an error message, for logging it once per cause: msg
 * without its parenthesized details, which carry what differs from one
 * occurrence to the next (request ids, tries, byte and reply counts:
 * "dynamodb GetItem: ResourceNotFoundException: ... (HTTP 400, 1 try,
 * request id X)" has the cause "dynamodb GetItem:
 * ResourceNotFoundException: ..."). Every message of libhsdo keeps such
 * details in parentheses. Into key (truncated, NUL-terminated). Pure. */
void hsdo_log_cause(const char *msg, char *key, size_t keylen);

#define hsdo_log_err(...)   hsdo_log(HSDO_LOG_ERR, __VA_ARGS__)
#define hsdo_log_warn(...)  hsdo_log(HSDO_LOG_WARN, __VA_ARGS__)
#define hsdo_log_info(...)  hsdo_log(HSDO_LOG_INFO, __VA_ARGS__)
#define hsdo_log_debug(...) \
	do { if (hsdo_log_enabled(HSDO_LOG_DEBUG)) hsdo_log(HSDO_LOG_DEBUG, __VA_ARGS__); } while (0)

#endif
