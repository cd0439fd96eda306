/* The embedded `file` store: the slot table as one JSON document,
 *
 *   {"format":"hsdo-slots","version":1,"generation":N,"slots":[
 *   <one DynamoDB item per line, exactly as hsdo_item_encode writes it>
 *   ]}
 *
 * with slots 1..n dense and sorted. A document without "generation" (written
 * by hand or by another tool) reads as generation 0: unversioned (store.h),
 * so a client reads it whole every cycle. Readers take no lock: writers replace
 * the file by rename(2), so a reader sees the old or the new document, never
 * a partial one. Writers serialize their read-check-write with an exclusive
 * flock(2) on "<path>.lock", across processes.
 *
 * Operations, as the file store implements the hsdo_store contract:
 * read_generation parses the whole document (0 if the file is missing);
 * read_table on a missing file is -HSDO_ENOTFOUND; ensure_slots(n) creates
 * the file (generation 0 -> 1) or appends free slots, and leaves a store
 * with >= n slots alone; write_slots with nids == 0 still bumps the
 * generation; a missing file with expected_gen 0 is -HSDO_ENOTFOUND. A
 * corrupt document is -HSDO_EPROTO for every operation and is never
 * overwritten.
 *
 * Lease: "<path>.lease" holds {"holder","epoch","expires_ms"}, read and
 * replaced under the same lock. Whole-document writes are atomic under
 * that lock, so fencing is one check: a write_slots with epoch != 0 whose
 * epoch is not the lease's current epoch is refused whole
 * (-HSDO_ECONFLICT, "deposed"). */
#ifndef HSDO_STORE_FILE_H
#define HSDO_STORE_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "hsdo/slot.h"
#include "hsdo/store.h"

#define HSDO_STORE_FILE_FORMAT  "hsdo-slots"
#define HSDO_STORE_FILE_VERSION 1
/* Documents above this size are refused (-HSDO_ETOOBIG). */
#define HSDO_STORE_FILE_MAX     ((size_t)64 << 20)
/* Longest wait for the writers' lock before -HSDO_EAGAIN: a store call
 * runs on the agent's loop, so it holds the loop at most this long (the
 * caller retries at its next cycle). */
#define HSDO_STORE_FILE_LOCK_MS 250
/* The generation is a JSON number: keep it exact in a double. */
#define HSDO_STORE_FILE_GEN_MAX UINT64_C(9007199254740991)

/* Open the store at path (the file need not exist yet; its directory must).
 * *out is freed with hsdo_store_free(). 0, -HSDO_EINVAL, -HSDO_ENOTFOUND or
 * -HSDO_ENOMEM. */
int hsdo_store_file_open(const char *path, struct hsdo_store **out, char *err, size_t errlen);

/* Bound st (a file store) to max_slots slots, as a client following N =
 * HAPROXY_BACKEND_SERVERS_LIST_SIZE slots sets it: a document with a slot
 * id above max_slots fails the read (-HSDO_EPROTO naming the slot, the
 * way the DynamoDB store's max_slots does), and one larger than
 * 64 KiB + 16 KiB per slot is refused before it is read (-HSDO_ETOOBIG):
 * a hostile or mistaken file cannot make a client parse megabytes on its
 * loop. 0 (the default): HSDO_SLOTS_MAX and HSDO_STORE_FILE_MAX. */
void hsdo_store_file_set_max_slots(struct hsdo_store *st, size_t max_slots);

/* Parse a document (len bytes, NUL not needed) into *out, a new table the
 * caller frees; *out is untouched on error. -HSDO_EPROTO with a precise
 * reason, -HSDO_ETOOBIG above HSDO_STORE_FILE_MAX, or -HSDO_ENOMEM. Pure. */
int hsdo_store_file_parse(const char *buf, size_t len, struct hsdo_table *out,
			  char *err, size_t errlen);

/* Render t as a document (NUL-terminated; length in *len); the caller
 * hsdo_free()s it. NULL on allocation failure, or if t is not dense
 * (slots[i].id == i + 1), has a slot failing hsdo_item_check() or a
 * generation above HSDO_STORE_FILE_GEN_MAX. Pure. */
char *hsdo_store_file_render(const struct hsdo_table *t, size_t *len);

#endif
