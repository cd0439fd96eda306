/* Private to libhsdo: the item codec's helpers for the other
 * attribute-value codecs (report.c), so that every item follows the same
 * rules. JSON itself goes through json.h. */
#ifndef HSDO_ITEM_JSON_H
#define HSDO_ITEM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

/* Parse len bytes holding one JSON value (json.h's rule, at most
 * HSDO_ITEM_JSON_MAX bytes) into *out (cJSON_Delete). 0, -HSDO_EPROTO
 * (where), -HSDO_ETOOBIG or -HSDO_ENOMEM. */
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
