/* One slot as a DynamoDB item, in attribute-value JSON: the compatibility
 * contract with the original Python HSDO (BedrockStreaming/hsdo), whose
 * server writes and whose client reads the same table.
 *
 *   BackendServerID     N  hash key, 1..HSDO_SLOTS_MAX
 *   IPAddress           S  address, "none" when free
 *   ServerName          S  instance id, "none" when free
 *   ASG                 S  group, "none" when free or unset (may be absent:
 *                          the original tolerates items from before v3)
 *   Weight              N  0..HSDO_WEIGHT_MAX
 *   BackendServerStatus S  "enabled" | "disabled"
 *   LastWeightUpdate    S  "YYYY-MM-DD HH:MM:SS.ffffff", local time of the
 *                          process's zone (TZ), as the original writes
 *                          str(datetime.now()); free: "0-0-0 00:00:00.000000"
 *   Port                N  1..65535, only when the slot has a port (ours)
 *   AZ                  S  only when known (ours)
 *   Draining            BOOL true, only when draining (ours)
 *   Ejected             N  until when, Unix ms, only when ejected (ours)
 *   EjectReason         S  why, only when ejected (ours)
 *   EjectCount          N  times ejected, on ejected slots and on active
 *                          slots that came back (ours)
 *   EjectedSince        N  Unix ms of the first of those ejections (ours)
 *
 * Mapping: disabled -> FREE (every other field cleared, whatever the item
 * holds); enabled + Draining + Weight 0 -> DRAINING (ejection attributes
 * dropped); enabled + Ejected + Weight 0 -> EJECTED; enabled -> ACTIVE
 * (keeping EjectCount and EjectedSince), also with a Draining or an Ejected
 * next to a Weight above 0: the original server updates only its six
 * attributes, so a slot it frees and fills again keeps the Draining or
 * Ejected we wrote, while its Weight is the new server's. "none" <-> "".
 * DRAINING and EJECTED slots are written as enabled with Weight 0 and their
 * address kept, so an original client sets weight 0 and drains them.
 * Slot times are UTC microseconds; encode and decode convert them to and
 * from local time (zone.h), the free-slot value aside.
 * N values must be plain decimal integers ("5"; not "5.0", "5e0" or " 5"),
 * which is how DynamoDB returns integral numbers. Unknown attributes are
 * ignored. Values are what they claim to be: every S is text (no control
 * character, no NUL: "\u0000" would otherwise cut "127.0.0.9\u0000set
 * server ..." to 127.0.0.9), and an enabled item's IPAddress is an IPv4 or
 * IPv6 literal; an item that is not is rejected with the attribute and
 * the byte named, and the stores name the item (its BackendServerID).
 *
 * The codec points cJSON's (process-wide) allocation hooks at hsdo_malloc /
 * hsdo_free so allocation-failure tests reach them; like the alloc hook
 * itself, that is not thread-safe. */
#ifndef HSDO_ITEM_H
#define HSDO_ITEM_H

#include <stddef.h>
#include <stdint.h>

#include "hsdo/slot.h"

struct cJSON;

/* "YYYY-MM-DD HH:MM:SS.ffffff" plus NUL. */
#define HSDO_ITEM_TIME_LEN 27
/* What the original writes as LastWeightUpdate of a free slot. */
#define HSDO_ITEM_TIME_NONE "0-0-0 00:00:00.000000"

/* 0 if s can be encoded into an item that decodes back: id in
 * 1..HSDO_SLOTS_MAX, known state and, unless free, NUL-terminated fields
 * without control characters, an IP literal, weight <= HSDO_WEIGHT_MAX
 * and a time within years 1..9999. Else -HSDO_EINVAL. */
int hsdo_item_check(const struct hsdo_slot *s, char *err, size_t errlen);

/* Encode s as a DynamoDB item (a cJSON object the caller cJSON_Delete()s).
 * NULL on allocation failure or if s fails hsdo_item_check(). */
struct cJSON *hsdo_item_encode(const struct hsdo_slot *s);

/* Decode one item into *out, its strings interned in strs (the set of the
 * table it goes to, slot.h). 0, or -HSDO_EPROTO with the attribute and the
 * reason in err (-HSDO_ENOMEM when interning fails); *out is written only
 * on success. The item is borrowed. */
int hsdo_item_decode(const struct cJSON *item, struct hsdo_strset *strs, struct hsdo_slot *out,
		     char *err, size_t errlen);

/* Same, from len bytes of JSON (one object, surrounding whitespace allowed;
 * buf need not be NUL-terminated; at most HSDO_ITEM_JSON_MAX bytes, else
 * -HSDO_ETOOBIG). -HSDO_ENOMEM if parsing ran out of memory. */
#define HSDO_ITEM_JSON_MAX ((size_t)400 * 1024)  /* DynamoDB's item size limit */
int hsdo_item_decode_json(const char *buf, size_t len, struct hsdo_strset *strs,
			  struct hsdo_slot *out, char *err, size_t errlen);

/* Format microseconds since the Unix epoch as "YYYY-MM-DD HH:MM:SS.ffffff"
 * into buf (len >= HSDO_ITEM_TIME_LEN), with no time zone (encode passes
 * the local wall clock). -HSDO_EINVAL outside years 1..9999, -HSDO_ETOOBIG
 * if buf is too small. */
int hsdo_item_format_time(int64_t us, char *buf, size_t len);

/* Parse "YYYY-MM-DD HH:MM:SS" with an optional 1-6 digit fraction (Python's
 * str(datetime) omits it when it is 0), with no time zone (decode then
 * reads it as local time), into *us; the free-slot value
 * "0-0-0 00:00:00[.000000]" gives 0. -HSDO_EINVAL otherwise. */
int hsdo_item_parse_time(const char *s, int64_t *us);

#endif
