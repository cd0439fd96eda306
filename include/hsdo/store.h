/* The slot store: where the slot table lives (DynamoDB, or the embedded
 * file store), behind a struct of function pointers so the planners and the
 * agent never know which (OpenSMTPD's table backends). Every operation
 * returns 0 or -HSDO_Exxx with detail in err. */
#ifndef HSDO_STORE_H
#define HSDO_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "hsdo/slot.h"

struct hsdo_store;

struct hsdo_store_ops {
	const char *name;
	/* Current generation (0 if the store has none yet). */
	int (*read_generation)(struct hsdo_store *st, uint64_t *gen, char *err, size_t errlen);
	/* Whole table into *out (hsdo_table_init'ed by the callee; caller frees).
	 * On any error *out is untouched: the caller keeps its last good
	 * table. An empty/zero-slot table is returned as success with n == 0;
	 * callers decide it is a failure. */
	int (*read_table)(struct hsdo_store *st, struct hsdo_table *out, char *err, size_t errlen);
	/* Create slots 1..n that are missing (never overwrite existing ones). */
	int (*ensure_slots)(struct hsdo_store *st, size_t n, char *err, size_t errlen);
	/* Write the slots listed in ids (from t) and bump the generation to
	 * expected_gen + 1, only if the store's generation is still
	 * expected_gen; else -HSDO_ECONFLICT and nothing written. */
	int (*write_slots)(struct hsdo_store *st, const struct hsdo_table *t,
			   const uint32_t *ids, size_t nids, uint64_t expected_gen,
			   char *err, size_t errlen);
	void (*free)(struct hsdo_store *st);
};

struct hsdo_store {
	const struct hsdo_store_ops *ops;
	void *impl;
};

/* Wrappers over st->ops; see struct hsdo_store_ops for each contract. */
int hsdo_store_read_generation(struct hsdo_store *st, uint64_t *gen, char *err, size_t errlen);
/* *out is overwritten on success, not freed first: read into a fresh
 * table and swap it in, so a failed read leaves the last good one. */
int hsdo_store_read_table(struct hsdo_store *st, struct hsdo_table *out, char *err, size_t errlen);
int hsdo_store_ensure_slots(struct hsdo_store *st, size_t n, char *err, size_t errlen);
int hsdo_store_write_slots(struct hsdo_store *st, const struct hsdo_table *t,
			   const uint32_t *ids, size_t nids, uint64_t expected_gen,
			   char *err, size_t errlen);
/* Release the store and its implementation; NULL is a no-op. */
void hsdo_store_free(struct hsdo_store *st);
/* The backend's name ("file", "dynamodb"); "none" for NULL. */
const char *hsdo_store_name(const struct hsdo_store *st);

#endif
