/* The slot store: where the slot table lives (DynamoDB, or the embedded
 * file store), behind a struct of function pointers so the planners and the
 * agent never know which (OpenSMTPD's table backends). Every operation
 * returns 0 or -HSDO_Exxx with detail in err. */
#ifndef HSDO_STORE_H
#define HSDO_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/slot.h"

struct hsdo_store;

/* The writer lease, kept by the store next to the generation (DynamoDB: in
 * the control item). Only the holder writes slots. epoch is the fencing
 * token: it grows by one each time the lease changes hands, every slot
 * write is stamped with the writer's epoch, and a store refuses a write
 * whose epoch is below the lease's or below the slot's stamp, so a deposed
 * holder (paused past its expiry, then resumed) can never overwrite its
 * successor's writes. A new holder rewrites every slot under its epoch
 * (hsdo_store_write_slots with all ids) before anything else, which fences
 * the slots it would not otherwise touch. Times are wall-clock Unix ms
 * (clock skew between servers must stay well below the TTL; correctness
 * rests on the epoch, not the clock). */
#define HSDO_LEASE_HOLDER_LEN 128
struct hsdo_lease {
	char holder[HSDO_LEASE_HOLDER_LEN]; /* "" when nobody holds it */
	uint64_t epoch;                     /* 0 before the first holder (DynamoDB:
					     * the first take starts from its
					     * Unix ms, above any stamp left by
					     * a deleted control item) */
	int64_t expires_ms;
	bool taken_over;                    /* this call changed the holder to us */
};

/* Completion of an asynchronous operation: exactly once, rc as the
 * synchronous operation would return, err valid during the call only. */
typedef void (*hsdo_store_done_fn)(void *arg, int rc, const char *err);

/* Every store implements every synchronous operation. A store that does
 * network I/O runs it over a blocking transport and refuses it (-HSDO_EAGAIN,
 * nothing started) over an event-driven one, which needs the loop to run. */
struct hsdo_store_ops {
	const char *name;
	/* Current generation. 0 when the store has none (DynamoDB: no control
	 * item, or one without Generation; file: a missing file or a document
	 * without one): the table is *unversioned*, its writer (the original
	 * server, a person) does not announce changes, so a reader must read
	 * the whole table to see them. Every write of ours makes it >= 1. */
	int (*read_generation)(struct hsdo_store *st, uint64_t *gen, char *err, size_t errlen);
	/* Whole table into *out (hsdo_table_init'ed by the callee; caller frees),
	 * out->generation the table's (0: unversioned, see read_generation).
	 * On any error *out is untouched: the caller keeps its last good
	 * table. An empty/zero-slot table is returned as success with n == 0;
	 * callers decide it is a failure. */
	int (*read_table)(struct hsdo_store *st, struct hsdo_table *out, char *err, size_t errlen);
	/* Create slots 1..n that are missing (never overwrite existing ones). */
	int (*ensure_slots)(struct hsdo_store *st, size_t n, char *err, size_t errlen);
	/* Write the slots listed in ids (from t) and bump the generation to
	 * expected_gen + 1, only if the store's generation is still
	 * expected_gen; else -HSDO_ECONFLICT and nothing written. */
	/* With epoch != 0 (fenced), also only if epoch is the lease's
	 * current epoch, and never over a slot stamped with a higher epoch;
	 * written slots are stamped with epoch. epoch 0: single writer, no
	 * lease check (the file store's default and the original's way). */
	int (*write_slots)(struct hsdo_store *st, const struct hsdo_table *t,
			   const uint32_t *ids, size_t nids, uint64_t expected_gen,
			   uint64_t epoch, char *err, size_t errlen);
	/* Take the lease for `me` if it is free, expired or already ours
	 * (renewing it to now_ms + ttl_ms); 0 with *out the lease we now hold,
	 * or -HSDO_ECONFLICT with *out the current holder's lease. */
	int (*lease)(struct hsdo_store *st, const char *me, int64_t now_ms, int64_t ttl_ms,
		     struct hsdo_lease *out, char *err, size_t errlen);
	void (*free)(struct hsdo_store *st);
};

/* Asynchronous variants, for stores that do network I/O (DynamoDB over
 * the event-driven transport). Pointer arguments (out, t, ids, gen) must
 * stay valid until done is called. A store may leave any of them NULL (the
 * file store has none): the hsdo_store_*_async wrappers then run the
 * synchronous operation and call done before returning. */
struct hsdo_store_async_ops {
	int (*read_generation)(struct hsdo_store *st, uint64_t *gen,
			       hsdo_store_done_fn done, void *arg);
	int (*read_table)(struct hsdo_store *st, struct hsdo_table *out,
			  hsdo_store_done_fn done, void *arg);
	int (*ensure_slots)(struct hsdo_store *st, size_t n, hsdo_store_done_fn done, void *arg);
	int (*write_slots)(struct hsdo_store *st, const struct hsdo_table *t,
			   const uint32_t *ids, size_t nids, uint64_t expected_gen,
			   uint64_t epoch, hsdo_store_done_fn done, void *arg);
	int (*lease)(struct hsdo_store *st, const char *me, int64_t now_ms, int64_t ttl_ms,
		     struct hsdo_lease *out, hsdo_store_done_fn done, void *arg);
};

struct hsdo_store {
	const struct hsdo_store_ops *ops;
	const struct hsdo_store_async_ops *async; /* may be NULL */
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
			   uint64_t epoch, char *err, size_t errlen);
int hsdo_store_lease(struct hsdo_store *st, const char *me, int64_t now_ms, int64_t ttl_ms,
		     struct hsdo_lease *out, char *err, size_t errlen);

/* Asynchronous wrappers: 0 (done will be called exactly once, possibly
 * before returning) or a negative hsdo_err (done never called). */
int hsdo_store_read_generation_async(struct hsdo_store *st, uint64_t *gen,
				     hsdo_store_done_fn done, void *arg);
int hsdo_store_read_table_async(struct hsdo_store *st, struct hsdo_table *out,
				hsdo_store_done_fn done, void *arg);
int hsdo_store_ensure_slots_async(struct hsdo_store *st, size_t n,
				  hsdo_store_done_fn done, void *arg);
int hsdo_store_write_slots_async(struct hsdo_store *st, const struct hsdo_table *t,
				 const uint32_t *ids, size_t nids, uint64_t expected_gen,
				 uint64_t epoch, hsdo_store_done_fn done, void *arg);
int hsdo_store_lease_async(struct hsdo_store *st, const char *me, int64_t now_ms,
			   int64_t ttl_ms, struct hsdo_lease *out,
			   hsdo_store_done_fn done, void *arg);
/* Release the store and its implementation; NULL is a no-op. */
void hsdo_store_free(struct hsdo_store *st);
/* The backend's name ("file", "dynamodb"); "none" for NULL. */
const char *hsdo_store_name(const struct hsdo_store *st);

#endif
