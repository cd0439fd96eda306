/* Private to the item codec and the file store: route cJSON's allocations
 * through hsdo_malloc/hsdo_free, so the allocation-failure hook reaches them,
 * and tell a parse that ran out of memory from one that met bad input. */
#ifndef HSDO_ITEM_JSON_H
#define HSDO_ITEM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

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
struct cJSON *hsdo_item_json_parse(const char *buf, size_t len, const char **end);

/* The helpers of the item codec, for the other attribute-value codecs
 * (report.c) so that every item follows the same rules. */

/* Parse len bytes holding one JSON value (surrounding whitespace allowed,
 * nothing else) with hsdo_item_json_parse into *out (cJSON_Delete). 0,
 * -HSDO_EPROTO (where), or -HSDO_ENOMEM. */
int hsdo_item_json_parse_value(const char *buf, size_t len, struct cJSON **out, char *err,
			       size_t errlen);
/* The value of attribute name in item, checked to be {type: value} ("S",
 * "N": a JSON string; "BOOL": a boolean): 0 with *val, NULL when absent
 * and not required; -HSDO_EPROTO when missing but required, duplicated or
 * of another type. */
int hsdo_item_json_attr(const struct cJSON *item, const char *name, const char *type,
			bool required, const struct cJSON **val, char *err, size_t errlen);
/* An N value (from hsdo_item_json_attr) as a plain decimal integer in
 * lo..hi; -HSDO_EPROTO naming the attribute otherwise. */
int hsdo_item_json_n(const struct cJSON *val, const char *name, uint64_t lo, uint64_t hi,
		     uint64_t *out, char *err, size_t errlen);
/* Add {name: {type: v}} to o, taking v (freed on failure); the N form
 * writes n in decimal. false on allocation failure. */
bool hsdo_item_json_add(struct cJSON *o, const char *name, const char *type, struct cJSON *v);
bool hsdo_item_json_add_n(struct cJSON *o, const char *name, uint64_t n);

#endif
