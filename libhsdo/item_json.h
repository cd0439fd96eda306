/* Private to the item codec and the file store: route cJSON's allocations
 * through hsdo_malloc/hsdo_free, so the allocation-failure hook reaches them,
 * and tell a parse that ran out of memory from one that met bad input. */
#ifndef HSDO_ITEM_JSON_H
#define HSDO_ITEM_JSON_H

#include <stdbool.h>
#include <stddef.h>

/* Install the hooks (idempotent; cJSON's hooks are process-wide) and clear
 * the out-of-memory flag. Call before each cJSON operation. */
void hsdo_item_json_begin(void);
/* True if a cJSON allocation failed since the last hsdo_item_json_begin(). */
bool hsdo_item_json_nomem(void);

/* cJSON_ParseWithLengthOpts (no NUL needed; *end as cJSON sets it, in buf)
 * that does not lose a NUL: cJSON decodes "\u0000" into a NUL byte that
 * ends the C string ("127.0.0.9\u0000set server..." reads as 127.0.0.9),
 * so every "\u0000" is parsed as "\uffff" instead, a noncharacter the
 * item decoder rejects as not text. Call hsdo_item_json_begin() first. */
struct cJSON;
struct cJSON *hsdo_item_json_parse(const char *buf, size_t len, const char **end);

#endif
