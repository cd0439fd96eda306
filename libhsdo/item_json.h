/* Private to the item codec and the file store: route cJSON's allocations
 * through hsdo_malloc/hsdo_free, so the allocation-failure hook reaches them,
 * and tell a parse that ran out of memory from one that met bad input. */
#ifndef HSDO_ITEM_JSON_H
#define HSDO_ITEM_JSON_H

#include <stdbool.h>

/* Install the hooks (idempotent; cJSON's hooks are process-wide) and clear
 * the out-of-memory flag. Call before each cJSON operation. */
void hsdo_item_json_begin(void);
/* True if a cJSON allocation failed since the last hsdo_item_json_begin(). */
bool hsdo_item_json_nomem(void);

#endif
