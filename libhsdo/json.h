/* Private to libhsdo: the one way JSON goes through cJSON. Allocations are
 * routed through hsdo_malloc/hsdo_free, so the allocation-failure hook of
 * the tests reaches them, and every input (slot items, the file store's
 * document and lease, DynamoDB replies, IMDS/ECS credentials, Consul
 * replies) is parsed by one strict rule:
 *  - bounded: longer than the caller's max is refused before parsing;
 *  - whole: exactly one JSON value, with nothing after it but JSON
 *    whitespace (space, tab, LF, CR); buf need not be NUL-terminated;
 *  - a "\u0000" escape is read as U+FFFF (a noncharacter that text checks
 *    refuse), never as a NUL that would silently cut the string short;
 *  - an allocation failure is -HSDO_ENOMEM, never "invalid JSON", so the
 *    caller retries instead of calling good data bad.
 * Callers word their own messages from the fault (hsdo_json_parse) or take
 * the usual ones for a request or reply body (hsdo_json_parse_body). */
#ifndef HSDO_JSON_H
#define HSDO_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

/* Install the hooks (idempotent; cJSON's hooks are process-wide) and clear
 * the out-of-memory flag. Call before each cJSON operation that allocates. */
void hsdo_json_begin(void);
/* True if a cJSON allocation failed since the last hsdo_json_begin(). */
bool hsdo_json_nomem(void);

enum hsdo_json_fault {
	HSDO_JSON_EMPTY = 0,   /* no bytes (or buf NULL) */
	HSDO_JSON_TOOBIG,      /* len over max */
	HSDO_JSON_NOMEM,       /* an allocation failed while parsing */
	HSDO_JSON_INVALID,     /* not JSON: at = where the parser stopped */
	HSDO_JSON_TRAILING,    /* data after the value: at = its first byte */
	HSDO_JSON_FAULT_COUNT
};

struct hsdo_json_error {
	enum hsdo_json_fault fault;
	size_t at;             /* byte offset, for INVALID and TRAILING */
};

/* Wipe every string value of j (explicit_bzero: cJSON frees without
 * wiping), then cJSON_Delete it: for trees that may hold secrets. NULL is
 * a no-op. */
void hsdo_json_delete_wiped(cJSON *j);

/* Parse buf[0..len) by the rule above. A tree refused for trailing data is
 * wiped before it is freed (the input may hold secrets). 0 with *root (cJSON_Delete), or
 * -HSDO_EPROTO (EMPTY, INVALID, TRAILING), -HSDO_ETOOBIG or -HSDO_ENOMEM
 * with *root NULL and *e saying which. */
int hsdo_json_parse(const char *buf, size_t len, size_t max, cJSON **root,
		    struct hsdo_json_error *e);
/* hsdo_json_parse with a body's messages in err: "empty body", "body of N
 * bytes over M", "out of memory parsing JSON", "invalid JSON at byte N",
 * "trailing data at byte N". */
int hsdo_json_parse_body(const char *buf, size_t len, size_t max, cJSON **root,
			 char *err, size_t errlen);

#endif
